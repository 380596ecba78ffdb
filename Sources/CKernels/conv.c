// Direct convolution for the CPU backend; see include/ckernels.h for the contract and
// conv_template.h for the kernels, which this file compiles once per instruction-set level.
//
// Why direct rather than im2col + SGEMM: im2col writes Ci*K*K copies of every input pixel to
// memory (9x for a 3x3 layer) before the GEMM reads them back, and scatters the GEMM's result
// into NCHW afterwards. Here the padded input is read in place by the microkernel, the filter is
// packed once per call (it changes every training step, and is small), and bias and ReLU are
// applied on the way out of the registers.
#include "ckernels.h"
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define GT_X86 1
#endif

// MARK: - Shared helpers (level-independent)

typedef struct {
    int pad, padded_width, plane, pixels, taps, channel_blocks;
} gt_conv_layout;

static size_t gt_round16(size_t n) { return (n + 15) & ~(size_t)15; }

static gt_conv_layout gt_conv_layout_of(gt_conv_shape s, int block) {
    gt_conv_layout L;
    L.pad = (s.kernel - 1) / 2;
    L.padded_width = s.width + 2 * L.pad;
    L.plane = (s.height + 2 * L.pad) * L.padded_width;
    L.pixels = s.height * s.width;
    L.taps = s.kernel * s.kernel;
    L.channel_blocks = (s.out_channels + block - 1) / block;
    return L;
}

// The 2x2 stride-2 max-pool after a convolution of shape s: ceil(H/2) x ceil(W/2) windows.
typedef struct {
    int height, width, pixels;
} gt_pool_layout;

static gt_pool_layout gt_pool_layout_of(gt_conv_shape s) {
    gt_pool_layout P;
    P.height = (s.height + 1) / 2;
    P.width = (s.width + 1) / 2;
    P.pixels = P.height * P.width;
    return P;
}

// Windows the fused forward + pool reduces at a time (a multiple of 8, for the transposing
// store): their pixels' register tile, 4 x 16 x 32 floats at most, stays in L1.
#define GT_POOL_GROUP 16

// Images padded together by the forward kernel: enough that the padded inputs of a chunk fill
// about 256 KiB (they are read once per output-channel block, so they should stay in L2).
static int gt_conv_forward_chunk(gt_conv_shape s, int images) {
    const gt_conv_layout L = gt_conv_layout_of(s, 1);
    long per_image = (long)s.in_channels * L.plane;
    long chunk = 65536 / (per_image > 0 ? per_image : 1);
    if (chunk > images) chunk = images;
    return chunk < 1 ? 1 : (int)chunk;
}

// Images per backward-filter chunk: at least 256 pixels, so that each register block's load
// and store of its partial sums is spread over a long enough reduction.
static int gt_conv_filter_chunk(gt_conv_shape s, int images) {
    const int pixels = s.height * s.width > 0 ? s.height * s.width : 1;
    int chunk = (256 + pixels - 1) / pixels;
    if (chunk > images) chunk = images;
    return chunk < 1 ? 1 : chunk;
}

static void gt_conv_tap_offsets(gt_conv_shape s, int *tapoff) {
    const gt_conv_layout L = gt_conv_layout_of(s, 1);
    for (int ky = 0; ky < s.kernel; ky++)
        for (int kx = 0; kx < s.kernel; kx++) tapoff[ky * s.kernel + kx] = ky * L.padded_width + kx;
}

// `images` NCHW images -> [image][channel][H+2p][W+2p] with a zero border.
static void gt_conv_pad_images(gt_conv_shape s, const float *src, int images, float *dst) {
    const gt_conv_layout L = gt_conv_layout_of(s, 1);
    const int planes = images * s.in_channels;
    for (int p = 0; p < planes; p++) {
        float *d = dst + (size_t)p * L.plane;
        const float *x = src + (size_t)p * L.pixels;
        if (L.pad > 0) {
            memset(d, 0, sizeof(float) * (size_t)L.pad * L.padded_width);
            memset(d + (size_t)(L.pad + s.height) * L.padded_width, 0, sizeof(float) * (size_t)L.pad * L.padded_width);
        }
        for (int y = 0; y < s.height; y++) {
            float *row = d + (size_t)(y + L.pad) * L.padded_width;
            for (int i = 0; i < L.pad; i++) { row[i] = 0; row[L.pad + s.width + i] = 0; }
            memcpy(row + L.pad, x + (size_t)y * s.width, sizeof(float) * (size_t)s.width);
        }
    }
}

