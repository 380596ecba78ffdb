// Convolution helpers around GEMM (stride 1, "same" zero padding, odd square kernel).
// The host runs, per chunk of `images` images (cols = images * H * W):
//   forward:         im2col -> GEMM filter[Co,P] x col[P,cols] -> tmp -> scatter_bias (+ReLU)
//   backward input:  gather_channels(dy) -> GEMM filter^T x tmp -> col -> col2im (+accumulate)
//   backward filter: im2col, gather_channels(dy) -> GEMM tmp x col^T (beta 0 or 1)
//   backward bias:   bias_gradient_nchw, one work-group per channel
// P = Ci*K*K; row p of col is (c, ky, kx) with p = (c*K + ky)*K + kx.

#ifndef REDUCE_WG
#define REDUCE_WG 64   // work-items per channel in bias_gradient_nchw (a power of two)
#endif

// col[p, i*HW + y*W + x] = input[i, c, y+ky-pad, x+kx-pad], zero outside.
__kernel void im2col(__global const float* restrict input, const int inOffset,
                     __global float* restrict col,
                     const int channels, const int height, const int width, const int kernelSize,
                     const int images)
{
    const int hw = height * width, cols = images * hw;
    const int q = get_global_id(0), p = get_global_id(1);
    if (q >= cols || p >= channels * kernelSize * kernelSize) return;
    const int i = q / hw, pix = q % hw, y = pix / width, x = pix % width;
    const int c = p / (kernelSize * kernelSize), ky = (p / kernelSize) % kernelSize, kx = p % kernelSize;
    const int pad = (kernelSize - 1) / 2;
    const int sy = y + ky - pad, sx = x + kx - pad;
    float v = 0.0f;
    if (sy >= 0 && sy < height && sx >= 0 && sx < width)
        v = input[inOffset + ((i * channels + c) * height + sy) * width + sx];
    col[p * cols + q] = v;
}

// grad[i, c, y, x] (+)= sum of col[p, i*HW + (y-dy)*W + (x-dx)] over the K*K taps that read it.
__kernel void col2im(__global const float* restrict col,
                     __global float* restrict grad, const int gradOffset,
                     const int channels, const int height, const int width, const int kernelSize,
                     const int images, const int accumulate)
{
    const int hw = height * width, cols = images * hw;
    const int idx = get_global_id(0);
    if (idx >= images * channels * hw) return;
    const int x = idx % width, y = (idx / width) % height;
    const int c = (idx / hw) % channels, i = idx / (hw * channels);
    const int pad = (kernelSize - 1) / 2;
    float sum = 0.0f;
    for (int ky = 0; ky < kernelSize; ++ky) {
        const int oy = y - ky + pad;
        if (oy < 0 || oy >= height) continue;
        for (int kx = 0; kx < kernelSize; ++kx) {
            const int ox = x - kx + pad;
            if (ox < 0 || ox >= width) continue;
            const int p = (c * kernelSize + ky) * kernelSize + kx;
            sum += col[p * cols + i * hw + oy * width + ox];
        }
    }
    __global float* g = grad + gradOffset + idx;
    *g = accumulate ? *g + sum : sum;
}

// tmp[co, i*HW + pix] = dy[i, co, pix]: the output gradient as a [Co, images*HW] matrix.
__kernel void gather_channels(__global const float* restrict dy, const int dyOffset,
                              __global float* restrict tmp,
                              const int channels, const int hw, const int images)
{
    const int q = get_global_id(0), co = get_global_id(1);
    if (q >= images * hw || co >= channels) return;
    const int i = q / hw, pix = q % hw;
    tmp[co * images * hw + q] = dy[dyOffset + (i * channels + co) * hw + pix];
}

// out[i, co, pix] = tmp[co, i*HW + pix] + bias[co], then ReLU when relu != 0.
__kernel void scatter_bias(__global const float* restrict tmp,
                           __global const float* restrict bias, const int biasOffset,
                           __global float* restrict out, const int outOffset,
                           const int channels, const int hw, const int images, const int relu)
{
    const int q = get_global_id(0), co = get_global_id(1);
    if (q >= images * hw || co >= channels) return;
    const int i = q / hw, pix = q % hw;
    float v = tmp[co * images * hw + q] + bias[biasOffset + co];
    if (relu) v = fmax(v, 0.0f);
    out[outOffset + (i * channels + co) * hw + pix] = v;
}

// db[c] (+)= sum over n and pixels of dy[n, c, pixel]; one work-group of REDUCE_WG per channel.
__kernel __attribute__((reqd_work_group_size(REDUCE_WG, 1, 1)))
void bias_gradient_nchw(__global const float* restrict dy, const int dyOffset,
                        __global float* restrict db, const int dbOffset,
                        const int batch, const int channels, const int hw, const int accumulate)
{
    __local float partial[REDUCE_WG];
    const int c = get_group_id(0), lid = get_local_id(0);
    float s = 0.0f;
    for (int n = 0; n < batch; ++n) {
        __global const float* p = dy + dyOffset + (n * channels + c) * hw;
        for (int k = lid; k < hw; k += REDUCE_WG) s += p[k];
    }
    partial[lid] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = REDUCE_WG / 2; stride > 0; stride >>= 1) {
        if (lid < stride) partial[lid] += partial[lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) {
        __global float* d = db + dbOffset + c;
        *d = accumulate ? *d + partial[0] : partial[0];
    }
}
