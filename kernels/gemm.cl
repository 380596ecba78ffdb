// SGEMM, row-major: C = alpha * op(A) * op(B) + beta * C, C is [M,N], op(A) [M,K], op(B) [K,N].
// Two variants of one algorithm, chosen by the host per device type:
//   gemm_registers: no local memory, no barriers (CPU devices such as PoCL, which run a
//                   work-group as a loop). A work-item owns a column stripe of C and
//                   `rowsPerItem` rows of it and walks them in register blocks:
//                   B not transposed: REG_M x (REG_NV * REG_N) outputs in REG_M * REG_NV vectors;
//                                     each k adds REG_NV vectors of a row of B times REG_M
//                                     broadcast scalars of A.
//                                     K is cut in BLOCK_K passes so the work-item's B panel
//                                     stays in L1 across its row blocks.
//                   B transposed (A not): C[m,n] is a dot product of two rows; DOT_M x DOT_N
//                                     vector accumulators along k, summed at the end.
//                   Rows (and dot-product columns) past the edge repeat the last valid one,
//                   so the interior code runs unchanged and only valid outputs are stored.
//   gemm_tiled:     a work-group of (TILE_N/ITEM_N) x (TILE_M/ITEM_M) work-items computes a
//                   TILE_M x TILE_N block of C, each work-item ITEM_M x ITEM_N of it in
//                   registers (GPUs). See the section of that name below.
// Every tensor carries an element offset so that row views of larger buffers work.

#ifndef TRANS_A
#define TRANS_A 0   // 1: A is stored [K,M]
#endif
#ifndef TRANS_B
#define TRANS_B 0   // 1: B is stored [N,K]
#endif
#ifndef REG_M
#define REG_M 8     // gemm_registers, B not transposed: rows of C per register block
#endif
#ifndef REG_N
#define REG_N 16    // gemm_registers, B not transposed: columns per work-item (vector width 2, 4, 8 or 16)
#endif
#ifndef REG_NV
#define REG_NV 1    // gemm_registers, B not transposed: vectors per row, 1, 2 or 4 (REG_N * REG_NV columns)
#endif
#ifndef BLOCK_K
#define BLOCK_K 256 // gemm_registers, B not transposed: depth of one pass over the work-item's rows
#endif
#ifndef DOT_M
#define DOT_M 4     // gemm_registers, B transposed: rows of C per register block (2 or 4)
#endif
#ifndef DOT_N
#define DOT_N 4     // gemm_registers, B transposed: columns of C per work-item (2, 4 or 8)
#endif
#ifndef DOT_V
#define DOT_V 16    // gemm_registers, B transposed: vector width along k (2, 4, 8 or 16)
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define VEC CAT(float, REG_N)
#define VLOAD CAT(vload, REG_N)
#define VSTORE CAT(vstore, REG_N)
#define DVEC CAT(float, DOT_V)
#define DVLOAD CAT(vload, DOT_V)

#if TRANS_A
#define A_AT(m, k) A[(k) * lda + (m)]
#else
#define A_AT(m, k) A[(m) * lda + (k)]
#endif
#if TRANS_B
#define B_AT(k, n) B[(n) * ldb + (k)]
#else
#define B_AT(k, n) B[(k) * ldb + (n)]
#endif

// alpha * sum + beta * c, where beta == 0 never reads c (it may hold NaN).
#define BLEND(sum, c) ((beta != 0.0f) ? alpha * (sum) + beta * (c) : alpha * (sum))

