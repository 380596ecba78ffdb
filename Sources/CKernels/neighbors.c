// See include/neighbors.h.
#include "ckernels.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define GT_NEIGHBORS_X86 1
#endif

enum {
    TILE = GT_NN_ROW_TILE,
    /// Queries whose running top lists stay in cache while every bank tile passes once.
    SUPERBLOCK = 256,
    /// Queries per register block: AVX-512 NN_NQ x NN_NV vectors of 16 rows (below; 8 x 32 rows for
    /// a last odd tile); AVX2 6 x 16 rows (12 accumulators); portable 4 x 32 rows in arrays the
    /// compiler vectorises. MAX_BLOCK: the most, the padding after a superblock's queries.
    BLOCK_AVX2 = 6, BLOCK_PORTABLE = 4,
    MAX_BLOCK = 8,
};

uint64_t gt_counter_increment(uint64_t *counter) { return __atomic_add_fetch(counter, 1, __ATOMIC_SEQ_CST); }
uint64_t gt_counter_load(const uint64_t *counter) { return __atomic_load_n(counter, __ATOMIC_SEQ_CST); }

size_t gt_nn_packed_rows(size_t rows) { return (rows + TILE - 1) / TILE * TILE; }

/// The bank's first principal axis (power iteration on its covariance, in double), unit length:
/// along it, rows of one cluster lie close together. A bank without one (constant, or not finite)
/// gets the first feature's axis: any direction gives correct results, only slower ones.
static void principal_axis(const float *bank, size_t rows, size_t dim, float *direction) {
    double *mean = calloc(dim, sizeof(double)), *cov = calloc(dim * dim, sizeof(double));
    double *v = malloc(dim * sizeof(double)), *w = malloc(dim * sizeof(double));
    int ok = mean && cov && v && w && rows > 1;
    // An even sample of at most AXIS_SAMPLE rows is enough for a direction.
    enum { AXIS_SAMPLE = 4096 };
    const size_t stride = rows > AXIS_SAMPLE ? rows / AXIS_SAMPLE : 1, sampled = (rows + stride - 1) / stride;
    if (ok) {
        for (size_t r = 0; r < rows; r += stride)
            for (size_t j = 0; j < dim; j++) mean[j] += bank[r * dim + j];
        for (size_t j = 0; j < dim; j++) mean[j] /= (double)sampled;
        for (size_t r = 0; r < rows; r += stride)
            for (size_t a = 0; a < dim; a++) {
                const double da = bank[r * dim + a] - mean[a];
                for (size_t b = 0; b <= a; b++) cov[a * dim + b] += da * (bank[r * dim + b] - mean[b]);
            }
        for (size_t j = 0; j < dim; j++) v[j] = 1.0 / sqrt((double)dim + (double)j);
        for (int iteration = 0; iteration < 32 && ok; iteration++) {
            double norm = 0;
            for (size_t a = 0; a < dim; a++) {
                double t = 0;
                for (size_t b = 0; b < dim; b++) t += (a >= b ? cov[a * dim + b] : cov[b * dim + a]) * v[b];
                w[a] = t;
                norm += t * t;
            }
            norm = sqrt(norm);
            if (!(norm > 0) || !isfinite(norm)) ok = 0;
            else for (size_t j = 0; j < dim; j++) v[j] = w[j] / norm;
        }
    }
    for (size_t j = 0; j < dim; j++) direction[j] = ok ? (float)v[j] : (j == 0 ? 1.0f : 0.0f);
    free(mean); free(cov); free(v); free(w);
}

/// A row's key: its coordinate along the axis; +inf for a value that is not finite, so that every
/// key sorts.
static inline float row_key(const float *x, const float *direction, size_t dim) {
    double s = 0;
    for (size_t j = 0; j < dim; j++) s += (double)x[j] * (double)direction[j];
    const float key = (float)s;
    return isnan(key) ? INFINITY : key;
}

typedef struct { float key; int32_t index; } KeyedRow;

/// Indices 0..<count with their keys, in the order of their keys' buckets: count / 4 + 1 equal
/// buckets between the smallest and the largest finite key (a key that is not finite goes to the
/// first or the last), rows in index order inside a bucket. A counting sort, linear in count (a
/// full sort of a 1M bank took 0.2 s on one core): the search needs near rows near each other,
/// not an exact order. NULL without memory.
static KeyedRow *bucketed_by_key(const float *rows, size_t count, size_t dim, const float *direction) {
    const size_t buckets = count / 4 + 1;
    KeyedRow *keyed = malloc((count ? count : 1) * sizeof(KeyedRow)), *out = malloc((count ? count : 1) * sizeof(KeyedRow));
    size_t *start = calloc(buckets + 1, sizeof(size_t)), *bucket = malloc((count ? count : 1) * sizeof(size_t));
    if (!keyed || !out || !start || !bucket) { free(keyed); free(out); free(start); free(bucket); return NULL; }
    float lo = INFINITY, hi = -INFINITY;
    for (size_t r = 0; r < count; r++) {
        const float key = row_key(rows + r * dim, direction, dim);
        keyed[r].key = key;
        keyed[r].index = (int32_t)r;
        if (isfinite(key)) { lo = key < lo ? key : lo; hi = key > hi ? key : hi; }
    }
    const double scale = hi > lo ? (double)buckets / ((double)hi - (double)lo) : 0;
    for (size_t r = 0; r < count; r++) {
        const float key = keyed[r].key;
        size_t b;
        if (!isfinite(key)) b = key < 0 ? 0 : buckets - 1;
        else {
            const double at = ((double)key - (double)lo) * scale;
            b = at >= (double)(buckets - 1) ? buckets - 1 : (size_t)at;
        }
        bucket[r] = b;
        start[b + 1]++;
    }
    for (size_t b = 0; b < buckets; b++) start[b + 1] += start[b];
    for (size_t r = 0; r < count; r++) out[start[bucket[r]]++] = keyed[r];
    free(keyed); free(start); free(bucket);
    return out;
}

