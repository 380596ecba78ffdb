// Small C kernels for the CPU backend where Swift's portable x86-64 code generation (SSE2)
// leaves speed on the table: each has an AVX-512 version chosen at run time and a portable
// fallback, so the binary still runs on any x86-64 (or other) CPU.
#ifndef GPU_TRAIN_CKERNELS_H
#define GPU_TRAIN_CKERNELS_H

#include <stddef.h>
#include "distance.h"

/// 1 when the AVX-512 versions run on this CPU.
int gt_has_avx512(void);

/// One bias-corrected Adam step (Keras's form) over n elements in place:
/// m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;  p -= step m / (sqrt(v) + eps).
void gt_adam_update(float *p, const float *g, float *m, float *v, size_t n,
                    float beta1, float beta2, float one_minus_beta1, float one_minus_beta2,
                    float step, float eps);

#endif
