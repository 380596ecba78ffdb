// Winograd F(2x2, 3x3), fused: written once and compiled once per instruction-set level by
// conv.c, right after conv_template.h and with the same macros, plus
//   VSUB(a, b) VMUL(a, b)   a - b, a * b
//   RB_TILE      tiles per register block (x 2 vectors of output channels)
//
// Each 2x2 block of outputs (a tile) comes from a 4x4 patch of the padded input: V = B^T d B per
// tile and input channel, U = G g G^T per filter, M = U V summed over input channels for each of
// the 16 points of the transform domain, Y = A^T M A: 16 multiplies per tile and channel pair
// instead of 36 (2.25x fewer). Unlike a Winograd built from 16 large GEMMs, nothing transformed
// goes to memory beyond L2: a block of at most TB tiles is transformed (V: [16][TB][Ci], about
// 300 KiB at Ci = 128), multiplied one register block of RB_TILE tiles and one output-channel block
// at a time into a 16 x RB_TILE x B tile of M in L1, and transformed back at once, with bias,
// ReLU and, for the fused op, the 2x2 max-pool: a tile's 2x2 outputs are exactly one pooling window.
//
// Layouts (B = 2 VL output channels per block):
//   transformed filter  u  [ceil(Co/B)][16][Ci][B]   (zero beyond Co)
//   channels-last input    per image [H+2][W+2][CiV], CiV = Ci rounded up to VL, zero border
//   transformed input   V  [16][TB][CiV]             (tiles of the block)
// The input transform is vectorised over input channels (hence channels-last), the products over
// output channels, and the output transform over output channels; the transposing store of
// conv_template.h writes the result to NCHW. Each output's arithmetic is the same whatever the
// batch, the block or the thread split: sums over input channels in order, one tile at a time.

#define WB (2 * VL)

// U for output-channel blocks [block_first, block_end). `filter` is [Co][Ci][3][3] of `s`, or with
// `transposed` the forward filter whose input gradient `s` is: [s.in][s.out][3][3], taps rotated.
// One (block, input channel) at a time: the block's taps gathered into g[9][B], transformed as
// vectors across the block's channels, and stored as 16 rows of B (one per point).
static GT_FN void GT_NAME(wino_filter)(gt_conv_shape s, const float *filter, int transposed, float *u,
                                       int block_first, int block_end) {
    const int ci_n = s.in_channels, co_n = s.out_channels;
    const size_t xi_stride = (size_t)ci_n * WB;
    float g[9 * WB];
    for (int cob = block_first; cob < block_end; cob++) {
        float *ub = u + (size_t)cob * 16 * xi_stride;
        for (int ci = 0; ci < ci_n; ci++) {
            for (int lane = 0; lane < WB; lane++) {
                const int co = cob * WB + lane;
                if (co >= co_n) {
                    for (int t = 0; t < 9; t++) g[t * WB + lane] = 0.0f;
                } else if (transposed) {
                    const float *w = filter + ((size_t)ci * co_n + co) * 9;
                    for (int t = 0; t < 9; t++) g[t * WB + lane] = w[8 - t];
                } else {
                    const float *w = filter + ((size_t)co * ci_n + ci) * 9;
                    for (int t = 0; t < 9; t++) g[t * WB + lane] = w[t];
                }
            }
            float *d = ub + (size_t)ci * WB;
            for (int h = 0; h < WB; h += VL) {
                const VEC half = VBCAST(gt_wino_half);
                // t = G g (4x3), G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]
                VEC t[4][3];
                GT_UNROLL for (int c = 0; c < 3; c++) {
                    const VEC g0 = VLOAD(g + c * WB + h), g1 = VLOAD(g + (3 + c) * WB + h), g2 = VLOAD(g + (6 + c) * WB + h);
                    t[0][c] = g0;
                    t[1][c] = VMUL(half, VADD(VADD(g0, g1), g2));
                    t[2][c] = VMUL(half, VADD(VSUB(g0, g1), g2));
                    t[3][c] = g2;
                }
                // u = t G^T (4x4)
                GT_UNROLL for (int r = 0; r < 4; r++) {
                    const VEC a = t[r][0], b = t[r][1], c = t[r][2];
                    VSTORE(d + (4 * r + 0) * xi_stride + h, a);
                    VSTORE(d + (4 * r + 1) * xi_stride + h, VMUL(half, VADD(VADD(a, b), c)));
                    VSTORE(d + (4 * r + 2) * xi_stride + h, VMUL(half, VADD(VSUB(a, b), c)));
                    VSTORE(d + (4 * r + 3) * xi_stride + h, c);
                }
            }
        }
    }
}

