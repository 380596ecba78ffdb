// The direct-convolution kernels, written once and compiled once per instruction-set level by
// conv.c, which defines before each inclusion:
//   GT_NAME(x)   x with the level's suffix          GT_FN       the level's target attribute
//   VEC, VL      the vector type and its lanes      VZERO() VLOAD(p) VSTORE(p, v) VBCAST(p) VFMA(a, b, c)
//   RB_PIX       output pixels per forward register block (x 2 vectors of output channels)
//   RB_TAP       (input channel, tap) pairs per backward-filter register block (x 2 vectors of output channels)
//   GT_STORE_TILE the epilogue that writes a register tile to NCHW (scalar, or transposed in registers)
//   VADD(a, b) VMAXZERO(v) (NaN -> 0) VPOOL(best, where, v, at) (best, where = v, at where v > best)
// Both blocks are sized so that the accumulators plus two weight vectors and one broadcast fill
// the register file without spilling (AVX2: 16 registers, 6 x 2 accumulators; AVX-512: 32
// registers, 10 x 2 forward, 12 x 2 backward-filter), as oneDNN's and XNNPACK's microkernels do. Blocks are specialised for each
// size up to the maximum (a switch of constant calls), so a short last block keeps its
// accumulators in registers too.
//
// Layouts (B = 2 VL output channels per block):
//   packed filter  [ceil(Co/B)][Ci][K*K][B]   (zero beyond Co)
//   padded input   per image [Ci][H+2p][W+2p], zero border: no edge branches in the kernels
//   transposed dy  [ceil(Co/B)][pixels][B]    (backward-filter: B output channels per vector load)
//   filter partial [ceil(Co/B)][Ci][K*K][B]

#define VB (2 * VL)

// Forward register block: `rb` output pixels (their padded-input offsets in xoff) x B output
// channels, summed over every input channel and tap; the sums go to tile[rb][B].
// k3: a 3x3 kernel, unrolled so that the taps' offsets fold into addressing displacements
// (no offset table loads); `wpad` is the padded width.
static inline __attribute__((always_inline)) GT_FN void GT_NAME(forward_block)(
    const int rb, const int k3, const float *xpad, const int *xoff, const int *tapoff, int taps, int cin, int plane,
    int wpad, const float *w, float *tile) {
    const float *src[RB_PIX];
    VEC acc0[RB_PIX], acc1[RB_PIX];
    GT_UNROLL for (int r = 0; r < rb; r++) {
        src[r] = xpad + xoff[r];
        acc0[r] = VZERO();
        acc1[r] = VZERO();
    }
    for (int ci = 0; ci < cin; ci++) {
        const int base = ci * plane;
        if (k3) {
            for (int ky = 0; ky < 3; ky++) {
                const int row = base + ky * wpad;
                GT_UNROLL for (int kx = 0; kx < 3; kx++) {
                    const VEC w0 = VLOAD(w + kx * VB), w1 = VLOAD(w + kx * VB + VL);
                    GT_UNROLL for (int r = 0; r < rb; r++) {
                        const VEC b = VBCAST(src[r] + row + kx);
                        acc0[r] = VFMA(b, w0, acc0[r]);
                        acc1[r] = VFMA(b, w1, acc1[r]);
                    }
                }
                w += 3 * VB;
            }
            continue;
        }
        for (int t = 0; t < taps; t++) {
            const int k = base + tapoff[t];
            const VEC w0 = VLOAD(w), w1 = VLOAD(w + VL);
            w += VB;
            GT_UNROLL for (int r = 0; r < rb; r++) {
                const VEC b = VBCAST(src[r] + k);
                acc0[r] = VFMA(b, w0, acc0[r]);
                acc1[r] = VFMA(b, w1, acc1[r]);
            }
        }
    }
    GT_UNROLL for (int r = 0; r < rb; r++) {
        VSTORE(tile + r * VB, acc0[r]);
        VSTORE(tile + r * VB + VL, acc1[r]);
    }
}

#define GT_FORWARD_CASE(n) \
    case n: \
        if (k3) GT_NAME(forward_block)((n) <= RB_PIX ? (n) : RB_PIX, 1, xpad, xoff, tapoff, 9, cin, plane, wpad, w, tile); \
        else GT_NAME(forward_block)((n) <= RB_PIX ? (n) : RB_PIX, 0, xpad, xoff, tapoff, taps, cin, plane, wpad, w, tile); \
        break;