// dy [image][Co][pixels] -> [Co/block][image*pixels][block], zero for channels >= Co. Each
// block's pixels are contiguous: read at a stride of Co floats instead, the 2 KiB rows of a
// 512-channel-wide layout fall into 1/8 of the L1 sets and the slice no longer stays in L1.
// Only blocks [block_first, block_end) are written (a thread that owns those output channels).
static void gt_conv_transpose_gradient(gt_conv_shape s, const float *dy, int images, int block, int block_first,
                                       int block_end, float *dyt) {
    const int pixels = s.height * s.width;
    const size_t count = (size_t)images * pixels;
    for (int i = 0; i < images; i++) {
        for (int co = block_first * block; co < block_end * block; co++) {
            float *d = dyt + ((size_t)(co / block) * count + (size_t)i * pixels) * block + co % block;
            if (co < s.out_channels) {
                const float *src = dy + ((size_t)i * s.out_channels + co) * pixels;
                for (int p = 0; p < pixels; p++) d[(size_t)p * block] = src[p];
            } else {
                for (int p = 0; p < pixels; p++) d[(size_t)p * block] = 0;
            }
        }
    }
}

// tile[rb][block] (pixels x channels) -> NCHW output through the pixel offsets, with the epilogue.
static void gt_conv_store_tile(const float *tile, int block, int rb, const int *ooff, float *out, int co0, int nco,
                               int pixels, const float *bias, int relu, int accumulate) {
    for (int lane = 0; lane < nco; lane++) {
        float *o = out + (size_t)(co0 + lane) * pixels;
        const float bc = bias ? bias[co0 + lane] : 0.0f;
        for (int r = 0; r < rb; r++) {
            float v = tile[r * block + lane] + bc;
            if (relu) v = v > 0 ? v : 0;
            if (accumulate) v += o[ooff[r]];
            o[ooff[r]] = v;
        }
    }
}

#ifdef GT_X86
// The same epilogue with the tile transposed in registers, 8 pixels x 8 channels at a time, for
// pixels that are consecutive in memory (one image: the usual case). The scalar version spends
// about as long per output as 4 FMAs, which was a quarter of a 64-channel 3x3 layer's time.
// Used by the AVX2 and AVX-512 kernels (AVX-512F implies AVX2 and FMA); the tile must have room
// for whole groups of 8 pixels (GT_TILE_FLOATS), whose extra rows are ignored.
__attribute__((target("avx2,fma")))
static void gt_conv_store_tile_avx2(const float *tile, int block, int rb, const int *ooff, float *out, int co0,
                                    int nco, int pixels, const float *bias, int relu, int accumulate) {
    if (ooff[rb - 1] - ooff[0] != rb - 1) {
        gt_conv_store_tile(tile, block, rb, ooff, out, co0, nco, pixels, bias, relu, accumulate);
        return;
    }
    const __m256i lane_index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256 zero = _mm256_setzero_ps();
    for (int p0 = 0; p0 < rb; p0 += 8) {
        const int np = rb - p0 < 8 ? rb - p0 : 8;
        const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(np), lane_index);
        for (int c0 = 0; c0 < nco; c0 += 8) {
            const float *t = tile + (size_t)p0 * block + c0;
            const __m256 r0 = _mm256_loadu_ps(t), r1 = _mm256_loadu_ps(t + block), r2 = _mm256_loadu_ps(t + 2 * block),
                         r3 = _mm256_loadu_ps(t + 3 * block), r4 = _mm256_loadu_ps(t + 4 * block),
                         r5 = _mm256_loadu_ps(t + 5 * block), r6 = _mm256_loadu_ps(t + 6 * block),
                         r7 = _mm256_loadu_ps(t + 7 * block);
            const __m256 a0 = _mm256_unpacklo_ps(r0, r1), a1 = _mm256_unpackhi_ps(r0, r1);
            const __m256 a2 = _mm256_unpacklo_ps(r2, r3), a3 = _mm256_unpackhi_ps(r2, r3);
            const __m256 a4 = _mm256_unpacklo_ps(r4, r5), a5 = _mm256_unpackhi_ps(r4, r5);
            const __m256 a6 = _mm256_unpacklo_ps(r6, r7), a7 = _mm256_unpackhi_ps(r6, r7);
            const __m256 b0 = _mm256_shuffle_ps(a0, a2, _MM_SHUFFLE(1, 0, 1, 0));
            const __m256 b1 = _mm256_shuffle_ps(a0, a2, _MM_SHUFFLE(3, 2, 3, 2));
            const __m256 b2 = _mm256_shuffle_ps(a1, a3, _MM_SHUFFLE(1, 0, 1, 0));
            const __m256 b3 = _mm256_shuffle_ps(a1, a3, _MM_SHUFFLE(3, 2, 3, 2));
            const __m256 b4 = _mm256_shuffle_ps(a4, a6, _MM_SHUFFLE(1, 0, 1, 0));
            const __m256 b5 = _mm256_shuffle_ps(a4, a6, _MM_SHUFFLE(3, 2, 3, 2));
            const __m256 b6 = _mm256_shuffle_ps(a5, a7, _MM_SHUFFLE(1, 0, 1, 0));
            const __m256 b7 = _mm256_shuffle_ps(a5, a7, _MM_SHUFFLE(3, 2, 3, 2));
            __m256 column[8];
            column[0] = _mm256_permute2f128_ps(b0, b4, 0x20);
            column[1] = _mm256_permute2f128_ps(b1, b5, 0x20);
            column[2] = _mm256_permute2f128_ps(b2, b6, 0x20);
            column[3] = _mm256_permute2f128_ps(b3, b7, 0x20);
            column[4] = _mm256_permute2f128_ps(b0, b4, 0x31);
            column[5] = _mm256_permute2f128_ps(b1, b5, 0x31);
            column[6] = _mm256_permute2f128_ps(b2, b6, 0x31);
            column[7] = _mm256_permute2f128_ps(b3, b7, 0x31);
            const int nc = nco - c0 < 8 ? nco - c0 : 8;
            for (int k = 0; k < nc; k++) {
                const int co = co0 + c0 + k;
                float *o = out + (size_t)co * pixels + ooff[p0];
                __m256 v = column[k];
                if (bias) v = _mm256_add_ps(v, _mm256_set1_ps(bias[co]));
                if (relu) v = _mm256_max_ps(v, zero);
                if (accumulate) v = _mm256_add_ps(v, _mm256_maskload_ps(o, mask));
                _mm256_maskstore_ps(o, mask, v);
            }
        }
    }
}
#endif

