// Elementwise ops, fill, fused bias + activation and dense bias gradients.
// One work-item per element; every buffer argument carries an element offset (row views).

#ifndef ACTIVATION
#define ACTIVATION 0   // add_bias: 0 none, 1 ReLU, 2 sigmoid
#endif

// Logistic function written so that neither branch overflows.
inline float stable_sigmoid(const float x)
{
    if (x >= 0.0f) return 1.0f / (1.0f + exp(-x));
    const float e = exp(x);
    return e / (1.0f + e);
}

__kernel void fill(__global float* restrict x, const int offset, const int count, const float value)
{
    const int i = get_global_id(0);
    if (i < count) x[offset + i] = value;
}

__kernel void relu_forward(__global const float* restrict x, const int xOffset,
                           __global float* restrict y, const int yOffset, const int count)
{
    const int i = get_global_id(0);
    if (i < count) y[yOffset + i] = fmax(x[xOffset + i], 0.0f);
}

__kernel void relu_backward(__global const float* restrict y, const int yOffset,
                            __global const float* restrict dy, const int dyOffset,
                            __global float* restrict dx, const int dxOffset, const int count)
{
    const int i = get_global_id(0);
    if (i < count) dx[dxOffset + i] = y[yOffset + i] > 0.0f ? dy[dyOffset + i] : 0.0f;
}

__kernel void sigmoid_forward(__global const float* restrict x, const int xOffset,
                              __global float* restrict y, const int yOffset, const int count)
{
    const int i = get_global_id(0);
    if (i < count) y[yOffset + i] = stable_sigmoid(x[xOffset + i]);
}

__kernel void sigmoid_backward(__global const float* restrict y, const int yOffset,
                               __global const float* restrict dy, const int dyOffset,
                               __global float* restrict dx, const int dxOffset, const int count)
{
    const int i = get_global_id(0);
    if (i < count) {
        const float s = y[yOffset + i];
        dx[dxOffset + i] = dy[dyOffset + i] * s * (1.0f - s);
    }
}

__kernel void abs_difference(__global const float* restrict a, const int aOffset,
                             __global const float* restrict b, const int bOffset,
                             __global float* restrict out, const int outOffset, const int count)
{
    const int i = get_global_id(0);
    if (i < count) out[outOffset + i] = fabs(a[aOffset + i] - b[bOffset + i]);
}

// ga = g * sign(a - b), gb = -ga, with sign(0) = 0.
__kernel void abs_difference_backward(__global const float* restrict a, const int aOffset,
                                      __global const float* restrict b, const int bOffset,
                                      __global const float* restrict g, const int gOffset,
                                      __global float* restrict ga, const int gaOffset,
                                      __global float* restrict gb, const int gbOffset, const int count)
{
    const int i = get_global_id(0);
    if (i >= count) return;
    const float d = a[aOffset + i] - b[bOffset + i], gi = g[gOffset + i];
    const float s = d > 0.0f ? gi : (d < 0.0f ? -gi : 0.0f);
    ga[gaOffset + i] = s;
    gb[gbOffset + i] = -s;
}

// x[i, j] = act(x[i, j] + bias[j]) on a [rows, cols] matrix.
__kernel void add_bias(__global float* restrict x, const int xOffset,
                       __global const float* restrict bias, const int biasOffset,
                       const int rows, const int cols)
{
    const int j = get_global_id(0), i = get_global_id(1);
    if (i >= rows || j >= cols) return;
    __global float* p = x + xOffset + i * cols + j;
    const float v = *p + bias[biasOffset + j];
#if ACTIVATION == 1
    *p = fmax(v, 0.0f);
#elif ACTIVATION == 2
    *p = stable_sigmoid(v);
#else
    *p = v;
#endif
}

// db[j] (+)= sum over rows of g[i, j]; one work-item per column, rows summed in order.
__kernel void bias_gradient_rows(__global const float* restrict g, const int gOffset,
                                 __global float* restrict db, const int dbOffset,
                                 const int rows, const int cols, const int accumulate)
{
    const int j = get_global_id(0);
    if (j >= cols) return;
    float s = accumulate ? db[dbOffset + j] : 0.0f;
    for (int i = 0; i < rows; ++i) s += g[gOffset + i * cols + j];
    db[dbOffset + j] = s;
}