static GT_FN void GT_NAME(forward_any)(int rb, int k3, const float *xpad, const int *xoff, const int *tapoff, int taps,
                                       int cin, int plane, int wpad, const float *w, float *tile) {
    switch (rb) {
        GT_BLOCK_SIZES(GT_FORWARD_CASE)
    default: break;
    }
}
#undef GT_FORWARD_CASE

static GT_FN void GT_NAME(conv_forward)(gt_conv_shape s, const float *packed, const float *bias, int relu,
                                        int accumulate, const float *input, float *output, int first, int end,
                                        int block_first, int block_end, float *scratch) {
    const gt_conv_layout L = gt_conv_layout_of(s, VB);
    const int chunk = gt_conv_forward_chunk(s, end - first);
    float *xpad = scratch;
    int *xoff = (int *)(scratch + gt_round16((size_t)chunk * s.in_channels * L.plane));
    int *ooff = xoff + gt_round16((size_t)chunk * L.pixels);
    int *tapoff = ooff + gt_round16((size_t)chunk * L.pixels);
    float *tile = (float *)(tapoff + gt_round16((size_t)L.taps));
    gt_conv_tap_offsets(s, tapoff);
    for (int n0 = first; n0 < end; n0 += chunk) {
        const int nc = end - n0 < chunk ? end - n0 : chunk;
        gt_conv_pad_images(s, input + (size_t)n0 * s.in_channels * L.pixels, nc, xpad);
        const int count = nc * L.pixels;
        for (int q = 0; q < count; q++) {
            const int i = q / L.pixels, pix = q % L.pixels, y = pix / s.width, x = pix % s.width;
            xoff[q] = i * s.in_channels * L.plane + y * L.padded_width + x;
            ooff[q] = i * s.out_channels * L.pixels + pix;
        }
        float *out = output + (size_t)n0 * s.out_channels * L.pixels;
        const int blocks = (count + RB_PIX - 1) / RB_PIX;
        for (int cob = block_first; cob < block_end; cob++) {
            const float *w = packed + (size_t)cob * s.in_channels * L.taps * VB;
            const int co0 = cob * VB, nco = s.out_channels - co0 < VB ? s.out_channels - co0 : VB;
            for (int b = 0, q = 0; b < blocks; b++) {
                // Balanced blocks (sizes differ by at most one) rather than full ones and a stub.
                const int rb = (count - q + (blocks - b) - 1) / (blocks - b);
                GT_NAME(forward_any)(rb, s.kernel == 3, xpad, xoff + q, tapoff, L.taps, s.in_channels, L.plane,
                                     L.padded_width, w, tile);
                GT_STORE_TILE(tile, VB, rb, ooff + q, out, co0, nco, L.pixels, bias, relu, accumulate);
                q += rb;
            }
        }
    }
}