float gt_nn_pack_bank(const float *bank, size_t rows, size_t dim, float *packed, float *half_norms, int32_t *order, float *keys,
                      float *direction) {
    const size_t padded = gt_nn_packed_rows(rows);
    principal_axis(bank, rows, dim, direction);
    // Without memory for the sort, the bank's own order (all keys 0): slower searches, same results.
    KeyedRow *keyed = bucketed_by_key(bank, rows, dim, direction);
    float running = -INFINITY;  // keys[] is the running maximum: ascending, for the binary search
    float largest = 0;
    int finite = 1;
    for (size_t r0 = 0; r0 < padded; r0 += TILE) {
        float *tile = packed + r0 * dim;
        for (size_t t = 0; t < TILE; t++) {
            const size_t p = r0 + t;
            order[p] = p >= rows ? -1 : keyed ? keyed[p].index : (int32_t)p;
            if (p < rows && keyed && keyed[p].key > running) running = keyed[p].key;
            keys[p] = p >= rows ? INFINITY : keyed ? running : 0.0f;
        }
        // The rows two tiles ahead, fetched while this tile is gathered (they are scattered over
        // the bank: without this, a 1M-row bank's gather waited on memory most of its time).
        if (keyed)
            for (size_t t = 0; t < TILE && r0 + 2 * TILE + t < rows; t++) {
                const float *ahead = bank + (size_t)keyed[r0 + 2 * TILE + t].index * dim;
                __builtin_prefetch(ahead);
                __builtin_prefetch(ahead + dim - 1);
            }
        for (size_t j = 0; j < dim; j++)
            for (size_t t = 0; t < TILE; t++) tile[j * TILE + t] = r0 + t < rows ? bank[(size_t)order[r0 + t] * dim + j] : 0.0f;
        for (size_t t = 0; t < TILE; t++) {
            if (r0 + t >= rows) { half_norms[r0 + t] = INFINITY; continue; }
            float n = 0;
            for (size_t j = 0; j < dim; j++) n += tile[j * TILE + t] * tile[j * TILE + t];
            if (!isfinite(n)) finite = 0;
            else if (n > largest) largest = n;
            half_norms[r0 + t] = 0.5f * n;
        }
    }
    free(keyed);
    return finite ? largest : NAN;
}

/// Visits units (runs of tiles) outward from `start` in runs of OUTWARD_RUN units, each run in
/// ascending order (so that the hardware prefetcher still sees streams): the run holding start, the
/// one above, the one below, the next above, ..., then what is left on the longer side; the rows
/// nearest the queries' keys come first.
#ifndef OUTWARD_RUN
#define OUTWARD_RUN 4
#endif
static void outward_order(size_t start, size_t units, uint32_t *out) {
    if (units == 0) return;
    if (start >= units) start = units - 1;
    const size_t runs = (units + OUTWARD_RUN - 1) / OUTWARD_RUN, first = start / OUTWARD_RUN;
    size_t n = 0, hi = first, lo = first;  // next run above: hi; next below: lo - 1
    while (n < units) {
        size_t run = runs;
        if (hi < runs) run = hi++;
        else if (lo > 0) run = --lo;
        for (size_t u = run * OUTWARD_RUN; u < units && u < (run + 1) * OUTWARD_RUN; u++) out[n++] = (uint32_t)u;
        if (run == hi - 1 && lo > 0 && n < units) {
            run = --lo;
            for (size_t u = run * OUTWARD_RUN; u < units && u < (run + 1) * OUTWARD_RUN; u++) out[n++] = (uint32_t)u;
        }
    }
}

