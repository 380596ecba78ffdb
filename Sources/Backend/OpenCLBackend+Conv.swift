import Foundation

/// Convolutions: im2col + GEMM (kernels/conv.cl) on CPU devices, implicit GEMM on gemm_tiled
/// (kernels/gemm_conv.cl + kernels/gemm_tiled.cl, OPERANDS 1-3) on GPUs.
extension OpenCLBackend {
    func im2col(_ g: ConvGeometry, _ input: CLBuffer, _ offset: Int, images: Int, into col: CLBuffer) throws {
        try cl.launch(kernel("conv", "im2col"),
                      [.buffer(input.mem), .int(offset), .buffer(col.mem), .int(g.inChannels), .int(g.height),
                       .int(g.width), .int(g.kernel), .int(images)],
                      global: [g.height, images, g.patchSize])
    }

    private func gatherChannels(_ g: ConvGeometry, _ dy: CLBuffer, _ offset: Int, images: Int, into tmp: CLBuffer) throws {
        try cl.launch(kernel("conv", "gather_channels"),
                      [.buffer(dy.mem), .int(offset), .buffer(tmp.mem), .int(g.outChannels), .int(g.pixels), .int(images)],
                      global: [images, g.outChannels])
    }

    public func conv2dForward(input: Tensor, filter: Tensor, bias: Tensor, output: Tensor, relu: Bool) throws {
        let op = "conv2dForward"
        let g = try ConvGeometry.check(op: op, input: input.shape, filter: filter.shape, output: output.shape)
        try Check.shape(op, bias, [g.outChannels], "bias")
        let x = try buffer(input, op), w = try buffer(filter, op), b = try buffer(bias, op), y = try buffer(output, op)
        let hw = g.pixels
        if tuning.convolution == .implicitGemm {
            // C[co, image pixel] = filter[co, p] x im2col(input)[p, image pixel], stored NCHW.
            try gemmTiled(TiledProduct(operands: .convForward, m: g.outChannels, n: g.batch * hw, k: g.patchSize,
                                       relu: relu, height: g.height, width: g.width),
                          alpha: 1, beta: 0, a: w, filter.offset, g.patchSize, b: x, input.offset, g.inChannels * hw,
                          c: y, output.offset, g.outChannels * hw,
                          taps: try tapTable(g, backwardInput: false), bias: b, biasOffset: bias.offset)
            return
        }
        for range in g.imageChunks() {
            let start = range.lowerBound, images = range.count, cols = images * hw
            let col = try workspace(&columnsWorkspace, floats: g.patchSize * cols)
            let tmp = try workspace(&transposedWorkspace, floats: g.outChannels * cols)
            try im2col(g, x, input.offset + start * g.inChannels * hw, images: images, into: col)
            try gemm(false, false, g.outChannels, cols, g.patchSize, 1, w, filter.offset, g.patchSize,
                     col, 0, cols, 0, tmp, 0, cols)
            try cl.launch(kernel("conv", "scatter_bias"),
                          [.buffer(tmp.mem), .buffer(b.mem), .int(bias.offset), .buffer(y.mem),
                           .int(output.offset + start * g.outChannels * hw), .int(g.outChannels), .int(hw),
                           .int(images), .int(relu ? 1 : 0)],
                          global: [images, g.outChannels])
        }
    }