// Winograd F(2x2, 3x3) (winograd_template.h): the pool's positions as floats, and images per
// chunk (converted to channels-last together): enough for one block of `tb` tiles, within about
// 256 KiB of channels-last input, at least one.
static const float gt_wino_positions[4] = {0, 1, 2, 3};
static const float gt_wino_half[1] = {0.5f};

static int gt_wino_chunk(gt_conv_shape s, int images, int tb) {
    const int tiles = (s.height / 2) * (s.width / 2) > 0 ? (s.height / 2) * (s.width / 2) : 1;
    const long plane = (long)(s.height + 2) * (s.width + 2) * (s.in_channels + 15);
    long chunk = (tb + tiles - 1) / tiles;
    const long cap = 65536 / (plane > 0 ? plane : 1);
    if (chunk > cap) chunk = cap;
    if (chunk > images) chunk = images;
    return chunk < 1 ? 1 : (int)chunk;
}

// MARK: - The kernels, once per level

// The register blocks' loops over pixels and pairs must be unrolled completely, or their
// accumulators live in memory: Clang's default threshold left AVX-512's 12 x 2 blocks rolled.
#if defined(__clang__)
#define GT_UNROLL _Pragma("clang loop unroll(full)")
#elif defined(__GNUC__)
#define GT_UNROLL _Pragma("GCC unroll 16")
#else
#define GT_UNROLL
#endif

// The register blocks' sizes as switch cases, C(n) for each: the kernels' *_any dispatchers call
// a version specialised for each size, so that a short last block keeps its accumulators in registers.
#define GT_BLOCK_SIZES(C) C(1) C(2) C(3) C(4) C(5) C(6) C(7) C(8) C(9) C(10) C(11) C(12)

#define GT_TILE_FLOATS (16 * 32) // the largest RB_PIX x block, rounded up to whole groups of 8 pixels