// Register blocks are written out with these repeaters, not loops over arrays: PoCL's
// compiler keeps an unrolled block in registers but spills a loop-indexed array to the stack.
#if REG_M == 8
#define FOR_REG_M(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#elif REG_M == 6
#define FOR_REG_M(X) X(0) X(1) X(2) X(3) X(4) X(5)
#elif REG_M == 4
#define FOR_REG_M(X) X(0) X(1) X(2) X(3)
#elif REG_M == 2
#define FOR_REG_M(X) X(0) X(1)
#else
#error "REG_M must be 2, 4, 6 or 8"
#endif
#if REG_NV == 4
#define FOR_REG_NV(X, i) X(i, 0) X(i, 1) X(i, 2) X(i, 3)
#elif REG_NV == 2
#define FOR_REG_NV(X, i) X(i, 0) X(i, 1)
#elif REG_NV == 1
#define FOR_REG_NV(X, i) X(i, 0)
#else
#error "REG_NV must be 1, 2 or 4"
#endif
#if DOT_N == 8
#define FOR_DOT_N(X, i) X(i, 0) X(i, 1) X(i, 2) X(i, 3) X(i, 4) X(i, 5) X(i, 6) X(i, 7)
#elif DOT_N == 4
#define FOR_DOT_N(X, i) X(i, 0) X(i, 1) X(i, 2) X(i, 3)
#elif DOT_N == 2
#define FOR_DOT_N(X, i) X(i, 0) X(i, 1)
#else
#error "DOT_N must be 2, 4 or 8"
#endif
#if DOT_M == 4
#define FOR_DOT(X) FOR_DOT_N(X, 0) FOR_DOT_N(X, 1) FOR_DOT_N(X, 2) FOR_DOT_N(X, 3)
#define FOR_DOT_M(X) X(0) X(1) X(2) X(3)
#elif DOT_M == 2
#define FOR_DOT(X) FOR_DOT_N(X, 0) FOR_DOT_N(X, 1)
#define FOR_DOT_M(X) X(0) X(1)
#else
#error "DOT_M must be 2 or 4"
#endif
#if DOT_N == 8
#define FOR_DOT_COLS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#elif DOT_N == 4
#define FOR_DOT_COLS(X) X(0) X(1) X(2) X(3)
#else
#define FOR_DOT_COLS(X) X(0) X(1)
#endif

#if TRANS_B
inline float horizontal_sum(const DVEC v)
{
#if DOT_V == 16
    const float8 h8 = v.lo + v.hi;
    const float4 h4 = h8.lo + h8.hi;
#elif DOT_V == 8
    const float4 h4 = v.lo + v.hi;
#elif DOT_V == 4
    const float4 h4 = v;
#endif
#if DOT_V >= 4
    const float2 h2 = h4.lo + h4.hi;
    return h2.x + h2.y;
#else
    return v.x + v.y;
#endif
}
#endif

// Row i of the current register block of A, clamped to the last row of C.
#if TRANS_A
#define ROW_POINTER(i) (A + min(m0 + (i), M - 1))
#define ROW_AT(i, k) a##i[(k) * lda]
#else
#define ROW_POINTER(i) (A + min(m0 + (i), M - 1) * lda)
#define ROW_AT(i, k) a##i[k]
#endif

#define REG_ZERO(i, v) VEC acc##i##_##v = (VEC)(0.0f);
#define REG_DECLARE(i) __global const float* a##i = ROW_POINTER(i); FOR_REG_NV(REG_ZERO, i)
#define REG_LOAD_B(unused, v) const VEC b##v = VLOAD(0, B + k * ldb + n0 + (v) * REG_N);
#define REG_FMA_ONE(i, v) acc##i##_##v = fma(a, b##v, acc##i##_##v);
#define REG_FMA(i) { const VEC a = (VEC)(ROW_AT(i, k)); FOR_REG_NV(REG_FMA_ONE, i) }
// The first pass applies beta; later passes add to what it stored.
#define REG_STORE_ONE(i, v) { \
        __global float* c = C + (m0 + (i)) * ldc + n0 + (v) * REG_N; \
        const VEC r = (k0 == 0) ? BLEND(acc##i##_##v, VLOAD(0, c)) : alpha * acc##i##_##v + VLOAD(0, c); \
        VSTORE(r, 0, c); }
#define REG_STORE(i) if ((i) < rows) { FOR_REG_NV(REG_STORE_ONE, i) }

