// Small C kernels for the CPU backend where Swift's portable x86-64 code generation (SSE2)
// leaves speed on the table: each has AVX-512 and AVX2+FMA versions chosen at run time and a
// portable fallback, so the binary still runs on any x86-64 (or other) CPU. No compiler flag
// enables an instruction set for a whole file: each fast function carries its own
// __attribute__((target(...))), so the package needs no unsafe flags.
#ifndef GPU_TRAIN_CKERNELS_H
#define GPU_TRAIN_CKERNELS_H

#include <stddef.h>
#include "distance.h"
#include "neighbors.h"

// MARK: - Instruction sets

/// The instruction-set levels the kernels are written for, in increasing order.
enum {
    GT_ISA_PORTABLE = 0, ///< the compiler's generic 4-wide vectors (SSE2 on x86-64, NEON elsewhere)
    GT_ISA_AVX2 = 1,     ///< AVX2 + FMA, 8 floats per register, 16 registers
    GT_ISA_AVX512 = 2,   ///< AVX-512F, 16 floats per register, 32 registers
};

/// 1 when the AVX-512 versions run on this CPU (and GPU_TRAIN_CPU_ISA allows them).
int gt_has_avx512(void);

/// 1 when this CPU (and operating system) runs code of level `isa` and GPU_TRAIN_CPU_ISA allows
/// it. Every kernel dispatches through this, so the variable forces a lower level everywhere.
int gt_isa_supported(int isa);

/// The highest supported (and allowed) level.
int gt_best_isa(void);

/// The highest level the hardware runs, whatever GPU_TRAIN_CPU_ISA says.
int gt_hardware_isa(void);

/// The highest level a value of GPU_TRAIN_CPU_ISA allows: "avx512", "avx2" or "portable" (any
/// case); GT_ISA_AVX512 (no limit) for NULL or empty; -1 for anything else (then nothing is limited).
int gt_isa_parse_limit(const char *value);

/// `gt_isa_parse_limit` of this process's GPU_TRAIN_CPU_ISA, read once.
int gt_isa_limit(void);

/// The level's name: "AVX-512", "AVX2+FMA" or "portable".
const char *gt_isa_name(int isa);

// MARK: - Adam

/// One bias-corrected Adam step (Keras's form) over n elements in place:
/// m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;  p -= step m / (sqrt(v) + eps).
void gt_adam_update(float *p, const float *g, float *m, float *v, size_t n,
                    float beta1, float beta2, float one_minus_beta1, float one_minus_beta2,
                    float step, float eps);

// MARK: - Peak probe

/// Runs `iterations` rounds of fused multiply-adds on 12 independent accumulators of level `isa`
/// (the portable level where `isa` is not supported) on the calling thread and returns the FLOPs
/// done (2 per lane per FMA). `checksum` (may be NULL) receives a value that depends on every
/// accumulator, so that the loop cannot be optimised away.
double gt_peak_probe_flops(int isa, long iterations, double *checksum);

/// Floats per vector register at level `isa`.
int gt_peak_probe_lanes(int isa);

// MARK: - Direct convolution

/// A stride-1 "same" convolution: input [N, in_channels, height, width], filter
/// [out_channels, in_channels, kernel, kernel] (odd kernel, zero padding (kernel - 1) / 2),
/// output [N, out_channels, height, width], all dense row-major float32.
typedef struct {
    int in_channels, out_channels, height, width, kernel;
} gt_conv_shape;

/// Output channels per register block at level `isa` (two vectors): filters are packed in blocks
/// of this many output channels, the last one padded with zeros.
int gt_conv_channel_block(int isa);

/// Floats of a packed filter for the forward kernel at level `isa`.
size_t gt_conv_packed_filter_floats(int isa, gt_conv_shape shape);

/// Packs filter [Co, Ci, K, K] for `gt_conv_forward` on `shape`: [Co/B][Ci][K][K][B], B = the channel block.
void gt_conv_pack_filter(int isa, gt_conv_shape shape, const float *filter, float *packed);

