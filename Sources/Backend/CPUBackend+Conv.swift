import Foundation

// Convolution on the CPU. By default the direct C kernels run (CPUBackend+DirectConv.swift);
// this file is the reference path they are tested against (`CPUConvolution.im2col`): batched
// im2col + one SGEMM per chunk of images, so that the GEMM is large (M = output channels,
// N = images x pixels, K = Ci*K*K) rather than one small GEMM per image. The GEMM result
// [Co, images*pixels] is scattered into NCHW with bias and ReLU fused.
extension CPUBackend {
    /// col[p, i*HW + y*W + x] = input[i, c, y+ky-pad, x+kx-pad] (0 outside), p = (c*K + ky)*K + kx.
    func im2col(_ g: ConvGeometry, _ input: UnsafePointer<Float>, images: Int, _ col: UnsafeMutablePointer<Float>) {
        let k = g.kernel, pad = g.pad, h = g.height, w = g.width, hw = g.pixels
        let cols = images * hw
        Parallel.forEachChunk(g.patchSize, minimumChunk: max(1, 4096 / max(cols, 1))) { rows in
            for p in rows {
                let c = p / (k * k), ky = (p / k) % k, kx = p % k
                let dy = ky - pad, dx = kx - pad
                let x0 = max(0, -dx), x1 = min(w, w - dx)
                for i in 0..<images {
                    let src = input + (i * g.inChannels + c) * hw
                    let dst = col + p * cols + i * hw
                    for y in 0..<h {
                        let sy = y + dy
                        let row = dst + y * w
                        if sy < 0 || sy >= h || x0 >= x1 {
                            row.update(repeating: 0, count: w)
                            continue
                        }
                        for x in 0..<x0 { row[x] = 0 }
                        (row + x0).update(from: src + sy * w + x0 + dx, count: x1 - x0)
                        for x in x1..<w { row[x] = 0 }
                    }
                }
            }
        }
    }

    /// Adds col[p, i*HW + pixel] back into the input-shaped gradient (the adjoint of im2col).
    func col2imAdd(_ g: ConvGeometry, _ col: UnsafePointer<Float>, images: Int, _ grad: UnsafeMutablePointer<Float>) {
        let k = g.kernel, pad = g.pad, h = g.height, w = g.width, hw = g.pixels
        let cols = images * hw
        // Each input channel owns rows c*K*K ..< (c+1)*K*K, so channels run in parallel safely.
        Parallel.forEachChunk(g.inChannels, minimumChunk: 1) { channels in
            for c in channels {
                for i in 0..<images {
                    let dst = grad + (i * g.inChannels + c) * hw
                    for ky in 0..<k {
                        let dy = ky - pad
                        for kx in 0..<k {
                            let dx = kx - pad
                            let x0 = max(0, -dx), x1 = min(w, w - dx)
                            if x0 >= x1 { continue }
                            let src = col + ((c * k + ky) * k + kx) * cols + i * hw
                            for y in max(0, -dy)..<min(h, h - dy) {
                                let d = dst + (y + dy) * w + dx
                                let s = src + y * w
                                for x in x0..<x1 { d[x] += s[x] }
                            }
                        }
                    }
                }
            }
        }
    }

    /// tmp[co, i*HW + pixel] = grad[i, co, pixel]: the output gradient as a [Co, images*HW] matrix.
    func gatherChannelsFirst(_ g: ConvGeometry, _ grad: UnsafePointer<Float>, images: Int, _ tmp: UnsafeMutablePointer<Float>) {
        let hw = g.pixels, cols = images * hw
        Parallel.forEachChunk(g.outChannels, minimumChunk: max(1, 4096 / max(cols, 1))) { channels in
            for co in channels {
                for i in 0..<images {
                    (tmp + co * cols + i * hw).update(from: grad + (i * g.outChannels + co) * hw, count: hw)
                }
            }
        }
    }

    public func conv2dForward(input: Tensor, filter: Tensor, bias: Tensor, output: Tensor, relu: Bool) throws {
        let op = "conv2dForward"
        let g = try ConvGeometry.check(op: op, input: input.shape, filter: filter.shape, output: output.shape)
        try Check.shape(op, bias, [g.outChannels], "bias")
        let x = try pointer(input, op), wt = try pointer(filter, op), b = try pointer(bias, op), y = try pointer(output, op)
        try convolutionForward(g, input: x, filter: wt, bias: b, output: y, relu: relu)
    }

    /// The im2col forward product of images `range`: filter [Co, patch] x columns [patch, images*HW],
    /// in the transposed workspace as [Co, images*HW] (before bias, activation and layout).
    func im2colForwardProduct(_ g: ConvGeometry, input x: UnsafePointer<Float>, filter wt: UnsafePointer<Float>,
                              images range: Range<Int>) throws -> UnsafeMutablePointer<Float> {
        let hw = g.pixels, cols = range.count * hw
        let col = try columns.pointer(count: g.patchSize * cols)
        let tmp = try transposed.pointer(count: g.outChannels * cols)
        im2col(g, x + range.lowerBound * g.inChannels * hw, images: range.count, col)
        sgemm(false, false, g.outChannels, cols, g.patchSize, 1, wt, g.patchSize, col, cols, 0, tmp, cols)
        return tmp
    }