// Portable: the compiler's generic vectors (GCC and Clang), loaded with memcpy (no alignment).
typedef float gt_v4 __attribute__((vector_size(16)));
static inline gt_v4 gt_v4_load(const float *p) { gt_v4 v; memcpy(&v, p, sizeof v); return v; }
static inline void gt_v4_store(float *p, gt_v4 v) { memcpy(p, &v, sizeof v); }
typedef int gt_v4i __attribute__((vector_size(16)));
static inline gt_v4 gt_v4_select(gt_v4i mask, gt_v4 yes, gt_v4 no) {
    return (gt_v4)(((gt_v4i)yes & mask) | ((gt_v4i)no & ~mask));
}
// max(v, 0) that maps NaN to 0, as the scalar epilogue's v > 0 ? v : 0 and AVX's max_ps(v, 0) do.
static inline gt_v4 gt_v4_max_zero(gt_v4 v) {
    const gt_v4 zero = {0, 0, 0, 0};
    return gt_v4_select(v > zero, v, zero);
}
// One step of the max-pool: a cell replaces the best so far only when strictly greater.
static inline void gt_v4_pool(gt_v4 *best, gt_v4 *where, gt_v4 v, gt_v4 at) {
    const gt_v4i greater = v > *best;
    *best = gt_v4_select(greater, v, *best);
    *where = gt_v4_select(greater, at, *where);
}

#define GT_NAME(x) x##_portable
#define GT_FN
#define VEC gt_v4
#define VL 4
#define VZERO() ((gt_v4){0, 0, 0, 0})
#define VLOAD(p) gt_v4_load(p)
#define VSTORE(p, v) gt_v4_store((p), (v))
#define VBCAST(p) ((gt_v4){0, 0, 0, 0} + *(p))
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VADD(a, b) ((a) + (b))
#define VMAXZERO(v) gt_v4_max_zero(v)
#define VPOOL(best, where, v, at) gt_v4_pool(&(best), &(where), (v), (at))
#define RB_PIX 4
#define RB_TAP 4
#define GT_STORE_TILE gt_conv_store_tile
#define VSUB(a, b) ((a) - (b))
#define VMUL(a, b) ((a) * (b))
#define RB_TILE 4
#include "conv_template.h"
#include "winograd_template.h"
#undef GT_NAME
#undef GT_FN
#undef VEC
#undef VL
#undef VZERO
#undef VLOAD
#undef VSTORE
#undef VBCAST
#undef VFMA
#undef VADD
#undef VMAXZERO
#undef VPOOL
#undef RB_PIX
#undef RB_TAP
#undef GT_STORE_TILE
#undef VSUB
#undef VMUL
#undef RB_TILE

#ifdef GT_X86
#define GT_NAME(x) x##_avx2
#define GT_FN __attribute__((target("avx2,fma")))
#define VEC __m256
#define VL 8
#define VZERO() _mm256_setzero_ps()
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps((p), (v))
#define VBCAST(p) _mm256_broadcast_ss(p)
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define VADD(a, b) _mm256_add_ps((a), (b))
#define VMAXZERO(v) _mm256_max_ps((v), _mm256_setzero_ps()) // NaN -> 0 (the second operand)
#define VPOOL(best, where, v, at) do { \
        const __m256 greater_ = _mm256_cmp_ps((v), (best), _CMP_GT_OQ); \
        (best) = _mm256_blendv_ps((best), (v), greater_); \
        (where) = _mm256_blendv_ps((where), (at), greater_); \
    } while (0)
#define RB_PIX 6
#define RB_TAP 6
#define VSUB(a, b) _mm256_sub_ps((a), (b))
#define VMUL(a, b) _mm256_mul_ps((a), (b))
#define RB_TILE 6
#define GT_STORE_TILE gt_conv_store_tile_avx2
#include "conv_template.h"
#include "winograd_template.h"
#undef GT_NAME
#undef GT_FN
#undef VEC
#undef VL
#undef VZERO
#undef VLOAD
#undef VSTORE
#undef VBCAST
#undef VFMA
#undef VADD
#undef VMAXZERO
#undef VPOOL
#undef RB_PIX
#undef RB_TAP
#undef GT_STORE_TILE
#undef VSUB
#undef VMUL
#undef RB_TILE

#define GT_NAME(x) x##_avx512
#define GT_FN __attribute__((target("avx512f")))
#define VEC __m512
#define VL 16
#define VZERO() _mm512_setzero_ps()
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps((p), (v))
#define VBCAST(p) _mm512_set1_ps(*(p))
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define VADD(a, b) _mm512_add_ps((a), (b))
#define VMAXZERO(v) _mm512_max_ps((v), _mm512_setzero_ps()) // NaN -> 0 (the second operand)
#define VPOOL(best, where, v, at) do { \
        const __mmask16 greater_ = _mm512_cmp_ps_mask((v), (best), _CMP_GT_OQ); \
        (best) = _mm512_mask_blend_ps(greater_, (best), (v)); \
        (where) = _mm512_mask_blend_ps(greater_, (where), (at)); \
    } while (0)
