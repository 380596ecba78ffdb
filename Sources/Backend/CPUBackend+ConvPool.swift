import CKernels

// Convolution + bias + ReLU + 2x2 max-pool in one op (Backend.conv2dBiasReLUMaxPoolForward).
// The direct path pools in the C kernel's epilogue (gt_conv_forward_pool: the full-resolution
// output never reaches memory); the im2col path pools while scattering the GEMM's result, in
// place of the scatter to NCHW; Winograd pools each 2x2 output tile as it transforms it back (a
// tile is a window). Each path gives exactly what its conv2dForward(relu: true) + maxPoolForward give.
extension CPUBackend {
    public func conv2dBiasReLUMaxPoolForward(input: Tensor, filter: Tensor, bias: Tensor, pooledOutput: Tensor,
                                             argmax: Tensor?) throws {
        let op = "conv2dBiasReLUMaxPoolForward"
        let (g, pool) = try ConvGeometry.checkPooled(op: op, input: input.shape, filter: filter.shape, bias: bias.shape,
                                                     pooled: pooledOutput.shape, argmax: argmax?.shape)
        let x = try pointer(input, op), wt = try pointer(filter, op), b = try pointer(bias, op)
        let y = try pointer(pooledOutput, op), am = try argmax.map { try pointer($0, op) }
        if try winogradConv2dPoolForward(g, input: x, filter: wt, bias: b, pooled: y, argmax: am) { return }
        if try directConv2dPoolForward(g, input: x, filter: wt, bias: b, pooled: y, argmax: am) { return }
        try im2colConv2dPoolForward(g, pool, input: x, filter: wt, bias: b, pooled: y, argmax: am)
    }

    /// The fused op on the direct path; false when the shape is not taken.
    func directConv2dPoolForward(_ g: ConvGeometry, input: UnsafePointer<Float>, filter: UnsafePointer<Float>,
                                 bias: UnsafePointer<Float>, pooled: UnsafeMutablePointer<Float>,
                                 argmax: UnsafeMutablePointer<Float>?) throws -> Bool {
        guard let shape = directPoolShape(g) else { return false }
        let isa = convolutionISA
        let packed = try transposed.pointer(count: gt_conv_packed_filter_floats(isa, shape))
        gt_conv_pack_filter(isa, shape, filter, packed)
        let blocks = Int(gt_conv_channel_blocks(isa, shape))
        let plan = Self.forwardPlan(batch: g.batch, channelBlocks: blocks)
        let stride = (gt_conv_forward_pool_scratch_floats(isa, shape, Int32(plan.imagesPerChunk)) + 15) & ~15
        let scratch = try columns.pointer(count: stride * plan.chunks)
        runForward(plan, batch: g.batch, channelBlocks: blocks) { chunk, images, owned in
            gt_conv_forward_pool_blocks(isa, shape, packed, bias, input, pooled, argmax, Int32(images.lowerBound),
                                        Int32(images.upperBound), Int32(owned.lowerBound), Int32(owned.upperBound),
                                        scratch + chunk * stride)
        }
        return true
    }

    /// The fused op on the im2col path: the GEMM's [Co, images*HW] result is pooled as it is
    /// read, with the bias and ReLU of conv2dForward's scatter, so the NCHW output is never written.
    func im2colConv2dPoolForward(_ g: ConvGeometry, _ pool: PoolGeometry, input x: UnsafePointer<Float>,
                                 filter wt: UnsafePointer<Float>, bias b: UnsafePointer<Float>,
                                 pooled y: UnsafeMutablePointer<Float>, argmax am: UnsafeMutablePointer<Float>?) throws {
        let hw = g.pixels, h = g.height, w = g.width, oh = pool.outHeight, ow = pool.outWidth, opix = oh * ow
        for range in g.imageChunks() {
            let start = range.lowerBound, images = range.count, cols = images * hw
            let tmp = try im2colForwardProduct(g, input: x, filter: wt, images: range)
            let out = y + start * g.outChannels * opix, arg = am.map { $0 + start * g.outChannels * opix }
            Parallel.forEachChunk(g.outChannels, minimumChunk: max(1, 4096 / max(cols, 1))) { channels in
                for co in channels {
                    let bc = b[co]
                    // The scatter's expression, so that the values equal conv2dForward's.
                    @inline(__always) func relu(_ v: Float) -> Float { max(v + bc, 0) }
                    for i in 0..<images {
                        let src = tmp + (co &* cols &+ i &* hw), plane = (i &* g.outChannels &+ co) &* opix
                        for oy in 0..<oh {
                            let top = src + (oy &* 2) &* w, hasBottom = oy &* 2 &+ 1 < h, bottom = top + w
                            for ox in 0..<ow {
                                let x0 = ox &* 2, hasRight = x0 &+ 1 < w
                                var best = relu(top[x0]), index: Float = 0
                                if hasRight, relu(top[x0 &+ 1]) > best { best = relu(top[x0 &+ 1]); index = 1 }
                                if hasBottom {
                                    if relu(bottom[x0]) > best { best = relu(bottom[x0]); index = 2 }
                                    if hasRight, relu(bottom[x0 &+ 1]) > best { best = relu(bottom[x0 &+ 1]); index = 3 }
                                }
                                out[plane &+ oy &* ow &+ ox] = best
                                arg?[plane &+ oy &* ow &+ ox] = index
                            }
                        }
                    }
                }
            }
        }
    }
}
