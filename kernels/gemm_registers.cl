// SGEMM for CPU devices (PoCL), row-major: C = alpha * op(A) * op(B) + beta * C, C is [M,N],
// op(A) [M,K], op(B) [K,N]. GPUs run gemm_tiled (gemm_tiled.cl) instead; the tuning table
// (OpenCLTuning) chooses per device.
//   gemm_registers: no local memory, no barriers (PoCL runs a work-group as a loop). A
//                   work-item owns a column stripe of C and `rowsPerItem` rows of it and
//                   walks them in register blocks:
//                   B not transposed: REG_M x (REG_NV * REG_N) outputs in REG_M * REG_NV vectors;
//                                     each k adds REG_NV vectors of a row of B times REG_M
//                                     broadcast scalars of A.
//                                     K is cut in BLOCK_K passes so the work-item's B panel
//                                     stays in L1 across its row blocks.
//                   B transposed (A not): C[m,n] is a dot product of two rows; DOT_M x DOT_N
//                                     vector accumulators along k, summed at the end.
//                   Rows (and dot-product columns) past the edge repeat the last valid one,
//                   so the interior code runs unchanged and only valid outputs are stored.
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