/// The first packed position whose key is >= key (binary search of the ascending keys).
static size_t lower_bound_key(const float *keys, size_t rows, float key) {
    size_t lo = 0, hi = rows;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        if (keys[mid] < key) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/// The running list of a query's `candidates` smallest u values: unordered, with the position and
/// value of its largest entry (the bar a new row must get under, strictly).
typedef struct {
    float *u;
    int32_t *row;
    float *bar;
    int *worst;
    size_t candidates;
} TopLists;

static inline void offer(const TopLists *lists, size_t query, float u, int32_t row) {
    const size_t c = lists->candidates;
    float *us = lists->u + query * c;
    int32_t *rows = lists->row + query * c;
    const int w = lists->worst[query];
    us[w] = u;
    rows[w] = row;
    float m = us[0];
    int at = 0;
    for (size_t s = 1; s < c; s++)
        if (us[s] > m) { m = us[s]; at = (int)s; }
    lists->bar[query] = m;
    lists->worst[query] = at;
}

/// Offers the rows of one query whose u is under its bar (bits of `hits`; values in `u`).
static inline void offer_hits(const TopLists *lists, size_t query, const float *u, uint64_t hits, size_t row0) {
    while (hits) {
        const int bit = __builtin_ctzll(hits);
        if (u[bit] < lists->bar[query]) offer(lists, query, u[bit], (int32_t)(row0 + (size_t)bit));
        hits &= hits - 1;
    }
}

#ifdef GT_NEIGHBORS_X86
/// Lists of 16 candidates (the default for k <= 8) are kept sorted, in vector registers while one
/// query's hits of a block go in: each row is inserted after the entries <= its u (a prefix, since
/// the list is sorted; none when u is at or above the last), the entries after it shifted out by
/// one, with no branch on the data; the bar is the last entry. (Longer lists use `offer`.)
enum { SORTED_CANDIDATES = 16 };

__attribute__((target("avx512f"), always_inline))
static inline void offer_hits_avx512(const TopLists *lists, size_t query, const float *u, uint64_t hits, size_t row0) {
    if (lists->candidates != SORTED_CANDIDATES) { offer_hits(lists, query, u, hits, row0); return; }
    float *us = lists->u + query * SORTED_CANDIDATES;
    int32_t *rows = lists->row + query * SORTED_CANDIDATES;
    const __m512i previous = _mm512_set_epi32(14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0);
    __m512 list = _mm512_loadu_ps(us);
    __m512i listRows = _mm512_loadu_si512(rows);
    while (hits) {
        const int bit = __builtin_ctzll(hits);
        hits &= hits - 1;
        const __m512 v = _mm512_set1_ps(u[bit]);
        const __mmask16 keep = _mm512_cmp_ps_mask(list, v, _CMP_LE_OQ), at = (__mmask16)(keep + 1);
        list = _mm512_mask_mov_ps(_mm512_permutexvar_ps(previous, list), keep, list);
        list = _mm512_mask_mov_ps(list, at, v);
        listRows = _mm512_mask_mov_epi32(_mm512_permutexvar_epi32(previous, listRows), keep, listRows);
        listRows = _mm512_mask_mov_epi32(listRows, at, _mm512_set1_epi32((int32_t)(row0 + (size_t)bit)));
    }
    _mm512_storeu_ps(us, list);
    _mm512_storeu_si512(rows, listRows);
    lists->bar[query] = us[SORTED_CANDIDATES - 1];
}

__attribute__((target("avx2,fma"), always_inline))
static inline void offer_hits_avx2(const TopLists *lists, size_t query, const float *u, uint64_t hits, size_t row0) {
    if (lists->candidates != SORTED_CANDIDATES) { offer_hits(lists, query, u, hits, row0); return; }
    float *us = lists->u + query * SORTED_CANDIDATES;
    int32_t *rows = lists->row + query * SORTED_CANDIDATES;
    const __m256i previous = _mm256_setr_epi32(0, 0, 1, 2, 3, 4, 5, 6), last = _mm256_set1_epi32(7);
    const __m256i lanesLo = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), lanesHi = _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15);
    __m256 lo = _mm256_loadu_ps(us), hi = _mm256_loadu_ps(us + 8);
    __m256i rlo = _mm256_loadu_si256((const __m256i *)rows), rhi = _mm256_loadu_si256((const __m256i *)(rows + 8));
    while (hits) {
        const int bit = __builtin_ctzll(hits);
        hits &= hits - 1;
        const __m256 v = _mm256_set1_ps(u[bit]);
        const __m256i r = _mm256_set1_epi32((int32_t)(row0 + (size_t)bit));
        const __m256 keepLo = _mm256_cmp_ps(lo, v, _CMP_LE_OQ), keepHi = _mm256_cmp_ps(hi, v, _CMP_LE_OQ);
        const __m256i pos = _mm256_set1_epi32(__builtin_popcount((unsigned)_mm256_movemask_ps(keepLo)) +
                                              __builtin_popcount((unsigned)_mm256_movemask_ps(keepHi)));
        const __m256 atLo = _mm256_castsi256_ps(_mm256_cmpeq_epi32(lanesLo, pos)), atHi = _mm256_castsi256_ps(_mm256_cmpeq_epi32(lanesHi, pos));
        const __m256 shiftedHi = _mm256_blend_ps(_mm256_permutevar8x32_ps(hi, previous), _mm256_permutevar8x32_ps(lo, last), 1);
        const __m256 shiftedLo = _mm256_permutevar8x32_ps(lo, previous);
        const __m256i rShiftedHi = _mm256_blend_epi32(_mm256_permutevar8x32_epi32(rhi, previous), _mm256_permutevar8x32_epi32(rlo, last), 1);
        const __m256i rShiftedLo = _mm256_permutevar8x32_epi32(rlo, previous);
        lo = _mm256_blendv_ps(_mm256_blendv_ps(shiftedLo, lo, keepLo), v, atLo);
        hi = _mm256_blendv_ps(_mm256_blendv_ps(shiftedHi, hi, keepHi), v, atHi);
        rlo = _mm256_castps_si256(_mm256_blendv_ps(_mm256_blendv_ps(_mm256_castsi256_ps(rShiftedLo), _mm256_castsi256_ps(rlo), keepLo),
                                                   _mm256_castsi256_ps(r), atLo));
        rhi = _mm256_castps_si256(_mm256_blendv_ps(_mm256_blendv_ps(_mm256_castsi256_ps(rShiftedHi), _mm256_castsi256_ps(rhi), keepHi),
                                                   _mm256_castsi256_ps(r), atHi));
    }
    _mm256_storeu_ps(us, lo);
    _mm256_storeu_ps(us + 8, hi);
    _mm256_storeu_si256((__m256i *)rows, rlo);
    _mm256_storeu_si256((__m256i *)(rows + 8), rhi);
    lists->bar[query] = us[SORTED_CANDIDATES - 1];
}
#endif

