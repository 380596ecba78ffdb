// See include/distance.h.
#include "ckernels.h"
#include <math.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define GT_DISTANCE_X86 1
#endif

// The reference arithmetic: lane l accumulates min(|a - b|, clip)^2 of elements l, l+8, l+16, ...
// with fmaf; the lanes are then added in order 0..7 and the tail (dim % 8 elements) with fmaf.
// With clip = +inf, min(|d|, clip)^2 is d^2 bit for bit.
static inline float clipped(float d, float clip) {
    // fminf(|d|, clip) without its NaN branch: a NaN |d| gives clip here as fminf does.
    const float a = fabsf(d);
    return a < clip ? a : clip;
}

static float distance_portable(const float *a, const float *b, size_t dim, float clip) {
    float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t j = 0;
    for (; j + 8 <= dim; j += 8)
        for (int l = 0; l < 8; l++) { float d = clipped(a[j + l] - b[j + l], clip); lanes[l] = fmaf(d, d, lanes[l]); }
    float s = 0;
    for (int l = 0; l < 8; l++) s += lanes[l];
    for (; j < dim; j++) { float d = clipped(a[j] - b[j], clip); s = fmaf(d, d, s); }
    return s;
}

static void distances_portable(const float *bank, size_t rows, const float *q, size_t nq, size_t dim, float clip, float *out) {
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < nq; i++) out[r * nq + i] = distance_portable(bank + r * dim, q + i * dim, dim, clip);
}

#ifdef GT_DISTANCE_X86
// The lanes summed in order, then the tail. The tail clips only when the caller does (the same
// values either way: min(|d|, inf)^2 = d^2), since fminf's NaN handling costs more than the rest
// of a short row's tail.
__attribute__((target("avx2,fma"), always_inline))
static inline float finish_avx2(__m256 acc, const float *a, const float *b, size_t j, size_t dim, float clip, const int clip_tail) {
    float lanes[8];
    _mm256_storeu_ps(lanes, acc);
    float s = 0;
    for (int l = 0; l < 8; l++) s += lanes[l];
    for (; j < dim; j++) { float d = clip_tail ? clipped(a[j] - b[j], clip) : a[j] - b[j]; s = fmaf(d, d, s); }
    return s;
}

// min(|d|, clip) in 8 lanes: the sign bit cleared, then the smaller of the two (as fminf for
// these operands: no NaN reaches here from finite transformed features). Without a clip, d itself:
// min(|d|, inf)^2 is d^2 bit for bit, so skipping the two operations changes no result and keeps
// the Euclidean search (and the encoder's 4096-wide embeddings) as fast as before the clip.
__attribute__((target("avx2,fma"), always_inline))
static inline __m256 clip_avx2(__m256 d, __m256 clip, const int clipped) {
    return clipped ? _mm256_min_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), d), clip) : d;
}

// 4 bank rows x 4 queries per block (16 accumulators, 8 loads per 16 subtract + FMA pairs); the edges go
// through the single-pair loop, which does the same arithmetic.
__attribute__((target("avx2,fma"), always_inline))
static inline void distances_avx2_body(const float *bank, size_t rows, const float *q, size_t nq, size_t dim, float clip, float *out,
                                       const int clipped) {
    const size_t main = dim / 8 * 8;
    const __m256 cv = _mm256_set1_ps(clip);
    size_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        size_t i = 0;
        for (; i + 4 <= nq; i += 4) {
            __m256 acc[4][4];
            for (int x = 0; x < 4; x++)
                for (int y = 0; y < 4; y++) acc[x][y] = _mm256_setzero_ps();
            for (size_t j = 0; j < main; j += 8) {
                __m256 b0 = _mm256_loadu_ps(bank + (r + 0) * dim + j), b1 = _mm256_loadu_ps(bank + (r + 1) * dim + j);
                __m256 b2 = _mm256_loadu_ps(bank + (r + 2) * dim + j), b3 = _mm256_loadu_ps(bank + (r + 3) * dim + j);
                for (int y = 0; y < 4; y++) {
                    __m256 qv = _mm256_loadu_ps(q + (i + y) * dim + j);
                    __m256 d0 = clip_avx2(_mm256_sub_ps(b0, qv), cv, clipped), d1 = clip_avx2(_mm256_sub_ps(b1, qv), cv, clipped);
                    __m256 d2 = clip_avx2(_mm256_sub_ps(b2, qv), cv, clipped), d3 = clip_avx2(_mm256_sub_ps(b3, qv), cv, clipped);
                    acc[0][y] = _mm256_fmadd_ps(d0, d0, acc[0][y]);
                    acc[1][y] = _mm256_fmadd_ps(d1, d1, acc[1][y]);
                    acc[2][y] = _mm256_fmadd_ps(d2, d2, acc[2][y]);
                    acc[3][y] = _mm256_fmadd_ps(d3, d3, acc[3][y]);
                }
            }
            for (int x = 0; x < 4; x++)
                for (int y = 0; y < 4; y++)
                    out[(r + x) * nq + i + y] = finish_avx2(acc[x][y], bank + (r + x) * dim, q + (i + y) * dim, main, dim, clip, clipped);
        }
        for (; i < nq; i++)
            for (int x = 0; x < 4; x++) {
                __m256 acc = _mm256_setzero_ps();
                for (size_t j = 0; j < main; j += 8) {
                    __m256 d = clip_avx2(_mm256_sub_ps(_mm256_loadu_ps(bank + (r + x) * dim + j), _mm256_loadu_ps(q + i * dim + j)), cv, clipped);
                    acc = _mm256_fmadd_ps(d, d, acc);
                }
                out[(r + x) * nq + i] = finish_avx2(acc, bank + (r + x) * dim, q + i * dim, main, dim, clip, clipped);
            }
    }
    for (; r < rows; r++)
        for (size_t i = 0; i < nq; i++) {
            __m256 acc = _mm256_setzero_ps();
            for (size_t j = 0; j < main; j += 8) {
                __m256 d = clip_avx2(_mm256_sub_ps(_mm256_loadu_ps(bank + r * dim + j), _mm256_loadu_ps(q + i * dim + j)), cv, clipped);
                acc = _mm256_fmadd_ps(d, d, acc);
            }
            out[r * nq + i] = finish_avx2(acc, bank + r * dim, q + i * dim, main, dim, clip, clipped);
        }
}
#endif

