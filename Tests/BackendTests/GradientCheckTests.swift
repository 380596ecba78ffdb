import Backend
import TestSupport
import XCTest

/// Finite-difference checks of every backward op on the CPU backend: the analytic gradient of
/// L = sum(output * R) for a random projection R against central differences accumulated in Double.
final class GradientCheckTests: XCTestCase {
    let backend: Backend = CPUBackend()
    /// Central differences in Float inputs with a Double objective: errors are O(eps^2) from the
    /// curvature plus rounding of the forward pass (~1e-7 * |L| / eps), so 1e-2 relative is ample
    /// and still catches a wrong index or a missing term (those are O(1) errors).
    let tolerance = Tolerance(absolute: 2e-3, relative: 1e-2)

    /// dL/dx numerically for every element of `x` (or `sample` of them).
    func numericGradient(_ x: [Float], eps: Float = 1e-2, sample: Int? = nil,
                         _ objective: ([Float]) throws -> Double) rethrows -> (indices: [Int], values: [Float]) {
        var indices = Array(0..<x.count)
        if let s = sample, s < x.count {
            var rng = SeededGenerator(seed: 99)
            indices.shuffle(using: &rng)
            indices = Array(indices.prefix(s)).sorted()
        }
        var values: [Float] = []
        var probe = x
        for i in indices {
            probe[i] = x[i] + eps
            let plus = try objective(probe)
            probe[i] = x[i] - eps
            let minus = try objective(probe)
            probe[i] = x[i]
            values.append(Float((plus - minus) / (2 * Double(eps))))
        }
        return (indices, values)
    }

    func dot(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }

    func assertGradient(_ analytic: [Float], _ numeric: (indices: [Int], values: [Float]), _ what: String,
                        file: StaticString = #filePath, line: UInt = #line) {
        let picked = numeric.indices.map { analytic[$0] }
        let c = compare(picked, numeric.values, tolerance)
        XCTAssert(c.passed, "\(what): \(c)", file: file, line: line)
    }

    // MARK: Convolution

    func checkConv(n: Int, ci: Int, co: Int, h: Int, w: Int, k: Int, seed: UInt64) throws {
        var r = TestRandom(seed: seed)
        let xs = [n, ci, h, w], fs = [co, ci, k, k], ys = [n, co, h, w]
        let x = r.uniform(xs.reduce(1, *)), f = r.uniform(fs.reduce(1, *)), b = r.uniform(co)
        let proj = r.uniform(ys.reduce(1, *))
        let tx = try makeTensor(backend, xs, x), tf = try makeTensor(backend, fs, f), tb = try makeTensor(backend, [co], b)
        let ty = try backend.makeTensor(ys), tr = try makeTensor(backend, ys, proj)
        func loss(_ x: [Float], _ f: [Float], _ b: [Float]) throws -> Double {
            try backend.upload(x, to: tx); try backend.upload(f, to: tf); try backend.upload(b, to: tb)
            try backend.conv2dForward(input: tx, filter: tf, bias: tb, output: ty, relu: false)
            return dot(try backend.download(ty), proj)
        }
        let dx = try backend.makeTensor(xs), df = try backend.makeTensor(fs), db = try backend.makeTensor([co])
        try backend.conv2dBackwardInput(outputGradient: tr, filter: tf, inputGradient: dx, accumulate: false)
        try backend.conv2dBackwardFilter(input: tx, outputGradient: tr, filterGradient: df, accumulate: false)
        try backend.conv2dBackwardBias(outputGradient: tr, biasGradient: db, accumulate: false)
        let shape = "n\(n) ci\(ci) co\(co) \(h)x\(w) k\(k)"
        assertGradient(try backend.download(dx), try numericGradient(x, sample: 40) { try loss($0, f, b) }, "conv dInput \(shape)")
        assertGradient(try backend.download(df), try numericGradient(f, sample: 40) { try loss(x, $0, b) }, "conv dFilter \(shape)")
        assertGradient(try backend.download(db), try numericGradient(b) { try loss(x, f, $0) }, "conv dBias \(shape)")

        // accumulate = true adds to what is there.
        try backend.conv2dBackwardFilter(input: tx, outputGradient: tr, filterGradient: df, accumulate: true)
        let twice = try backend.download(df)
        try backend.conv2dBackwardFilter(input: tx, outputGradient: tr, filterGradient: df, accumulate: false)
        let once = try backend.download(df)
        XCTAssert(compare(twice, once.map { 2 * $0 }, Tolerance(absolute: 1e-5, relative: 1e-5)).passed, "accumulate dFilter \(shape)")
        try backend.conv2dBackwardInput(outputGradient: tr, filter: tf, inputGradient: dx, accumulate: true)
        let dxTwice = try backend.download(dx)
        try backend.conv2dBackwardInput(outputGradient: tr, filter: tf, inputGradient: dx, accumulate: false)
        XCTAssert(compare(dxTwice, try backend.download(dx).map { 2 * $0 }, Tolerance(absolute: 1e-5, relative: 1e-5)).passed,
                  "accumulate dInput \(shape)")
    }