// Forward with bias, ReLU and a 2x2 stride-2 max-pool (ceil size) in the epilogue: only the
// pooled output (and, when `argmax` is not NULL, the winner's position 0..3) reaches memory.
// Pixels are listed window by window ((0,0), (0,1), (1,0), (1,1) of each window, the cells inside
// the image only), up to GT_POOL_GROUP windows of one image at a time; their register blocks go
// to a tile [pixels][VB] that stays in L1, and each window's vectors of VB channels are reduced
// there: + bias, max(0, .), then "greater than the best so far" in window order, the exact
// comparisons of maxPoolForward. Every sum is the forward kernel's, in the same order, so the
// pooled values equal conv_forward + maxPoolForward's bit for bit.
static GT_FN void GT_NAME(conv_forward_pool)(gt_conv_shape s, const float *packed, const float *bias,
                                             const float *input, float *pooled, float *argmax, int first, int end,
                                             int block_first, int block_end, float *scratch) {
    const gt_conv_layout L = gt_conv_layout_of(s, VB);
    const gt_pool_layout P = gt_pool_layout_of(s);
    const int chunk = gt_conv_forward_chunk(s, end - first);
    float *xpad = scratch;
    int *xoff = (int *)(scratch + gt_round16((size_t)chunk * s.in_channels * L.plane));
    int *wstart = xoff + gt_round16((size_t)chunk * L.pixels);
    int *poff = wstart + gt_round16((size_t)chunk * P.pixels + 1);
    int *cell = poff + gt_round16((size_t)chunk * P.pixels);
    int *tapoff = cell + gt_round16((size_t)chunk * L.pixels);
    float *tile = (float *)(tapoff + gt_round16((size_t)L.taps));
    float *best_tile = tile + 4 * GT_POOL_GROUP * VB;
    float *where_tile = best_tile + GT_POOL_GROUP * VB;
    float *bias_block = where_tile + GT_POOL_GROUP * VB;
    static const float position[4] = {0, 1, 2, 3};
    gt_conv_tap_offsets(s, tapoff);
    for (int n0 = first; n0 < end; n0 += chunk) {
        const int nc = end - n0 < chunk ? end - n0 : chunk;
        gt_conv_pad_images(s, input + (size_t)n0 * s.in_channels * L.pixels, nc, xpad);
        // Pixels in window order: window w's cells are xoff[wstart[w] ..< wstart[w + 1]], and
        // cell[] their positions 0..3 in the window.
        int q = 0;
        for (int i = 0; i < nc; i++)
            for (int oy = 0; oy < P.height; oy++)
                for (int ox = 0; ox < P.width; ox++) {
                    const int w = (i * P.height + oy) * P.width + ox;
                    wstart[w] = q;
                    poff[w] = i * s.out_channels * P.pixels + oy * P.width + ox;
                    for (int k = 0; k < 4; k++) {
                        const int y = 2 * oy + (k >> 1), x = 2 * ox + (k & 1);
                        if (y >= s.height || x >= s.width) continue; // cells outside the image never win
                        xoff[q] = i * s.in_channels * L.plane + y * L.padded_width + x;
                        cell[q++] = k;
                    }
                }
        wstart[nc * P.pixels] = q;
        float *out = pooled + (size_t)n0 * s.out_channels * P.pixels;
        float *arg = argmax ? argmax + (size_t)n0 * s.out_channels * P.pixels : 0;
        for (int cob = block_first; cob < block_end; cob++) {
            const float *wt = packed + (size_t)cob * s.in_channels * L.taps * VB;
            const int co0 = cob * VB, nco = s.out_channels - co0 < VB ? s.out_channels - co0 : VB;
            for (int lane = 0; lane < VB; lane++) bias_block[lane] = lane < nco && bias ? bias[co0 + lane] : 0.0f;
            const VEC bias0 = VLOAD(bias_block), bias1 = VLOAD(bias_block + VL);
            for (int i = 0; i < nc; i++) {
                for (int w0 = i * P.pixels; w0 < (i + 1) * P.pixels; w0 += GT_POOL_GROUP) {
                    const int w1 = w0 + GT_POOL_GROUP < (i + 1) * P.pixels ? w0 + GT_POOL_GROUP : (i + 1) * P.pixels;
                    const int q0 = wstart[w0], count = wstart[w1] - q0;
                    const int blocks = (count + RB_PIX - 1) / RB_PIX;
                    for (int b = 0, r0 = 0; b < blocks; b++) {
                        const int rb = (count - r0 + (blocks - b) - 1) / (blocks - b);
                        GT_NAME(forward_any)(rb, s.kernel == 3, xpad, xoff + q0 + r0, tapoff, L.taps, s.in_channels,
                                             L.plane, L.padded_width, wt, tile + (size_t)r0 * VB);
                        r0 += rb;
                    }
                    for (int w = w0; w < w1; w++) {
                        const float *t = tile + (size_t)(wstart[w] - q0) * VB;
                        const int cells = wstart[w + 1] - wstart[w];
                        VEC best0 = VMAXZERO(VADD(VLOAD(t), bias0)), best1 = VMAXZERO(VADD(VLOAD(t + VL), bias1));
                        VEC where0 = VZERO(), where1 = VZERO();
                        for (int c = 1; c < cells; c++) {
                            const VEC at = VBCAST(position + cell[wstart[w] + c]);
                            const VEC v0 = VMAXZERO(VADD(VLOAD(t + c * VB), bias0));
                            const VEC v1 = VMAXZERO(VADD(VLOAD(t + c * VB + VL), bias1));
                            VPOOL(best0, where0, v0, at);
                            VPOOL(best1, where1, v1, at);
                        }
                        VSTORE(best_tile + (size_t)(w - w0) * VB, best0);
                        VSTORE(best_tile + (size_t)(w - w0) * VB + VL, best1);
                        VSTORE(where_tile + (size_t)(w - w0) * VB, where0);
                        VSTORE(where_tile + (size_t)(w - w0) * VB + VL, where1);
                    }
                    GT_STORE_TILE(best_tile, VB, w1 - w0, poff + w0, out, co0, nco, P.pixels, 0, 0, 0);
                    if (arg) GT_STORE_TILE(where_tile, VB, w1 - w0, poff + w0, arg, co0, nco, P.pixels, 0, 0, 0);
                }
            }
        }
    }
}

