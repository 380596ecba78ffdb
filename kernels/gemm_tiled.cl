// SGEMM for GPUs, row-major: C = alpha * op(A) * op(B) + beta * C, C is [M,N], op(A) [M,K],
// op(B) [K,N]. CPU devices run gemm_registers (gemm_registers.cl) instead; the tuning table
// (OpenCLTuning) chooses per device.
//   gemm_tiled: a work-group of GROUP_N x GROUP_M work-items owns a TILE_M x TILE_N block of
// C; each work-item keeps ITEM_M x ITEM_N accumulators in registers, as ITEM_M/4 x ITEM_N/4
// blocks of 4x4 spread TILE/(ITEM/4) apart so that a warp's float4 reads of local memory are
// consecutive. K is walked TILE_K at a time through two local-memory buffers: while the group
// multiplies out of one, each work-item holds the next tile's float4 loads in registers and
// writes them into the other, so one barrier per step suffices. A sits in local memory
// transposed (As[k][m]) and both tiles' rows are padded by TILE_PAD floats so that the
// transposed stores fall in different banks.
//
// Alone, this file multiplies matrices (OPERANDS 0). Built after gemm_conv.cl it computes
// convolutions as implicit GEMMs (OPERANDS 1-3): that file defines the operand layouts and
// the hooks (TILED_PROLOGUE, A_GATHER, B_GATHER_K, B_LOAD_ROW, TILED_ROW_BEGIN, TILED_STORE)
// that this one otherwise defines for matrices below.
// SPLIT_K 1: group z sums K from z * kPerSplit into its own partials[z][M][N] (C points at
// them); gemm_split_reduce then adds the partials in order, so results are deterministic
// (no float atomics, which OpenCL 1.2 lacks anyway).
// Every tile edge is bounds-checked: any M, N, K works; out-of-range cells load zero.
// Every tensor carries an element offset so that row views of larger buffers work.

#ifndef TRANS_A
#define TRANS_A 0   // 1: A is stored [K,M]
#endif
#ifndef TRANS_B
#define TRANS_B 0   // 1: B is stored [N,K]
#endif
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
#define OPERANDS 0   // gemm_tiled: 0 matrices; 1-3 convolutions (with gemm_conv.cl before this file)
#endif
#ifndef SPLIT_K
#define SPLIT_K 0    // gemm_tiled: 1 writes per-split partial sums for gemm_split_reduce
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

// Operand layouts of a matrix product (gemm_conv.cl has the convolutions'). *_KMAJOR:
// consecutive k are consecutive in memory (the loader's float4s run along k); *_VECTOR: a
// float4 of in-range cells can be read with one vload4.
#if OPERANDS == 0
#define A_KMAJOR (!TRANS_A)
#define A_VECTOR 1
#define A_ELEMENT(m, k) A_AT(m, k)
#if TRANS_A
#define A_INDEX(m, k) ((k) * lda + (m))
#else
#define A_INDEX(m, k) ((m) * lda + (k))
#endif
#define B_KMAJOR TRANS_B
#define B_VECTOR 1
#define B_ELEMENT(k, n) B_AT(k, n)
#if TRANS_B
#define B_INDEX(k, n) ((n) * ldb + (k))
#else
#define B_INDEX(k, n) ((k) * ldb + (n))
#endif
#elif !defined(TILED_CONV_OPERANDS)
#error "OPERANDS 1-3 (convolutions) need gemm_conv.cl built before this file"
#endif
#define A_LOAD(m, k) (((m) < M && (k) < kEnd) ? A_ELEMENT(m, k) : 0.0f)
#define B_LOAD(k, n) (((k) < kEnd && (n) < N) ? B_ELEMENT(k, n) : 0.0f)

// The hooks gemm_conv.cl defines for convolutions; here, for matrices.
#ifndef TILED_PROLOGUE
#define TILED_PROLOGUE
#endif
#ifndef A_GATHER
#define A_GATHER(s, m, k) ra[s] = (float4)(A_LOAD(m, k), A_LOAD(m, k + 1), A_LOAD(m, k + 2), A_LOAD(m, k + 3));
#endif
#ifndef B_GATHER_K
#define B_GATHER_K(s, n, k) rb[s] = (float4)(B_LOAD(k, n), B_LOAD(k + 1, n), B_LOAD(k + 2, n), B_LOAD(k + 3, n));
#endif
#ifndef B_LOAD_ROW
#define B_LOAD_ROW(s, g, k) { \
        const int n = n0 + ((g) % (TILE_N / 4)) * 4; \
        if (n + 3 < N && (k) < kEnd) rb[s] = vload4(0, B + B_INDEX(k, n)); \
        else rb[s] = (float4)(B_LOAD(k, n), B_LOAD(k, n + 1), B_LOAD(k, n + 2), B_LOAD(k, n + 3)); }
#endif
#ifndef TILED_ROW_BEGIN
#define TILED_ROW_BEGIN(m)
#endif
#ifndef TILED_STORE
#define TILED_STORE(m, n, v) { \
        __global float* c = C + (m) * ldc + (n); \
        if ((n) + 3 < N) { \
            vstore4(beta != 0.0f ? alpha * (v) + beta * vload4(0, c) : alpha * (v), 0, c); \
        } else { \
            c[0] = BLEND((v).x, c[0]); \
            if ((n) + 1 < N) c[1] = BLEND((v).y, c[1]); \
            if ((n) + 2 < N) c[2] = BLEND((v).z, c[2]); \
        } }
#endif

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
    TILED_PROLOGUE

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
                A_GATHER(s, m, k)
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
                B_GATHER_K(s, n, k)
#else
                const int k = k0 + g / (TILE_N / 4);
                B_LOAD_ROW(s, g, k)
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
            TILED_ROW_BEGIN(m)
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
#else
                TILED_STORE(m, n, v)
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
