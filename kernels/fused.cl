// Ops fused across layers: a convolution's bias and ReLU with the 2x2 stride-2 max-pool that
// follows it (ceil output size), so that the ReLU output is never stored at full resolution.
// The host runs the convolution's GEMM (CPU devices: im2col + GEMM into the [Co, images*HW]
// scratch matrix; GPUs: the implicit GEMM into an NCHW scratch, bias and ReLU already applied)
// and then this kernel in place of the scatter and of maxpool_forward.
//
// Source element (image i, channel c, y, x) is at src[srcOffset + i*imageStride + c*channelStride
// + y*width + x]. With biasReLU != 0 each is mapped to fmax(v + bias[c], 0), as scatter_bias does.
// Ties and NaN as maxpool_forward: a cell wins only when strictly greater than the cells before
// it in the order (0,0), (0,1), (1,0), (1,1); argmax (written when writeArgmax != 0) holds 0..3.

// One work-item per (output row oy, channel c, image i).
__kernel void bias_relu_maxpool(__global const float* restrict src, const int srcOffset,
                                const int imageStride, const int channelStride,
                                __global const float* restrict bias, const int biasOffset, const int biasReLU,
                                __global float* restrict pooled, const int pooledOffset,
                                __global float* argmax, const int argOffset, const int writeArgmax,
                                const int channels, const int height, const int width, const int images)
{
    const int oh = (height + 1) / 2, ow = (width + 1) / 2;
    const int oy = get_global_id(0), c = get_global_id(1), i = get_global_id(2);
    if (oy >= oh || c >= channels || i >= images) return;
    __global const float* top = src + srcOffset + i * imageStride + c * channelStride + 2 * oy * width;
    __global const float* bottom = top + width;
    const bool hasBottom = 2 * oy + 1 < height;
    const float b = biasReLU ? bias[biasOffset + c] : 0.0f;
    const int row = ((i * channels + c) * oh + oy) * ow;
    for (int ox = 0; ox < ow; ++ox) {
        const int x0 = 2 * ox;
        const bool hasRight = x0 + 1 < width;
        float best = biasReLU ? fmax(top[x0] + b, 0.0f) : top[x0], where = 0.0f;
        if (hasRight) {
            const float v = biasReLU ? fmax(top[x0 + 1] + b, 0.0f) : top[x0 + 1];
            if (v > best) { best = v; where = 1.0f; }
        }
        if (hasBottom) {
            const float v2 = biasReLU ? fmax(bottom[x0] + b, 0.0f) : bottom[x0];
            if (v2 > best) { best = v2; where = 2.0f; }
            if (hasRight) {
                const float v3 = biasReLU ? fmax(bottom[x0 + 1] + b, 0.0f) : bottom[x0 + 1];
                if (v3 > best) { best = v3; where = 3.0f; }
            }
        }
        pooled[pooledOffset + row + ox] = best;
        if (writeArgmax) argmax[argOffset + row + ox] = where;
    }
}
