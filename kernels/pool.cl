// Max-pool 2x2, stride 2, ceil ("same") output size, on planes of N*C images.
// argmax holds the winner's position in its window, 0..3 row-major, stored as float;
// ties go to the first of (0,0), (0,1), (1,0), (1,1), and cells outside the input never win.

// One work-item per output row (the index arithmetic once per row, not per element).
__kernel void maxpool_forward(__global const float* restrict input, const int inOffset,
                              __global float* restrict output, const int outOffset,
                              __global float* restrict argmax, const int argOffset,
                              const int planes, const int height, const int width)
{
    const int oh = (height + 1) / 2, ow = (width + 1) / 2;
    const int row = get_global_id(0);
    if (row >= planes * oh) return;
    const int oy = row % oh, plane = row / oh;
    __global const float* top = input + inOffset + (plane * height + 2 * oy) * width;
    __global const float* bottom = top + width;
    __global float* out = output + outOffset + row * ow;
    __global float* arg = argmax + argOffset + row * ow;
    const bool hasBottom = 2 * oy + 1 < height;
    for (int ox = 0; ox < ow; ++ox) {
        const int x0 = 2 * ox;
        float best = top[x0], where = 0.0f;
        if (x0 + 1 < width && top[x0 + 1] > best) { best = top[x0 + 1]; where = 1.0f; }
        if (hasBottom) {
            if (bottom[x0] > best) { best = bottom[x0]; where = 2.0f; }
            if (x0 + 1 < width && bottom[x0 + 1] > best) { best = bottom[x0 + 1]; where = 3.0f; }
        }
        out[ox] = best;
        arg[ox] = where;
    }
}

// One work-item per output row: it writes the two input rows under that row of windows,
// each window's gradient to its winner and 0 to the rest (no atomics, no second pass).
__kernel void maxpool_backward(__global const float* restrict dy, const int dyOffset,
                               __global const float* restrict argmax, const int argOffset,
                               __global float* restrict dx, const int dxOffset,
                               const int planes, const int height, const int width)
{
    const int oh = (height + 1) / 2, ow = (width + 1) / 2;
    const int row = get_global_id(0);
    if (row >= planes * oh) return;
    const int oy = row % oh, plane = row / oh;
    __global const float* g = dy + dyOffset + row * ow;
    __global const float* w = argmax + argOffset + row * ow;
    __global float* top = dx + dxOffset + (plane * height + 2 * oy) * width;
    __global float* bottom = top + width;
    const bool hasBottom = 2 * oy + 1 < height;
    for (int ox = 0; ox < ow; ++ox) {
        const float v = g[ox];
        const int where = (int)w[ox];
        const int x = 2 * ox;
        top[x] = where == 0 ? v : 0.0f;
        if (x + 1 < width) top[x + 1] = where == 1 ? v : 0.0f;
        if (hasBottom) {
            bottom[x] = where == 2 ? v : 0.0f;
            if (x + 1 < width) bottom[x + 1] = where == 3 ? v : 0.0f;
        }
    }
}