// M for `rb` tiles and one output-channel block: m[16][RB_TILE][B] = sum over ci of
// V[xi][tile][ci] * U[xi][ci][0..B).
static inline __attribute__((always_inline)) GT_FN void GT_NAME(wino_products)(
    const int rb, const float *v, int tb, int civ, int cin, const float *ub, float *m) {
    for (int xi = 0; xi < 16; xi++) {
        const float *vx = v + (size_t)xi * tb * civ;
        const float *w = ub + (size_t)xi * cin * WB;
        VEC acc0[RB_TILE], acc1[RB_TILE];
        GT_UNROLL for (int r = 0; r < rb; r++) {
            acc0[r] = VZERO();
            acc1[r] = VZERO();
        }
        for (int ci = 0; ci < cin; ci++) {
            const VEC w0 = VLOAD(w), w1 = VLOAD(w + VL);
            w += WB;
            GT_UNROLL for (int r = 0; r < rb; r++) {
                const VEC b = VBCAST(vx + (size_t)r * civ + ci);
                acc0[r] = VFMA(b, w0, acc0[r]);
                acc1[r] = VFMA(b, w1, acc1[r]);
            }
        }
        float *mx = m + (size_t)xi * RB_TILE * WB;
        GT_UNROLL for (int r = 0; r < rb; r++) {
            VSTORE(mx + r * WB, acc0[r]);
            VSTORE(mx + r * WB + VL, acc1[r]);
        }
    }
}

#define GT_WINO_CASE(n) \
    case n: GT_NAME(wino_products)((n) <= RB_TILE ? (n) : RB_TILE, v, tb, civ, cin, ub, m); break;

static GT_FN void GT_NAME(wino_products_any)(int rb, const float *v, int tb, int civ, int cin, const float *ub,
                                             float *m) {
    switch (rb) {
        GT_BLOCK_SIZES(GT_WINO_CASE)
    default: break;
    }
}
#undef GT_WINO_CASE

// images NCHW -> [image][H+2][W+2][civ], zero border and zero channels beyond Ci.
static GT_FN void GT_NAME(wino_channels_last)(gt_conv_shape s, const float *src, int images, int civ, float *dst) {
    const int pw = s.width + 2, ph = s.height + 2, pixels = s.height * s.width;
    const size_t plane = (size_t)ph * pw * civ;
    for (int i = 0; i < images; i++) {
        float *d = dst + (size_t)i * plane;
        // The border rows and columns, and the padding channels, are zero.
        memset(d, 0, sizeof(float) * (size_t)pw * civ);
        memset(d + (size_t)(ph - 1) * pw * civ, 0, sizeof(float) * (size_t)pw * civ);
        for (int y = 1; y <= s.height; y++) {
            memset(d + (size_t)y * pw * civ, 0, sizeof(float) * civ);
            memset(d + ((size_t)y * pw + pw - 1) * civ, 0, sizeof(float) * civ);
            if (civ > s.in_channels)
                for (int x = 1; x <= s.width; x++)
                    memset(d + ((size_t)y * pw + x) * civ + s.in_channels, 0,
                           sizeof(float) * (size_t)(civ - s.in_channels));
        }
        // 8 channels x 8 pixels at a time: reads and writes stay within a few cache lines.
        const float *x = src + (size_t)i * s.in_channels * pixels;
        for (int c0 = 0; c0 < s.in_channels; c0 += 8) {
            const int c1 = c0 + 8 < s.in_channels ? c0 + 8 : s.in_channels;
            for (int y = 0; y < s.height; y++) {
                float *row = d + ((size_t)(y + 1) * pw + 1) * civ;
                for (int c = c0; c < c1; c++) {
                    const float *xr = x + (size_t)c * pixels + (size_t)y * s.width;
                    for (int xx = 0; xx < s.width; xx++) row[(size_t)xx * civ + c] = xr[xx];
                }
            }
        }
    }
}