/// Portable block: `count` of 4 queries (q: 4 rows of dim, padded) against one tile.
static void block_portable(const float *tile, const float *half_norms, const float *q, size_t count, size_t dim,
                           size_t row0, const TopLists *lists, size_t first) {
    float acc[BLOCK_PORTABLE][TILE];
    for (int i = 0; i < BLOCK_PORTABLE; i++)
        for (int t = 0; t < TILE; t++) acc[i][t] = half_norms[t];
    for (size_t j = 0; j < dim; j++)
        for (int i = 0; i < BLOCK_PORTABLE; i++) {
            const float qv = q[i * dim + j];
            for (int t = 0; t < TILE; t++) acc[i][t] -= qv * tile[j * TILE + t];
        }
    for (size_t i = 0; i < count; i++) {
        uint64_t hits = 0;
        const float bar = lists->bar[first + i];
        for (int t = 0; t < TILE; t++) hits |= (uint64_t)(acc[i][t] < bar) << t;
        if (hits) offer_hits(lists, first + i, acc[i], hits, row0);
    }
}

#ifdef GT_NEIGHBORS_X86
/// Fully unrolls the next loop (constant trip counts), so that arrays of accumulators indexed by
/// its counter stay in registers.
#if defined(__clang__)
#define UNROLL _Pragma("unroll")
#else
#define UNROLL _Pragma("GCC unroll 32")
#endif

/// AVX-512 register block: `nq` queries x `nv` vectors of 16 rows (nv / 2 consecutive tiles) in
/// nq x nv accumulators; each step loads the nv vectors of one feature and broadcasts each query's
/// value of it into the fused multiply-adds. Always nq queries (a partial block's padding queries
/// have the bar -inf, so they never hit), with the queries' and vectors' loops unrolled so that the
/// accumulators stay in registers. The test per query is one compare of the minimum of its
/// accumulators with its bar: a NaN accumulator can hide a hit in another, but u is NaN only where
/// the query or the bank is not finite or so large that the proof refuses the query anyway.
__attribute__((target("avx512f"), always_inline))
static inline void block_avx512(const int nq, const int nv, const float *tile, const float *half_norms, const float *q,
                                size_t dim, size_t row0, const TopLists *lists, size_t first) {
    __m512 acc[MAX_BLOCK][4];
    UNROLL for (int v = 0; v < nv; v++) {
        const __m512 h = _mm512_loadu_ps(half_norms + 16 * v);
        UNROLL for (int i = 0; i < nq; i++) acc[i][v] = h;
    }
    for (size_t j = 0; j < dim; j++) {
        __m512 b[4];
        UNROLL for (int v = 0; v < nv; v++) b[v] = _mm512_loadu_ps(tile + (size_t)(v >> 1) * TILE * dim + j * TILE + 16 * (v & 1));
        UNROLL for (int i = 0; i < nq; i++) {
            const __m512 qv = _mm512_set1_ps(q[(size_t)i * dim + j]);
            UNROLL for (int v = 0; v < nv; v++) acc[i][v] = _mm512_fnmadd_ps(qv, b[v], acc[i][v]);
        }
    }
    UNROLL for (int i = 0; i < nq; i++) {
        const __m512 bar = _mm512_set1_ps(lists->bar[first + (size_t)i]);
        __m512 m = acc[i][0];
        UNROLL for (int v = 1; v < nv; v++) m = _mm512_min_ps(m, acc[i][v]);
        if (__builtin_expect(_mm512_cmp_ps_mask(m, bar, _CMP_LT_OQ) != 0, 0)) {
            uint64_t hits = 0;
            float u[64];
            UNROLL for (int v = 0; v < nv; v++) {
                hits |= (uint64_t)_mm512_cmp_ps_mask(acc[i][v], bar, _CMP_LT_OQ) << (16 * v);
                _mm512_storeu_ps(u + 16 * v, acc[i][v]);
            }
            offer_hits_avx512(lists, first + (size_t)i, u, hits, row0);
        }
    }
}

