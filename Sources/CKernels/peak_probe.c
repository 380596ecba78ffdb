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

#ifdef GT_X86
__attribute__((target("avx512f")))
static double probe_avx512(long iterations) {
    __m512 acc[GT_PROBE_CHAINS];
    for (int i = 0; i < GT_PROBE_CHAINS; i++) acc[i] = _mm512_set1_ps((float)i * 1e-3f);
    // Multiplier slightly below 1 and a small addend: values stay finite and normal forever.
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-6f);
    for (long it = 0; it < iterations; it++) {
        for (int i = 0; i < GT_PROBE_CHAINS; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    }
    __m512 sum = acc[0];
    for (int i = 1; i < GT_PROBE_CHAINS; i++) sum = _mm512_add_ps(sum, acc[i]);
    float lanes[16];
    _mm512_storeu_ps(lanes, sum);
    return (double)lanes[0] + lanes[15];
}

__attribute__((target("avx2,fma")))
static double probe_avx2(long iterations) {
    __m256 acc[GT_PROBE_CHAINS];
    for (int i = 0; i < GT_PROBE_CHAINS; i++) acc[i] = _mm256_set1_ps((float)i * 1e-3f);
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-6f);
    for (long it = 0; it < iterations; it++) {
        for (int i = 0; i < GT_PROBE_CHAINS; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    }
    __m256 sum = acc[0];
    for (int i = 1; i < GT_PROBE_CHAINS; i++) sum = _mm256_add_ps(sum, acc[i]);
    float lanes[8];
    _mm256_storeu_ps(lanes, sum);
    return (double)lanes[0] + lanes[7];
}
#endif

// Portable: 4-wide vectors of the compiler's generic vector extension (SSE2 on any x86-64).
typedef float gt_probe_v4 __attribute__((vector_size(16)));

static double probe_portable(long iterations) {
    gt_probe_v4 acc[GT_PROBE_CHAINS];
    for (int i = 0; i < GT_PROBE_CHAINS; i++) {
        float x = (float)i * 1e-3f;
        acc[i] = (gt_probe_v4){x, x, x, x};
    }
    const gt_probe_v4 a = {0.999999f, 0.999999f, 0.999999f, 0.999999f}, b = {1e-6f, 1e-6f, 1e-6f, 1e-6f};
    for (long it = 0; it < iterations; it++) {
        for (int i = 0; i < GT_PROBE_CHAINS; i++) acc[i] = acc[i] * a + b;
    }
    gt_probe_v4 sum = acc[0];
    for (int i = 1; i < GT_PROBE_CHAINS; i++) sum += acc[i];
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
