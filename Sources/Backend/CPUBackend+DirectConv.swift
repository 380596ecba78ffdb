import CKernels
import Foundation

/// How the CPU backend computes convolutions.
public enum CPUConvolution: String, Sendable, CaseIterable {
    /// Blocked direct convolution in C with run-time AVX-512 / AVX2 / portable dispatch
    /// (Sources/CKernels/conv.c) for every layer.
    case direct
    /// Batched im2col + OpenBLAS SGEMM (CPUBackend+Conv.swift): the reference the direct
    /// kernels are tested against, kept selectable to compare the two.
    case im2col
    /// Winograd F(2x2, 3x3) for the forward pass (alone or fused with the max-pool), the input
    /// gradient and the filter gradient of 3x3 layers with an even height and width and at least
    /// `CPUBackend.winogradMinimumChannels` channels on both sides (CPUBackend+Winograd.swift), the
    /// direct kernels for everything else: the default (2.25x fewer multiplies; rounding differs
    /// from the direct kernels' within the conformance tolerances).
    case winograd

    public static let variable = "GPU_TRAIN_CPU_CONV"

    /// `GPU_TRAIN_CPU_CONV=direct`, `winograd` or `im2col`; winograd when unset or unrecognised
    /// (commands refuse an unrecognised value first: `environmentError`).
    public static var fromEnvironment: CPUConvolution {
        ProcessInfo.processInfo.environment[variable].flatMap { CPUConvolution(rawValue: $0.lowercased()) } ?? .winograd
    }

    /// The error an unrecognised value of the variable is, or nil when it is unset or valid.
    public static var environmentError: BackendError? {
        guard let value = ProcessInfo.processInfo.environment[variable], CPUConvolution(rawValue: value.lowercased()) == nil else { return nil }
        return .invalidArgument(op: variable, detail: "'\(value)' is not " + allCases.map(\.rawValue).joined(separator: ", ")
                                + " (the CPU backend's convolution)")
    }

    /// Direct kernels only for reductions of at least this many terms (Ci*K*K forward and for the
    /// filter gradient, Co*K*K for the input gradient). Below it, fixed costs per output (the
    /// scatter of a register tile into NCHW, the transposed copy of dy) outweigh the arithmetic:
    /// conv1 (Ci 1, 5x5: 25 terms) ran at 31% of one core's peak direct against 40-50% through
    /// im2col + SGEMM, while the 3x3 layers with 64+ channels ran 10-20% faster direct (thread CPU
    /// time, single thread, on a loaded 2-vCPU EPYC: see docs/BENCHMARKS.md).
    static let directMinimumReduction = 64

    /// The same threshold for the convolution fused with a max-pool, whose epilogue stores a
    /// quarter of the outputs: conv1 (25 terms) ran at 48% of one core's peak fused, against 36%
    /// for im2col's SGEMM alone (before its scatter and the pool), single thread, AVX-512 Zen 4
    /// (bench/conv_kernels.c, docs/BENCHMARKS.md).
    static let directPoolMinimumReduction = 16

    /// The same threshold for the filter gradient, whose outputs are the filter's (no per-output
    /// epilogue to amortise) and whose reduction runs over the batch's pixels: in `bench` (two
    /// threads, 64 images, AVX-512 Zen 4) conv1's filter gradient (Ci 1, 5x5) took 2.66 ms direct
    /// against 6.89 ms for the im2col path (im2col, the transposed gather of dy, then a 64 x 25
    /// SGEMM with K = N*H*W): 33% of the probe against 13% (docs/BENCHMARKS.md).
    static let directFilterMinimumReduction = 16

    /// The highest instruction-set level this CPU runs (GT_ISA_*).
    static var bestISA: Int32 { gt_best_isa() }

    /// The level's name, for `devices` and bench output.
    public static func isaName(_ isa: Int32) -> String { String(cString: gt_isa_name(isa)) }
}