/// The AVX-512 register block: queries x vectors of 16 rows. 6 x 4 (24 accumulators, 6 broadcasts
/// and 4 loads per 24 fused multiply-adds) measured 4% faster than 8 x 2 on Zen 4 (100k bank).
#ifndef NN_NQ
#define NN_NQ 6
#endif
#ifndef NN_NV
#define NN_NV 4
#endif
_Static_assert(NN_NQ <= MAX_BLOCK && NN_NV <= 4 && NN_NV % 2 == 0, "the register block fits acc[MAX_BLOCK][4] and whole tiles");
/// Every tile of the bank past `n` queries (padded to a whole register block), at AVX-512: units of
/// NN_NV / 2 tiles in the order `units` (tiles / span of them), then a last odd tile in blocks of one.
#define DEFINE_PASS_AVX512(NAME, DIM)                                                                        \
    __attribute__((target("avx512f"))) static void NAME(const float *packed, const float *half_norms,       \
                                                        size_t tiles, const uint32_t *units, const float *qbuf, \
                                                        size_t n, size_t dim_, const TopLists *lists) {      \
        const size_t dim = DIM, span = NN_NV / 2;                                                            \
        (void)dim_;                                                                                          \
        for (size_t u = 0; u < tiles / span; u++) {                                                          \
            const size_t t = (size_t)units[u] * span;                                                        \
            for (size_t b = 0; b < n; b += NN_NQ)                                                            \
                block_avx512(NN_NQ, NN_NV, packed + t * TILE * dim, half_norms + t * TILE, qbuf + b * dim,   \
                             dim, t * TILE, lists, b);                                                       \
        }                                                                                                    \
        for (size_t t = tiles / span * span; t < tiles; t++)                                                 \
            for (size_t b = 0; b < n; b += 8)                                                                \
                block_avx512(8, 2, packed + t * TILE * dim, half_norms + t * TILE, qbuf + b * dim, dim,      \
                             t * TILE, lists, b);                                                            \
    }

/// AVX2 block: 6 queries x 16 rows (half a tile) in 12 accumulators; as block_avx512.
__attribute__((target("avx2,fma"), always_inline))
static inline void block_avx2(const float *tile, const float *half_norms, const float *q, size_t dim,
                              size_t row0, const TopLists *lists, size_t first) {
    const __m256 h0 = _mm256_loadu_ps(half_norms), h1 = _mm256_loadu_ps(half_norms + 8);
    __m256 a0[BLOCK_AVX2], a1[BLOCK_AVX2];
    UNROLL for (int i = 0; i < BLOCK_AVX2; i++) { a0[i] = h0; a1[i] = h1; }
    for (size_t j = 0; j < dim; j++) {
        const __m256 b0 = _mm256_loadu_ps(tile + j * TILE), b1 = _mm256_loadu_ps(tile + j * TILE + 8);
        UNROLL for (int i = 0; i < BLOCK_AVX2; i++) {
            const __m256 qv = _mm256_broadcast_ss(q + (size_t)i * dim + j);
            a0[i] = _mm256_fnmadd_ps(qv, b0, a0[i]);
            a1[i] = _mm256_fnmadd_ps(qv, b1, a1[i]);
        }
    }
    UNROLL for (int i = 0; i < BLOCK_AVX2; i++) {
        const __m256 bar = _mm256_set1_ps(lists->bar[first + (size_t)i]);
        if (__builtin_expect(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_min_ps(a0[i], a1[i]), bar, _CMP_LT_OQ)) != 0, 0)) {
            const uint64_t hits = (uint64_t)_mm256_movemask_ps(_mm256_cmp_ps(a0[i], bar, _CMP_LT_OQ)) |
                                  ((uint64_t)_mm256_movemask_ps(_mm256_cmp_ps(a1[i], bar, _CMP_LT_OQ)) << 8);
            float u[16];
            _mm256_storeu_ps(u, a0[i]);
            _mm256_storeu_ps(u + 8, a1[i]);
            offer_hits_avx2(lists, first + (size_t)i, u, hits, row0);
        }
    }
}

#define DEFINE_PASS_AVX2(NAME, DIM)                                                                          \
    __attribute__((target("avx2,fma"))) static void NAME(const float *packed, const float *half_norms,      \
                                                         size_t tiles, const uint32_t *units, const float *qbuf, \
                                                         size_t n, size_t dim_, const TopLists *lists) {     \
        const size_t dim = DIM;                                                                              \
        (void)dim_;                                                                                          \
        for (size_t u = 0; u < tiles; u++)                                                                   \
            for (size_t b = 0, t = units[u]; b < n; b += BLOCK_AVX2) {                                       \
                const float *tile = packed + t * TILE * dim, *h = half_norms + t * TILE, *q = qbuf + b * dim; \
                block_avx2(tile, h, q, dim, t * TILE, lists, b);                                             \
                block_avx2(tile + 16, h + 16, q, dim, t * TILE + 16, lists, b);                              \
            }                                                                                                \
    }