// 10 pixels (20 accumulators): with 12, Clang spilled accumulators in some blocks.
#define RB_PIX 10
#define RB_TAP 12
#define VSUB(a, b) _mm512_sub_ps((a), (b))
#define VMUL(a, b) _mm512_mul_ps((a), (b))
#define RB_TILE 12
#define GT_STORE_TILE gt_conv_store_tile_avx2
#include "conv_template.h"
#include "winograd_template.h"
#undef GT_NAME
#undef GT_FN
#undef VEC
#undef VL
#undef VZERO
#undef VLOAD
#undef VSTORE
#undef VBCAST
#undef VFMA
#undef VADD
#undef VMAXZERO
#undef VPOOL
#undef RB_PIX
#undef RB_TAP
#undef GT_STORE_TILE
#undef VSUB
#undef VMUL
#undef RB_TILE
#endif

// MARK: - Entry points

// A level the CPU cannot run falls back to the portable one, consistently in every entry point
// (the packed layouts depend on the level).
static int gt_effective_isa(int isa) {
    return gt_isa_supported(isa) ? isa : GT_ISA_PORTABLE;
}

int gt_conv_channel_block(int isa) {
    switch (gt_effective_isa(isa)) {
    case GT_ISA_AVX512: return 32;
    case GT_ISA_AVX2: return 16;
    default: return 8;
    }
}

gt_conv_shape gt_conv_transposed_shape(gt_conv_shape s) {
    gt_conv_shape t = s;
    t.in_channels = s.out_channels;
    t.out_channels = s.in_channels;
    return t;
}

size_t gt_conv_packed_filter_floats(int isa, gt_conv_shape s) {
    const int block = gt_conv_channel_block(isa);
    const gt_conv_layout L = gt_conv_layout_of(s, block);
    return (size_t)L.channel_blocks * block * s.in_channels * L.taps;
}

void gt_conv_pack_filter(int isa, gt_conv_shape s, const float *filter, float *packed) {
    const int block = gt_conv_channel_block(isa);
    const gt_conv_layout L = gt_conv_layout_of(s, block);
    for (int cob = 0; cob < L.channel_blocks; cob++)
        for (int ci = 0; ci < s.in_channels; ci++)
            for (int t = 0; t < L.taps; t++) {
                float *d = packed + (((size_t)cob * s.in_channels + ci) * L.taps + t) * block;
                for (int lane = 0; lane < block; lane++) {
                    const int co = cob * block + lane;
                    d[lane] = co < s.out_channels ? filter[((size_t)co * s.in_channels + ci) * L.taps + t] : 0.0f;
                }
            }
}

void gt_conv_pack_filter_transposed(int isa, gt_conv_shape s, const float *filter, float *packed) {
    const gt_conv_shape t = gt_conv_transposed_shape(s);
    const int block = gt_conv_channel_block(isa);
    const gt_conv_layout L = gt_conv_layout_of(t, block);
    // In the transposed shape, input channels are the original output channels (co) and the
    // blocked output channels are the original input channels (ci).
    for (int cib = 0; cib < L.channel_blocks; cib++)
        for (int co = 0; co < s.out_channels; co++)
            for (int tap = 0; tap < L.taps; tap++) {
                float *d = packed + (((size_t)cib * s.out_channels + co) * L.taps + tap) * block;
                for (int lane = 0; lane < block; lane++) {
                    const int ci = cib * block + lane;
                    d[lane] = ci < s.in_channels
                        ? filter[((size_t)co * s.in_channels + ci) * L.taps + (L.taps - 1 - tap)] : 0.0f;
                }
            }
}

size_t gt_conv_forward_scratch_floats(int isa, gt_conv_shape s, int images) {
    (void)isa;
    const gt_conv_layout L = gt_conv_layout_of(s, 1);
    const size_t chunk = (size_t)gt_conv_forward_chunk(s, images);
    return gt_round16(chunk * s.in_channels * L.plane) + 2 * gt_round16(chunk * L.pixels) +
        gt_round16((size_t)L.taps) + GT_TILE_FLOATS;
}