// V for tiles [q0, q0 + nt) of the chunk (tile q: image q / tpi, row and column in it).
static GT_FN void GT_NAME(wino_input)(gt_conv_shape s, const float *xcl, int civ, int q0, int nt, int tb, float *v) {
    const int tw = s.width / 2, tpi = (s.height / 2) * tw, pw = s.width + 2;
    const size_t plane = (size_t)(s.height + 2) * pw * civ, row = (size_t)pw * civ, xi_stride = (size_t)tb * civ;
    for (int t = 0; t < nt; t++) {
        const int q = q0 + t, i = q / tpi, ty = (q % tpi) / tw, tx = q % tw;
        const float *d = xcl + i * plane + (size_t)(2 * ty) * row + (size_t)(2 * tx) * civ;
        float *out = v + (size_t)t * civ;
        for (int c = 0; c < civ; c += VL) {
            VEC x[4][4];
            GT_UNROLL for (int a = 0; a < 4; a++)
                GT_UNROLL for (int b = 0; b < 4; b++) x[a][b] = VLOAD(d + a * row + (size_t)b * civ + c);
            // t = B^T d, B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
            VEC y[4][4];
            GT_UNROLL for (int b = 0; b < 4; b++) {
                y[0][b] = VSUB(x[0][b], x[2][b]);
                y[1][b] = VADD(x[1][b], x[2][b]);
                y[2][b] = VSUB(x[2][b], x[1][b]);
                y[3][b] = VSUB(x[1][b], x[3][b]);
            }
            // t B
            GT_UNROLL for (int a = 0; a < 4; a++) {
                VSTORE(out + (4 * a + 0) * xi_stride + c, VSUB(y[a][0], y[a][2]));
                VSTORE(out + (4 * a + 1) * xi_stride + c, VADD(y[a][1], y[a][2]));
                VSTORE(out + (4 * a + 2) * xi_stride + c, VSUB(y[a][2], y[a][1]));
                VSTORE(out + (4 * a + 3) * xi_stride + c, VSUB(y[a][1], y[a][3]));
            }
        }
    }
}

// A^T q A of one tile's 16 vectors at q[xi * stride]: the outputs (0,0), (0,1), (1,0), (1,1).
static inline __attribute__((always_inline)) GT_FN void GT_NAME(wino_output_tile)(const float *q, size_t stride,
                                                                                 VEC o[4]) {
    VEC r0[4], r1[4];
    GT_UNROLL for (int c = 0; c < 4; c++) {
        const VEC q0 = VLOAD(q + c * stride), q1 = VLOAD(q + (4 + c) * stride), q2 = VLOAD(q + (8 + c) * stride),
                  q3 = VLOAD(q + (12 + c) * stride);
        r0[c] = VADD(VADD(q0, q1), q2);
        r1[c] = VSUB(VSUB(q1, q2), q3);
    }
    o[0] = VADD(VADD(r0[0], r0[1]), r0[2]);
    o[1] = VSUB(VSUB(r0[1], r0[2]), r0[3]);
    o[2] = VADD(VADD(r1[0], r1[1]), r1[2]);
    o[3] = VSUB(VSUB(r1[1], r1[2]), r1[3]);
}

// Writes rows [0, rows) of a staging tile [rows][B] through their offsets, one call of the
// transposing store per run of consecutive offsets (rows of one image row).
static GT_FN void GT_NAME(wino_store)(const float *tile, int rows, const int *ooff, float *out, int co0, int nco,
                                      int pixels, const float *bias, int relu, int accumulate) {
    for (int r = 0; r < rows;) {
        int e = r + 1;
        while (e < rows && ooff[e] == ooff[e - 1] + 1) e++;
        GT_STORE_TILE(tile + (size_t)r * WB, WB, e - r, ooff + r, out, co0, nco, pixels, bias, relu, accumulate);
        r = e;
    }
}

// Tiles per block: three register blocks.
#define WINO_TB (3 * RB_TILE)

