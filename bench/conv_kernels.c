// Single-thread rates of the CPU convolution kernels on the default network's layers, against
// the im2col + OpenBLAS path they replace: `make bench-kernels` (see docs/BENCHMARKS.md).
//
// Time is the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID), best of REPEATS, so that a
// figure survives other processes sharing the cores (it still includes their cache traffic).
// Rates are GFLOP/s with the direct-convolution FLOP count (2 N Co H W Ci K K) and as a share of
// the same thread's FMA peak probe. "gemm only" is the SGEMM of the im2col path without its
// im2col / col2im / gather passes: an upper bound for that path.
#include "ckernels.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IMAGES 16
#define REPEATS 7

static double cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double probe(int isa, double *checksum) {
    double best = 0;
    for (int r = 0; r < REPEATS; r++) {
        const double t0 = cpu_seconds();
        const double flops = gt_peak_probe_flops(isa, 10000000, checksum);
        const double rate = flops / (cpu_seconds() - t0) / 1e9;
        if (rate > best) best = rate;
    }
    return best;
}

static void im2col(gt_conv_shape s, int n, const float *x, float *col) {
    const int k = s.kernel, pad = (k - 1) / 2, h = s.height, w = s.width, hw = h * w, cols = n * hw;
    for (int c = 0; c < s.in_channels; c++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                float *row = col + (size_t)((c * k + ky) * k + kx) * cols;
                for (int i = 0; i < n; i++)
                    for (int y = 0; y < h; y++)
                        for (int xx = 0; xx < w; xx++) {
                            const int sy = y + ky - pad, sx = xx + kx - pad;
                            row[i * hw + y * w + xx] = (sy < 0 || sy >= h || sx < 0 || sx >= w)
                                ? 0 : x[((size_t)(i * s.in_channels + c) * h + sy) * w + sx];
                        }
            }
}

// maxPoolForward's loop (2x2, stride 2, ceil size, strict > in window order), for the unfused column.
static void max_pool(int planes, int h, int w, const float *x, float *y, float *argmax) {
    const int oh = (h + 1) / 2, ow = (w + 1) / 2;
    for (int p = 0; p < planes; p++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                const float *top = x + ((size_t)p * h + 2 * oy) * w + 2 * ox, *bottom = top + w;
                const int right = 2 * ox + 1 < w, below = 2 * oy + 1 < h;
                float best = top[0], k = 0;
                if (right && top[1] > best) { best = top[1]; k = 1; }
                if (below && bottom[0] > best) { best = bottom[0]; k = 2; }
                if (below && right && bottom[1] > best) { best = bottom[1]; k = 3; }
                y[((size_t)p * oh + oy) * ow + ox] = best;
                argmax[((size_t)p * oh + oy) * ow + ox] = k;
            }
}

static void *checked_malloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) { fprintf(stderr, "out of memory (%zu bytes)\n", bytes); exit(1); }
    return p;
}