void gt_conv_forward(int isa, gt_conv_shape s, const float *packed_filter, const float *bias, int relu,
                     int accumulate, const float *input, float *output, int first, int end, float *scratch) {
    gt_conv_forward_blocks(isa, s, packed_filter, bias, relu, accumulate, input, output, first, end, 0,
                           gt_conv_channel_blocks(isa, s), scratch);
}

void gt_conv_forward_blocks(int isa, gt_conv_shape s, const float *packed_filter, const float *bias, int relu,
                            int accumulate, const float *input, float *output, int first, int end, int block_first,
                            int block_end, float *scratch) {
    if (end <= first || block_end <= block_first) return;
    switch (gt_effective_isa(isa)) {
#ifdef GT_X86
    case GT_ISA_AVX512:
        conv_forward_avx512(s, packed_filter, bias, relu, accumulate, input, output, first, end, block_first, block_end,
                            scratch);
        return;
    case GT_ISA_AVX2:
        conv_forward_avx2(s, packed_filter, bias, relu, accumulate, input, output, first, end, block_first, block_end,
                          scratch);
        return;
#endif
    default:
        conv_forward_portable(s, packed_filter, bias, relu, accumulate, input, output, first, end, block_first,
                              block_end, scratch);
    }
}

size_t gt_conv_forward_pool_scratch_floats(int isa, gt_conv_shape s, int images) {
    const int block = gt_conv_channel_block(isa);
    const gt_conv_layout L = gt_conv_layout_of(s, 1);
    const gt_pool_layout P = gt_pool_layout_of(s);
    const size_t chunk = (size_t)gt_conv_forward_chunk(s, images);
    return gt_round16(chunk * s.in_channels * L.plane) + gt_round16(chunk * L.pixels) +
        gt_round16(chunk * P.pixels + 1) + gt_round16(chunk * P.pixels) + gt_round16(chunk * L.pixels) +
        gt_round16((size_t)L.taps) + (size_t)(4 + 2) * GT_POOL_GROUP * block + (size_t)block;
}

void gt_conv_forward_pool(int isa, gt_conv_shape s, const float *packed_filter, const float *bias, const float *input,
                          float *pooled, float *argmax, int first, int end, float *scratch) {
    gt_conv_forward_pool_blocks(isa, s, packed_filter, bias, input, pooled, argmax, first, end, 0,
                                gt_conv_channel_blocks(isa, s), scratch);
}

void gt_conv_forward_pool_blocks(int isa, gt_conv_shape s, const float *packed_filter, const float *bias,
                                 const float *input, float *pooled, float *argmax, int first, int end, int block_first,
                                 int block_end, float *scratch) {
    if (end <= first || block_end <= block_first) return;
    switch (gt_effective_isa(isa)) {
#ifdef GT_X86
    case GT_ISA_AVX512:
        conv_forward_pool_avx512(s, packed_filter, bias, input, pooled, argmax, first, end, block_first, block_end,
                                 scratch);
        return;
    case GT_ISA_AVX2:
        conv_forward_pool_avx2(s, packed_filter, bias, input, pooled, argmax, first, end, block_first, block_end,
                               scratch);
        return;
#endif
    default:
        conv_forward_pool_portable(s, packed_filter, bias, input, pooled, argmax, first, end, block_first, block_end,
                                   scratch);
    }
}

size_t gt_conv_filter_partial_floats(int isa, gt_conv_shape s) {
    return gt_conv_packed_filter_floats(isa, s);
}

size_t gt_conv_backward_filter_scratch_floats(int isa, gt_conv_shape s, int images) {
    const int block = gt_conv_channel_block(isa);
    const gt_conv_layout L = gt_conv_layout_of(s, block);
    const size_t chunk = (size_t)gt_conv_filter_chunk(s, images);
    return gt_round16(chunk * s.in_channels * L.plane) + gt_round16(chunk * L.pixels * L.channel_blocks * block) +
        gt_round16(chunk * L.pixels) + gt_round16((size_t)L.taps);
}

void gt_conv_backward_filter(int isa, gt_conv_shape s, const float *input, const float *output_gradient,
                             int first, int end, float *partial, float *scratch) {
    const int blocks = gt_conv_layout_of(s, gt_conv_channel_block(isa)).channel_blocks;
    gt_conv_backward_filter_blocks(isa, s, input, output_gradient, first, end, 0, blocks, partial, scratch);
}

int gt_conv_channel_blocks(int isa, gt_conv_shape s) {
    return gt_conv_layout_of(s, gt_conv_channel_block(isa)).channel_blocks;
}