static GT_FN void GT_NAME(wino_run)(gt_conv_shape s, const float *u, const float *bias, int relu, int accumulate,
                                    const float *input, float *output, float *pooled, float *argmax, int first,
                                    int end, int block_first, int block_end, float *scratch) {
    const int civ = (s.in_channels + VL - 1) / VL * VL, cin = s.in_channels;
    const int tw = s.width / 2, tpi = (s.height / 2) * tw, pixels = s.height * s.width;
    const int chunk = gt_wino_chunk(s, end - first, WINO_TB);
    const size_t plane = (size_t)(s.height + 2) * (s.width + 2) * civ;
    float *xcl = scratch;
    float *v = xcl + gt_round16((size_t)chunk * plane);
    float *m = v + gt_round16((size_t)16 * WINO_TB * civ);
    float *stage = m + gt_round16((size_t)16 * RB_TILE * WB);
    float *stage_arg = stage + (size_t)(4 * WINO_TB + 8) * WB;
    int *ooff = (int *)(stage_arg + (size_t)(WINO_TB + 8) * WB);
    int *srow = ooff + gt_round16((size_t)4 * WINO_TB), *slen = srow + gt_round16(WINO_TB);
    float *bias_block = (float *)(slen + gt_round16(WINO_TB));
    const int pool = pooled != NULL;
    for (int n0 = first; n0 < end; n0 += chunk) {
        const int nc = end - n0 < chunk ? end - n0 : chunk;
        GT_NAME(wino_channels_last)(s, input + (size_t)n0 * cin * pixels, nc, civ, xcl);
        const int count = nc * tpi, blocks = (count + WINO_TB - 1) / WINO_TB;
        for (int b = 0, q0 = 0; b < blocks; b++) {
            const int nt = (count - q0 + (blocks - b) - 1) / (blocks - b);
            GT_NAME(wino_input)(s, xcl, civ, q0, nt, WINO_TB, v);
            // Output offsets of the staging rows, from the chunk's first image (ints within a chunk):
            // pooled, one row per tile (its window); else four rows per tile, ordered so that each
            // image row's outputs are consecutive rows.
            if (pool) {
                for (int t = 0; t < nt; t++) {
                    const int q = q0 + t;
                    ooff[t] = (q / tpi) * s.out_channels * tpi + q % tpi;
                }
            } else {
                for (int t = 0; t < nt;) {
                    const int q = q0 + t, i = q / tpi, ty = (q % tpi) / tw;
                    int len = 1;
                    while (t + len < nt && (q + len) / tpi == i && ((q + len) % tpi) / tw == ty) len++;
                    for (int k = 0; k < len; k++) {
                        const int tx = (q + k) % tw;
                        srow[t + k] = 4 * t + 2 * k;
                        slen[t + k] = 2 * len;
                        for (int a = 0; a < 2; a++)
                            for (int c = 0; c < 2; c++)
                                ooff[4 * t + a * 2 * len + 2 * k + c] =
                                    i * s.out_channels * pixels + (2 * ty + a) * s.width + 2 * tx + c;
                    }
                    t += len;
                }
            }
            for (int cob = block_first; cob < block_end; cob++) {
                const int co0 = cob * WB, nco = s.out_channels - co0 < WB ? s.out_channels - co0 : WB;
                const float *ub = u + (size_t)cob * 16 * cin * WB;
                if (pool)
                    for (int lane = 0; lane < WB; lane++) bias_block[lane] = bias && lane < nco ? bias[co0 + lane] : 0.0f;
                const int rblocks = (nt + RB_TILE - 1) / RB_TILE;
                for (int rbi = 0, r0 = 0; rbi < rblocks; rbi++) {
                    const int rb = (nt - r0 + (rblocks - rbi) - 1) / (rblocks - rbi);
                    GT_NAME(wino_products_any)(rb, v + (size_t)r0 * civ, WINO_TB, civ, cin, ub, m);
                    for (int r = 0; r < rb; r++) {
                        const int t = r0 + r;
                        for (int h = 0; h < WB; h += VL) {
                            VEC o[4];
                            GT_NAME(wino_output_tile)(m + (size_t)r * WB + h, (size_t)RB_TILE * WB, o);
                            if (pool) {
                                const VEC bv = VLOAD(bias_block + h);
                                VEC best = VMAXZERO(VADD(o[0], bv)), where = VZERO();
                                VPOOL(best, where, VMAXZERO(VADD(o[1], bv)), VBCAST(gt_wino_positions + 1));
                                VPOOL(best, where, VMAXZERO(VADD(o[2], bv)), VBCAST(gt_wino_positions + 2));
                                VPOOL(best, where, VMAXZERO(VADD(o[3], bv)), VBCAST(gt_wino_positions + 3));
                                VSTORE(stage + (size_t)t * WB + h, best);
                                VSTORE(stage_arg + (size_t)t * WB + h, where);
                            } else {
                                float *base = stage + (size_t)srow[t] * WB + h;
                                const size_t next = (size_t)slen[t] * WB;
                                VSTORE(base, o[0]);
                                VSTORE(base + WB, o[1]);
                                VSTORE(base + next, o[2]);
                                VSTORE(base + next + WB, o[3]);
                            }
                        }
                    }
                    r0 += rb;
                }
                if (pool) {
                    const size_t at = (size_t)n0 * s.out_channels * tpi;
                    GT_NAME(wino_store)(stage, nt, ooff, pooled + at, co0, nco, tpi, NULL, 0, 0);
                    if (argmax) GT_NAME(wino_store)(stage_arg, nt, ooff, argmax + at, co0, nco, tpi, NULL, 0, 0);
                } else {
                    GT_NAME(wino_store)(stage, 4 * nt, ooff, output + (size_t)n0 * s.out_channels * pixels, co0, nco,
                                        pixels, bias, relu, accumulate);
                }
            }
            q0 += nt;
        }
    }
}