    /// conv2dForward on pointers: Winograd, direct or im2col + SGEMM, whichever takes `g`.
    func convolutionForward(_ g: ConvGeometry, input x: UnsafePointer<Float>, filter wt: UnsafePointer<Float>,
                            bias b: UnsafePointer<Float>, output y: UnsafeMutablePointer<Float>, relu: Bool) throws {
        if try winogradConv2dForward(g, input: x, filter: wt, bias: b, output: y, relu: relu) { return }
        if try directConv2dForward(g, input: x, filter: wt, bias: b, output: y, relu: relu) { return }
        let hw = g.pixels
        for range in g.imageChunks() {
            let start = range.lowerBound, images = range.count, cols = images * hw
            let tmp = try im2colForwardProduct(g, input: x, filter: wt, images: range)
            let out = y + start * g.outChannels * hw
            Parallel.forEachChunk(g.outChannels, minimumChunk: max(1, 4096 / max(cols, 1))) { channels in
                for co in channels {
                    let bc = b[co]
                    for i in 0..<images {
                        let s = tmp + co * cols + i * hw, d = out + (i * g.outChannels + co) * hw
                        if relu { for p in 0..<hw { d[p] = max(s[p] + bc, 0) } }
                        else { for p in 0..<hw { d[p] = s[p] + bc } }
                    }
                }
            }
        }
    }

    public func conv2dBackwardInput(outputGradient: Tensor, filter: Tensor, inputGradient: Tensor, accumulate: Bool) throws {
        let op = "conv2dBackwardInput"
        let g = try ConvGeometry.check(op: op, input: inputGradient.shape, filter: filter.shape, output: outputGradient.shape)
        let dy = try pointer(outputGradient, op), wt = try pointer(filter, op), dx = try pointer(inputGradient, op)
        if try winogradConv2dBackwardInput(g, outputGradient: dy, filter: wt, inputGradient: dx, accumulate: accumulate) { return }
        if try directConv2dBackwardInput(g, outputGradient: dy, filter: wt, inputGradient: dx, accumulate: accumulate) { return }
        if !accumulate { dx.update(repeating: 0, count: inputGradient.count) }
        let hw = g.pixels
        for range in g.imageChunks() {
            let start = range.lowerBound, images = range.count, cols = images * hw
            let tmp = try transposed.pointer(count: g.outChannels * cols)
            let col = try columns.pointer(count: g.patchSize * cols)
            gatherChannelsFirst(g, dy + start * g.outChannels * hw, images: images, tmp)
            sgemm(true, false, g.patchSize, cols, g.outChannels, 1, wt, g.patchSize, tmp, cols, 0, col, cols)
            col2imAdd(g, col, images: images, dx + start * g.inChannels * hw)
        }
    }

    public func conv2dBackwardFilter(input: Tensor, outputGradient: Tensor, filterGradient: Tensor, accumulate: Bool) throws {
        let op = "conv2dBackwardFilter"
        let g = try ConvGeometry.check(op: op, input: input.shape, filter: filterGradient.shape, output: outputGradient.shape)
        let x = try pointer(input, op), dy = try pointer(outputGradient, op), dw = try pointer(filterGradient, op)
        if try winogradConv2dBackwardFilter(g, input: x, outputGradient: dy, filterGradient: dw, accumulate: accumulate) { return }
        if try directConv2dBackwardFilter(g, input: x, outputGradient: dy, filterGradient: dw, accumulate: accumulate) { return }
        let hw = g.pixels
        var first = true
        for range in g.imageChunks() {
            let start = range.lowerBound, images = range.count, cols = images * hw
            let col = try columns.pointer(count: g.patchSize * cols)
            let tmp = try transposed.pointer(count: g.outChannels * cols)
            im2col(g, x + start * g.inChannels * hw, images: images, col)
            gatherChannelsFirst(g, dy + start * g.outChannels * hw, images: images, tmp)
            let beta: Float = (first && !accumulate) ? 0 : 1
            sgemm(false, true, g.outChannels, g.patchSize, cols, 1, tmp, cols, col, cols, beta, dw, g.patchSize)
            first = false
        }
    }