// Direct convolution: the C kernels work on image ranges; here they are split over gpu-train's
// threads, each with its own slice of scratch (and, for the filter gradient, its own partial sum,
// reduced afterwards without atomics). Workspaces: `transposed` holds the packed filter or the
// partials, `columns` the per-thread scratch; the im2col path uses the same two buffers, and a
// direct convolution needs far less of them (no K*K copies of the input).
extension CPUBackend {
    /// The C shape of `g`, or nil when the direct kernels should not take it: a reduction of
    /// `reduction` terms is too short (`directMinimumReduction`), or sizes exceed what the C code
    /// indexes with 32-bit ints within an image.
    func directShape(_ g: ConvGeometry, reduction: Int, minimum: Int? = nil) -> gt_conv_shape? {
        guard convolution != .im2col, reduction >= minimum ?? directMinimumReduction else { return nil }
        let pad = g.pad, padded = (g.height + 2 * pad) * (g.width + 2 * pad)
        let widest = max(g.inChannels, g.outChannels) + 32
        let (perImage, overflow) = widest.multipliedReportingOverflow(by: max(padded, g.pixels))
        guard !overflow, perImage < Int(Int32.max) / 4, g.kernel * g.kernel < 4096 else { return nil }
        return gt_conv_shape(in_channels: Int32(g.inChannels), out_channels: Int32(g.outChannels),
                             height: Int32(g.height), width: Int32(g.width), kernel: Int32(g.kernel))
    }

    /// Which path each pass of a convolution of geometry `g` takes on this backend (for `bench`'s
    /// per-op table): "direct", "winograd" or "im2col".
    public func convolutionPaths(_ g: ConvGeometry) -> (forward: String, inputGradient: String, filterGradient: String) {
        let inputTerms = g.outChannels * g.kernel * g.kernel
        let forward = winogradShape(g) != nil ? "winograd" : directShape(g, reduction: g.patchSize) != nil ? "direct" : "im2col"
        let input = winogradShape(g) != nil ? "winograd" : directShape(g, reduction: inputTerms) != nil ? "direct" : "im2col"
        let filter = winogradShape(g) != nil ? "winograd" : directFilterShape(g) != nil ? "direct" : "im2col"
        return (forward, input, filter)
    }

    /// Which path the fused convolution + max-pool of geometry `g` takes: "direct", "winograd" or "im2col".
    public func convolutionPoolPath(_ g: ConvGeometry) -> String {
        winogradShape(g) != nil ? "winograd" : directPoolShape(g) != nil ? "direct" : "im2col"
    }

    /// The C shape of `g` for the filter gradient, or nil (im2col or Winograd run instead).
    func directFilterShape(_ g: ConvGeometry) -> gt_conv_shape? {
        directShape(g, reduction: g.patchSize, minimum: min(directMinimumReduction, CPUConvolution.directFilterMinimumReduction))
    }

    /// The C shape of `g` for the fused convolution + max-pool, or nil (im2col or Winograd run instead).
    func directPoolShape(_ g: ConvGeometry) -> gt_conv_shape? {
        directShape(g, reduction: g.patchSize, minimum: min(directMinimumReduction, CPUConvolution.directPoolMinimumReduction))
    }

    /// Images per thread chunk: at least two, so that a thread's setup (padding, packing) is shared.
    static let minimumImagesPerChunk = 2

    /// How a forward-kernel call (forward, input gradient, fused pool) is split over threads: by
    /// images when every thread gets at least `minimumImagesPerChunk`, else by blocks of output
    /// channels (batch 1 to 3 on two threads: inference of a few flows), each thread then
    /// running every image for its blocks.
    struct ForwardPlan: Equatable {
        let byChannels: Bool
        /// Threads, and images each one runs (scratch is sized for that many).
        let chunks: Int, imagesPerChunk: Int
    }

    static func forwardPlan(batch: Int, channelBlocks: Int, workers: Int = Parallel.workers) -> ForwardPlan {
        let imageChunks = min(workers, max(1, batch / minimumImagesPerChunk))
        if imageChunks < workers, channelBlocks > imageChunks {
            return ForwardPlan(byChannels: true, chunks: min(workers, channelBlocks), imagesPerChunk: batch)
        }
        return ForwardPlan(byChannels: false, chunks: imageChunks, imagesPerChunk: (batch + imageChunks - 1) / imageChunks)
    }