#ifdef GT_DISTANCE_X86
// The body specialised twice: with the clip's two operations, and without them when clip is +inf.
__attribute__((target("avx2,fma")))
static void distances_avx2_clipped(const float *bank, size_t rows, const float *q, size_t nq, size_t dim, float clip, float *out) {
    distances_avx2_body(bank, rows, q, nq, dim, clip, out, 1);
}

__attribute__((target("avx2,fma")))
static void distances_avx2_euclidean(const float *bank, size_t rows, const float *q, size_t nq, size_t dim, float clip, float *out) {
    distances_avx2_body(bank, rows, q, nq, dim, clip, out, 0);
}
#endif

#ifdef GT_DISTANCE_X86
// One query against listed bank rows, with the arithmetic of distances_avx2_body's single-pair loop.
__attribute__((target("avx2,fma"), always_inline))
static inline void rows_avx2_body(const float *bank, const int32_t *rows, size_t count, const float *q, size_t dim, float clip,
                                  float *out, const int clipped) {
    const size_t main = dim / 8 * 8;
    const __m256 cv = _mm256_set1_ps(clip);
    for (size_t n = 0; n < count; n++) {
        const float *b = bank + (size_t)rows[n] * dim;
        __m256 acc = _mm256_setzero_ps();
        for (size_t j = 0; j < main; j += 8) {
            __m256 d = clip_avx2(_mm256_sub_ps(_mm256_loadu_ps(b + j), _mm256_loadu_ps(q + j)), cv, clipped);
            acc = _mm256_fmadd_ps(d, d, acc);
        }
        out[n] = finish_avx2(acc, b, q, main, dim, clip, clipped);
    }
}

__attribute__((target("avx2,fma")))
static void rows_avx2_clipped(const float *bank, const int32_t *rows, size_t count, const float *q, size_t dim, float clip, float *out) {
    rows_avx2_body(bank, rows, count, q, dim, clip, out, 1);
}

__attribute__((target("avx2,fma")))
static void rows_avx2_euclidean(const float *bank, const int32_t *rows, size_t count, const float *q, size_t dim, float clip, float *out) {
    rows_avx2_body(bank, rows, count, q, dim, clip, out, 0);
}
#endif

void gt_squared_distances_to_rows(const float *bank, const int32_t *rows, size_t count, const float *query, size_t dim, float clip,
                                  float *out) {
#ifdef GT_DISTANCE_X86
    if (gt_isa_supported(GT_ISA_AVX2)) {
        if (isinf(clip)) rows_avx2_euclidean(bank, rows, count, query, dim, clip, out);
        else rows_avx2_clipped(bank, rows, count, query, dim, clip, out);
        return;
    }
#endif
    for (size_t n = 0; n < count; n++) out[n] = distance_portable(bank + (size_t)rows[n] * dim, query, dim, clip);
}

void gt_squared_distances(const float *bank, size_t rows, const float *queries, size_t nq, size_t dim, float clip, float *out) {
#ifdef GT_DISTANCE_X86
    if (gt_isa_supported(GT_ISA_AVX2)) {
        if (isinf(clip)) distances_avx2_euclidean(bank, rows, queries, nq, dim, clip, out);
        else distances_avx2_clipped(bank, rows, queries, nq, dim, clip, out);
        return;
    }
#endif
    distances_portable(bank, rows, queries, nq, dim, clip, out);
}