/// Packs filter [Co, Ci, K, K] of `shape` for the input gradient, which is the forward kernel on
/// the shape with the channel counts swapped (`gt_conv_transposed_shape`), filter transposed and
/// rotated by 180 degrees: packed[Ci/B][Co][K][K][B] = filter[co][ci][K-1-ky][K-1-kx].
void gt_conv_pack_filter_transposed(int isa, gt_conv_shape shape, const float *filter, float *packed);

/// `shape` with in_channels and out_channels swapped.
gt_conv_shape gt_conv_transposed_shape(gt_conv_shape shape);

/// Floats of scratch one call of `gt_conv_forward` needs (per concurrent caller).
size_t gt_conv_forward_scratch_floats(int isa, gt_conv_shape shape, int images);

/// Output images [first, end) of the convolution of `input` with a filter packed by
/// `gt_conv_pack_filter` (or, for the input gradient, `gt_conv_pack_filter_transposed` on the
/// transposed shape). `input` and `output` point at image 0. Epilogue per element, in this
/// order: + bias[co] (when bias is not NULL), max(0, .) (when relu), + the old output (when
/// accumulate); then stored. Calls on disjoint image ranges may run concurrently.
void gt_conv_forward(int isa, gt_conv_shape shape, const float *packed_filter, const float *bias,
                     int relu, int accumulate, const float *input, float *output, int first, int end,
                     float *scratch);

/// Floats of scratch one call of `gt_conv_forward_pool` needs (per concurrent caller).
size_t gt_conv_forward_pool_scratch_floats(int isa, gt_conv_shape shape, int images);

/// `gt_conv_forward` with bias and ReLU, then a 2x2 stride-2 max-pool with ceil output size, in
/// one pass: pooled [N, out_channels, ceil(H/2), ceil(W/2)] receives each window's maximum (ties
/// and NaN as maxPoolForward: a cell wins only when strictly greater than the cells before it in
/// the order (0,0), (0,1), (1,0), (1,1)); `argmax` (same shape, or NULL) its position 0..3 as a
/// float. The full-resolution output is never stored. `bias` may be NULL; images [first, end).
void gt_conv_forward_pool(int isa, gt_conv_shape shape, const float *packed_filter, const float *bias,
                          const float *input, float *pooled, float *argmax, int first, int end, float *scratch);

/// `gt_conv_forward` for output-channel blocks [block_first, block_end) only (`gt_conv_channel_blocks`):
/// callers on disjoint block ranges of the same images may run concurrently (a split over output
/// channels, for batches too small to give every thread images).
void gt_conv_forward_blocks(int isa, gt_conv_shape shape, const float *packed_filter, const float *bias,
                            int relu, int accumulate, const float *input, float *output, int first, int end,
                            int block_first, int block_end, float *scratch);

/// `gt_conv_forward_pool` for output-channel blocks [block_first, block_end) only.
void gt_conv_forward_pool_blocks(int isa, gt_conv_shape shape, const float *packed_filter, const float *bias,
                                 const float *input, float *pooled, float *argmax, int first, int end,
                                 int block_first, int block_end, float *scratch);

/// Floats of one partial filter gradient of `gt_conv_backward_filter` (blocked layout).
size_t gt_conv_filter_partial_floats(int isa, gt_conv_shape shape);

/// Floats of scratch one call of `gt_conv_backward_filter` needs.
size_t gt_conv_backward_filter_scratch_floats(int isa, gt_conv_shape shape, int images);

/// Adds the filter gradient of images [first, end) into `partial` (blocked layout, zeroed by the
/// caller before the first call). Concurrent callers each own a partial; `gt_conv_reduce_filter`
/// sums them, so no two threads ever write the same float.
void gt_conv_backward_filter(int isa, gt_conv_shape shape, const float *input, const float *output_gradient,
                             int first, int end, float *partial, float *scratch);

/// Blocks of output channels (`gt_conv_channel_block` each) of `shape` at level `isa`.
int gt_conv_channel_blocks(int isa, gt_conv_shape shape);