// MARK: The filter gradient
//
// The transforms are linear, so the gradient of U for a tile is (A e A^T) (.) V, e being the
// tile's 2x2 output gradient and V its transformed input, and the filter's gradient is G^T dU G:
// dU[xi][co][ci] = sum over tiles of E[xi][tile][co] V[xi][tile][ci], 16 products whose reduction
// runs over tiles (K = images x tiles), accumulated in a partial laid out as U,
// [ceil(Co/B)][16][Ci][B]; `wino_reduce_filter` sums the partials and transforms them back.

// dy of `images` NCHW -> [image][H][W][cov], cov = the channel blocks' width (zero beyond Co).
static GT_FN void GT_NAME(wino_gradient_channels_last)(gt_conv_shape s, const float *dy, int images, int cov,
                                                       float *dst) {
    const int pixels = s.height * s.width;
    for (int i = 0; i < images; i++) {
        float *d = dst + (size_t)i * pixels * cov;
        if (cov > s.out_channels)
            for (int p = 0; p < pixels; p++)
                memset(d + (size_t)p * cov + s.out_channels, 0, sizeof(float) * (size_t)(cov - s.out_channels));
        const float *y = dy + (size_t)i * s.out_channels * pixels;
        for (int c0 = 0; c0 < s.out_channels; c0 += 8) {
            const int c1 = c0 + 8 < s.out_channels ? c0 + 8 : s.out_channels;
            for (int p0 = 0; p0 < pixels; p0 += 64) {
                const int p1 = p0 + 64 < pixels ? p0 + 64 : pixels;
                for (int c = c0; c < c1; c++)
                    for (int p = p0; p < p1; p++) d[(size_t)p * cov + c] = y[(size_t)c * pixels + p];
            }
        }
    }
}

// E for tiles [q0, q0 + nt) and output-channel block cob: e[16][tb][B] = A e A^T, A^T = [1 1 1 0; 0 1 -1 -1].
static GT_FN void GT_NAME(wino_gradient_tiles)(gt_conv_shape s, const float *ycl, int cov, int cob, int q0, int nt,
                                               int tb, float *e) {
    const int tw = s.width / 2, tpi = (s.height / 2) * tw;
    const size_t plane = (size_t)s.height * s.width * cov, row = (size_t)s.width * cov, xi_stride = (size_t)tb * WB;
    for (int t = 0; t < nt; t++) {
        const int q = q0 + t, i = q / tpi, ty = (q % tpi) / tw, tx = q % tw;
        const float *y = ycl + i * plane + (size_t)(2 * ty) * row + (size_t)(2 * tx) * cov + (size_t)cob * WB;
        float *out = e + (size_t)t * WB;
        for (int h = 0; h < WB; h += VL) {
            const VEC e00 = VLOAD(y + h), e01 = VLOAD(y + cov + h), e10 = VLOAD(y + row + h),
                      e11 = VLOAD(y + row + cov + h);
            // w = A e (4x2): e0, e0 + e1, e0 - e1, -e1 (rows); then each row (a, b) -> a, a + b, a - b, -b.
            VEC w[4][2];
            w[0][0] = e00; w[0][1] = e01;
            w[1][0] = VADD(e00, e10); w[1][1] = VADD(e01, e11);
            w[2][0] = VSUB(e00, e10); w[2][1] = VSUB(e01, e11);
            w[3][0] = VSUB(VZERO(), e10); w[3][1] = VSUB(VZERO(), e11);
            GT_UNROLL for (int a = 0; a < 4; a++) {
                VSTORE(out + (4 * a + 0) * xi_stride + h, w[a][0]);
                VSTORE(out + (4 * a + 1) * xi_stride + h, VADD(w[a][0], w[a][1]));
                VSTORE(out + (4 * a + 2) * xi_stride + h, VSUB(w[a][0], w[a][1]));
                VSTORE(out + (4 * a + 3) * xi_stride + h, VSUB(VZERO(), w[a][1]));
            }
        }
    }
}

