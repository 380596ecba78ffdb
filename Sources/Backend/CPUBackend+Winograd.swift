import CKernels

// Winograd F(2x2, 3x3) on the CPU, fused (Sources/CKernels/winograd_template.h): each thread
// transforms a block of tiles of its images, multiplies them by the transformed filter one
// register block at a time and transforms the products back at once, with bias, ReLU, the
// accumulation of the input gradient or the 2x2 max-pool, so that nothing transformed leaves L2.
// 2.25x fewer multiplies than the direct kernels; results differ from theirs by rounding only
// (the transforms' sums), within the conformance tolerances. The threads split as the direct
// kernels do (`forwardPlan`: images, or output-channel blocks for batches of 1 to 3), and every
// output's arithmetic is the same whatever the split or the batch. The filter gradient sums
// (A dy A^T) (.) V over tiles in the transformed domain (per thread, or per output-channel block
// as the direct kernels split it) and transforms the sum back. Workspaces: U in `winogradFilter`,
// the filter gradient's partials in `transposed`, each thread's scratch in `columns`.
extension CPUBackend {
    /// Below this many input or output channels the products are too short for Winograd to pay
    /// (the transforms' cost per tile is per channel, the products' per channel pair): one
    /// thread on Zen 4, 16 images, a 5->7 layer ran at 0.7x the direct kernel (AVX-512), 17->33
    /// at 0.9x (AVX-512) to 1.5x (AVX2), 64->128 and up at 1.7-2x (docs/BENCHMARKS.md).
    static let defaultWinogradMinimumChannels = 32

    /// The C shape when the Winograd path takes `g` (3x3, even height and width, enough channels), else nil.
    func winogradShape(_ g: ConvGeometry) -> gt_conv_shape? {
        guard convolution == .winograd, g.kernel == 3, g.pad == 1,
              min(g.inChannels, g.outChannels) >= winogradMinimumChannels,
              let shape = directShape(g, reduction: .max), gt_wino_supported(shape) != 0 else { return nil }
        return shape
    }

    /// U for `shape` (the transposed filter of the input gradient when `transposed`), over the threads.
    private func winogradTransformedFilter(_ shape: gt_conv_shape, filter: UnsafePointer<Float>,
                                           transposed: Bool) throws -> UnsafeMutablePointer<Float> {
        let isa = convolutionISA
        let u = try winogradFilter.pointer(count: gt_wino_filter_floats(isa, shape))
        let blocks = Int(gt_conv_channel_blocks(isa, shape))
        Parallel.forEachChunk(blocks, minimumChunk: max(1, blocks / 8)) { range in
            gt_wino_filter(isa, shape, filter, transposed ? 1 : 0, u, Int32(range.lowerBound), Int32(range.upperBound))
        }
        return u
    }

    /// Runs body(u, images, channel blocks, scratch) on the threads of the forward plan.
    private func winogradRun(_ shape: gt_conv_shape, batch: Int, u: UnsafePointer<Float>,
                             _ body: (Range<Int>, Range<Int>, UnsafeMutablePointer<Float>) -> Void) throws {
        let isa = convolutionISA
        let blocks = Int(gt_conv_channel_blocks(isa, shape))
        let plan = Self.forwardPlan(batch: batch, channelBlocks: blocks)
        let stride = (gt_wino_scratch_floats(isa, shape, Int32(plan.imagesPerChunk)) + 15) & ~15
        let scratch = try columns.pointer(count: stride * plan.chunks)
        runForward(plan, batch: batch, channelBlocks: blocks) { chunk, images, owned in
            body(images, owned, scratch + chunk * stride)
        }
    }

    /// conv2dForward through Winograd; false when the shape is not taken.
    func winogradConv2dForward(_ g: ConvGeometry, input: UnsafePointer<Float>, filter: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, relu: Bool) throws -> Bool {
        guard let shape = winogradShape(g) else { return false }
        let isa = convolutionISA
        let u = try winogradTransformedFilter(shape, filter: filter, transposed: false)
        try winogradRun(shape, batch: g.batch, u: u) { images, blocks, scratch in
            gt_wino_forward(isa, shape, u, bias, relu ? 1 : 0, 0, input, output, Int32(images.lowerBound),
                            Int32(images.upperBound), Int32(blocks.lowerBound), Int32(blocks.upperBound), scratch)
        }
        return true
    }