    /// Runs body(chunk, images, channel blocks) on the threads of `plan`.
    func runForward(_ plan: ForwardPlan, batch: Int, channelBlocks: Int, _ body: (Int, Range<Int>, Range<Int>) -> Void) {
        if plan.byChannels {
            Parallel.forEachChunkIndexed(channelBlocks, minimumChunk: 1) { chunk, blocks in body(chunk, 0..<batch, blocks) }
        } else {
            Parallel.forEachChunkIndexed(batch, minimumChunk: Self.minimumImagesPerChunk) { chunk, images in
                body(chunk, images, 0..<channelBlocks)
            }
        }
    }

    /// y = conv(x) through the forward kernel with `packed` already filled for `shape`.
    private func directForward(_ shape: gt_conv_shape, batch: Int, packed: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                               relu: Bool, accumulate: Bool, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) throws {
        let isa = convolutionISA
        let blocks = Int(gt_conv_channel_blocks(isa, shape))
        let plan = Self.forwardPlan(batch: batch, channelBlocks: blocks)
        let perChunk = gt_conv_forward_scratch_floats(isa, shape, Int32(plan.imagesPerChunk))
        let stride = (perChunk + 15) & ~15
        let scratch = try columns.pointer(count: stride * plan.chunks)
        runForward(plan, batch: batch, channelBlocks: blocks) { chunk, images, owned in
            gt_conv_forward_blocks(isa, shape, packed, bias, relu ? 1 : 0, accumulate ? 1 : 0, input, output,
                                   Int32(images.lowerBound), Int32(images.upperBound), Int32(owned.lowerBound),
                                   Int32(owned.upperBound), scratch + chunk * stride)
        }
    }

    /// conv2dForward on the direct path; false when the shape is not taken (im2col runs instead).
    func directConv2dForward(_ g: ConvGeometry, input: UnsafePointer<Float>, filter: UnsafePointer<Float>,
                             bias: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, relu: Bool) throws -> Bool {
        guard let shape = directShape(g, reduction: g.patchSize) else { return false }
        let packed = try transposed.pointer(count: gt_conv_packed_filter_floats(convolutionISA, shape))
        gt_conv_pack_filter(convolutionISA, shape, filter, packed)
        try directForward(shape, batch: g.batch, packed: packed, bias: bias, relu: relu, accumulate: false,
                          input: input, output: output)
        return true
    }

    /// conv2dBackwardInput on the direct path: the forward kernel on the transposed shape, with the
    /// filter transposed and rotated by 180 degrees, reading dy and writing (or adding to) dx.
    func directConv2dBackwardInput(_ g: ConvGeometry, outputGradient: UnsafePointer<Float>, filter: UnsafePointer<Float>,
                                   inputGradient: UnsafeMutablePointer<Float>, accumulate: Bool) throws -> Bool {
        guard let shape = directShape(g, reduction: g.outChannels * g.kernel * g.kernel) else { return false }
        let transposedShape = gt_conv_transposed_shape(shape)
        let packed = try transposed.pointer(count: gt_conv_packed_filter_floats(convolutionISA, transposedShape))
        gt_conv_pack_filter_transposed(convolutionISA, shape, filter, packed)
        try directForward(transposedShape, batch: g.batch, packed: packed, bias: nil, relu: false, accumulate: accumulate,
                          input: outputGradient, output: inputGradient)
        return true
    }

    /// How the filter gradient's work is split over threads.
    enum FilterGradientSplit: Equatable {
        /// Each thread sums its images into its own partial; the partials are reduced afterwards.
        case images
        /// Each thread owns whole blocks of output channels and sums every image into them.
        case channels
    }

