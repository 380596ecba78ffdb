// SGEMM, row-major: C = alpha * op(A) * op(B) + beta * C, C is [M,N], op(A) [M,K], op(B) [K,N].
// Two variants of one algorithm, chosen by the host per device type:
//   gemm_registers: each work-item keeps a REG_M x REG_N block of C in vector registers and
//                   reads A and B straight from global memory (CPU devices such as PoCL).
//   gemm_local:     a work-group stages TS_M x TS_K and TS_K x TS_N tiles in local memory and
//                   each work-item accumulates WPT_M x WPT_N outputs in registers (GPUs).
// Every tensor carries an element offset so that row views of larger buffers work.

#ifndef TRANS_A
#define TRANS_A 0   // 1: A is stored [K,M]
#endif
#ifndef TRANS_B
#define TRANS_B 0   // 1: B is stored [N,K]
#endif
#ifndef REG_M
#define REG_M 8     // gemm_registers: rows of C per work-item
#endif
#ifndef REG_N
#define REG_N 16    // gemm_registers: columns of C per work-item (a vector width: 2, 4, 8 or 16)
#endif
#ifndef TS_M
#define TS_M 64     // gemm_local: rows of C per work-group
#endif
#ifndef TS_N
#define TS_N 64     // gemm_local: columns of C per work-group
#endif
#ifndef TS_K
#define TS_K 16     // gemm_local: depth of the local-memory tiles
#endif
#ifndef WPT_M
#define WPT_M 4     // gemm_local: rows of C per work-item
#endif
#ifndef WPT_N
#define WPT_N 4     // gemm_local: columns of C per work-item
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define VEC CAT(float, REG_N)
#define VLOAD CAT(vload, REG_N)
#define VSTORE CAT(vstore, REG_N)

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

__kernel void gemm_registers(const int M, const int N, const int K,
                             const float alpha, const float beta,
                             __global const float* restrict Abase, const int aOffset, const int lda,
                             __global const float* restrict Bbase, const int bOffset, const int ldb,
                             __global float* restrict Cbase, const int cOffset, const int ldc)
{
    const int n0 = get_global_id(0) * REG_N;
    const int m0 = get_global_id(1) * REG_M;
    if (m0 >= M || n0 >= N) return;
    __global const float* A = Abase + aOffset;
    __global const float* B = Bbase + bOffset;
    __global float* C = Cbase + cOffset;

    VEC acc[REG_M];
    for (int i = 0; i < REG_M; ++i) acc[i] = (VEC)(0.0f);

    const bool full = (m0 + REG_M <= M) && (n0 + REG_N <= N);
    if (full) {
        for (int k = 0; k < K; ++k) {
#if TRANS_B
            VEC b;
            float* bp = (float*)&b;
            for (int j = 0; j < REG_N; ++j) bp[j] = B_AT(k, n0 + j);
#else
            const VEC b = VLOAD(0, B + k * ldb + n0);
#endif
            for (int i = 0; i < REG_M; ++i) acc[i] = mad((VEC)(A_AT(m0 + i, k)), b, acc[i]);
        }
        for (int i = 0; i < REG_M; ++i) {
            __global float* c = C + (m0 + i) * ldc + n0;
            VEC r = alpha * acc[i];
            if (beta != 0.0f) r += beta * VLOAD(0, c);
            VSTORE(r, 0, c);
        }
    } else {
        const int rows = min(REG_M, M - m0), cols = min(REG_N, N - n0);
        for (int k = 0; k < K; ++k) {
            VEC b = (VEC)(0.0f);
            float* bp = (float*)&b;
            for (int j = 0; j < cols; ++j) bp[j] = B_AT(k, n0 + j);
            for (int i = 0; i < rows; ++i) acc[i] = mad((VEC)(A_AT(m0 + i, k)), b, acc[i]);
        }
        for (int i = 0; i < rows; ++i) {
            float* ap = (float*)&acc[i];
            for (int j = 0; j < cols; ++j) {
                __global float* c = C + (m0 + i) * ldc + n0 + j;
                float r = alpha * ap[j];
                if (beta != 0.0f) r += beta * *c;
                *c = r;
            }
        }
    }
}

#define RTS_M (TS_M / WPT_M)   // work-items per work-group along M
#define RTS_N (TS_N / WPT_N)   // work-items per work-group along N

__kernel __attribute__((reqd_work_group_size(RTS_N, RTS_M, 1)))
void gemm_local(const int M, const int N, const int K,
                const float alpha, const float beta,
                __global const float* restrict Abase, const int aOffset, const int lda,
                __global const float* restrict Bbase, const int bOffset, const int ldb,
                __global float* restrict Cbase, const int cOffset, const int ldc)
{
    __global const float* A = Abase + aOffset;
    __global const float* B = Bbase + bOffset;
    __global float* C = Cbase + cOffset;
    __local float As[TS_K][TS_M];
    __local float Bs[TS_K][TS_N];

    const int tx = get_local_id(0), ty = get_local_id(1);
    const int tid = ty * RTS_N + tx;
    const int m0 = get_group_id(1) * TS_M, n0 = get_group_id(0) * TS_N;

    float acc[WPT_M][WPT_N];
    for (int i = 0; i < WPT_M; ++i)
        for (int j = 0; j < WPT_N; ++j) acc[i][j] = 0.0f;

    for (int k0 = 0; k0 < K; k0 += TS_K) {
        // Cooperative, bounds-checked loads; cells outside the matrices are zero.
        for (int l = tid; l < TS_K * TS_M; l += RTS_M * RTS_N) {
#if TRANS_A
            const int kk = l / TS_M, mm = l % TS_M;
#else
            const int mm = l / TS_K, kk = l % TS_K;
#endif
            const int m = m0 + mm, k = k0 + kk;
            As[kk][mm] = (m < M && k < K) ? A_AT(m, k) : 0.0f;
        }
        for (int l = tid; l < TS_K * TS_N; l += RTS_M * RTS_N) {
#if TRANS_B
            const int nn = l / TS_K, kk = l % TS_K;
#else
            const int kk = l / TS_N, nn = l % TS_N;
#endif
            const int n = n0 + nn, k = k0 + kk;
            Bs[kk][nn] = (n < N && k < K) ? B_AT(k, n) : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < TS_K; ++kk) {
            float a[WPT_M], b[WPT_N];
            for (int i = 0; i < WPT_M; ++i) a[i] = As[kk][ty + i * RTS_M];
            for (int j = 0; j < WPT_N; ++j) b[j] = Bs[kk][tx + j * RTS_N];
            for (int i = 0; i < WPT_M; ++i)
                for (int j = 0; j < WPT_N; ++j) acc[i][j] = mad(a[i], b[j], acc[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < WPT_M; ++i) {
        const int m = m0 + ty + i * RTS_M;
        if (m >= M) continue;
        for (int j = 0; j < WPT_N; ++j) {
            const int n = n0 + tx + j * RTS_N;
            if (n >= N) continue;
            float r = alpha * acc[i][j];
            if (beta != 0.0f) r += beta * C[m * ldc + n];
            C[m * ldc + n] = r;
        }
    }
}