    /// The fused convolution + bias + ReLU + 2x2 max-pool through Winograd; false when not taken.
    func winogradConv2dPoolForward(_ g: ConvGeometry, input: UnsafePointer<Float>, filter: UnsafePointer<Float>,
                                   bias: UnsafePointer<Float>, pooled: UnsafeMutablePointer<Float>,
                                   argmax: UnsafeMutablePointer<Float>?) throws -> Bool {
        guard let shape = winogradShape(g) else { return false }
        let isa = convolutionISA
        let u = try winogradTransformedFilter(shape, filter: filter, transposed: false)
        try winogradRun(shape, batch: g.batch, u: u) { images, blocks, scratch in
            gt_wino_forward_pool(isa, shape, u, bias, input, pooled, argmax, Int32(images.lowerBound),
                                 Int32(images.upperBound), Int32(blocks.lowerBound), Int32(blocks.upperBound), scratch)
        }
        return true
    }

    /// conv2dBackwardInput through Winograd (the transposed, rotated filter); false when not taken.
    func winogradConv2dBackwardInput(_ g: ConvGeometry, outputGradient: UnsafePointer<Float>, filter: UnsafePointer<Float>,
                                     inputGradient: UnsafeMutablePointer<Float>, accumulate: Bool) throws -> Bool {
        guard let forward = winogradShape(g) else { return false }
        let isa = convolutionISA, shape = gt_conv_transposed_shape(forward)
        let u = try winogradTransformedFilter(shape, filter: filter, transposed: true)
        try winogradRun(shape, batch: g.batch, u: u) { images, blocks, scratch in
            gt_wino_forward(isa, shape, u, nil, 0, accumulate ? 1 : 0, outputGradient, inputGradient,
                            Int32(images.lowerBound), Int32(images.upperBound), Int32(blocks.lowerBound),
                            Int32(blocks.upperBound), scratch)
        }
        return true
    }

    /// conv2dBackwardFilter through Winograd, split as the direct kernels split it
    /// (`filterGradientSplit`: output-channel blocks sharing one partial, or images with a partial
    /// each), then the partials summed and transformed back; false when the shape is not taken.
    func winogradConv2dBackwardFilter(_ g: ConvGeometry, input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
                                      filterGradient: UnsafeMutablePointer<Float>, accumulate: Bool) throws -> Bool {
        guard let shape = winogradShape(g) else { return false }
        let isa = convolutionISA
        let blocks = Int(gt_conv_channel_blocks(isa, shape))
        let partialFloats = (gt_wino_filter_floats(isa, shape) + 15) & ~15
        let perBlock = gt_wino_filter_floats(isa, shape) / blocks
        let partials: UnsafeMutablePointer<Float>, count: Int
        if Self.filterGradientSplit(g, channelBlocks: blocks) == .channels {
            let scratchFloats = (gt_wino_filter_gradient_scratch_floats(isa, shape, Int32(g.batch)) + 15) & ~15
            partials = try transposed.pointer(count: partialFloats)
            count = 1
            let scratch = try columns.pointer(count: scratchFloats * min(Parallel.workers, blocks))
            Parallel.forEachChunkIndexed(blocks, minimumChunk: 1) { chunk, owned in
                (partials + owned.lowerBound * perBlock).update(repeating: 0, count: owned.count * perBlock)
                gt_wino_filter_gradient(isa, shape, input, outputGradient, 0, Int32(g.batch), Int32(owned.lowerBound),
                                        Int32(owned.upperBound), partials, scratch + chunk * scratchFloats)
            }
        } else {
            count = Parallel.chunkCount(g.batch, minimumChunk: Self.minimumImagesPerChunk)
            let perChunkImages = (g.batch + count - 1) / count
            let scratchFloats = (gt_wino_filter_gradient_scratch_floats(isa, shape, Int32(perChunkImages)) + 15) & ~15
            partials = try transposed.pointer(count: partialFloats * count)
            let scratch = try columns.pointer(count: scratchFloats * count)
            Parallel.forEachChunkIndexed(g.batch, minimumChunk: Self.minimumImagesPerChunk) { chunk, images in
                let partial = partials + chunk * partialFloats
                partial.update(repeating: 0, count: partialFloats)
                gt_wino_filter_gradient(isa, shape, input, outputGradient, Int32(images.lowerBound), Int32(images.upperBound),
                                        0, Int32(blocks), partial, scratch + chunk * scratchFloats)
            }
        }
        Parallel.forEachChunk(blocks, minimumChunk: 1) { owned in
            gt_wino_reduce_filter(isa, shape, partials, Int32(count), partialFloats, filterGradient, accumulate ? 1 : 0,
                                  Int32(owned.lowerBound), Int32(owned.upperBound))
        }
        return true
    }
}
