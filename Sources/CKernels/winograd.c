// Winograd F(2x2, 3x3) for 3x3 "same" convolutions; see include/ckernels.h.
//
// Each 2x2 block of outputs comes from a 4x4 tile of input: V = B^T d B per tile and input
// channel, U = G g G^T per filter, M = U V summed over input channels as 16 independent GEMMs
// (one per position of the 4x4 transform domain; the caller runs them on OpenBLAS), and the
// outputs Y = A^T M A. That is 16 multiplies per 4 outputs per channel pair instead of 36: 2.25x
// fewer, paid for with the transforms (memory-bound passes over V and M). The transforms here
// are plain C loops: the GEMMs hold the arithmetic.
#include "ckernels.h"
#include <string.h>

static int tiles_h(gt_conv_shape s) { return (s.height + 1) / 2; }
static int tiles_w(gt_conv_shape s) { return (s.width + 1) / 2; }

int gt_winograd_tiles(gt_conv_shape s) { return tiles_h(s) * tiles_w(s); }

void gt_winograd_filter(gt_conv_shape s, const float *filter, int transposed, float *u) {
    // transposed: the filter of the input gradient (in and out channels of `s` swapped, taps
    // rotated by 180 degrees), read straight from the forward filter of `s`.
    const int co_n = transposed ? s.in_channels : s.out_channels;
    const int ci_n = transposed ? s.out_channels : s.in_channels;
    const size_t stride = (size_t)co_n * ci_n;
    for (int co = 0; co < co_n; co++) {
        for (int ci = 0; ci < ci_n; ci++) {
            float g[9];
            if (transposed) {
                const float *w = filter + ((size_t)ci * s.in_channels + co) * 9;
                for (int t = 0; t < 9; t++) g[t] = w[8 - t];
            } else {
                memcpy(g, filter + ((size_t)co * s.in_channels + ci) * 9, sizeof g);
            }
            // t = G g (4x3), G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]
            float t[12];
            for (int c = 0; c < 3; c++) {
                const float g0 = g[c], g1 = g[3 + c], g2 = g[6 + c];
                t[c] = g0;
                t[3 + c] = 0.5f * (g0 + g1 + g2);
                t[6 + c] = 0.5f * (g0 - g1 + g2);
                t[9 + c] = g2;
            }
            // u = t G^T (4x4)
            float *d = u + (size_t)co * ci_n + ci;
            for (int r = 0; r < 4; r++) {
                const float a = t[3 * r], b = t[3 * r + 1], c = t[3 * r + 2];
                d[(size_t)(4 * r + 0) * stride] = a;
                d[(size_t)(4 * r + 1) * stride] = 0.5f * (a + b + c);
                d[(size_t)(4 * r + 2) * stride] = 0.5f * (a - b + c);
                d[(size_t)(4 * r + 3) * stride] = c;
            }
        }
    }
}

void gt_winograd_input(gt_conv_shape s, const float *input, int images, int first, int end, float *v) {
    const int th = tiles_h(s), tw = tiles_w(s), tiles = th * tw;
    const size_t columns = (size_t)images * tiles, stride = (size_t)s.in_channels * columns;
    // One padded plane on the stack: 1 zero row/column before, enough after for whole tiles.
    const int pw = 2 * tw + 2, ph = 2 * th + 2;
    float plane_buffer[4096];
    if ((size_t)pw * ph > sizeof plane_buffer / sizeof plane_buffer[0]) return; // callers check gt_winograd_supported
    for (int n = first; n < end; n++) {
        for (int ci = 0; ci < s.in_channels; ci++) {
            const float *x = input + ((size_t)n * s.in_channels + ci) * s.height * s.width;
            memset(plane_buffer, 0, sizeof(float) * (size_t)pw * ph);
            for (int y = 0; y < s.height; y++) memcpy(plane_buffer + (size_t)(y + 1) * pw + 1, x + (size_t)y * s.width,
                                                      sizeof(float) * (size_t)s.width);
            float *out = v + (size_t)ci * columns + (size_t)n * tiles;
            for (int ty = 0; ty < th; ty++) {
                for (int tx = 0; tx < tw; tx++) {
                    const float *d = plane_buffer + (size_t)(2 * ty) * pw + 2 * tx;
                    // t = B^T d, B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
                    float t[16];
                    for (int c = 0; c < 4; c++) {
                        const float d0 = d[c], d1 = d[pw + c], d2 = d[2 * pw + c], d3 = d[3 * pw + c];
                        t[c] = d0 - d2;
                        t[4 + c] = d1 + d2;
                        t[8 + c] = d2 - d1;
                        t[12 + c] = d1 - d3;
                    }
                    // t B, column by column of the result
                    const size_t p = (size_t)ty * tw + tx;
                    for (int r = 0; r < 4; r++) {
                        const float a = t[4 * r], b = t[4 * r + 1], c = t[4 * r + 2], e = t[4 * r + 3];
                        out[(size_t)(4 * r + 0) * stride + p] = a - c;
                        out[(size_t)(4 * r + 1) * stride + p] = b + c;
                        out[(size_t)(4 * r + 2) * stride + p] = c - b;
                        out[(size_t)(4 * r + 3) * stride + p] = b - e;
                    }
                }
            }
        }
    }
}

void gt_winograd_output(gt_conv_shape s, const float *m, int images, int first, int end, const float *bias, int relu,
                        int accumulate, float *output) {
    const int th = tiles_h(s), tw = tiles_w(s), tiles = th * tw;
    const size_t columns = (size_t)images * tiles, stride = (size_t)s.out_channels * columns;
    for (int n = first; n < end; n++) {
        for (int co = 0; co < s.out_channels; co++) {
            const float *src = m + (size_t)co * columns + (size_t)n * tiles;
            float *y = output + ((size_t)n * s.out_channels + co) * s.height * s.width;
            const float bc = bias ? bias[co] : 0.0f;
            for (int ty = 0; ty < th; ty++) {
                for (int tx = 0; tx < tw; tx++) {
                    const size_t p = (size_t)ty * tw + tx;
                    float q[16];
                    for (int k = 0; k < 16; k++) q[k] = src[(size_t)k * stride + p];
                    // r = A^T q (2x4), A^T = [1 1 1 0; 0 1 -1 -1]
                    float r[8];
                    for (int c = 0; c < 4; c++) {
                        r[c] = q[c] + q[4 + c] + q[8 + c];
                        r[4 + c] = q[4 + c] - q[8 + c] - q[12 + c];
                    }
                    float o[4];
                    for (int i = 0; i < 2; i++) {
                        o[2 * i] = r[4 * i] + r[4 * i + 1] + r[4 * i + 2];
                        o[2 * i + 1] = r[4 * i + 1] - r[4 * i + 2] - r[4 * i + 3];
                    }
                    for (int i = 0; i < 2; i++) {
                        const int yy = 2 * ty + i;
                        if (yy >= s.height) break;
                        for (int j = 0; j < 2; j++) {
                            const int xx = 2 * tx + j;
                            if (xx >= s.width) break;
                            float val = o[2 * i + j] + bc;
                            if (relu) val = val > 0 ? val : 0;
                            float *dst = y + (size_t)yy * s.width + xx;
                            *dst = accumulate ? *dst + val : val;
                        }
                    }
                }
            }
        }
    }
}

int gt_winograd_supported(gt_conv_shape s) {
    return s.kernel == 3 && (size_t)(2 * tiles_w(s) + 2) * (2 * tiles_h(s) + 2) <= 4096;
}