#define DOT_ROW(i) __global const float* a##i = A + min(m0 + (i), M - 1) * lda;
#define DOT_DECLARE(i, j) DVEC acc##i##j = (DVEC)(0.0f);
#define DOT_LOAD_A(i) const DVEC va##i = DVLOAD(0, a##i + k);
#define DOT_LOAD_B(j) const DVEC vb##j = DVLOAD(0, b##j + k);
#define DOT_FMA(i, j) acc##i##j = fma(va##i, vb##j, acc##i##j);
#define DOT_STORE(i, j) if ((i) < rows && (j) < cols) { \
        float sum = horizontal_sum(acc##i##j); \
        for (int k = kVector; k < K; ++k) sum = fma(a##i[k], b##j[k], sum); \
        __global float* c = C + (m0 + (i)) * ldc + n0 + (j); \
        *c = BLEND(sum, *c); }
#define DOT_COLUMN(j) __global const float* b##j = B + min(n0 + (j), N - 1) * ldb;

__kernel void gemm_registers(const int M, const int N, const int K,
                             const float alpha, const float beta,
                             __global const float* restrict Abase, const int aOffset, const int lda,
                             __global const float* restrict Bbase, const int bOffset, const int ldb,
                             __global float* restrict Cbase, const int cOffset, const int ldc,
                             const int rowsPerItem)
{
    __global const float* A = Abase + aOffset;
    __global const float* B = Bbase + bOffset;
    __global float* C = Cbase + cOffset;
    const int mBegin = get_global_id(1) * rowsPerItem;
    const int mEnd = min(M, mBegin + rowsPerItem);
#if !TRANS_B
    const int n0 = get_global_id(0) * (REG_N * REG_NV);
    if (n0 >= N || mBegin >= M) return;
    if (n0 + REG_N * REG_NV <= N) {
        for (int k0 = 0; k0 < K; k0 += BLOCK_K) {
            const int k1 = min(K, k0 + BLOCK_K);
            for (int m0 = mBegin; m0 < mEnd; m0 += REG_M) {
                FOR_REG_M(REG_DECLARE)
                for (int k = k0; k < k1; ++k) {
                    FOR_REG_NV(REG_LOAD_B, 0)
                    FOR_REG_M(REG_FMA)
                }
                const int rows = min(REG_M, mEnd - m0);
                FOR_REG_M(REG_STORE)
            }
        }
    } else {
        // The last, partial column stripe: plain scalar code.
        for (int m = mBegin; m < mEnd; ++m)
            for (int n = n0; n < N; ++n) {
                float sum = 0.0f;
                for (int k = 0; k < K; ++k) sum = fma(A_AT(m, k), B_AT(k, n), sum);
                __global float* c = C + m * ldc + n;
                *c = BLEND(sum, *c);
            }
    }
#else
    const int n0 = get_global_id(0) * DOT_N;
    if (n0 >= N || mBegin >= M) return;
#if !TRANS_A
    FOR_DOT_COLS(DOT_COLUMN)
    const int kVector = K - K % DOT_V;
    const int cols = min(DOT_N, N - n0);
    for (int m0 = mBegin; m0 < mEnd; m0 += DOT_M) {
        FOR_DOT_M(DOT_ROW)
        FOR_DOT(DOT_DECLARE)
        for (int k = 0; k < kVector; k += DOT_V) {
            FOR_DOT_M(DOT_LOAD_A)
            FOR_DOT_COLS(DOT_LOAD_B)
            FOR_DOT(DOT_FMA)
        }
        const int rows = min(DOT_M, mEnd - m0);
        FOR_DOT(DOT_STORE)
    }
#else
    // Both transposed (no caller needs speed here): plain scalar code.
    for (int m = mBegin; m < mEnd; ++m)
        for (int n = n0; n < min(N, n0 + DOT_N); ++n) {
            float sum = 0.0f;
            for (int k = 0; k < K; ++k) sum = fma(A_AT(m, k), B_AT(k, n), sum);
            __global float* c = C + m * ldc + n;
            *c = BLEND(sum, *c);
        }
#endif
#endif
}


// ---------------------------------------------------------------------------------------
// gemm_tiled: the GPU kernel. A work-group of GROUP_N x GROUP_M work-items owns a
// TILE_M x TILE_N block of C; each work-item keeps ITEM_M x ITEM_N accumulators in
// registers, as ITEM_M/4 x ITEM_N/4 blocks of 4x4 spread TILE/(ITEM/4) apart so that a
// warp's float4 reads of local memory are consecutive. K is walked TILE_K at a time through
// two local-memory buffers: while the group multiplies out of one, each work-item holds the
// next tile's float4 loads in registers and writes them into the other, so one barrier per
// step suffices. A sits in local memory transposed (As[k][m]) and both tiles' rows are
// padded by TILE_PAD floats so that the transposed stores fall in different banks.
//
// The same kernel computes convolutions as implicit GEMMs (OPERANDS 1-3): the tile loaders
// compute image addresses from a per-layer table of taps instead of reading a materialised
// im2col matrix. A tap is int4(channel * H*W + dy * W + dx, dy, dx, filter offset); the
// source pixel (y + dy, x + dx) outside the image reads zero.
//   OPERANDS 1, forward:         C[co, pixel] = filter[co, p] x input(p, pixel); bias (+ReLU)
//                                epilogue, C stored NCHW (ldc = Co*H*W). taps: P of them.
//   OPERANDS 2, backward input:  C[ci, pixel] = filter(ci, (co, tap)) x dy((co, tap), pixel),
//                                the flipped taps; C stored NCHW (ldc = Ci*H*W), beta 0 or 1.
//   OPERANDS 3, backward filter: C[co, p] = dy[co, pixel] x input(pixel, p): K is the batch's
//                                pixels, long and thin, so it runs split-K.
// SPLIT_K 1: group z sums K from z * kPerSplit into its own partials[z][M][N] (C points at
// them); gemm_split_reduce then adds the partials in order, so results are deterministic
// (no float atomics, which OpenCL 1.2 lacks anyway).
// Every tile edge is bounds-checked: any M, N, K works; out-of-range cells load zero.

#ifndef TILE_M
#define TILE_M 128   // gemm_tiled: rows of C per work-group
#endif
#ifndef TILE_N
#define TILE_N 128   // gemm_tiled: columns of C per work-group
#endif
#ifndef TILE_K
#define TILE_K 8     // gemm_tiled: depth of one local-memory tile (a multiple of 4)
#endif
#ifndef ITEM_M
#define ITEM_M 8     // gemm_tiled: rows of C per work-item (a multiple of 4)
#endif
#ifndef ITEM_N
#define ITEM_N 8     // gemm_tiled: columns of C per work-item (a multiple of 4)
#endif
#ifndef TILE_PAD
#define TILE_PAD 4   // gemm_tiled: floats after each local-memory row (a multiple of 4: float4 reads stay aligned)
#endif
#ifndef OPERANDS
#define OPERANDS 0   // gemm_tiled: 0 matrices; 1 conv forward; 2 conv backward input; 3 conv backward filter
#endif
#ifndef SPLIT_K
#define SPLIT_K 0    // gemm_tiled: 1 writes per-split partial sums for gemm_split_reduce
#endif
#ifndef RELU
#define RELU 0       // gemm_tiled, OPERANDS 1: ReLU after the bias
#endif

#define GROUP_N (TILE_N / ITEM_N)
#define GROUP_M (TILE_M / ITEM_M)
#define GROUP_SIZE (GROUP_N * GROUP_M)
#define A_LOADS (TILE_M * TILE_K / 4 / GROUP_SIZE)   // float4 loads of the A tile per work-item
#define B_LOADS (TILE_N * TILE_K / 4 / GROUP_SIZE)
#if ITEM_M % 4 != 0 || ITEM_N % 4 != 0 || TILE_K % 4 != 0 || TILE_PAD % 4 != 0
#error "ITEM_M, ITEM_N, TILE_K and TILE_PAD must be multiples of 4"
#endif
#if A_LOADS < 1 || B_LOADS < 1 || A_LOADS * 4 * GROUP_SIZE != TILE_M * TILE_K || B_LOADS * 4 * GROUP_SIZE != TILE_N * TILE_K
#error "every work-item must load a whole number of float4s of both tiles"
#endif

// A source pixel of a convolution operand: image `pixel / hw` of X (imageStride floats per
// image), moved by `tap`; zero outside the image ("same" padding).
inline float image_tap(__global const float* X, const int imageStride, const int pixel, const int4 tap,
                       const int hw, const int width, const int height)
{
    const int image = pixel / hw, p = pixel - image * hw;
    const int y = p / width, x = p - y * width;
    const int sy = y + tap.y, sx = x + tap.z;
    return (sy >= 0 && sy < height && sx >= 0 && sx < width) ? X[image * imageStride + p + tap.x] : 0.0f;
}

// Pixel `k` of a batch of hw-pixel images as (image, p = y * width + x, y, x), and the next
// pixel after it: backward filter walks four consecutive pixels per float4 this way, with
// two divisions per float4 instead of per element.
#define PIXEL_AT(k) \
    int image = (k) / hw, p = (k) - image * hw, y = p / width, x = p - y * width;
#define PIXEL_NEXT() \
    { ++p; ++x; if (x == width) { x = 0; ++y; if (p == hw) { p = 0; y = 0; ++image; } } }

// Operand layouts. *_KMAJOR: consecutive k are consecutive in memory (the loader's float4s
// run along k); *_VECTOR: a float4 of in-range cells can be read with one vload4.
#if OPERANDS == 0
#define A_KMAJOR (!TRANS_A)
#define A_VECTOR 1
#define A_ELEMENT(m, k) A_AT(m, k)
#define B_KMAJOR TRANS_B
#define B_VECTOR 1
#define B_ELEMENT(k, n) B_AT(k, n)
#elif OPERANDS == 1
#define A_KMAJOR 1
#define A_VECTOR 1
#define A_ELEMENT(m, k) A[(m) * lda + (k)]
#define B_KMAJOR 0
#define B_VECTOR 0
#define B_ELEMENT(k, n) image_tap(B, ldb, n, taps[k], hw, width, height)
#elif OPERANDS == 2
#define A_KMAJOR 1
#define A_VECTOR 0
#define A_ELEMENT(m, k) A[(m) * lda + taps[k].w]
#define B_KMAJOR 0
#define B_VECTOR 0
#define B_ELEMENT(k, n) image_tap(B, ldb, n, taps[k], hw, width, height)
#elif OPERANDS == 3
#define A_KMAJOR 1
#define A_VECTOR 0
#define A_ELEMENT(m, k) A[((k) / hw) * lda + (m) * hw + (k) % hw]
#define B_KMAJOR 1
#define B_VECTOR 0
#define B_ELEMENT(k, n) image_tap(B, ldb, k, taps[n], hw, width, height)
#else
#error "OPERANDS must be 0, 1, 2 or 3"
#endif
#if (OPERANDS == 0 || OPERANDS == 1) && A_VECTOR
#if TRANS_A
#define A_INDEX(m, k) ((k) * lda + (m))
#else
#define A_INDEX(m, k) ((m) * lda + (k))
#endif
#endif
#if OPERANDS == 0
#if TRANS_B
#define B_INDEX(k, n) ((n) * ldb + (k))
#else
#define B_INDEX(k, n) ((k) * ldb + (n))
#endif
#endif
#define A_LOAD(m, k) (((m) < M && (k) < kEnd) ? A_ELEMENT(m, k) : 0.0f)
#define B_LOAD(k, n) (((k) < kEnd && (n) < N) ? B_ELEMENT(k, n) : 0.0f)

__kernel __attribute__((reqd_work_group_size(GROUP_N, GROUP_M, 1)))
void gemm_tiled(const int M, const int N, const int K,
                const float alpha, const float beta,
                __global const float* restrict Abase, const int aOffset, const int lda,
                __global const float* restrict Bbase, const int bOffset, const int ldb,
                __global float* restrict Cbase, const int cOffset, const int ldc,
                const int kPerSplit,
                __global const int4* restrict taps,
                __global const float* restrict bias, const int biasOffset,
                const int height, const int width)
{
    __global const float* A = Abase + aOffset;
    __global const float* B = Bbase + bOffset;
    __global float* C = Cbase + cOffset;
#if OPERANDS != 0
    const int hw = height * width;
#endif
    __local float As[2][TILE_K][TILE_M + TILE_PAD] __attribute__((aligned(16)));
    __local float Bs[2][TILE_K][TILE_N + TILE_PAD] __attribute__((aligned(16)));

    const int tx = get_local_id(0), ty = get_local_id(1);
    const int tid = ty * GROUP_N + tx;
    const int m0 = get_group_id(1) * TILE_M, n0 = get_group_id(0) * TILE_N;
#if SPLIT_K
    const int kBegin = get_group_id(2) * kPerSplit;
    const int kEnd = min(K, kBegin + kPerSplit);
#else
    const int kBegin = 0, kEnd = K;
#endif
    const int tiles = kEnd > kBegin ? (kEnd - kBegin + TILE_K - 1) / TILE_K : 0;

    float4 acc[ITEM_M][ITEM_N / 4];
    for (int i = 0; i < ITEM_M; ++i)
        for (int j = 0; j < ITEM_N / 4; ++j) acc[i][j] = (float4)(0.0f);
    float4 ra[A_LOADS], rb[B_LOADS];
#if OPERANDS == 1 || OPERANDS == 2
    // The output pixels (columns of B) a work-item loads are the same at every K step: their
    // image offset and (y, x) are worked out once here, not with two divisions per load.
    int pixelBase[B_LOADS][4], pixelY[B_LOADS][4], pixelX[B_LOADS][4];
    for (int s = 0; s < B_LOADS; ++s) {
        const int n = n0 + ((tid + s * GROUP_SIZE) % (TILE_N / 4)) * 4;
        for (int j = 0; j < 4; ++j) {
            const int pixel = min(n + j, N - 1), image = pixel / hw, p = pixel - image * hw;
            pixelBase[s][j] = image * ldb + p;
            pixelY[s][j] = n + j < N ? p / width : -(1 << 28);  // a column past N reads zero at any tap
            pixelX[s][j] = p - (p / width) * width;
        }
    }
#endif

    for (int t = -1; t < tiles; ++t) {
        // Global -> registers: tile t + 1 (the first pass only loads).
        if (t + 1 < tiles) {
            const int k0 = kBegin + (t + 1) * TILE_K;
            for (int s = 0; s < A_LOADS; ++s) {
                const int g = tid + s * GROUP_SIZE;
#if A_KMAJOR
                const int m = m0 + g / (TILE_K / 4), k = k0 + (g % (TILE_K / 4)) * 4;
#if A_VECTOR
                if (m < M && k + 3 < kEnd) { ra[s] = vload4(0, A + A_INDEX(m, k)); continue; }
#endif
#if OPERANDS == 3
                float v[4];
                PIXEL_AT(k)
                for (int j = 0; j < 4; ++j) {
                    v[j] = (m < M && k + j < kEnd) ? A[image * lda + m * hw + p] : 0.0f;
                    PIXEL_NEXT()
                }
                ra[s] = (float4)(v[0], v[1], v[2], v[3]);
#else
                ra[s] = (float4)(A_LOAD(m, k), A_LOAD(m, k + 1), A_LOAD(m, k + 2), A_LOAD(m, k + 3));
#endif
#else
                const int k = k0 + g / (TILE_M / 4), m = m0 + (g % (TILE_M / 4)) * 4;
                if (m + 3 < M && k < kEnd) { ra[s] = vload4(0, A + A_INDEX(m, k)); continue; }
                ra[s] = (float4)(A_LOAD(m, k), A_LOAD(m + 1, k), A_LOAD(m + 2, k), A_LOAD(m + 3, k));
#endif
            }
            for (int s = 0; s < B_LOADS; ++s) {
                const int g = tid + s * GROUP_SIZE;
#if B_KMAJOR
                const int n = n0 + g / (TILE_K / 4), k = k0 + (g % (TILE_K / 4)) * 4;
#if B_VECTOR
                if (n < N && k + 3 < kEnd) { rb[s] = vload4(0, B + B_INDEX(k, n)); continue; }
#endif
#if OPERANDS == 3
                const int4 tap = n < N ? taps[n] : (int4)(0, -(1 << 28), 0, 0);
                float v[4];
                PIXEL_AT(k)
                for (int j = 0; j < 4; ++j) {
                    const int sy = y + tap.y, sx = x + tap.z;
                    v[j] = (k + j < kEnd && sy >= 0 && sy < height && sx >= 0 && sx < width)
                        ? B[image * ldb + p + tap.x] : 0.0f;
                    PIXEL_NEXT()
                }
                rb[s] = (float4)(v[0], v[1], v[2], v[3]);
#else
                rb[s] = (float4)(B_LOAD(k, n), B_LOAD(k + 1, n), B_LOAD(k + 2, n), B_LOAD(k + 3, n));
#endif
#else
                const int k = k0 + g / (TILE_N / 4);
#if OPERANDS == 1 || OPERANDS == 2
                // (the columns are the pixels worked out before the loop)
                const int4 tap = k < kEnd ? taps[k] : (int4)(0, -2 * height, 0, 0);
                float v[4];
                for (int j = 0; j < 4; ++j) {
                    const int sy = pixelY[s][j] + tap.y, sx = pixelX[s][j] + tap.z;
                    v[j] = (sy >= 0 && sy < height && sx >= 0 && sx < width) ? B[pixelBase[s][j] + tap.x] : 0.0f;
                }
                rb[s] = (float4)(v[0], v[1], v[2], v[3]);
#else
                const int n = n0 + (g % (TILE_N / 4)) * 4;
#if B_VECTOR
                if (n + 3 < N && k < kEnd) { rb[s] = vload4(0, B + B_INDEX(k, n)); continue; }
#endif
                rb[s] = (float4)(B_LOAD(k, n), B_LOAD(k, n + 1), B_LOAD(k, n + 2), B_LOAD(k, n + 3));
#endif
#endif
            }
        }
        // Multiply out of buffer t & 1 while the next tile waits in registers.
        if (t >= 0) {
            const int buffer = t & 1;
            for (int kk = 0; kk < TILE_K; ++kk) {
                float4 a[ITEM_M / 4], b[ITEM_N / 4];
                for (int r = 0; r < ITEM_M / 4; ++r) a[r] = vload4(0, &As[buffer][kk][r * GROUP_M * 4 + ty * 4]);
                for (int r = 0; r < ITEM_N / 4; ++r) b[r] = vload4(0, &Bs[buffer][kk][r * GROUP_N * 4 + tx * 4]);
                for (int rm = 0; rm < ITEM_M / 4; ++rm)
                    for (int rn = 0; rn < ITEM_N / 4; ++rn) {
                        acc[rm * 4 + 0][rn] = fma((float4)(a[rm].x), b[rn], acc[rm * 4 + 0][rn]);
                        acc[rm * 4 + 1][rn] = fma((float4)(a[rm].y), b[rn], acc[rm * 4 + 1][rn]);
                        acc[rm * 4 + 2][rn] = fma((float4)(a[rm].z), b[rn], acc[rm * 4 + 2][rn]);
                        acc[rm * 4 + 3][rn] = fma((float4)(a[rm].w), b[rn], acc[rm * 4 + 3][rn]);
                    }
            }
        }
        // Registers -> the other buffer, which every work-item finished reading before the
        // last barrier.
        if (t + 1 < tiles) {
            const int buffer = (t + 1) & 1;
            for (int s = 0; s < A_LOADS; ++s) {
                const int g = tid + s * GROUP_SIZE;
#if A_KMAJOR
                const int mm = g / (TILE_K / 4), kq = (g % (TILE_K / 4)) * 4;
                As[buffer][kq + 0][mm] = ra[s].x;
                As[buffer][kq + 1][mm] = ra[s].y;
                As[buffer][kq + 2][mm] = ra[s].z;
                As[buffer][kq + 3][mm] = ra[s].w;
#else
                vstore4(ra[s], 0, &As[buffer][g / (TILE_M / 4)][(g % (TILE_M / 4)) * 4]);
#endif
            }
            for (int s = 0; s < B_LOADS; ++s) {
                const int g = tid + s * GROUP_SIZE;
#if B_KMAJOR
                const int nn = g / (TILE_K / 4), kq = (g % (TILE_K / 4)) * 4;
                Bs[buffer][kq + 0][nn] = rb[s].x;
                Bs[buffer][kq + 1][nn] = rb[s].y;
                Bs[buffer][kq + 2][nn] = rb[s].z;
                Bs[buffer][kq + 3][nn] = rb[s].w;
#else
                vstore4(rb[s], 0, &Bs[buffer][g / (TILE_N / 4)][(g % (TILE_N / 4)) * 4]);
#endif
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    // Epilogue: four columns at a time, a float4 store where all four are in range.
    for (int rm = 0; rm < ITEM_M / 4; ++rm)
        for (int i = 0; i < 4; ++i) {
            const int m = m0 + rm * GROUP_M * 4 + ty * 4 + i;
            if (m >= M) continue;
#if OPERANDS == 1 && !SPLIT_K
            const float rowBias = bias[biasOffset + m];
#endif
            for (int rn = 0; rn < ITEM_N / 4; ++rn) {
                const int n = n0 + rn * GROUP_N * 4 + tx * 4;
                if (n >= N) continue;
                const float4 v = acc[rm * 4 + i][rn];
#if SPLIT_K
                __global float* c = C + ((size_t)get_group_id(2) * M + m) * N + n;
                if (n + 3 < N) { vstore4(v, 0, c); continue; }
                c[0] = v.x;
                if (n + 1 < N) c[1] = v.y;
                if (n + 2 < N) c[2] = v.z;
#elif OPERANDS == 0 || OPERANDS == 3
                __global float* c = C + m * ldc + n;
                if (n + 3 < N) {
                    vstore4(beta != 0.0f ? alpha * v + beta * vload4(0, c) : alpha * v, 0, c);
                    continue;
                }
                c[0] = BLEND(v.x, c[0]);
                if (n + 1 < N) c[1] = BLEND(v.y, c[1]);
                if (n + 2 < N) c[2] = BLEND(v.z, c[2]);
#else
                const float vs[4] = {v.x, v.y, v.z, v.w};
                for (int j = 0; j < 4 && n + j < N; ++j) {
                    const int image = (n + j) / hw, p = (n + j) - image * hw;
                    __global float* c = C + image * ldc + m * hw + p;
#if OPERANDS == 1
                    const float r = alpha * vs[j] + rowBias;
                    *c = RELU ? fmax(r, 0.0f) : r;
#else
                    *c = BLEND(vs[j], *c);
#endif
                }
#endif
            }
        }
}

// C = alpha * (partials[0] + ... + partials[splits-1]) + beta * C, in that order: the
// second half of a split-K product. One work-item per element of C.
__kernel void gemm_split_reduce(const int M, const int N, const int splits,
                                const float alpha, const float beta,
                                __global const float* restrict partials,
                                __global float* restrict Cbase, const int cOffset, const int ldc)
{
    const int n = get_global_id(0), m = get_global_id(1);
    if (n >= N || m >= M) return;
    float sum = 0.0f;
    for (int z = 0; z < splits; ++z) sum += partials[((size_t)z * M + m) * N + n];
    __global float* c = Cbase + cOffset + m * ldc + n;
    *c = BLEND(sum, *c);
}