// du[xi][ci0 .. ci0 + rb)[B] += sum over nt tiles of V[xi][tile][ci] E[xi][tile][0..B), for one block.
static inline __attribute__((always_inline)) GT_FN void GT_NAME(wino_gradient_products)(
    const int rb, const float *v, const float *e, int nt, int tb, int civ, int cin, float *du) {
    for (int xi = 0; xi < 16; xi++) {
        const float *vx = v + (size_t)xi * tb * civ, *ex = e + (size_t)xi * tb * WB;
        float *d = du + (size_t)xi * cin * WB;
        VEC acc0[RB_TILE], acc1[RB_TILE];
        GT_UNROLL for (int r = 0; r < rb; r++) {
            acc0[r] = VLOAD(d + r * WB);
            acc1[r] = VLOAD(d + r * WB + VL);
        }
        for (int t = 0; t < nt; t++) {
            const VEC e0 = VLOAD(ex + (size_t)t * WB), e1 = VLOAD(ex + (size_t)t * WB + VL);
            GT_UNROLL for (int r = 0; r < rb; r++) {
                const VEC b = VBCAST(vx + (size_t)t * civ + r);
                acc0[r] = VFMA(b, e0, acc0[r]);
                acc1[r] = VFMA(b, e1, acc1[r]);
            }
        }
        GT_UNROLL for (int r = 0; r < rb; r++) {
            VSTORE(d + r * WB, acc0[r]);
            VSTORE(d + r * WB + VL, acc1[r]);
        }
    }
}

#define GT_WINO_CASE(n) \
    case n: GT_NAME(wino_gradient_products)((n) <= RB_TILE ? (n) : RB_TILE, v, e, nt, tb, civ, cin, du); break;

static GT_FN void GT_NAME(wino_gradient_products_any)(int rb, const float *v, const float *e, int nt, int tb, int civ,
                                                      int cin, float *du) {
    switch (rb) {
        GT_BLOCK_SIZES(GT_WINO_CASE)
    default: break;
    }
}
#undef GT_WINO_CASE

// Tiles per block of the filter gradient: four register blocks (the partial is read and written
// once per block and output-channel block, so longer blocks spread that over more products).
#define WINO_GRAD_TB (4 * RB_TILE)

