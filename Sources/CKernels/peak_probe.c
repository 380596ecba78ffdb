// The fp32 peak probe behind `gpu-train bench`: a loop of fused multiply-adds on independent
// accumulators, nothing else, so that its rate is what the cores can do at most. See ckernels.h.
#include "ckernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define GT_X86 1
#endif

// 12 accumulators: an FMA has a latency of 4 cycles and two pipes issue one each per cycle, so
// at least 8 chains must be in flight to keep both busy; 12 leaves margin for other cores' designs
// (oneDNN's and XNNPACK's microkernels use 12-24 for the same reason) and fits in 16 registers.
#define GT_PROBE_CHAINS 12

// Twelve named accumulators rather than an array: GCC kept an array of them in memory (a third
// of the rate), Clang did not; named ones are registers for both.
#define GT_PROBE_BODY(FMA, A, B) \
    a0 = FMA(a0, A, B); a1 = FMA(a1, A, B); a2 = FMA(a2, A, B); a3 = FMA(a3, A, B); \
    a4 = FMA(a4, A, B); a5 = FMA(a5, A, B); a6 = FMA(a6, A, B); a7 = FMA(a7, A, B); \
    a8 = FMA(a8, A, B); a9 = FMA(a9, A, B); a10 = FMA(a10, A, B); a11 = FMA(a11, A, B);
#define GT_PROBE_SUM(ADD) \
    ADD(ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7))), ADD(ADD(a8, a9), ADD(a10, a11)))

#ifdef GT_X86
__attribute__((target("avx512f")))
static double probe_avx512(long iterations) {
    __m512 a0 = _mm512_set1_ps(0.000f), a1 = _mm512_set1_ps(0.001f), a2 = _mm512_set1_ps(0.002f),
           a3 = _mm512_set1_ps(0.003f), a4 = _mm512_set1_ps(0.004f), a5 = _mm512_set1_ps(0.005f),
           a6 = _mm512_set1_ps(0.006f), a7 = _mm512_set1_ps(0.007f), a8 = _mm512_set1_ps(0.008f),
           a9 = _mm512_set1_ps(0.009f), a10 = _mm512_set1_ps(0.010f), a11 = _mm512_set1_ps(0.011f);
    // Multiplier slightly below 1 and a small addend: values stay finite and normal forever.
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-6f);
    for (long it = 0; it < iterations; it++) {
        GT_PROBE_BODY(_mm512_fmadd_ps, a, b)
    }
    const __m512 sum = GT_PROBE_SUM(_mm512_add_ps);
    float lanes[16];
    _mm512_storeu_ps(lanes, sum);
    return (double)lanes[0] + lanes[15];
}

__attribute__((target("avx2,fma")))
static double probe_avx2(long iterations) {
    __m256 a0 = _mm256_set1_ps(0.000f), a1 = _mm256_set1_ps(0.001f), a2 = _mm256_set1_ps(0.002f),
           a3 = _mm256_set1_ps(0.003f), a4 = _mm256_set1_ps(0.004f), a5 = _mm256_set1_ps(0.005f),
           a6 = _mm256_set1_ps(0.006f), a7 = _mm256_set1_ps(0.007f), a8 = _mm256_set1_ps(0.008f),
           a9 = _mm256_set1_ps(0.009f), a10 = _mm256_set1_ps(0.010f), a11 = _mm256_set1_ps(0.011f);
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-6f);
    for (long it = 0; it < iterations; it++) {
        GT_PROBE_BODY(_mm256_fmadd_ps, a, b)
    }
    const __m256 sum = GT_PROBE_SUM(_mm256_add_ps);
    float lanes[8];
    _mm256_storeu_ps(lanes, sum);
    return (double)lanes[0] + lanes[7];
}
#endif

// Portable: 4-wide vectors of the compiler's generic vector extension (SSE2 on any x86-64).
typedef float gt_probe_v4 __attribute__((vector_size(16)));
#define GT_V4_FMA(x, m, c) ((x) * (m) + (c))
#define GT_V4_ADD(x, y) ((x) + (y))

static double probe_portable(long iterations) {
    gt_probe_v4 a0 = {0}, a1 = a0 + 0.001f, a2 = a0 + 0.002f, a3 = a0 + 0.003f, a4 = a0 + 0.004f, a5 = a0 + 0.005f,
                a6 = a0 + 0.006f, a7 = a0 + 0.007f, a8 = a0 + 0.008f, a9 = a0 + 0.009f, a10 = a0 + 0.010f,
                a11 = a0 + 0.011f;
    const gt_probe_v4 a = {0.999999f, 0.999999f, 0.999999f, 0.999999f}, b = {1e-6f, 1e-6f, 1e-6f, 1e-6f};
    for (long it = 0; it < iterations; it++) {
        GT_PROBE_BODY(GT_V4_FMA, a, b)
    }
    const gt_probe_v4 sum = GT_PROBE_SUM(GT_V4_ADD);
    return (double)sum[0] + sum[3];
}

int gt_peak_probe_lanes(int isa) {
    switch (isa) {
    case GT_ISA_AVX512: return 16;
    case GT_ISA_AVX2: return 8;
    default: return 4;
    }
}

double gt_peak_probe_flops(int isa, long iterations, double *checksum) {
    double sink = 0;
    int lanes = gt_peak_probe_lanes(isa);
#ifdef GT_X86
    if (isa == GT_ISA_AVX512 && gt_isa_supported(GT_ISA_AVX512)) sink = probe_avx512(iterations);
    else if (isa == GT_ISA_AVX2 && gt_isa_supported(GT_ISA_AVX2)) sink = probe_avx2(iterations);
    else { sink = probe_portable(iterations); lanes = 4; }
#else
    sink = probe_portable(iterations);
    lanes = 4;
#endif
    if (checksum) *checksum = sink;
    // Two FLOPs (multiply and add) per lane per FMA.
    return 2.0 * lanes * GT_PROBE_CHAINS * (double)iterations;
}
