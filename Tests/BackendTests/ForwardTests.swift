import Backend
import TestSupport
import XCTest

/// Forward ops against small cases computed by hand.
final class ForwardTests: XCTestCase {
    let backend: Backend = CPUBackend()
    let exact = Tolerance(absolute: 1e-6, relative: 1e-6)

    func check(_ t: Tensor, _ expected: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let c = compare(try backend.download(t), expected, exact)
        XCTAssert(c.passed, "\(what): \(c)", file: file, line: line)
    }

    func testConvSamePaddingByHand() throws {
        // 3x3 input, 3x3 filter of ones: each output is the sum of its in-bounds neighbourhood.
        let x = try makeTensor(backend, [1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9])
        let f = try makeTensor(backend, [1, 1, 3, 3], Array(repeating: 1, count: 9))
        let b = try makeTensor(backend, [1], [-20])
        let y = try backend.makeTensor([1, 1, 3, 3])
        try backend.conv2dForward(input: x, filter: f, bias: b, output: y, relu: false)
        try check(y, [12, 21, 16, 27, 45, 33, 24, 39, 28].map { $0 - 20 }, "conv")
        try backend.conv2dForward(input: x, filter: f, bias: b, output: y, relu: true)
        try check(y, [0, 1, 0, 7, 25, 13, 4, 19, 8], "conv+relu")
    }

    func testConvTwoChannels() throws {
        // 1x1 spatial: only the centre tap of each 3x3 filter touches the input.
        let x = try makeTensor(backend, [1, 2, 1, 1], [2, 3])
        var w = [Float](repeating: 9, count: 18)
        w[4] = 10; w[13] = -1  // centres of channel 0 and channel 1
        let f = try makeTensor(backend, [1, 2, 3, 3], w)
        let b = try makeTensor(backend, [1], [0.5])
        let y = try backend.makeTensor([1, 1, 1, 1])
        try backend.conv2dForward(input: x, filter: f, bias: b, output: y, relu: false)
        try check(y, [2 * 10 + 3 * -1 + 0.5], "conv centre taps")
    }

    func testMaxPoolCeilPadding() throws {
        let x = try makeTensor(backend, [1, 1, 3, 3], [1, 5, 2,
                                                       4, 3, 9,
                                                       7, 8, -1])
        let y = try backend.makeTensor([1, 1, 2, 2]), am = try backend.makeTensor([1, 1, 2, 2])
        try backend.maxPoolForward(input: x, output: y, argmax: am)
        try check(y, [5, 9, 8, -1], "pool")
        try check(am, [1, 2, 1, 0], "argmax")
        let dy = try makeTensor(backend, [1, 1, 2, 2], [1, 2, 3, 4]), dx = try backend.makeTensor([1, 1, 3, 3])
        try backend.maxPoolBackward(outputGradient: dy, argmax: am, inputGradient: dx)
        try check(dx, [0, 1, 0, 0, 0, 2, 0, 3, 4], "pool backward")
    }

    func testGemmAndBias() throws {
        let a = try makeTensor(backend, [2, 3], [1, 2, 3, 4, 5, 6])
        let b = try makeTensor(backend, [3, 2], [1, 0, 0, 1, 1, 1])
        let c = try makeTensor(backend, [2, 2], [10, 10, 10, 10])
        try backend.gemm(a, transposeA: false, b, transposeB: false, into: c, alpha: 2, beta: 0.5)
        try check(c, [2 * 4 + 5, 2 * 5 + 5, 2 * 10 + 5, 2 * 11 + 5], "gemm")
        let bias = try makeTensor(backend, [2], [1, -100])
        try backend.addBias(bias, to: c, activation: .relu)
        try check(c, [14, 0, 26, 0], "bias+relu")
        try backend.addBias(bias, to: c, activation: .sigmoid)
        let s: (Float) -> Float = { 1 / (1 + exp(-$0)) }
        try check(c, [s(15), s(-100), s(27), s(-100)], "bias+sigmoid")
    }