    func testConvGradients() throws {
        try checkConv(n: 1, ci: 1, co: 1, h: 1, w: 1, k: 3, seed: 1)
        try checkConv(n: 1, ci: 1, co: 2, h: 5, w: 7, k: 5, seed: 2)
        try checkConv(n: 2, ci: 3, co: 4, h: 7, w: 6, k: 3, seed: 3)
        try checkConv(n: 3, ci: 2, co: 3, h: 4, w: 9, k: 5, seed: 4)
        try checkConv(n: 1, ci: 2, co: 2, h: 3, w: 2, k: 5, seed: 5)
    }

    // MARK: Pooling

    func checkPool(_ shape: [Int], seed: UInt64) throws {
        var r = TestRandom(seed: seed)
        let x = r.uniform(shape.reduce(1, *))
        let os = PoolGeometry.outputShape(shape)
        let proj = r.uniform(os.reduce(1, *))
        let tx = try makeTensor(backend, shape, x), ty = try backend.makeTensor(os), am = try backend.makeTensor(os)
        let tr = try makeTensor(backend, os, proj), dx = try backend.makeTensor(shape)
        try backend.maxPoolForward(input: tx, output: ty, argmax: am)
        try backend.maxPoolBackward(outputGradient: tr, argmax: am, inputGradient: dx)
        let analytic = try backend.download(dx)
        let numeric = try numericGradient(x, eps: 1e-3) { probe in
            try backend.upload(probe, to: tx)
            try backend.maxPoolForward(input: tx, output: ty, argmax: am)
            return dot(try backend.download(ty), proj)
        }
        assertGradient(analytic, numeric, "maxPool \(shape)")
    }

    func testPoolGradients() throws {
        try checkPool([1, 1, 1, 1], seed: 10)
        try checkPool([1, 1, 1, 2], seed: 11)
        try checkPool([1, 1, 2, 1], seed: 12)
        try checkPool([2, 3, 5, 7], seed: 13)
        try checkPool([1, 2, 8, 8], seed: 14)
        try checkPool([3, 1, 3, 3], seed: 15)
    }

    // MARK: Dense

