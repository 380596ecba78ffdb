// Max-pool 2x2, stride 2, ceil ("same") output size, on planes of N*C images.
// argmax holds the winner's position in its window, 0..3 row-major, stored as float;
// ties go to the first of (0,0), (0,1), (1,0), (1,1), and cells outside the input never win.

__kernel void maxpool_forward(__global const float* restrict input, const int inOffset,
                              __global float* restrict output, const int outOffset,
                              __global float* restrict argmax, const int argOffset,
                              const int planes, const int height, const int width)
{
    const int oh = (height + 1) / 2, ow = (width + 1) / 2;
    const int idx = get_global_id(0);
    if (idx >= planes * oh * ow) return;
    const int ox = idx % ow, oy = (idx / ow) % oh, plane = idx / (oh * ow);
    __global const float* src = input + inOffset + plane * height * width;
    const int y0 = 2 * oy, x0 = 2 * ox;
    float best = src[y0 * width + x0], where = 0.0f;
    if (x0 + 1 < width && src[y0 * width + x0 + 1] > best) { best = src[y0 * width + x0 + 1]; where = 1.0f; }
    if (y0 + 1 < height) {
        if (src[(y0 + 1) * width + x0] > best) { best = src[(y0 + 1) * width + x0]; where = 2.0f; }
        if (x0 + 1 < width && src[(y0 + 1) * width + x0 + 1] > best) { best = src[(y0 + 1) * width + x0 + 1]; where = 3.0f; }
    }
    output[outOffset + idx] = best;
    argmax[argOffset + idx] = where;
}

// One work-item per input cell: it takes its window's gradient if it was the winner, else 0.
__kernel void maxpool_backward(__global const float* restrict dy, const int dyOffset,
                               __global const float* restrict argmax, const int argOffset,
                               __global float* restrict dx, const int dxOffset,
                               const int planes, const int height, const int width)
{
    const int oh = (height + 1) / 2, ow = (width + 1) / 2;
    const int idx = get_global_id(0);
    if (idx >= planes * height * width) return;
    const int x = idx % width, y = (idx / width) % height, plane = idx / (height * width);
    const int o = (plane * oh + y / 2) * ow + x / 2;
    const int position = (y & 1) * 2 + (x & 1);
    dx[dxOffset + idx] = ((int)argmax[argOffset + o] == position) ? dy[dyOffset + o] : 0.0f;
}
