// See include/ckernels.h.
#include "ckernels.h"
#include <math.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define GT_X86 1
#endif

#include <stdlib.h>
#include <strings.h>

// What the hardware (and operating system) runs, whatever GPU_TRAIN_CPU_ISA says.
static int hardware_has_avx512(void) {
#ifdef GT_X86
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f") ? 1 : 0;
    }
    return cached;
#else
    return 0;
#endif
}

static int hardware_has_avx2(void) {
#ifdef GT_X86
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? 1 : 0;
    }
    return cached;
#else
    return 0;
#endif
}

int gt_isa_parse_limit(const char *value) {
    if (value == NULL || value[0] == '\0') return GT_ISA_AVX512;
    if (strcasecmp(value, "avx512") == 0) return GT_ISA_AVX512;
    if (strcasecmp(value, "avx2") == 0) return GT_ISA_AVX2;
    if (strcasecmp(value, "portable") == 0) return GT_ISA_PORTABLE;
    return -1;
}

int gt_isa_limit(void) {
    static int cached = -2;
    if (cached == -2) cached = gt_isa_parse_limit(getenv("GPU_TRAIN_CPU_ISA"));
    return cached;
}

int gt_hardware_isa(void) {
    if (hardware_has_avx512()) return GT_ISA_AVX512;
    if (hardware_has_avx2()) return GT_ISA_AVX2;
    return GT_ISA_PORTABLE;
}

int gt_has_avx512(void) { return gt_isa_supported(GT_ISA_AVX512); }

int gt_isa_supported(int isa) {
    // An invalid GPU_TRAIN_CPU_ISA limits nothing here; the Swift side reports it (CPUISA).
    const int limit = gt_isa_limit();
    if (limit >= 0 && isa > limit) return 0;
    switch (isa) {
    case GT_ISA_PORTABLE: return 1;
    case GT_ISA_AVX2: return hardware_has_avx2();
    case GT_ISA_AVX512: return hardware_has_avx512();
    default: return 0;
    }
}

int gt_best_isa(void) {
    if (gt_isa_supported(GT_ISA_AVX512)) return GT_ISA_AVX512;
    if (gt_isa_supported(GT_ISA_AVX2)) return GT_ISA_AVX2;
    return GT_ISA_PORTABLE;
}

const char *gt_isa_name(int isa) {
    switch (isa) {
    case GT_ISA_AVX512: return "AVX-512";
    case GT_ISA_AVX2: return "AVX2+FMA";
    default: return "portable";
    }
}

// The same arithmetic in both versions, with explicit fused multiply-adds, so that a machine
// gives the same result whichever path it takes for the tail.
static void adam_portable(float *p, const float *g, float *m, float *v, size_t n, float b1, float b2,
                          float omb1, float omb2, float step, float eps) {
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        float mi = fmaf(b1, m[i], omb1 * gi);
        float vi = fmaf(b2, v[i], omb2 * gi * gi);
        m[i] = mi;
        v[i] = vi;
        p[i] -= step * mi / (sqrtf(vi) + eps);
    }
}

#ifdef GT_X86
__attribute__((target("avx512f")))
static void adam_avx512(float *p, const float *g, float *m, float *v, size_t n, float b1, float b2,
                        float omb1, float omb2, float step, float eps) {
    const __m512 vb1 = _mm512_set1_ps(b1), vb2 = _mm512_set1_ps(b2), vomb1 = _mm512_set1_ps(omb1);
    const __m512 vomb2 = _mm512_set1_ps(omb2), vstep = _mm512_set1_ps(step), veps = _mm512_set1_ps(eps);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 gi = _mm512_loadu_ps(g + i);
        __m512 mi = _mm512_fmadd_ps(vb1, _mm512_loadu_ps(m + i), _mm512_mul_ps(vomb1, gi));
        __m512 vi = _mm512_fmadd_ps(vb2, _mm512_loadu_ps(v + i), _mm512_mul_ps(_mm512_mul_ps(vomb2, gi), gi));
        _mm512_storeu_ps(m + i, mi);
        _mm512_storeu_ps(v + i, vi);
        __m512 update = _mm512_div_ps(_mm512_mul_ps(vstep, mi), _mm512_add_ps(_mm512_sqrt_ps(vi), veps));
        _mm512_storeu_ps(p + i, _mm512_sub_ps(_mm512_loadu_ps(p + i), update));
    }
    adam_portable(p + i, g + i, m + i, v + i, n - i, b1, b2, omb1, omb2, step, eps);
}

__attribute__((target("avx2,fma")))
static void adam_avx2(float *p, const float *g, float *m, float *v, size_t n, float b1, float b2,
                      float omb1, float omb2, float step, float eps) {
    const __m256 vb1 = _mm256_set1_ps(b1), vb2 = _mm256_set1_ps(b2), vomb1 = _mm256_set1_ps(omb1);
    const __m256 vomb2 = _mm256_set1_ps(omb2), vstep = _mm256_set1_ps(step), veps = _mm256_set1_ps(eps);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i);
        __m256 mi = _mm256_fmadd_ps(vb1, _mm256_loadu_ps(m + i), _mm256_mul_ps(vomb1, gi));
        __m256 vi = _mm256_fmadd_ps(vb2, _mm256_loadu_ps(v + i), _mm256_mul_ps(_mm256_mul_ps(vomb2, gi), gi));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        __m256 update = _mm256_div_ps(_mm256_mul_ps(vstep, mi), _mm256_add_ps(_mm256_sqrt_ps(vi), veps));
        _mm256_storeu_ps(p + i, _mm256_sub_ps(_mm256_loadu_ps(p + i), update));
    }
    adam_portable(p + i, g + i, m + i, v + i, n - i, b1, b2, omb1, omb2, step, eps);
}
#endif

void gt_adam_update(float *p, const float *g, float *m, float *v, size_t n, float beta1, float beta2,
                    float one_minus_beta1, float one_minus_beta2, float step, float eps) {
#ifdef GT_X86
    if (gt_has_avx512()) {
        adam_avx512(p, g, m, v, n, beta1, beta2, one_minus_beta1, one_minus_beta2, step, eps);
        return;
    }
    if (gt_isa_supported(GT_ISA_AVX2)) {
        adam_avx2(p, g, m, v, n, beta1, beta2, one_minus_beta1, one_minus_beta2, step, eps);
        return;
    }
#endif
    adam_portable(p, g, m, v, n, beta1, beta2, one_minus_beta1, one_minus_beta2, step, eps);
}