// Backward-filter register block: `tb` (input channel, tap) pairs, consecutive in the flattened
// [Ci][K*K] order of the partial, x B output channels, summed over `count` pixels; accumulates
// into partial[tb][B]. Flattening lets every block be full (6 or 12 pairs) whatever K is, where
// blocks of one channel's taps left a 3x3 filter with 5 + 4 (8-10 accumulators on AVX2).
static inline __attribute__((always_inline)) GT_FN void GT_NAME(filter_block)(
    const int tb, const float *const *src, const int *xoff, int count, const float *dy, int dy_stride, float *partial) {
    const float *s[RB_TAP];
    VEC acc0[RB_TAP], acc1[RB_TAP];
    GT_UNROLL for (int j = 0; j < tb; j++) {
        s[j] = src[j];
        acc0[j] = VLOAD(partial + j * VB);
        acc1[j] = VLOAD(partial + j * VB + VL);
    }
    for (int q = 0; q < count; q++) {
        const int o = xoff[q];
        const VEC d0 = VLOAD(dy), d1 = VLOAD(dy + VL);
        dy += dy_stride;
        GT_UNROLL for (int j = 0; j < tb; j++) {
            const VEC b = VBCAST(s[j] + o);
            acc0[j] = VFMA(b, d0, acc0[j]);
            acc1[j] = VFMA(b, d1, acc1[j]);
        }
    }
    GT_UNROLL for (int j = 0; j < tb; j++) {
        VSTORE(partial + j * VB, acc0[j]);
        VSTORE(partial + j * VB + VL, acc1[j]);
    }
}

#define GT_FILTER_CASE(n) \
    case n: GT_NAME(filter_block)((n) <= RB_TAP ? (n) : RB_TAP, src, xoff, count, dy, dy_stride, partial); break;

static GT_FN void GT_NAME(filter_any)(int tb, const float *const *src, const int *xoff, int count, const float *dy,
                                      int dy_stride, float *partial) {
    switch (tb) {
        GT_BLOCK_SIZES(GT_FILTER_CASE)
    default: break;
    }
}
#undef GT_FILTER_CASE

static GT_FN void GT_NAME(conv_backward_filter)(gt_conv_shape s, const float *input, const float *output_gradient,
                                                int first, int end, int block_first, int block_end, float *partial,
                                                float *scratch) {
    const gt_conv_layout L = gt_conv_layout_of(s, VB);
    const int chunk = gt_conv_filter_chunk(s, end - first);
    const int cop = L.channel_blocks * VB;
    float *xpad = scratch;
    float *dyt = xpad + gt_round16((size_t)chunk * s.in_channels * L.plane);
    int *xoff = (int *)(dyt + gt_round16((size_t)chunk * L.pixels * cop));
    int *tapoff = xoff + gt_round16((size_t)chunk * L.pixels);
    gt_conv_tap_offsets(s, tapoff);
    const int pairs = s.in_channels * L.taps;
    const int blocks = (pairs + RB_TAP - 1) / RB_TAP;
    for (int n0 = first; n0 < end; n0 += chunk) {
        const int nc = end - n0 < chunk ? end - n0 : chunk;
        gt_conv_pad_images(s, input + (size_t)n0 * s.in_channels * L.pixels, nc, xpad);
        gt_conv_transpose_gradient(s, output_gradient + (size_t)n0 * s.out_channels * L.pixels, nc, VB, block_first,
                                   block_end, dyt);
        const int count = nc * L.pixels;
        for (int q = 0; q < count; q++) {
            const int i = q / L.pixels, pix = q % L.pixels, y = pix / s.width, x = pix % s.width;
            xoff[q] = i * s.in_channels * L.plane + y * L.padded_width + x;
        }
        for (int cob = block_first; cob < block_end; cob++) {
            for (int b = 0, e0 = 0; b < blocks; b++) {
                const int tb = (pairs - e0 + (blocks - b) - 1) / (blocks - b);
                const float *src[RB_TAP];
                for (int j = 0; j < tb; j++) {
                    const int e = e0 + j;
                    src[j] = xpad + (size_t)(e / L.taps) * L.plane + tapoff[e % L.taps];
                }
                float *p = partial + ((size_t)cob * pairs + e0) * VB;
                GT_NAME(filter_any)(tb, src, xoff, count, dyt + (size_t)cob * count * VB, VB, p);
                e0 += tb;
            }
        }
    }
}

#undef VB