/// `gt_conv_backward_filter` for output-channel blocks [block_first, block_end) only: the part of
/// `partial` those blocks own. Callers on disjoint block ranges may share one partial (a split over
/// output channels for small batches, where one partial per thread would cost more to zero and
/// reduce than the arithmetic).
void gt_conv_backward_filter_blocks(int isa, gt_conv_shape shape, const float *input, const float *output_gradient,
                                    int first, int end, int block_first, int block_end, float *partial, float *scratch);

/// filter_gradient [Co, Ci, K, K] = (accumulate ? filter_gradient : 0) + the sum of `count`
/// partials, `stride` floats apart (at least `gt_conv_filter_partial_floats`), for output
/// channels [co_first, co_end).
void gt_conv_reduce_filter(int isa, gt_conv_shape shape, const float *partials, int count, size_t stride,
                           float *filter_gradient, int accumulate, int co_first, int co_end);

// MARK: - Winograd F(2x2, 3x3), fused (Sources/CKernels/winograd_template.h)

/// 1 when the Winograd kernels take `shape`: a 3x3 kernel and an even height and width (each
/// 2x2 tile of outputs is then whole, and is exactly one window of a 2x2 stride-2 max-pool).
int gt_wino_supported(gt_conv_shape shape);

/// Floats of the transformed filter of `shape` at level `isa`: [Co/B][16][Ci][B], B = gt_conv_channel_block.
size_t gt_wino_filter_floats(int isa, gt_conv_shape shape);

/// U = G g G^T of every filter of `shape`, for output-channel blocks [block_first, block_end).
/// `filter` is [Co][Ci][3][3]; with `transposed`, `shape` is the input gradient of the forward
/// convolution whose filter `filter` is ([shape.in][shape.out][3][3], taps rotated by 180 degrees).
void gt_wino_filter(int isa, gt_conv_shape shape, const float *filter, int transposed, float *u, int block_first,
                    int block_end);

/// Floats of scratch one call of `gt_wino_forward` or `gt_wino_forward_pool` needs (per concurrent caller).
size_t gt_wino_scratch_floats(int isa, gt_conv_shape shape, int images);

/// `gt_conv_forward_blocks` through Winograd, with the filter transformed by `gt_wino_filter`:
/// images [first, end), output-channel blocks [block_first, block_end), the same epilogue (bias
/// when not NULL, ReLU, accumulate). Concurrent calls on disjoint images or blocks are safe.
void gt_wino_forward(int isa, gt_conv_shape shape, const float *u, const float *bias, int relu, int accumulate,
                     const float *input, float *output, int first, int end, int block_first, int block_end,
                     float *scratch);

/// `gt_conv_forward_pool_blocks` through Winograd (bias, ReLU, the 2x2 max-pool and its argmax, or
/// NULL): the same windows, ties and NaN rule; each window is one tile.
void gt_wino_forward_pool(int isa, gt_conv_shape shape, const float *u, const float *bias, const float *input,
                          float *pooled, float *argmax, int first, int end, int block_first, int block_end,
                          float *scratch);

/// Floats of scratch one call of `gt_wino_filter_gradient` needs (per concurrent caller).
size_t gt_wino_filter_gradient_scratch_floats(int isa, gt_conv_shape shape, int images);

/// Adds the filter gradient of images [first, end), for output-channel blocks [block_first,
/// block_end), into `partial` in the transformed domain (`gt_wino_filter_floats` floats, laid out
/// as U; zeroed by the caller before the first call). Concurrent callers own their partial, or
/// disjoint blocks of a shared one.
void gt_wino_filter_gradient(int isa, gt_conv_shape shape, const float *input, const float *output_gradient, int first,
                             int end, int block_first, int block_end, float *partial, float *scratch);

/// filter_gradient [Co, Ci, 3, 3] = (accumulate ? filter_gradient : 0) + the sum of `count`
/// partials of `gt_wino_filter_gradient`, `stride` floats apart, transformed back, for
/// output-channel blocks [block_first, block_end).
void gt_wino_reduce_filter(int isa, gt_conv_shape shape, const float *partials, int count, size_t stride,
                           float *filter_gradient, int accumulate, int block_first, int block_end);

#endif
