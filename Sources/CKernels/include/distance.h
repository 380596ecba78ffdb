// Dot products for the CPU backend's nearest-neighbour search.
#ifndef GPU_TRAIN_DISTANCE_H
#define GPU_TRAIN_DISTANCE_H

#include <stddef.h>
#include <stdint.h>

/// out[r * nq + i] = sum_j min(|bank[r][j] - query[i][j]|, clip)^2 for r < rows, i < nq; rows are
/// dim floats. clip = INFINITY gives the squared Euclidean distance exactly; a finite clip bounds
/// what one feature can add (the baseline recipe's drift-robust distance).
/// Summed directly rather than as |a|^2 + |b|^2 - 2 a.b, which cancels catastrophically for the
/// near-duplicate flows a baseline is full of. Every pair is computed by the same sequence of
/// operations (8 lanes of fused multiply-adds over dim, the lanes summed in order, then the
/// tail), whatever rows, nq and the pair's position: a flow's distances never depend on the batch
/// it arrived in. AVX2+FMA when the CPU has it (and GPU_TRAIN_CPU_ISA allows it), else a
/// portable loop with the same arithmetic.
void gt_squared_distances(const float *bank, size_t rows, const float *queries, size_t nq, size_t dim, float clip, float *out);

/// out[n] = the squared distance gt_squared_distances gives bank row rows[n] and `query`, bit for
/// bit (the same operations), for n < count: the fast search's re-check of its candidates.
void gt_squared_distances_to_rows(const float *bank, const int32_t *rows, size_t count, const float *query, size_t dim, float clip,
                                  float *out);

#endif