void gt_conv_backward_filter_blocks(int isa, gt_conv_shape s, const float *input, const float *output_gradient,
                                    int first, int end, int block_first, int block_end, float *partial, float *scratch) {
    if (end <= first || block_end <= block_first) return;
    switch (gt_effective_isa(isa)) {
#ifdef GT_X86
    case GT_ISA_AVX512:
        conv_backward_filter_avx512(s, input, output_gradient, first, end, block_first, block_end, partial, scratch);
        return;
    case GT_ISA_AVX2:
        conv_backward_filter_avx2(s, input, output_gradient, first, end, block_first, block_end, partial, scratch);
        return;
#endif
    default:
        conv_backward_filter_portable(s, input, output_gradient, first, end, block_first, block_end, partial, scratch);
    }
}

void gt_conv_reduce_filter(int isa, gt_conv_shape s, const float *partials, int count, size_t stride,
                           float *filter_gradient, int accumulate, int co_first, int co_end) {
    const int block = gt_conv_channel_block(isa);
    const gt_conv_layout L = gt_conv_layout_of(s, block);
    // One (block, input channel) tile [taps][block] at a time, so that it stays in L1 while its
    // lanes are written out: lane by lane over the whole partial instead loaded every cache line
    // `block` times from L2 (conv4's reduction took a fifth of its filter gradient).
    for (int cob = co_first / block; cob * block < co_end; cob++) {
        const int lane_first = co_first > cob * block ? co_first - cob * block : 0;
        const int lane_end = co_end < (cob + 1) * block ? co_end - cob * block : block;
        for (int ci = 0; ci < s.in_channels; ci++) {
            const size_t tile = ((size_t)cob * s.in_channels + ci) * L.taps * block;
            if (count == 1) {
                // One partial (the channel split, or one thread): a transpose of the tile.
                const float *src = partials + tile;
                for (int lane = lane_first; lane < lane_end; lane++) {
                    float *d = filter_gradient + ((size_t)(cob * block + lane) * s.in_channels + ci) * L.taps;
                    if (accumulate)
                        for (int t = 0; t < L.taps; t++) d[t] += src[t * block + lane];
                    else
                        for (int t = 0; t < L.taps; t++) d[t] = src[t * block + lane];
                }
                continue;
            }
            for (int lane = lane_first; lane < lane_end; lane++) {
                float *d = filter_gradient + ((size_t)(cob * block + lane) * s.in_channels + ci) * L.taps;
                for (int t = 0; t < L.taps; t++) {
                    const size_t at = tile + (size_t)t * block + lane;
                    float sum = 0;
                    for (int k = 0; k < count; k++) sum += partials[k * stride + at];
                    d[t] = accumulate ? d[t] + sum : sum;
                }
            }
        }
    }
}

// MARK: - Winograd F(2x2, 3x3) entry points

int gt_wino_supported(gt_conv_shape s) {
    return s.kernel == 3 && s.in_channels > 0 && s.out_channels > 0 && s.height >= 2 && s.width >= 2 &&
        s.height % 2 == 0 && s.width % 2 == 0;
}

static int gt_wino_register_tiles(int isa) {
    switch (gt_effective_isa(isa)) {
    case GT_ISA_AVX512: return 12;
    case GT_ISA_AVX2: return 6;
    default: return 4;
    }
}

size_t gt_wino_filter_floats(int isa, gt_conv_shape s) {
    return (size_t)gt_conv_channel_blocks(isa, s) * 16 * s.in_channels * gt_conv_channel_block(isa);
}

size_t gt_wino_scratch_floats(int isa, gt_conv_shape s, int images) {
    const int block = gt_conv_channel_block(isa), vl = block / 2, rb = gt_wino_register_tiles(isa), tb = 3 * rb;
    const size_t civ = (size_t)(s.in_channels + vl - 1) / vl * vl;
    const size_t plane = (size_t)(s.height + 2) * (s.width + 2) * civ;
    const size_t chunk = (size_t)gt_wino_chunk(s, images, tb);
    return gt_round16(chunk * plane) + gt_round16(16 * (size_t)tb * civ) + gt_round16(16 * (size_t)rb * block) +
        (size_t)(4 * tb + 8) * block + (size_t)(tb + 8) * block + gt_round16(4 * (size_t)tb) + 2 * gt_round16((size_t)tb) +
        (size_t)block + 16;
}