int main(void) {
    openblas_set_num_threads(1);
    const int isa = gt_best_isa();
    const int layers[4][5] = {{1, 64, 32, 32, 5}, {64, 128, 16, 16, 3}, {128, 128, 8, 8, 3}, {128, 256, 4, 4, 3}};
    // The peak is the best of several probes, before and after the kernels (a peak is a maximum;
    // a slower probe was disturbed: a busy SMT sibling, a core still ramping its clock up).
    double checksum = 0, peak = probe(isa, &checksum);
    double rates[4][12];
    char names[4][64];
    for (int l = 0; l < 4; l++) {
        const gt_conv_shape s = {layers[l][0], layers[l][1], layers[l][2], layers[l][3], layers[l][4]};
        const gt_conv_shape t = gt_conv_transposed_shape(s);
        const int n = IMAGES, hw = s.height * s.width, patch = s.in_channels * s.kernel * s.kernel;
        const size_t nx = (size_t)n * s.in_channels * hw, ny = (size_t)n * s.out_channels * hw;
        const size_t nw = (size_t)s.out_channels * patch;
        float *x = checked_malloc(4 * nx), *w = checked_malloc(4 * nw), *dy = checked_malloc(4 * ny);
        float *y = checked_malloc(4 * ny), *dx = checked_malloc(4 * nx), *dw = checked_malloc(4 * nw);
        float *col = checked_malloc(4 * (size_t)patch * n * hw), *bias = checked_malloc(4 * (size_t)s.out_channels);
        for (size_t i = 0; i < nx; i++) x[i] = (float)(i % 13) * 0.1f - 0.5f;
        for (size_t i = 0; i < nw; i++) w[i] = (float)(i % 7) * 0.1f - 0.3f;
        for (size_t i = 0; i < ny; i++) dy[i] = (float)(i % 11) * 0.1f - 0.5f;
        for (int i = 0; i < s.out_channels; i++) bias[i] = 0.01f * i;
        float *packed = checked_malloc(4 * gt_conv_packed_filter_floats(isa, s));
        float *packed_t = checked_malloc(4 * gt_conv_packed_filter_floats(isa, t));
        float *scratch = checked_malloc(4 * gt_conv_forward_scratch_floats(isa, s, n));
        float *scratch_t = checked_malloc(4 * gt_conv_forward_scratch_floats(isa, t, n));
        const size_t partial_floats = gt_conv_filter_partial_floats(isa, s);
        float *partial = checked_malloc(4 * partial_floats);
        float *scratch_f = checked_malloc(4 * gt_conv_backward_filter_scratch_floats(isa, s, n));
        float *scratch_p = checked_malloc(4 * gt_conv_forward_pool_scratch_floats(isa, s, n));
        float *pooled = checked_malloc(ny), *argmax = checked_malloc(ny); // a quarter of ny floats is enough
        double best[12] = {1e30, 1e30, 1e30, 1e30, 1e30, 1e30, 1e30, 1e30, 1e30, 1e30, 1e30, 1e30};
        const int wino = gt_wino_supported(s);
        const int blocks = gt_conv_channel_blocks(isa, s), blocks_t = gt_conv_channel_blocks(isa, t);
        float *u = checked_malloc(4 * gt_wino_filter_floats(isa, s)), *u_t = checked_malloc(4 * gt_wino_filter_floats(isa, t));
        float *wscratch = checked_malloc(4 * gt_wino_scratch_floats(isa, s, n)), *wscratch_t = checked_malloc(4 * gt_wino_scratch_floats(isa, t, n));
        float *wscratch_f = checked_malloc(4 * gt_wino_filter_gradient_scratch_floats(isa, s, n));
        for (int r = 0; r < REPEATS; r++) {
            double a, e;
            a = cpu_seconds();
            gt_conv_pack_filter(isa, s, w, packed);
            gt_conv_forward(isa, s, packed, bias, 1, 0, x, y, 0, n, scratch);
            e = cpu_seconds() - a; if (e < best[0]) best[0] = e;
            a = cpu_seconds();
            im2col(s, n, x, col);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s.out_channels, n * hw, patch, 1, w, patch, col,
                        n * hw, 0, y, n * hw);
            e = cpu_seconds() - a; if (e < best[1]) best[1] = e;
            a = cpu_seconds();
            gt_conv_pack_filter_transposed(isa, s, w, packed_t);
            gt_conv_forward(isa, t, packed_t, NULL, 0, 0, dy, dx, 0, n, scratch_t);
            e = cpu_seconds() - a; if (e < best[2]) best[2] = e;
            a = cpu_seconds();
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, patch, n * hw, s.out_channels, 1, w, patch, dy, n * hw,
                        0, col, n * hw);
            e = cpu_seconds() - a; if (e < best[3]) best[3] = e;
            a = cpu_seconds();
            memset(partial, 0, 4 * partial_floats);
            gt_conv_backward_filter(isa, s, x, dy, 0, n, partial, scratch_f);
            gt_conv_reduce_filter(isa, s, partial, 1, partial_floats, dw, 0, 0, s.out_channels);
            e = cpu_seconds() - a; if (e < best[4]) best[4] = e;
            im2col(s, n, x, col);
            a = cpu_seconds();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s.out_channels, patch, n * hw, 1, dy, n * hw, col,
                        n * hw, 0, dw, patch);
            e = cpu_seconds() - a; if (e < best[5]) best[5] = e;
            a = cpu_seconds();
            gt_conv_pack_filter(isa, s, w, packed);
            gt_conv_forward_pool(isa, s, packed, bias, x, pooled, argmax, 0, n, scratch_p);
            e = cpu_seconds() - a; if (e < best[6]) best[6] = e;
            a = cpu_seconds();
            gt_conv_pack_filter(isa, s, w, packed);
            gt_conv_forward(isa, s, packed, bias, 1, 0, x, y, 0, n, scratch);
            max_pool(n * s.out_channels, s.height, s.width, y, pooled, argmax);
            e = cpu_seconds() - a; if (e < best[7]) best[7] = e;
            if (!wino) continue;
            // Winograd F(2x2, 3x3): the filter transform included, as the packing is above.
            a = cpu_seconds();
            gt_wino_filter(isa, s, w, 0, u, 0, blocks);
            gt_wino_forward(isa, s, u, bias, 1, 0, x, y, 0, n, 0, blocks, wscratch);
            e = cpu_seconds() - a; if (e < best[8]) best[8] = e;
            a = cpu_seconds();
            gt_wino_filter(isa, t, w, 1, u_t, 0, blocks_t);
            gt_wino_forward(isa, t, u_t, NULL, 0, 0, dy, dx, 0, n, 0, blocks_t, wscratch_t);
            e = cpu_seconds() - a; if (e < best[9]) best[9] = e;
            a = cpu_seconds();
            memset(u, 0, 4 * gt_wino_filter_floats(isa, s));
            gt_wino_filter_gradient(isa, s, x, dy, 0, n, 0, blocks, u, wscratch_f);
            gt_wino_reduce_filter(isa, s, u, 1, gt_wino_filter_floats(isa, s), dw, 0, 0, blocks);
            e = cpu_seconds() - a; if (e < best[10]) best[10] = e;
            a = cpu_seconds();
            gt_wino_filter(isa, s, w, 0, u, 0, blocks);
            gt_wino_forward_pool(isa, s, u, bias, x, pooled, argmax, 0, n, 0, blocks, wscratch);
            e = cpu_seconds() - a; if (e < best[11]) best[11] = e;
        }
        const double flops = 2.0 * n * s.out_channels * hw * patch;
        snprintf(names[l], sizeof names[l], "%d->%d %dx%d k%d", s.in_channels, s.out_channels, s.height, s.width,
                 s.kernel);
        for (int i = 0; i < 12; i++) rates[l][i] = best[i] < 1e30 ? flops / best[i] / 1e9 : 0;
        free(x); free(w); free(dy); free(y); free(dx); free(dw); free(col); free(bias); free(packed); free(packed_t);
        free(scratch); free(scratch_t); free(partial); free(scratch_f); free(scratch_p); free(pooled); free(argmax);
        free(u); free(u_t); free(wscratch); free(wscratch_t); free(wscratch_f);
    }
    const double after = probe(isa, &checksum);
    if (after > peak) peak = after;
    printf("kernels: %s; one-thread FMA peak probe %.1f GFLOP/s; %d images; best of %d, thread CPU time\n",
           gt_isa_name(isa), peak, IMAGES, REPEATS);
    printf("Winograd columns: direct-equivalent GFLOP/s (2.25x fewer multiplies, so they can pass the peak)\n");
    printf("%-22s %14s %14s %14s %14s %14s %14s %14s %14s %14s %14s %14s %14s\n", "layer (GFLOP/s, %peak)", "fwd direct",
           "fwd im2col", "in-grad direct", "in-grad gemm", "filt direct", "filt gemm", "fwd+pool fused", "fwd, then pool",
           "wino fwd", "wino in-grad", "wino filt", "wino fwd+pool");
    for (int l = 0; l < 4; l++) {
        printf("%-22s", names[l]);
        for (int i = 0; i < 12; i++) {
            if (rates[l][i] > 0) printf("   %6.1f (%3.0f%%)", rates[l][i], 100 * rates[l][i] / peak);
            else printf("   %14s", "-");
        }
        printf("\n");
    }
    return checksum == 12345.0; // keeps the probe's result alive
}