/// The detector's 19 features get passes with the width fixed at compile time (the feature loop
/// unrolled, the queries' offsets constants); other widths the general ones.
enum { DETECTOR_FEATURES = 19 };
DEFINE_PASS_AVX512(pass_avx512_19, DETECTOR_FEATURES)
DEFINE_PASS_AVX512(pass_avx512_any, dim_)
DEFINE_PASS_AVX2(pass_avx2_19, DETECTOR_FEATURES)
DEFINE_PASS_AVX2(pass_avx2_any, dim_)
#endif

/// Orders the candidates by (distance, row): the direct scan's order.
static void sort_candidates(float *d, int32_t *row, size_t n) {
    for (size_t i = 1; i < n; i++) {
        const float dv = d[i];
        const int32_t rv = row[i];
        size_t j = i;
        while (j > 0 && (d[j - 1] > dv || (d[j - 1] == dv && row[j - 1] > rv))) {
            d[j] = d[j - 1];
            row[j] = row[j - 1];
            j--;
        }
        d[j] = dv;
        row[j] = rv;
    }
}

/// Re-checks one query's candidates directly and decides whether they are provably the k nearest.
static int finish_query(const float *bank, const float *q, size_t dim, size_t k, float clip, float max_norm,
                        float bar, float *u_scratch, int32_t *rows, size_t candidates, float *out_sq, int32_t *out_row) {
    // A list that never filled (no u below +inf: non-finite values) proves nothing, and its empty
    // entries (row -1) must not be read.
    for (size_t i = 0; i < candidates; i++)
        if (rows[i] < 0) return 0;
    double qn = 0;
    for (size_t j = 0; j < dim; j++) qn += (double)q[j] * (double)q[j];
    gt_squared_distances_to_rows(bank, rows, candidates, q, dim, clip, u_scratch);
    sort_candidates(u_scratch, rows, candidates);
    for (size_t j = 0; j < k; j++) { out_sq[j] = u_scratch[j]; out_row[j] = rows[j]; }
    const double scale = qn + (double)max_norm;
    if (!(scale < 1e30)) return 0;  // not finite, or so large that the GEMM form could overflow
    // Any row outside the list has u >= bar, so |q - b|^2 >= |q|^2 + 2 bar - margin.
    const double margin = (4.0 * (double)dim + 16.0) * 0x1p-24 * scale;
    double lower = qn + 2.0 * (double)bar - margin;
    if (isfinite(clip)) lower = fmin(lower, (double)clip * (double)clip);
    lower *= 1.0 - ((double)dim + 8.0) * 0x1p-23;
    return (double)u_scratch[k - 1] < lower;
}

long gt_nn_search(int isa, const float *packed, const float *half_norms, const int32_t *order, const float *keys,
                  const float *direction, float max_norm, size_t rows, const float *bank, const float *queries, size_t nq,
                  size_t dim, size_t k, size_t candidates, float clip, float *out_sq, int32_t *out_row, unsigned char *certified) {
    if (nq == 0) return 0;
    if (isa >= GT_ISA_AVX512 && !gt_isa_supported(GT_ISA_AVX512)) isa = GT_ISA_AVX2;
    if (isa >= GT_ISA_AVX2 && !gt_isa_supported(GT_ISA_AVX2)) isa = GT_ISA_PORTABLE;
#ifndef GT_NEIGHBORS_X86
    isa = GT_ISA_PORTABLE;
#endif
    const size_t tiles = gt_nn_packed_rows(rows) / TILE;
    // Tiles per unit of the scan order: the AVX-512 block spans NN_NV / 2 tiles.
#ifdef GT_NEIGHBORS_X86
    const size_t span = isa == GT_ISA_AVX512 ? NN_NV / 2 : 1;
#else
    const size_t span = 1;
#endif
    const size_t padded_queries = (SUPERBLOCK + MAX_BLOCK) * dim;
    float *u = malloc(SUPERBLOCK * candidates * sizeof(float));
    int32_t *row = malloc(SUPERBLOCK * candidates * sizeof(int32_t));
    float *bar = malloc((SUPERBLOCK + MAX_BLOCK) * sizeof(float));
    int *worst = malloc(SUPERBLOCK * sizeof(int));
    float *qbuf = malloc(padded_queries * sizeof(float));
    float *scratch = malloc(candidates * sizeof(float));
    uint32_t *units = malloc((tiles ? tiles : 1) * sizeof(uint32_t));
    // The queries in the order of their keys (by buckets), so that a superblock's queries lie close together
    // along the bank's axis and the bank's tiles near them, scanned first, set low bars early
    // (fewer rows then enter the lists). Any order gives the same results.
    KeyedRow *sorted = bucketed_by_key(queries, nq, dim, direction);
    long done = -1;
    if (!u || !row || !bar || !worst || !qbuf || !scratch || !units || !sorted) goto out;
    done = 0;
    const TopLists lists = {u, row, bar, worst, candidates};
    for (size_t s0 = 0; s0 < nq; s0 += SUPERBLOCK) {
        const size_t n = nq - s0 < SUPERBLOCK ? nq - s0 : SUPERBLOCK;
        // The queries, with zero rows after them up to a whole register block.
        for (size_t i = 0; i < n; i++) memcpy(qbuf + i * dim, queries + (size_t)sorted[s0 + i].index * dim, dim * sizeof(float));
        memset(qbuf + n * dim, 0, (padded_queries - n * dim) * sizeof(float));
        for (size_t i = 0; i < n * candidates; i++) { u[i] = INFINITY; row[i] = -1; }
        for (size_t i = 0; i < n; i++) { bar[i] = INFINITY; worst[i] = 0; }
        // A partial register block's padding queries never hit.
        for (size_t i = n; i < SUPERBLOCK + MAX_BLOCK; i++) bar[i] = -INFINITY;
        // The scan starts at the bank's rows around the middle query's key.
        const size_t middle = lower_bound_key(keys, rows, sorted[s0 + n / 2].key);
        outward_order(middle / TILE / span, tiles / span, units);
#ifdef GT_NEIGHBORS_X86
        if (isa == GT_ISA_AVX512) {
            (dim == DETECTOR_FEATURES ? pass_avx512_19 : pass_avx512_any)(packed, half_norms, tiles, units, qbuf, n, dim, &lists);
        } else if (isa == GT_ISA_AVX2) {
            (dim == DETECTOR_FEATURES ? pass_avx2_19 : pass_avx2_any)(packed, half_norms, tiles, units, qbuf, n, dim, &lists);
        } else
#endif
        for (size_t v = 0; v < tiles; v++) {
            const size_t t = units[v];
            const float *tile = packed + t * TILE * dim, *h = half_norms + t * TILE;
            for (size_t b = 0; b < n; b += BLOCK_PORTABLE) {
                const size_t count = n - b < BLOCK_PORTABLE ? n - b : BLOCK_PORTABLE;
                block_portable(tile, h, qbuf + b * dim, count, dim, t * TILE, &lists, b);
            }
        }
        for (size_t i = 0; i < n; i++) {
            const size_t g = (size_t)sorted[s0 + i].index;
            // The lists hold packed positions: the bank's rows are order[position].
            int32_t *candidate_rows = row + i * candidates;
            for (size_t c = 0; c < candidates; c++)
                if (candidate_rows[c] >= 0) candidate_rows[c] = order[candidate_rows[c]];
            const int ok = finish_query(bank, queries + g * dim, dim, k, clip, max_norm, bar[i], scratch, candidate_rows,
                                        candidates, out_sq + g * k, out_row + g * k);
            certified[g] = (unsigned char)ok;
            done += ok;
        }
    }
out:
    free(u); free(row); free(bar); free(worst); free(qbuf); free(scratch); free(units); free(sorted);
    return done;
}

