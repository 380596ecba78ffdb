// Ops fused across layers (kernels/fused.cl).
extension OpenCLBackend {
    /// Convolution + bias + ReLU + 2x2 max-pool. CPU devices (im2col entries): im2col and the GEMM
    /// into the [Co, images*HW] scratch, then bias_relu_maxpool reads it in place of scatter_bias
    /// and maxpool_forward, so the ReLU output is never stored. GPUs (implicit GEMM): the GEMM
    /// writes the ReLU output to a scratch buffer, which bias_relu_maxpool pools.
    public func conv2dBiasReLUMaxPoolForward(input: Tensor, filter: Tensor, bias: Tensor, pooledOutput: Tensor,
                                             argmax: Tensor?) throws {
        let op = "conv2dBiasReLUMaxPoolForward"
        let (g, _) = try ConvGeometry.checkPooled(op: op, input: input.shape, filter: filter.shape, bias: bias.shape,
                                                  pooled: pooledOutput.shape, argmax: argmax?.shape)
        let x = try buffer(input, op), w = try buffer(filter, op), b = try buffer(bias, op)
        let y = try buffer(pooledOutput, op), am = try argmax.map { try buffer($0, op) }
        let hw = g.pixels, pooledImage = g.outChannels * ((g.height + 1) / 2) * ((g.width + 1) / 2)
        func pool(_ source: CLBuffer, _ offset: Int, imageStride: Int, channelStride: Int, biasReLU: Bool,
                  images: Int, first: Int) throws {
            let outOffset = pooledOutput.offset + first * pooledImage
            try cl.launch(kernel("fused", "bias_relu_maxpool"),
                          [.buffer(source.mem), .int(offset), .int(imageStride), .int(channelStride),
                           .buffer(b.mem), .int(bias.offset), .int(biasReLU ? 1 : 0),
                           .buffer(y.mem), .int(outOffset),
                           // Without argmax the kernel writes none; the pooled buffer stands in.
                           .buffer((am ?? y).mem), .int(argmax.map { $0.offset + first * pooledImage } ?? 0),
                           .int(argmax == nil ? 0 : 1),
                           .int(g.outChannels), .int(g.height), .int(g.width), .int(images)],
                          global: [(g.height + 1) / 2, g.outChannels, images])
        }
        if tuning.convolution == .implicitGemm {
            let full = try workspace(&columnsWorkspace, floats: g.batch * g.outChannels * hw)
            try gemmTiled(TiledProduct(operands: .convForward, m: g.outChannels, n: g.batch * hw, k: g.patchSize,
                                       relu: true, height: g.height, width: g.width),
                          alpha: 1, beta: 0, a: w, filter.offset, g.patchSize, b: x, input.offset, g.inChannels * hw,
                          c: full, 0, g.outChannels * hw,
                          taps: try tapTable(g, backwardInput: false), bias: b, biasOffset: bias.offset)
            try pool(full, 0, imageStride: g.outChannels * hw, channelStride: hw, biasReLU: false, images: g.batch, first: 0)
            return
        }
        for range in g.imageChunks() {
            let start = range.lowerBound, images = range.count, cols = images * hw
            let col = try workspace(&columnsWorkspace, floats: g.patchSize * cols)
            let tmp = try workspace(&transposedWorkspace, floats: g.outChannels * cols)
            try im2col(g, x, input.offset + start * g.inChannels * hw, images: images, into: col)
            try gemm(false, false, g.outChannels, cols, g.patchSize, 1, w, filter.offset, g.patchSize,
                     col, 0, cols, 0, tmp, 0, cols)
            try pool(tmp, 0, imageStride: hw, channelStride: cols, biasReLU: true, images: images, first: start)
        }
    }
}