    /// Large GEMMs are split over threads by columns or rows; every transpose against Double sums.
    func testSplitGemmMatchesDoubleReference() throws {
        var r = TestRandom(seed: 77)
        for (m, n, k) in [(37, 301, 129), (300, 20, 100), (64, 64, 64)] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = r.uniform(m * k), b = r.uniform(k * n), c0 = r.uniform(m * n)
                let ta_ = try makeTensor(backend, ta ? [k, m] : [m, k], a), tb_ = try makeTensor(backend, tb ? [n, k] : [k, n], b)
                let tc = try makeTensor(backend, [m, n], c0)
                try backend.gemm(ta_, transposeA: ta, tb_, transposeB: tb, into: tc, alpha: 1.5, beta: -0.5)
                var expected = [Float](repeating: 0, count: m * n)
                for i in 0..<m {
                    for j in 0..<n {
                        var s = 0.0
                        for p in 0..<k {
                            let av = ta ? a[p * m + i] : a[i * k + p], bv = tb ? b[j * k + p] : b[p * n + j]
                            s += Double(av) * Double(bv)
                        }
                        expected[i * n + j] = Float(1.5 * s - 0.5 * Double(c0[i * n + j]))
                    }
                }
                let c = compare(try backend.download(tc), expected, Tolerance(absolute: 1e-4, relative: 1e-4))
                XCTAssert(c.passed, "gemm \(m)x\(n)x\(k) ta=\(ta) tb=\(tb): \(c)")
            }
        }
    }

    func testConvolutionChunksCoverTheBatchWithinTheBudget() {
        let g = ConvGeometry(batch: 300, inChannels: 1, outChannels: 64, height: 32, width: 32, kernel: 5)
        let chunks = g.imageChunks()
        XCTAssertEqual(chunks.first?.lowerBound, 0)
        XCTAssertEqual(chunks.last?.upperBound, 300)
        XCTAssertTrue(zip(chunks, chunks.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        // The channels-first scratch (64 x images x 1024) is the larger one here and must fit.
        XCTAssertTrue(chunks.allSatisfy { 64 * $0.count * 1024 <= ConvGeometry.scratchBudget })
        XCTAssertEqual(ConvGeometry(batch: 3, inChannels: 1, outChannels: 1, height: 1, width: 1, kernel: 1).imageChunks(), [0..<3])
    }

    func testAbsDifferenceRowsView() throws {
        // Rows 0..<2 versus rows 2..<4 of one [4, 2] tensor, as the Siamese head uses it.
        let e = try makeTensor(backend, [4, 2], [1, 2, 3, 4, 0, 5, 3, -1])
        let out = try backend.makeTensor([2, 2])
        try backend.absDifference(try e.rows(0..<2), try e.rows(2..<4), output: out)
        try check(out, [1, 3, 0, 5], "|a-b| on row views")
    }

    func testContrastiveByHand() throws {
        let a = try makeTensor(backend, [2, 2], [0, 0, 0, 0]), b = try makeTensor(backend, [2, 2], [3, 4, 0.3, 0.4])
        let y = try makeTensor(backend, [2], [1, 0])
        let ga = try backend.makeTensor([2, 2]), gb = try backend.makeTensor([2, 2])
        let r = try backend.contrastiveLoss(a, b, labels: y, margin: 2, gradientA: ga, gradientB: gb)
        // d = 5 (similar): 25/2; d = 0.5 (dissimilar): (2 - 0.5)^2 / 2 = 1.125; mean 6.8125.
        XCTAssertEqual(r.loss, 6.8125, accuracy: 1e-5)
        XCTAssertEqual(r.correct, 0) // similar pair far apart, dissimilar pair close
    }

    func testAdamFirstStepByHand() throws {
        let p = try makeTensor(backend, [3], [1, 2, 3]), g = try makeTensor(backend, [3], [0.5, -2, 0])
        let m = try backend.makeTensor([3]), v = try backend.makeTensor([3])
        let h = AdamHyperparameters(learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)
        try backend.adamUpdate(parameter: p, gradient: g, firstMoment: m, secondMoment: v, hyperparameters: h, step: 1)
        // Step 1: m = 0.1 g, v = 0.001 g^2, step size = 0.1 * sqrt(0.001) / 0.1 -> update = lr * sign(g) (up to eps).
        let c = compare(try backend.download(p), [0.9, 2.1, 3], Tolerance(absolute: 1e-5, relative: 1e-5))
        XCTAssert(c.passed, "\(c)")
        try check(m, [0.05, -0.2, 0], "m")
    }

    func testShapeErrorsNameTheOp() throws {
        let x = try backend.makeTensor([1, 1, 4, 4]), f = try backend.makeTensor([2, 1, 2, 2])
        let b = try backend.makeTensor([2]), y = try backend.makeTensor([1, 2, 4, 4])
        XCTAssertThrowsError(try backend.conv2dForward(input: x, filter: f, bias: b, output: y, relu: false)) { error in
            XCTAssertEqual("\(error)", "conv2dForward: kernel must be square and odd, got 2x2")
        }
        XCTAssertThrowsError(try backend.gemm(x, transposeA: false, f, transposeB: false, into: y, alpha: 1, beta: 0))
        XCTAssertThrowsError(try backend.makeTensor([0, 3]))
    }
}