    public func conv2dBackwardBias(outputGradient: Tensor, biasGradient: Tensor, accumulate: Bool) throws {
        let op = "conv2dBackwardBias"
        guard outputGradient.shape.count == 4 else {
            throw BackendError.shapeMismatch(op: op, detail: "outputGradient must be NCHW, got \(outputGradient.shape)")
        }
        let n = outputGradient.shape[0], c = outputGradient.shape[1], hw = outputGradient.shape[2] * outputGradient.shape[3]
        try Check.shape(op, biasGradient, [c], "biasGradient")
        let dy = try pointer(outputGradient, op), db = try pointer(biasGradient, op)
        Parallel.forEachChunk(c, minimumChunk: max(1, 8192 / max(n * hw, 1))) { channels in
            for ch in channels {
                var sum: Float = accumulate ? db[ch] : 0
                for i in 0..<n { sum += Self.planeSum(dy + (i * c + ch) * hw, count: hw) }
                db[ch] = sum
            }
        }
    }

    /// The sum of `count` floats with eight lanes of partial sums: a single running sum is one
    /// long chain of dependent adds that the compiler may not reorder (conv1's bias gradient took
    /// as long as its whole filter gradient).
    @inline(__always)
    static func planeSum(_ p: UnsafePointer<Float>, count: Int) -> Float {
        let raw = UnsafeRawPointer(p)
        var lanes = SIMD8<Float>(repeating: 0), k = 0
        while k + 8 <= count {
            lanes += raw.loadUnaligned(fromByteOffset: k * MemoryLayout<Float>.stride, as: SIMD8<Float>.self)
            k += 8
        }
        var sum = lanes.sum()
        while k < count { sum += p[k]; k += 1 }
        return sum
    }

    // MARK: Pooling

    public func maxPoolForward(input: Tensor, output: Tensor, argmax: Tensor) throws {
        let op = "maxPoolForward"
        let g = try PoolGeometry.check(op: op, input: input.shape, output: output.shape)
        try Check.shape(op, argmax, output.shape, "argmax")
        let x = try pointer(input, op), y = try pointer(output, op), am = try pointer(argmax, op)
        maxPool(g, input: x, output: y, argmax: am)
    }

    /// maxPoolForward on pointers; a nil `argmax` skips the winners' positions.
    func maxPool(_ g: PoolGeometry, input x: UnsafePointer<Float>, output y: UnsafeMutablePointer<Float>,
                 argmax am: UnsafeMutablePointer<Float>?) {
        let h = g.height, w = g.width, oh = g.outHeight, ow = g.outWidth
        // Index arithmetic wraps (&+, &*) instead of trapping: every index is inside a plane the
        // geometry check has sized, and with -O the checked versions made pooling 1.4-1.8x slower
        // than the -Ounchecked build (interleaved bench, see docs/BENCHMARKS.md).
        Parallel.forEachChunk(g.planes, minimumChunk: max(1, 16384 / max(h * w, 1))) { planes in
            for plane in planes {
                let src = x + plane &* (h &* w), dst = y + plane &* (oh &* ow), arg = am.map { $0 + plane &* (oh &* ow) }
                for oy in 0..<oh {
                    let y0 = oy &* 2
                    let top = src + y0 &* w
                    let hasBottom = y0 &+ 1 < h
                    let bottom = top + w
                    let out = dst + oy &* ow, where_ = arg.map { $0 + oy &* ow }
                    for ox in 0..<ow {
                        let x0 = ox &* 2
                        let hasRight = x0 &+ 1 < w
                        var best = top[x0], index: Float = 0
                        if hasRight, top[x0 &+ 1] > best { best = top[x0 &+ 1]; index = 1 }
                        if hasBottom {
                            if bottom[x0] > best { best = bottom[x0]; index = 2 }
                            if hasRight, bottom[x0 &+ 1] > best { best = bottom[x0 &+ 1]; index = 3 }
                        }
                        out[ox] = best
                        where_?[ox] = index
                    }
                }
            }
        }
    }

    public func maxPoolBackward(outputGradient: Tensor, argmax: Tensor, inputGradient: Tensor) throws {
        let op = "maxPoolBackward"
        let g = try PoolGeometry.check(op: op, input: inputGradient.shape, output: outputGradient.shape)
        try Check.shape(op, argmax, outputGradient.shape, "argmax")
        let dy = try pointer(outputGradient, op), am = try pointer(argmax, op), dx = try pointer(inputGradient, op)
        let h = g.height, w = g.width, oh = g.outHeight, ow = g.outWidth
        // Wrapping index arithmetic, as in maxPoolForward; argmax values are 0...3 (written by it).
        Parallel.forEachChunk(g.planes, minimumChunk: max(1, 16384 / max(h * w, 1))) { planes in
            for plane in planes {
                let dst = dx + plane &* (h &* w), src = dy + plane &* (oh &* ow), arg = am + plane &* (oh &* ow)
                dst.update(repeating: 0, count: h &* w)
                for oy in 0..<oh {
                    let row = src + oy &* ow, where_ = arg + oy &* ow
                    for ox in 0..<ow {
                        let k = Int(where_[ox])
                        dst[((oy &* 2) &+ (k >> 1)) &* w &+ (ox &* 2) &+ (k & 1)] = row[ox]
                    }
                }
            }
        }
    }
}
