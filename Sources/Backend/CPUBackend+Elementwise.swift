import CKernels
import Foundation

// Activations, |a - b|, the two losses and Adam on the CPU.
extension CPUBackend {
    func unary(_ op: String, _ input: Tensor, _ output: Tensor,
               _ f: @escaping (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, Range<Int>) -> Void) throws {
        try Check.sameCount(op, input, output)
        let x = try pointer(input, op), y = try pointer(output, op)
        Parallel.forEachChunk(input.count) { f(x, y, $0) }
    }

    func binary(_ op: String, _ a: Tensor, _ b: Tensor, _ out: Tensor,
                _ f: @escaping (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, Range<Int>) -> Void) throws {
        try Check.sameCount(op, a, b, out)
        let pa = try pointer(a, op), pb = try pointer(b, op), po = try pointer(out, op)
        Parallel.forEachChunk(a.count) { f(pa, pb, po, $0) }
    }

    public func reluForward(_ input: Tensor, output: Tensor) throws {
        try unary("reluForward", input, output) { x, y, r in for i in r { y[i] = max(x[i], 0) } }
    }

    public func reluBackward(output: Tensor, outputGradient: Tensor, inputGradient: Tensor) throws {
        // Branch-free: a data-dependent branch mispredicts on real activations and ran at a
        // quarter of the memory bandwidth; masking the bits vectorizes.
        try binary("reluBackward", output, outputGradient, inputGradient) { y, dy, dx, r in
            for i in r { dx[i] = Float(bitPattern: dy[i].bitPattern & (y[i] > 0 ? UInt32.max : 0)) }
        }
    }

    public func sigmoidForward(_ input: Tensor, output: Tensor) throws {
        try unary("sigmoidForward", input, output) { x, y, r in for i in r { y[i] = sigmoid(x[i]) } }
    }

    public func sigmoidBackward(output: Tensor, outputGradient: Tensor, inputGradient: Tensor) throws {
        try binary("sigmoidBackward", output, outputGradient, inputGradient) { y, dy, dx, r in
            for i in r { dx[i] = dy[i] * y[i] * (1 - y[i]) }
        }
    }

    public func absDifference(_ a: Tensor, _ b: Tensor, output: Tensor) throws {
        try binary("absDifference", a, b, output) { pa, pb, po, r in for i in r { po[i] = abs(pa[i] - pb[i]) } }
    }

    public func absDifferenceBackward(_ a: Tensor, _ b: Tensor, outputGradient: Tensor,
                                      gradientA: Tensor, gradientB: Tensor) throws {
        let op = "absDifferenceBackward"
        try Check.sameCount(op, a, b, outputGradient, gradientA, gradientB)
        let pa = try pointer(a, op), pb = try pointer(b, op), g = try pointer(outputGradient, op)
        let ga = try pointer(gradientA, op), gb = try pointer(gradientB, op)
        Parallel.forEachChunk(a.count) { r in
            for i in r {
                // g * sign(d), sign(0) = sign(NaN) = 0, without branches.
                let d = pa[i] - pb[i]
                let signed = g[i].bitPattern ^ (d.bitPattern & 0x8000_0000)
                let s = Float(bitPattern: signed & ((d > 0 || d < 0) ? UInt32.max : 0))
                ga[i] = s
                gb[i] = -s
            }
        }
    }

    public func binaryCrossEntropyWithLogits(logits: Tensor, labels: Tensor, logitsGradient: Tensor) throws -> LossResult {
        let op = "binaryCrossEntropyWithLogits"
        try Check.sameCount(op, logits, labels, logitsGradient)
        let z = try pointer(logits, op), y = try pointer(labels, op), dz = try pointer(logitsGradient, op)
        let n = logits.count
        var total = 0.0, correct = 0
        let scale = 1 / Float(n)
        for i in 0..<n {
            let zi = z[i], yi = y[i]
            total += Double(max(zi, 0) - zi * yi + log1pf(expf(-abs(zi))))
            dz[i] = (sigmoid(zi) - yi) * scale
            if (zi > 0) == (yi > 0.5) { correct += 1 }
        }
        return LossResult(loss: Float(total / Double(n)), correct: correct)
    }

    public func contrastiveLoss(_ a: Tensor, _ b: Tensor, labels: Tensor, margin: Float,
                                gradientA: Tensor, gradientB: Tensor) throws -> LossResult {
        let op = "contrastiveLoss"
        let (rows, dim) = try Check.pairs(op, a, b, labels: labels, gradientA, gradientB)
        let pa = try pointer(a, op), pb = try pointer(b, op), y = try pointer(labels, op)
        let ga = try pointer(gradientA, op), gb = try pointer(gradientB, op)
        var total = 0.0, correct = 0
        let scale = 1 / Float(rows)
        for i in 0..<rows {
            let ra = pa + i * dim, rb = pb + i * dim
            var sq: Float = 0
            for j in 0..<dim { let d = ra[j] - rb[j]; sq += d * d }
            let d = sqrtf(sq), yi = y[i]
            let hinge = max(0, margin - d)
            total += Double(yi * sq / 2 + (1 - yi) * hinge * hinge / 2)
            // dL/da = y (a - b) - (1 - y) max(0, m - d) (a - b) / d; zero at d = 0.
            let factor = (yi - (d > 0 ? (1 - yi) * hinge / d : 0)) * scale
            for j in 0..<dim {
                let g = factor * (ra[j] - rb[j])
                ga[i * dim + j] = g
                gb[i * dim + j] = -g
            }
            if (d < margin / 2) == (yi > 0.5) { correct += 1 }
        }
        return LossResult(loss: Float(total / Double(rows)), correct: correct)
    }

    public func adamUpdate(parameter: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor,
                           hyperparameters h: AdamHyperparameters, step: Int) throws {
        let op = "adamUpdate"
        try Check.sameCount(op, parameter, gradient, firstMoment, secondMoment)
        guard step >= 1 else { throw BackendError.invalidArgument(op: op, detail: "step counts from 1, got \(step)") }
        let p = try pointer(parameter, op), g = try pointer(gradient, op)
        let m = try pointer(firstMoment, op), v = try pointer(secondMoment, op)
        let c = AdamCoefficients(h, step: step)
        // In C with AVX-512 where the CPU has it: sqrt and divide per element made the SSE2
        // Swift loop compute-bound (31 ms for 17.3M parameters against ~20 ms memory-bound).
        Parallel.forEachChunk(parameter.count, minimumChunk: 1 << 16) { r in
            gt_adam_update(p + r.lowerBound, g + r.lowerBound, m + r.lowerBound, v + r.lowerBound, r.count,
                           c.beta1, c.beta2, c.oneMinusBeta1, c.oneMinusBeta2, c.stepSize, c.epsilon)
        }
    }
}