    func testGemmGradients() throws {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            var r = TestRandom(seed: ta ? (tb ? 20 : 21) : (tb ? 22 : 23))
            let m = 3, n = 5, k = 4
            let aShape = ta ? [k, m] : [m, k], bShape = tb ? [n, k] : [k, n]
            let a = r.uniform(m * k), b = r.uniform(k * n), c0 = r.uniform(m * n), proj = r.uniform(m * n)
            let alpha: Float = 0.7, beta: Float = 0.3
            let tA = try makeTensor(backend, aShape, a), tB = try makeTensor(backend, bShape, b)
            let tC = try backend.makeTensor([m, n])
            func loss(_ a: [Float], _ b: [Float]) throws -> Double {
                try backend.upload(a, to: tA); try backend.upload(b, to: tB); try backend.upload(c0, to: tC)
                try backend.gemm(tA, transposeA: ta, tB, transposeB: tb, into: tC, alpha: alpha, beta: beta)
                return dot(try backend.download(tC), proj)
            }
            // dL/dop(A) = alpha R op(B)^T; dL/dop(B) = alpha op(A)^T R, computed with the gemm op itself.
            let tR = try makeTensor(backend, [m, n], proj)
            let dA = try backend.makeTensor(aShape), dB = try backend.makeTensor(bShape)
            try backend.upload(a, to: tA); try backend.upload(b, to: tB)
            if ta { try backend.gemm(tB, transposeA: tb, tR, transposeB: true, into: dA, alpha: alpha, beta: 0) }
            else { try backend.gemm(tR, transposeA: false, tB, transposeB: !tb, into: dA, alpha: alpha, beta: 0) }
            if tb { try backend.gemm(tR, transposeA: true, tA, transposeB: ta, into: dB, alpha: alpha, beta: 0) }
            else { try backend.gemm(tA, transposeA: !ta, tR, transposeB: false, into: dB, alpha: alpha, beta: 0) }
            assertGradient(try backend.download(dA), try numericGradient(a) { try loss($0, b) }, "gemm dA ta=\(ta) tb=\(tb)")
            assertGradient(try backend.download(dB), try numericGradient(b) { try loss(a, $0) }, "gemm dB ta=\(ta) tb=\(tb)")
        }
    }

    func testBiasGradient() throws {
        var r = TestRandom(seed: 30)
        let rows = 4, cols = 6
        let x = r.uniform(rows * cols), b = r.uniform(cols), proj = r.uniform(rows * cols)
        let tx = try backend.makeTensor([rows, cols]), tb = try makeTensor(backend, [cols], b)
        for activation in [Activation.none, .relu, .sigmoid] {
            func loss(_ b: [Float]) throws -> Double {
                try backend.upload(x, to: tx); try backend.upload(b, to: tb)
                try backend.addBias(tb, to: tx, activation: activation)
                return dot(try backend.download(tx), proj)
            }
            _ = try loss(b)
            let y = try backend.download(tx)
            // Chain through the activation with its own backward op, then sum columns.
            let ty = try makeTensor(backend, [rows, cols], y), tr = try makeTensor(backend, [rows, cols], proj)
            let dz = try backend.makeTensor([rows, cols])
            switch activation {
            case .none: try backend.copy(tr, to: dz)
            case .relu: try backend.reluBackward(output: ty, outputGradient: tr, inputGradient: dz)
            case .sigmoid: try backend.sigmoidBackward(output: ty, outputGradient: tr, inputGradient: dz)
            }
            let db = try backend.makeTensor([cols])
            try backend.biasGradient(outputGradient: dz, biasGradient: db, accumulate: false)
            assertGradient(try backend.download(db), try numericGradient(b, eps: 1e-3) { try loss($0) }, "bias \(activation)")
        }
    }

    // MARK: Elementwise

    func checkUnary(_ name: String, forward: (Tensor, Tensor) throws -> Void,
                    backward: (Tensor, Tensor, Tensor) throws -> Void, seed: UInt64) throws {
        var r = TestRandom(seed: seed)
        let shape = [3, 7]
        let x = r.uniform(21, -3, 3), proj = r.uniform(21)
        let tx = try makeTensor(backend, shape, x), ty = try backend.makeTensor(shape)
        try forward(tx, ty)
        let tr = try makeTensor(backend, shape, proj), dx = try backend.makeTensor(shape)
        try backward(ty, tr, dx)
        let numeric = try numericGradient(x, eps: 1e-3) { probe in
            try backend.upload(probe, to: tx)
            try forward(tx, ty)
            return dot(try backend.download(ty), proj)
        }
        assertGradient(try backend.download(dx), numeric, name)
    }

    func testActivationGradients() throws {
        try checkUnary("relu", forward: { try backend.reluForward($0, output: $1) },
                       backward: { try backend.reluBackward(output: $0, outputGradient: $1, inputGradient: $2) }, seed: 40)
        try checkUnary("sigmoid", forward: { try backend.sigmoidForward($0, output: $1) },
                       backward: { try backend.sigmoidBackward(output: $0, outputGradient: $1, inputGradient: $2) }, seed: 41)
    }

    func testAbsDifferenceGradient() throws {
        var r = TestRandom(seed: 50)
        let a = r.uniform(12), b = r.uniform(12), proj = r.uniform(12)
        let ta = try makeTensor(backend, [3, 4], a), tb = try makeTensor(backend, [3, 4], b)
        let to = try backend.makeTensor([3, 4]), tr = try makeTensor(backend, [3, 4], proj)
        let ga = try backend.makeTensor([3, 4]), gb = try backend.makeTensor([3, 4])
        try backend.absDifferenceBackward(ta, tb, outputGradient: tr, gradientA: ga, gradientB: gb)
        func loss(_ a: [Float], _ b: [Float]) throws -> Double {
            try backend.upload(a, to: ta); try backend.upload(b, to: tb)
            try backend.absDifference(ta, tb, output: to)
            return dot(try backend.download(to), proj)
        }
        assertGradient(try backend.download(ga), try numericGradient(a, eps: 1e-3) { try loss($0, b) }, "absDiff dA")
        assertGradient(try backend.download(gb), try numericGradient(b, eps: 1e-3) { try loss(a, $0) }, "absDiff dB")
    }

    // MARK: Losses

    func testBinaryCrossEntropyGradient() throws {
        let z: [Float] = [-3, -0.5, 0.2, 2, 7, -12], y: [Float] = [0, 1, 1, 0, 1, 0]
        let tz = try makeTensor(backend, [6], z), ty = try makeTensor(backend, [6], y), dz = try backend.makeTensor([6])
        let result = try backend.binaryCrossEntropyWithLogits(logits: tz, labels: ty, logitsGradient: dz)
        let analytic = try backend.download(dz)
        let numeric = try numericGradient(z, eps: 1e-3) { probe in
            try backend.upload(probe, to: tz)
            return Double(try backend.binaryCrossEntropyWithLogits(logits: tz, labels: ty, logitsGradient: dz).loss)
        }
        assertGradient(analytic, numeric, "bce")
        // Hand-computed: mean of softplus terms.
        let expected = zip(z, y).map { z, y in Double(max(z, 0) - z * y) + log1p(exp(-Double(abs(z)))) }.reduce(0, +) / 6
        XCTAssertEqual(Double(result.loss), expected, accuracy: 1e-6)
        XCTAssertEqual(result.correct, 4) // predictions z > 0: [F,F,T,T,T,F] vs labels [F,T,T,F,T,F]
    }

    func testContrastiveGradient() throws {
        var r = TestRandom(seed: 60)
        let rows = 4, dim = 5
        let a = r.uniform(rows * dim, -0.4, 0.4), b = r.uniform(rows * dim, -0.4, 0.4)
        let y: [Float] = [1, 0, 1, 0]
        let margin: Float = 1.5
        let ta = try makeTensor(backend, [rows, dim], a), tb = try makeTensor(backend, [rows, dim], b)
        let tl = try makeTensor(backend, [rows], y)
        let ga = try backend.makeTensor([rows, dim]), gb = try backend.makeTensor([rows, dim])
        _ = try backend.contrastiveLoss(ta, tb, labels: tl, margin: margin, gradientA: ga, gradientB: gb)
        let analyticA = try backend.download(ga), analyticB = try backend.download(gb)
        func loss(_ a: [Float], _ b: [Float]) throws -> Double {
            try backend.upload(a, to: ta); try backend.upload(b, to: tb)
            return Double(try backend.contrastiveLoss(ta, tb, labels: tl, margin: margin, gradientA: ga, gradientB: gb).loss)
        }
        assertGradient(analyticA, try numericGradient(a, eps: 1e-3) { try loss($0, b) }, "contrastive dA")
        assertGradient(analyticB, try numericGradient(b, eps: 1e-3) { try loss(a, $0) }, "contrastive dB")
    }
}
