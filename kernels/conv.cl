// Convolution helpers around GEMM (stride 1, "same" zero padding, odd square kernel), the
// path of the table's im2col entries (CPU devices such as PoCL). GPUs run convolutions as
// implicit GEMMs instead (gemm_tiled.cl built after gemm_conv.cl), with no scratch matrix.
// The host runs, per chunk of `images` images (cols = images * H * W):
//   forward:         im2col -> GEMM filter[Co,P] x col[P,cols] -> tmp -> scatter_bias (+ReLU)
//   backward input:  gather_channels(dy) -> GEMM filter^T x tmp -> col -> col2im (+accumulate)
//   backward filter: im2col, gather_channels(dy) -> GEMM tmp x col^T (beta 0 or 1)
//   backward bias:   bias_gradient_nchw, one work-group per channel (both paths)
// P = Ci*K*K; row p of col is (c, ky, kx) with p = (c*K + ky)*K + kx.

#ifndef REDUCE_WG
#define REDUCE_WG 64   // work-items per channel in bias_gradient_nchw (a power of two; 1: no local memory)
#endif

// Each helper gives a work-item one contiguous row of W (or HW) values, so that the index
// arithmetic is paid once per row rather than once per element (it dominated on CPU devices).

// col[p, i*HW + y*W + x] = input[i, c, y+ky-pad, x+kx-pad], zero outside.
// One work-item per (output row y, image i, row p of col).
__kernel void im2col(__global const float* restrict input, const int inOffset,
                     __global float* restrict col,
                     const int channels, const int height, const int width, const int kernelSize,
                     const int images)
{
    const int y = get_global_id(0), i = get_global_id(1), p = get_global_id(2);
    if (y >= height || i >= images || p >= channels * kernelSize * kernelSize) return;
    const int hw = height * width, cols = images * hw;
    const int c = p / (kernelSize * kernelSize), ky = (p / kernelSize) % kernelSize, kx = p % kernelSize;
    const int pad = (kernelSize - 1) / 2;
    const int sy = y + ky - pad, shift = kx - pad;
    __global float* out = col + p * cols + i * hw + y * width;
    if (sy < 0 || sy >= height) {
        for (int x = 0; x < width; ++x) out[x] = 0.0f;
        return;
    }
    __global const float* src = input + inOffset + ((i * channels + c) * height + sy) * width;
    for (int x = 0; x < width; ++x) {
        const int sx = x + shift;
        out[x] = (sx >= 0 && sx < width) ? src[sx] : 0.0f;
    }
}

// grad[i, c, y, x] (+)= sum of col[p, i*HW + (y-dy)*W + (x-dx)] over the K*K taps that read it.
// One work-item per (input row y, image i, channel c).
__kernel void col2im(__global const float* restrict col,
                     __global float* restrict grad, const int gradOffset,
                     const int channels, const int height, const int width, const int kernelSize,
                     const int images, const int accumulate)
{
    const int y = get_global_id(0), i = get_global_id(1), c = get_global_id(2);
    if (y >= height || i >= images || c >= channels) return;
    const int hw = height * width, cols = images * hw;
    const int pad = (kernelSize - 1) / 2;
    __global float* g = grad + gradOffset + ((i * channels + c) * height + y) * width;
    for (int x = 0; x < width; ++x) {
        float sum = 0.0f;
        for (int ky = 0; ky < kernelSize; ++ky) {
            const int oy = y - ky + pad;
            if (oy < 0 || oy >= height) continue;
            __global const float* row = col + ((c * kernelSize + ky) * kernelSize) * cols + i * hw + oy * width;
            for (int kx = 0; kx < kernelSize; ++kx) {
                const int ox = x - kx + pad;
                if (ox >= 0 && ox < width) sum += row[kx * cols + ox];
            }
        }
        g[x] = accumulate ? g[x] + sum : sum;
    }
}

// tmp[co, i*HW + pix] = dy[i, co, pix]: the output gradient as a [Co, images*HW] matrix.
// One work-item per (image i, channel co).
__kernel void gather_channels(__global const float* restrict dy, const int dyOffset,
                              __global float* restrict tmp,
                              const int channels, const int hw, const int images)
{
    const int i = get_global_id(0), co = get_global_id(1);
    if (i >= images || co >= channels) return;
    __global const float* src = dy + dyOffset + (i * channels + co) * hw;
    __global float* dst = tmp + co * images * hw + i * hw;
    for (int pix = 0; pix < hw; ++pix) dst[pix] = src[pix];
}

// out[i, co, pix] = tmp[co, i*HW + pix] + bias[co], then ReLU when relu != 0.
// One work-item per (image i, channel co).
__kernel void scatter_bias(__global const float* restrict tmp,
                           __global const float* restrict bias, const int biasOffset,
                           __global float* restrict out, const int outOffset,
                           const int channels, const int hw, const int images, const int relu)
{
    const int i = get_global_id(0), co = get_global_id(1);
    if (i >= images || co >= channels) return;
    __global const float* src = tmp + co * images * hw + i * hw;
    __global float* dst = out + outOffset + (i * channels + co) * hw;
    const float b = bias[biasOffset + co];
    if (relu) {
        for (int pix = 0; pix < hw; ++pix) dst[pix] = fmax(src[pix] + b, 0.0f);
    } else {
        for (int pix = 0; pix < hw; ++pix) dst[pix] = src[pix] + b;
    }
}

// db[c] (+)= sum over n and pixels of dy[n, c, pixel]. REDUCE_WG > 1: one work-group of
// REDUCE_WG per channel, a tree in local memory (GPUs). REDUCE_WG == 1: one work-item per
// channel that sums its planes with 16-wide vectors, no barrier (CPU devices).
#if REDUCE_WG == 1
__kernel void bias_gradient_nchw(__global const float* restrict dy, const int dyOffset,
                                 __global float* restrict db, const int dbOffset,
                                 const int batch, const int channels, const int hw, const int accumulate)
{
    const int c = get_global_id(0);
    if (c >= channels) return;
    const int vectors = hw / 16;
    float16 v = (float16)(0.0f);
    float s = 0.0f;
    for (int n = 0; n < batch; ++n) {
        __global const float* p = dy + dyOffset + (n * channels + c) * hw;
        for (int k = 0; k < vectors; ++k) v += vload16(k, p);
        for (int k = vectors * 16; k < hw; ++k) s += p[k];
    }
    const float8 h8 = v.lo + v.hi;
    const float4 h4 = h8.lo + h8.hi;
    s += (h4.x + h4.y) + (h4.z + h4.w);
    __global float* d = db + dbOffset + c;
    *d = accumulate ? *d + s : s;
}
#else
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
#endif