// MARK: - Direct scan of the packed bank

/// The k best (squared distance, row) of one query, sorted by (distance, row): the oracle's rule
/// (the packed bank's rows are in key order, so a tie can arrive from the higher row first).
static inline void scan_offer(float *d, int32_t *row, size_t k, float v, int32_t r) {
    if (!(v < d[k - 1] || (v == d[k - 1] && r < row[k - 1]))) return;
    size_t i = k - 1;
    while (i > 0 && (d[i - 1] > v || (d[i - 1] == v && row[i - 1] > r))) { d[i] = d[i - 1]; row[i] = row[i - 1]; i--; }
    d[i] = v;
    row[i] = r;
}

#ifdef GT_NEIGHBORS_X86
/// One query against one tile (32 rows, two vectors) by the oracle's arithmetic, row by row in
/// vector lanes: accumulator l sums features l, l+8, ... with fused multiply-adds, the eight are
/// added in order 0..7, then the tail features with fused multiply-adds, each difference
/// (bank - query) clipped as min(|d|, clip) when `clipped`. Every lane's operations are those of
/// distances_avx2_body for its row, so each value is the oracle's bit for bit.
__attribute__((target("avx512f"), always_inline))
static inline void scan_tile_avx512(const float *tile, const float *q, size_t dim, float clip, int clipped, float out[TILE]) {
    const size_t main = dim / 8 * 8;
    const __m512 cv = _mm512_set1_ps(clip);
    const __m512i sign = _mm512_set1_epi32(0x7fffffff);
    for (int half = 0; half < 2; half++) {
        const float *t = tile + 16 * half;
        __m512 acc[8];
        for (int l = 0; l < 8; l++) acc[l] = _mm512_setzero_ps();
        for (size_t j0 = 0; j0 < main; j0 += 8)
            for (int l = 0; l < 8; l++) {
                __m512 d = _mm512_sub_ps(_mm512_loadu_ps(t + (j0 + (size_t)l) * TILE), _mm512_set1_ps(q[j0 + (size_t)l]));
                if (clipped) d = _mm512_min_ps(_mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(d), sign)), cv);
                acc[l] = _mm512_fmadd_ps(d, d, acc[l]);
            }
        __m512 s = _mm512_add_ps(_mm512_setzero_ps(), acc[0]);
        for (int l = 1; l < 8; l++) s = _mm512_add_ps(s, acc[l]);
        for (size_t j = main; j < dim; j++) {
            __m512 d = _mm512_sub_ps(_mm512_loadu_ps(t + j * TILE), _mm512_set1_ps(q[j]));
            if (clipped) d = _mm512_min_ps(_mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(d), sign)), cv);
            s = _mm512_fmadd_ps(d, d, s);
        }
        _mm512_storeu_ps(out + 16 * half, s);
    }
}