static GT_FN void GT_NAME(wino_filter_gradient)(gt_conv_shape s, const float *input, const float *dy, int first, int end,
                                                int block_first, int block_end, float *partial, float *scratch) {
    const int civ = (s.in_channels + VL - 1) / VL * VL, cin = s.in_channels;
    const int blocks = (s.out_channels + WB - 1) / WB, cov = blocks * WB;
    const int tpi = (s.height / 2) * (s.width / 2), pixels = s.height * s.width;
    const int chunk = gt_wino_chunk(s, end - first, WINO_GRAD_TB);
    const size_t plane = (size_t)(s.height + 2) * (s.width + 2) * civ;
    float *xcl = scratch;
    float *ycl = xcl + gt_round16((size_t)chunk * plane);
    float *v = ycl + gt_round16((size_t)chunk * pixels * cov);
    float *e = v + gt_round16((size_t)16 * WINO_GRAD_TB * civ);
    for (int n0 = first; n0 < end; n0 += chunk) {
        const int nc = end - n0 < chunk ? end - n0 : chunk;
        GT_NAME(wino_channels_last)(s, input + (size_t)n0 * cin * pixels, nc, civ, xcl);
        GT_NAME(wino_gradient_channels_last)(s, dy + (size_t)n0 * s.out_channels * pixels, nc, cov, ycl);
        const int count = nc * tpi, tblocks = (count + WINO_GRAD_TB - 1) / WINO_GRAD_TB;
        for (int b = 0, q0 = 0; b < tblocks; b++) {
            const int nt = (count - q0 + (tblocks - b) - 1) / (tblocks - b);
            GT_NAME(wino_input)(s, xcl, civ, q0, nt, WINO_GRAD_TB, v);
            for (int cob = block_first; cob < block_end; cob++) {
                GT_NAME(wino_gradient_tiles)(s, ycl, cov, cob, q0, nt, WINO_GRAD_TB, e);
                float *du = partial + (size_t)cob * 16 * cin * WB;
                const int rblocks = (cin + RB_TILE - 1) / RB_TILE;
                for (int rbi = 0, c0 = 0; rbi < rblocks; rbi++) {
                    const int rb = (cin - c0 + (rblocks - rbi) - 1) / (rblocks - rbi);
                    GT_NAME(wino_gradient_products_any)(rb, v + c0, e, nt, WINO_GRAD_TB, civ, cin, du + (size_t)c0 * WB);
                    c0 += rb;
                }
            }
            q0 += nt;
        }
    }
}

// filter_gradient [Co][Ci][3][3] (+)= G^T (sum of `count` partials, `stride` floats apart) G, for
// output-channel blocks [block_first, block_end), vectorised across each block's channels.
// G^T = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1].
static GT_FN void GT_NAME(wino_reduce_filter)(gt_conv_shape s, const float *partials, int count, size_t stride,
                                              float *filter_gradient, int accumulate, int block_first, int block_end) {
    const int cin = s.in_channels;
    float out[9 * WB];
    for (int cob = block_first; cob < block_end; cob++) {
        const int co0 = cob * WB, nco = s.out_channels - co0 < WB ? s.out_channels - co0 : WB;
        for (int ci = 0; ci < cin; ci++) {
            const size_t at = ((size_t)cob * 16 * cin + ci) * WB, xi_stride = (size_t)cin * WB;
            for (int h = 0; h < WB; h += VL) {
                const VEC half = VBCAST(gt_wino_half);
                VEC x[16];
                GT_UNROLL for (int xi = 0; xi < 16; xi++) {
                    VEC sum = VLOAD(partials + at + xi * xi_stride + h);
                    for (int k = 1; k < count; k++) sum = VADD(sum, VLOAD(partials + k * stride + at + xi * xi_stride + h));
                    x[xi] = sum;
                }
                // r = G^T x (3x4)
                VEC r[3][4];
                GT_UNROLL for (int c = 0; c < 4; c++) {
                    const VEC x0 = x[c], x1 = x[4 + c], x2 = x[8 + c], x3 = x[12 + c];
                    r[0][c] = VADD(x0, VMUL(half, VADD(x1, x2)));
                    r[1][c] = VMUL(half, VSUB(x1, x2));
                    r[2][c] = VADD(VMUL(half, VADD(x1, x2)), x3);
                }
                // r G (3x3)
                GT_UNROLL for (int a = 0; a < 3; a++) {
                    VSTORE(out + (3 * a + 0) * WB + h, VADD(r[a][0], VMUL(half, VADD(r[a][1], r[a][2]))));
                    VSTORE(out + (3 * a + 1) * WB + h, VMUL(half, VSUB(r[a][1], r[a][2])));
                    VSTORE(out + (3 * a + 2) * WB + h, VADD(VMUL(half, VADD(r[a][1], r[a][2])), r[a][3]));
                }
            }
            for (int lane = 0; lane < nco; lane++) {
                float *d = filter_gradient + ((size_t)(co0 + lane) * cin + ci) * 9;
                if (accumulate)
                    for (int t = 0; t < 9; t++) d[t] += out[t * WB + lane];
                else
                    for (int t = 0; t < 9; t++) d[t] = out[t * WB + lane];
            }
        }
    }
}

#undef WINO_GRAD_TB

#undef WINO_TB
#undef WB
