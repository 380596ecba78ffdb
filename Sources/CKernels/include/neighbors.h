// The CPU backend's fast nearest-neighbour search: GEMM-form candidates, re-checked directly.
#ifndef GPU_TRAIN_NEIGHBORS_H
#define GPU_TRAIN_NEIGHBORS_H

#include <stddef.h>
#include <stdint.h>

/// Bank rows per packed tile: packed banks hold a multiple of this many rows.
#define GT_NN_ROW_TILE 32

/// The row count of a packed bank of `rows` rows (rounded up to GT_NN_ROW_TILE).
size_t gt_nn_packed_rows(size_t rows);

/// Packs a row-major bank [rows, dim] for the fast search, in the order of the rows' keys (their
/// coordinates along the bank's first principal axis, so that rows of one cluster lie close
/// together; by rows / 4 + 1 equal buckets of key, a linear-time counting sort), in tiles of GT_NN_ROW_TILE rows, feature-major inside a tile so that one vector load
/// reads one feature of consecutive rows, and each tile is contiguous: with T = GT_NN_ROW_TILE and
/// p a packed position, packed[(p / T) * dim * T + j * T + p % T] = bank[order[p] * dim + j] (0 in the
/// padding), gt_nn_packed_rows(rows) * dim floats; half_norms[p] = |bank_order[p]|^2 / 2 (+INFINITY
/// in the padding, so padding never becomes a candidate); order[p] the bank row at p (-1 in the
/// padding); keys[p] the largest key up to p, ascending (+INFINITY in the padding; a key that is not
/// a number counts as +INFINITY); direction[dim] the axis. The order only decides which rows a search meets first.
/// Without memory for the sort, the bank's own order with every key 0 (slower searches, the same
/// results). Returns the largest |bank_r|^2, or NaN when some row's is not finite (then nothing can
/// be proved).
float gt_nn_pack_bank(const float *bank, size_t rows, size_t dim, float *packed, float *half_norms, int32_t *order, float *keys,
                      float *direction);

/// For each of nq row-major queries, the k bank rows nearest by the direct distance of
/// gt_squared_distances (clip = INFINITY: squared Euclidean), found without scanning every row
/// directly:
///  1. the `candidates` rows with the smallest u(b) = |b|^2/2 - q.b (the GEMM form of the
///     squared distance, |q|^2 + 2u), from register-blocked tiles of the packed bank with a running
///     top list per query; the distance matrix is never stored. The queries go in the order of
///     their keys (along the bank's `direction`), and each group's scan starts at the packed rows
///     around its keys (`keys`), so that low bars come early; rows found are mapped back through
///     `order` (the arrays of gt_nn_pack_bank);
///  2. those rows' direct (clipped) squared distances, exactly as gt_squared_distances computes
///     them, sorted by (distance, row) (the oracle's tie rule: the lower row first);
///  3. a certificate: every other row b has u(b) >= the candidates' largest u, so its exact squared
///     distance is at least |q|^2 + 2 u_max - m (m bounds the GEMM form's rounding:
///     (4 dim + 16) 2^-24 (|q|^2 + max |b|^2)), and its clipped distance at least the smaller of
///     that and clip^2; with a further (dim + 8) 2^-23 relative allowance for the direct sum's own
///     rounding. The k-th candidate distance below that bound (strictly) proves that no other row
///     can enter the top k or tie with it, so the result is the direct scan's, bit for bit.
/// certified[i] = 1 and out_sq[i*k ..], out_row[i*k ..] hold query i's squared distances and rows,
/// nearest first; certified[i] = 0 when the bound does not hold (a query far from every row, beyond
/// the clip, or with non-finite values): the caller scans that query directly.
/// Requires k <= candidates <= rows. `isa` is the highest level to use (GT_ISA_*), lowered to what
/// the CPU supports. Returns the number of certified queries, or -1 when scratch memory could not
/// be allocated.
long gt_nn_search(int isa, const float *packed, const float *half_norms, const int32_t *order, const float *keys,
                  const float *direction, float max_norm, size_t rows, const float *bank, const float *queries, size_t nq,
                  size_t dim, size_t k, size_t candidates, float clip, float *out_sq, int32_t *out_row, unsigned char *certified);

/// The direct scan (gt_squared_distances's values, bit for bit, the same (distance, row) order,
/// rows as the bank's: through `order`) of nq row-major queries over a packed bank, vectorised across rows rather than features:
/// found[i] = 1 and query i's k results in out_sq/out_row; found[i] = 0 when some result stays at
/// +infinity (non-finite distances) or at the portable level, where the caller scans it itself.
/// Returns the number found.
long gt_nn_scan(int isa, const float *packed, const int32_t *order, size_t rows, const float *queries, size_t nq, size_t dim, size_t k, float clip,
                float *out_sq, int32_t *out_row, unsigned char *found);

/// A counter that threads bump and read without a lock: a CPU tensor's write generation, which the
/// cache of packed banks compares. Returns the new value.
uint64_t gt_counter_increment(uint64_t *counter);
uint64_t gt_counter_load(const uint64_t *counter);

#endif
