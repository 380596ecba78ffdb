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
        let x = try buffer(input, op), w = try buffer(filter, op)
        let hw = g.pixels
        if tuning.convolution == .implicitGemm {
            let full = try workspace(&columnsWorkspace, floats: g.batch * g.outChannels * hw)
            try gemmTiled(TiledProduct(operands: .convForward, m: g.outChannels, n: g.batch * hw, k: g.patchSize,
                                       relu: true, height: g.height, width: g.width),
                          alpha: 1, beta: 0, a: w, filter.offset, g.patchSize, b: x, input.offset, g.inChannels * hw,
                          c: full, 0, g.outChannels * hw,
                          taps: try tapTable(g, backwardInput: false), bias: try buffer(bias, op), biasOffset: bias.offset)
            try biasReLUMaxPool(g, source: full, imageStride: g.outChannels * hw, channelStride: hw, biasReLU: false,
                                bias: bias, pooledOutput: pooledOutput, argmax: argmax, images: 0..<g.batch)
            return
        }
        for range in g.imageChunks() {
            let start = range.lowerBound, cols = range.count * hw
            let col = try workspace(&columnsWorkspace, floats: g.patchSize * cols)
            let tmp = try workspace(&transposedWorkspace, floats: g.outChannels * cols)
            try im2col(g, x, input.offset + start * g.inChannels * hw, images: range.count, into: col)
            try gemm(false, false, g.outChannels, cols, g.patchSize, 1, w, filter.offset, g.patchSize,
                     col, 0, cols, 0, tmp, 0, cols)
            try biasReLUMaxPool(g, source: tmp, imageStride: hw, channelStride: cols, biasReLU: true,
                                bias: bias, pooledOutput: pooledOutput, argmax: argmax, images: range)
        }
    }

    /// Launches bias_relu_maxpool for `images` of the batch, reading their convolution output from
    /// `source` (offset 0 = the first of them) with the given strides.
    private func biasReLUMaxPool(_ g: ConvGeometry, source: CLBuffer, imageStride: Int, channelStride: Int, biasReLU: Bool,
                                 bias: Tensor, pooledOutput: Tensor, argmax: Tensor?, images: Range<Int>) throws {
        let op = "conv2dBiasReLUMaxPoolForward"
        let pooledImage = g.outChannels * ((g.height + 1) / 2) * ((g.width + 1) / 2)
        let b = try buffer(bias, op), y = try buffer(pooledOutput, op)
        // Without argmax the kernel writes none; the pooled buffer stands in for the argument.
        var winners = y, winnersOffset = 0
        if let argmax {
            winners = try buffer(argmax, op)
            winnersOffset = argmax.offset + images.lowerBound * pooledImage
        }
        try cl.launch(kernel("fused", "bias_relu_maxpool"),
                      [.buffer(source.mem), .int(0), .int(imageStride), .int(channelStride),
                       .buffer(b.mem), .int(bias.offset), .int(biasReLU ? 1 : 0),
                       .buffer(y.mem), .int(pooledOutput.offset + images.lowerBound * pooledImage),
                       .buffer(winners.mem), .int(winnersOffset), .int(argmax == nil ? 0 : 1),
                       .int(g.outChannels), .int(g.height), .int(g.width), .int(images.count)],
                      global: [(g.height + 1) / 2, g.outChannels, images.count])
    }
}