    public func conv2dBackwardInput(outputGradient: Tensor, filter: Tensor, inputGradient: Tensor, accumulate: Bool) throws {
        let op = "conv2dBackwardInput"
        let g = try ConvGeometry.check(op: op, input: inputGradient.shape, filter: filter.shape, output: outputGradient.shape)
        let dy = try buffer(outputGradient, op), w = try buffer(filter, op), dx = try buffer(inputGradient, op)
        let hw = g.pixels
        if tuning.convolution == .implicitGemm {
            // C[ci, image pixel] = filter(ci, (co, tap)) x dy((co, flipped tap), image pixel), stored NCHW.
            try gemmTiled(TiledProduct(operands: .convBackwardInput, m: g.inChannels, n: g.batch * hw,
                                       k: g.outChannels * g.kernel * g.kernel, height: g.height, width: g.width),
                          alpha: 1, beta: accumulate ? 1 : 0, a: w, filter.offset, g.kernel * g.kernel,
                          b: dy, outputGradient.offset, g.outChannels * hw, c: dx, inputGradient.offset, g.inChannels * hw,
                          taps: try tapTable(g, backwardInput: true))
            return
        }
        for range in g.imageChunks() {
            let start = range.lowerBound, images = range.count, cols = images * hw
            let col = try workspace(&columnsWorkspace, floats: g.patchSize * cols)
            let tmp = try workspace(&transposedWorkspace, floats: g.outChannels * cols)
            try gatherChannels(g, dy, outputGradient.offset + start * g.outChannels * hw, images: images, into: tmp)
            try gemm(true, false, g.patchSize, cols, g.outChannels, 1, w, filter.offset, g.patchSize,
                     tmp, 0, cols, 0, col, 0, cols)
            try cl.launch(kernel("conv", "col2im"),
                          [.buffer(col.mem), .buffer(dx.mem), .int(inputGradient.offset + start * g.inChannels * hw),
                           .int(g.inChannels), .int(g.height), .int(g.width), .int(g.kernel), .int(images),
                           .int(accumulate ? 1 : 0)],
                          global: [g.height, images, g.inChannels])
        }
    }

    public func conv2dBackwardFilter(input: Tensor, outputGradient: Tensor, filterGradient: Tensor, accumulate: Bool) throws {
        let op = "conv2dBackwardFilter"
        let g = try ConvGeometry.check(op: op, input: input.shape, filter: filterGradient.shape, output: outputGradient.shape)
        let x = try buffer(input, op), dy = try buffer(outputGradient, op), dw = try buffer(filterGradient, op)
        let hw = g.pixels
        if tuning.convolution == .implicitGemm {
            // C[co, p] = dy[co, image pixel] x im2col(input)[image pixel, p]: K is every pixel of
            // the batch, so the plan splits it (deterministic reduction, no atomics).
            try gemmTiled(TiledProduct(operands: .convBackwardFilter, m: g.outChannels, n: g.patchSize,
                                       k: g.batch * hw, height: g.height, width: g.width),
                          alpha: 1, beta: accumulate ? 1 : 0, a: dy, outputGradient.offset, g.outChannels * hw,
                          b: x, input.offset, g.inChannels * hw, c: dw, filterGradient.offset, g.patchSize,
                          taps: try tapTable(g, backwardInput: false))
            return
        }
        var first = true
        for range in g.imageChunks() {
            let start = range.lowerBound, images = range.count, cols = images * hw
            let col = try workspace(&columnsWorkspace, floats: g.patchSize * cols)
            let tmp = try workspace(&transposedWorkspace, floats: g.outChannels * cols)
            try im2col(g, x, input.offset + start * g.inChannels * hw, images: images, into: col)
            try gatherChannels(g, dy, outputGradient.offset + start * g.outChannels * hw, images: images, into: tmp)
            let beta: Float = (first && !accumulate) ? 0 : 1
            try gemm(false, true, g.outChannels, g.patchSize, cols, 1, tmp, 0, cols, col, 0, cols,
                     beta, dw, filterGradient.offset, g.patchSize)
            first = false
        }
    }

    public func conv2dBackwardBias(outputGradient: Tensor, biasGradient: Tensor, accumulate: Bool) throws {
        let op = "conv2dBackwardBias"
        guard outputGradient.shape.count == 4 else {
            throw BackendError.shapeMismatch(op: op, detail: "outputGradient must be NCHW, got \(outputGradient.shape)")
        }
        let s = outputGradient.shape
        try Check.shape(op, biasGradient, [s[1]], "biasGradient")
        let group = tuning.biasReductionGroup
        try cl.launch(kernel("conv", "bias_gradient_nchw", [("REDUCE_WG", group)]),
                      arguments(outputGradient, op) + arguments(biasGradient, op) +
                      [.int(s[0]), .int(s[1]), .int(s[2] * s[3]), .int(accumulate ? 1 : 0)],
                      global: [s[1] * group], local: group == 1 ? nil : [group])
    }
}