void gt_wino_filter(int isa, gt_conv_shape s, const float *filter, int transposed, float *u, int block_first,
                    int block_end) {
    switch (gt_effective_isa(isa)) {
#ifdef GT_X86
    case GT_ISA_AVX512: wino_filter_avx512(s, filter, transposed, u, block_first, block_end); return;
    case GT_ISA_AVX2: wino_filter_avx2(s, filter, transposed, u, block_first, block_end); return;
#endif
    default: wino_filter_portable(s, filter, transposed, u, block_first, block_end);
    }
}

static void gt_wino_dispatch(int isa, gt_conv_shape s, const float *u, const float *bias, int relu, int accumulate,
                             const float *input, float *output, float *pooled, float *argmax, int first, int end,
                             int block_first, int block_end, float *scratch) {
    if (end <= first || block_end <= block_first) return;
    switch (gt_effective_isa(isa)) {
#ifdef GT_X86
    case GT_ISA_AVX512:
        wino_run_avx512(s, u, bias, relu, accumulate, input, output, pooled, argmax, first, end, block_first, block_end,
                        scratch);
        return;
    case GT_ISA_AVX2:
        wino_run_avx2(s, u, bias, relu, accumulate, input, output, pooled, argmax, first, end, block_first, block_end,
                      scratch);
        return;
#endif
    default:
        wino_run_portable(s, u, bias, relu, accumulate, input, output, pooled, argmax, first, end, block_first,
                          block_end, scratch);
    }
}

void gt_wino_forward(int isa, gt_conv_shape s, const float *u, const float *bias, int relu, int accumulate,
                     const float *input, float *output, int first, int end, int block_first, int block_end,
                     float *scratch) {
    gt_wino_dispatch(isa, s, u, bias, relu, accumulate, input, output, NULL, NULL, first, end, block_first, block_end,
                     scratch);
}

void gt_wino_forward_pool(int isa, gt_conv_shape s, const float *u, const float *bias, const float *input,
                          float *pooled, float *argmax, int first, int end, int block_first, int block_end,
                          float *scratch) {
    gt_wino_dispatch(isa, s, u, bias, 1, 0, input, NULL, pooled, argmax, first, end, block_first, block_end, scratch);
}

size_t gt_wino_filter_gradient_scratch_floats(int isa, gt_conv_shape s, int images) {
    const int block = gt_conv_channel_block(isa), vl = block / 2, tb = 4 * gt_wino_register_tiles(isa);
    const size_t civ = (size_t)(s.in_channels + vl - 1) / vl * vl;
    const size_t cov = (size_t)gt_conv_channel_blocks(isa, s) * block;
    const size_t plane = (size_t)(s.height + 2) * (s.width + 2) * civ;
    const size_t chunk = (size_t)gt_wino_chunk(s, images, tb);
    return gt_round16(chunk * plane) + gt_round16(chunk * (size_t)s.height * s.width * cov) +
        gt_round16(16 * (size_t)tb * civ) + gt_round16(16 * (size_t)tb * block) + 16;
}

void gt_wino_filter_gradient(int isa, gt_conv_shape s, const float *input, const float *output_gradient, int first,
                             int end, int block_first, int block_end, float *partial, float *scratch) {
    if (end <= first || block_end <= block_first) return;
    switch (gt_effective_isa(isa)) {
#ifdef GT_X86
    case GT_ISA_AVX512:
        wino_filter_gradient_avx512(s, input, output_gradient, first, end, block_first, block_end, partial, scratch);
        return;
    case GT_ISA_AVX2:
        wino_filter_gradient_avx2(s, input, output_gradient, first, end, block_first, block_end, partial, scratch);
        return;
#endif
    default:
        wino_filter_gradient_portable(s, input, output_gradient, first, end, block_first, block_end, partial, scratch);
    }
}

void gt_wino_reduce_filter(int isa, gt_conv_shape s, const float *partials, int count, size_t stride,
                           float *filter_gradient, int accumulate, int block_first, int block_end) {
    if (block_end <= block_first || count < 1) return;
    switch (gt_effective_isa(isa)) {
#ifdef GT_X86
    case GT_ISA_AVX512:
        wino_reduce_filter_avx512(s, partials, count, stride, filter_gradient, accumulate, block_first, block_end);
        return;
    case GT_ISA_AVX2:
        wino_reduce_filter_avx2(s, partials, count, stride, filter_gradient, accumulate, block_first, block_end);
        return;
#endif
    default:
        wino_reduce_filter_portable(s, partials, count, stride, filter_gradient, accumulate, block_first, block_end);
    }
}