/// The same with 8-row vectors.
__attribute__((target("avx2,fma"), always_inline))
static inline void scan_tile_avx2(const float *tile, const float *q, size_t dim, float clip, int clipped, float out[TILE]) {
    const size_t main = dim / 8 * 8;
    const __m256 cv = _mm256_set1_ps(clip), sign = _mm256_set1_ps(-0.0f);
    for (int part = 0; part < 4; part++) {
        const float *t = tile + 8 * part;
        __m256 acc[8];
        for (int l = 0; l < 8; l++) acc[l] = _mm256_setzero_ps();
        for (size_t j0 = 0; j0 < main; j0 += 8)
            for (int l = 0; l < 8; l++) {
                __m256 d = _mm256_sub_ps(_mm256_loadu_ps(t + (j0 + (size_t)l) * TILE), _mm256_set1_ps(q[j0 + (size_t)l]));
                if (clipped) d = _mm256_min_ps(_mm256_andnot_ps(sign, d), cv);
                acc[l] = _mm256_fmadd_ps(d, d, acc[l]);
            }
        __m256 s = _mm256_add_ps(_mm256_setzero_ps(), acc[0]);
        for (int l = 1; l < 8; l++) s = _mm256_add_ps(s, acc[l]);
        for (size_t j = main; j < dim; j++) {
            __m256 d = _mm256_sub_ps(_mm256_loadu_ps(t + j * TILE), _mm256_set1_ps(q[j]));
            if (clipped) d = _mm256_min_ps(_mm256_andnot_ps(sign, d), cv);
            s = _mm256_fmadd_ps(d, d, s);
        }
        _mm256_storeu_ps(out + 8 * part, s);
    }
}

/// Scans `count` queries (row-major) over every tile; results into out_sq/out_row (k per query).
#define DEFINE_SCAN(NAME, TARGET, TILE_FN)                                                                      \
    __attribute__((target(TARGET))) static void NAME(const float *packed, const int32_t *order, size_t rows,    \
                                                     const float *queries,                                      \
                                                     size_t count, size_t dim, size_t k, float clip,            \
                                                     float *out_sq, int32_t *out_row) {                         \
        const int clipped = !isinf(clip);                                                                       \
        const size_t tiles = gt_nn_packed_rows(rows) / TILE;                                                    \
        float d[TILE];                                                                                          \
        for (size_t t = 0; t < tiles; t++) {                                                                    \
            const float *tile = packed + t * TILE * dim;                                                        \
            const size_t valid = rows - t * TILE < TILE ? rows - t * TILE : TILE;                               \
            for (size_t i = 0; i < count; i++) {                                                                \
                if (clipped) TILE_FN(tile, queries + i * dim, dim, clip, 1, d);                                 \
                else TILE_FN(tile, queries + i * dim, dim, clip, 0, d);                                         \
                float *best = out_sq + i * k;                                                                   \
                int32_t *rowsOut = out_row + i * k;                                                             \
                for (size_t r = 0; r < valid; r++)                                                              \
                    if (d[r] <= best[k - 1]) scan_offer(best, rowsOut, k, d[r], order[t * TILE + r]);            \
            }                                                                                                   \
        }                                                                                                       \
    }

DEFINE_SCAN(scan_avx512, "avx512f", scan_tile_avx512)
DEFINE_SCAN(scan_avx2, "avx2,fma", scan_tile_avx2)
#endif

long gt_nn_scan(int isa, const float *packed, const int32_t *order, size_t rows, const float *queries, size_t nq, size_t dim, size_t k, float clip,
                float *out_sq, int32_t *out_row, unsigned char *found) {
    if (isa >= GT_ISA_AVX512 && !gt_isa_supported(GT_ISA_AVX512)) isa = GT_ISA_AVX2;
    if (isa >= GT_ISA_AVX2 && !gt_isa_supported(GT_ISA_AVX2)) isa = GT_ISA_PORTABLE;
    for (size_t i = 0; i < nq * k; i++) { out_sq[i] = INFINITY; out_row[i] = -1; }
    long done = 0;
#ifdef GT_NEIGHBORS_X86
    // Queries in blocks that stay in L1 while each tile passes once.
    const size_t block = 64;
    for (size_t b = 0; b < nq; b += block) {
        const size_t count = nq - b < block ? nq - b : block;
        if (isa == GT_ISA_AVX512) scan_avx512(packed, order, rows, queries + b * dim, count, dim, k, clip, out_sq + b * k, out_row + b * k);
        else if (isa == GT_ISA_AVX2) scan_avx2(packed, order, rows, queries + b * dim, count, dim, k, clip, out_sq + b * k, out_row + b * k);
    }
#endif
    for (size_t i = 0; i < nq; i++) {
        // Every result filled (a row at a distance below +inf); otherwise, or at the portable
        // level, the caller's direct scan decides (rows that never compare below +inf).
        const int ok = isa != GT_ISA_PORTABLE && out_row[i * k + k - 1] >= 0;
        found[i] = (unsigned char)ok;
        done += ok;
    }
    return done;
}