    /// Split over output channels when each thread has at least one block and its images would
    /// hold fewer than 1,024 pixels: then a per-thread partial (Co*Ci*K*K floats, zeroed, streamed
    /// through the kernel, reduced) costs more than the channel split's duplicated padding of the
    /// input. Summed thread CPU time of both splits on two threads, AVX-512 Zen 4, best of 7
    /// (docs/BENCHMARKS.md): conv4 at 10 images 1.40 ms by images, 1.30 by channels; at 256
    /// images 23.8 against 24.3; conv3 at 10 images 2.12 against 2.03, at 64 images 11.8 against 12.1.
    static func filterGradientSplit(_ g: ConvGeometry, channelBlocks: Int, workers: Int = Parallel.workers) -> FilterGradientSplit {
        guard workers > 1, channelBlocks >= workers else { return .images }
        let imagesPerThread = (g.batch + workers - 1) / workers
        return imagesPerThread * g.pixels < 1024 ? .channels : .images
    }

    /// conv2dBackwardFilter on the direct path, split over output channels (one shared partial) or
    /// over images (one partial per thread), then the partials reduced over output channels.
    func directConv2dBackwardFilter(_ g: ConvGeometry, input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
                                    filterGradient: UnsafeMutablePointer<Float>, accumulate: Bool) throws -> Bool {
        guard let shape = directFilterShape(g) else { return false }
        let isa = convolutionISA
        let blocks = Int(gt_conv_channel_blocks(isa, shape))
        let partialFloats = (gt_conv_filter_partial_floats(isa, shape) + 15) & ~15
        if Self.filterGradientSplit(g, channelBlocks: blocks) == .channels {
            let scratchFloats = (gt_conv_backward_filter_scratch_floats(isa, shape, Int32(g.batch)) + 15) & ~15
            let partial = try transposed.pointer(count: partialFloats)
            let workers = min(Parallel.workers, blocks)
            let scratch = try columns.pointer(count: scratchFloats * workers)
            let perBlock = gt_conv_filter_partial_floats(isa, shape) / blocks
            Parallel.forEachChunkIndexed(blocks, minimumChunk: 1) { chunk, owned in
                (partial + owned.lowerBound * perBlock).update(repeating: 0, count: owned.count * perBlock)
                gt_conv_backward_filter_blocks(isa, shape, input, outputGradient, 0, Int32(g.batch), Int32(owned.lowerBound),
                                               Int32(owned.upperBound), partial, scratch + chunk * scratchFloats)
            }
            let perChannel = g.inChannels * g.kernel * g.kernel
            Parallel.forEachChunk(g.outChannels, minimumChunk: max(1, 16384 / max(perChannel, 1))) { channels in
                gt_conv_reduce_filter(isa, shape, partial, 1, partialFloats, filterGradient, accumulate ? 1 : 0,
                                      Int32(channels.lowerBound), Int32(channels.upperBound))
            }
            return true
        }
        let chunks = Parallel.chunkCount(g.batch, minimumChunk: Self.minimumImagesPerChunk)
        let perChunkImages = (g.batch + chunks - 1) / chunks
        let scratchFloats = (gt_conv_backward_filter_scratch_floats(isa, shape, Int32(perChunkImages)) + 15) & ~15
        let partials = try transposed.pointer(count: partialFloats * chunks)
        let scratch = try columns.pointer(count: scratchFloats * chunks)
        Parallel.forEachChunkIndexed(g.batch, minimumChunk: Self.minimumImagesPerChunk) { chunk, images in
            let partial = partials + chunk * partialFloats
            partial.update(repeating: 0, count: partialFloats)
            gt_conv_backward_filter(isa, shape, input, outputGradient, Int32(images.lowerBound), Int32(images.upperBound),
                                    partial, scratch + chunk * scratchFloats)
        }
        let perChannel = g.inChannels * g.kernel * g.kernel
        Parallel.forEachChunk(g.outChannels, minimumChunk: max(1, 16384 / max(perChannel * chunks, 1))) { channels in
            gt_conv_reduce_filter(isa, shape, partials, Int32(chunks), partialFloats, filterGradient, accumulate ? 1 : 0,
                                  Int32(channels.lowerBound), Int32(channels.upperBound))
        }
        return true
    }
}
