@testable import Backend
import CKernels
import TestSupport
import XCTest

/// The direct C convolutions (every instruction-set level this CPU runs) against the im2col +
/// SGEMM oracle, on the conformance suite's shapes and a few more of the network's.
final class DirectConvTests: XCTestCase {
    /// Every level this machine can run: the portable one always, AVX2 and AVX-512 where present.
    var levels: [Int32] {
        [GT_ISA_PORTABLE, GT_ISA_AVX2, GT_ISA_AVX512].map(Int32.init).filter { gt_isa_supported($0) != 0 }
    }

    func testConformanceConvolutionsAtEveryLevel() throws {
        let oracle = CPUBackend(convolution: .im2col)
        let cases = OpConformance.cases().filter { $0.op.hasPrefix("conv2d") }
        XCTAssertGreaterThan(cases.count, 40)
        for isa in levels {
            let direct = CPUBackend(convolution: .direct, isa: isa)
            for c in cases {
                let comparison = try c.check(candidate: direct, reference: oracle)
                XCTAssert(comparison.passed, "\(CPUConvolution.isaName(isa)): \(c.op) \(c.shape): \(comparison)")
            }
        }
    }

    /// The network's layers at batch 1 and odd batches, odd channel counts around a register
    /// block (15/16/17, 31/32/33), and sizes that leave short pixel and tap blocks.
    func testNetworkLayersBatchOneAndOddSizes() throws {
        let oracle = CPUBackend(convolution: .im2col)
        // (N, Ci, Co, H, W, K)
        let shapes: [(Int, Int, Int, Int, Int, Int)] = [
            (1, 1, 64, 32, 32, 5), (3, 64, 128, 16, 16, 3), (1, 128, 128, 8, 8, 3), (7, 128, 256, 4, 4, 3),
            (3, 17, 15, 5, 9, 3), (2, 33, 31, 6, 7, 3), (5, 16, 32, 3, 2, 3), (1, 2, 17, 11, 1, 5), (9, 5, 33, 1, 13, 1),
        ]
        for isa in levels {
            let direct = CPUBackend(convolution: .direct, isa: isa)
            for (n, ci, co, h, w, k) in shapes {
                let label = "\(CPUConvolution.isaName(isa)) N\(n) Ci\(ci) Co\(co) \(h)x\(w) k\(k)"
                var r = TestRandom(seed: UInt64(n * 1000 + ci * 10 + co))
                let x = r.uniform(n * ci * h * w), f = r.uniform(co * ci * k * k), b = r.uniform(co)
                let dy = r.uniform(n * co * h * w), old = r.uniform(n * ci * h * w), oldFilter = r.uniform(co * ci * k * k)
                func run(_ backend: CPUBackend) throws -> [[Float]] {
                    let input = try makeTensor(backend, [n, ci, h, w], x), filter = try makeTensor(backend, [co, ci, k, k], f)
                    let bias = try makeTensor(backend, [co], b), output = try backend.makeTensor([n, co, h, w])
                    try backend.conv2dForward(input: input, filter: filter, bias: bias, output: output, relu: true)
                    let gradient = try makeTensor(backend, [n, co, h, w], dy)
                    let dx = try makeTensor(backend, [n, ci, h, w], old)
                    try backend.conv2dBackwardInput(outputGradient: gradient, filter: filter, inputGradient: dx, accumulate: true)
                    let dw = try makeTensor(backend, [co, ci, k, k], oldFilter)
                    try backend.conv2dBackwardFilter(input: input, outputGradient: gradient, filterGradient: dw, accumulate: true)
                    return [try backend.download(output), try backend.download(dx), try backend.download(dw)]
                }
                let got = try run(direct), want = try run(oracle)
                let terms = [ci * k * k, co * k * k + 1, n * h * w + 1]
                for (i, name) in ["forward+relu", "backward-input accumulate", "backward-filter accumulate"].enumerated() {
                    let c = compare(got[i], want[i], Tolerance(absolute: 1e-5 + 3e-7 * Float(terms[i]), relative: 1e-4))
                    XCTAssert(c.passed, "\(label) \(name): \(c)")
                }
            }
        }
    }

    /// Winograd F(2x2, 3x3) against the oracle on the whole conformance suite: by default (3x3
    /// layers with an even size and 32+ channels; the rest falls through to the direct kernels),
    /// and at every level with every 3x3 even-sized shape taken, however few its channels.
    func testWinogradConformance() throws {
        let oracle = CPUBackend(convolution: .im2col), winograd = CPUBackend(convolution: .winograd)
        let cases = OpConformance.cases().filter { $0.op.hasPrefix("conv2d") }
        for c in cases {
            let comparison = try c.check(candidate: winograd, reference: oracle)
            XCTAssert(comparison.passed, "winograd: \(c.op) \(c.shape): \(comparison)")
        }
        for isa in levels {
            let every = CPUBackend(convolution: .winograd, isa: isa)
            for c in cases {
                let comparison = try c.check(candidate: every, reference: oracle)
                XCTAssert(comparison.passed, "winograd \(CPUConvolution.isaName(isa)): \(c.op) \(c.shape): \(comparison)")
            }
        }
        // The network's 3x3 layers take the Winograd path by default; conv1 (5x5), odd sizes and
        // thin layers do not.
        var taken = 0
        for (ci, co, side, k) in [(64, 128, 16, 3), (128, 128, 8, 3), (128, 256, 4, 3), (1, 64, 32, 5), (3, 64, 8, 3),
                                  (64, 64, 7, 3), (16, 64, 8, 3)] {
            let g = ConvGeometry(batch: 2, inChannels: ci, outChannels: co, height: side, width: side, kernel: k)
            if winograd.winogradShape(g) != nil { taken += 1 }
        }
        XCTAssertEqual(taken, 3)
            }

    /// Winograd at every level: the network's 3x3 layers at batch 1 (the output-channel split)
    /// and odd batches, channel counts around a register block and a vector (31/33, 47, 65), tall
    /// and wide planes, with ReLU and the input and filter gradients' accumulation (the filter
    /// gradient split over images and over output-channel blocks); and the fused op with
    /// the max-pool against the unfused Winograd forward + maxPoolForward, bit for bit.
    func testWinogradNetworkLayersAndOddSizes() throws {
        let oracle = CPUBackend(convolution: .im2col)
        let shapes = [(1, 64, 128, 16, 16), (3, 128, 128, 8, 8), (5, 128, 256, 4, 4), (2, 33, 31, 6, 8), (3, 47, 65, 4, 10),
                      (4, 8, 8, 2, 2), (2, 65, 33, 12, 2), (40, 64, 128, 16, 16), (9, 32, 96, 4, 4)]
        for isa in levels {
            let winograd = CPUBackend(convolution: .winograd, isa: isa)
            for (n, ci, co, h, w) in shapes {
                let label = "\(CPUConvolution.isaName(isa)) N\(n) Ci\(ci) Co\(co) \(h)x\(w)"
                let g = ConvGeometry(batch: n, inChannels: ci, outChannels: co, height: h, width: w, kernel: 3)
                XCTAssertNotNil(winograd.winogradShape(g), label)
                var r = TestRandom(seed: UInt64(n * 7 + ci + co * 3))
                let x = r.uniform(n * ci * h * w), f = r.uniform(co * ci * 9), b = r.uniform(co)
                let dy = r.uniform(n * co * h * w), old = r.uniform(n * ci * h * w), oldFilter = r.uniform(co * ci * 9)
                func run(_ backend: CPUBackend) throws -> [[Float]] {
                    let input = try makeTensor(backend, [n, ci, h, w], x), filter = try makeTensor(backend, [co, ci, 3, 3], f)
                    let bias = try makeTensor(backend, [co], b), output = try backend.makeTensor([n, co, h, w])
                    try backend.conv2dForward(input: input, filter: filter, bias: bias, output: output, relu: false)
                    let activated = try backend.makeTensor([n, co, h, w])
                    try backend.conv2dForward(input: input, filter: filter, bias: bias, output: activated, relu: true)
                    let dx = try makeTensor(backend, [n, ci, h, w], old)
                    try backend.conv2dBackwardInput(outputGradient: try makeTensor(backend, [n, co, h, w], dy), filter: filter,
                                                    inputGradient: dx, accumulate: true)
                    let pooled = try backend.makeTensor([n, co, h / 2, w / 2]), argmax = try backend.makeTensor([n, co, h / 2, w / 2])
                    try backend.conv2dBiasReLUMaxPoolForward(input: input, filter: filter, bias: bias, pooledOutput: pooled,
                                                             argmax: argmax)
                    let pooledAgain = try backend.makeTensor([n, co, h / 2, w / 2])
                    let unfusedArgmax = try backend.makeTensor([n, co, h / 2, w / 2])
                    try backend.maxPoolForward(input: activated, output: pooledAgain, argmax: unfusedArgmax)
                    XCTAssertEqual(try backend.download(pooled), try backend.download(pooledAgain), "\(label) fused pool")
                    XCTAssertEqual(try backend.download(argmax), try backend.download(unfusedArgmax), "\(label) fused argmax")
                    let inference = try backend.makeTensor([n, co, h / 2, w / 2])
                    try backend.conv2dBiasReLUMaxPoolForward(input: input, filter: filter, bias: bias, pooledOutput: inference,
                                                             argmax: nil)
                    XCTAssertEqual(try backend.download(inference), try backend.download(pooledAgain), "\(label) without argmax")
                    let dw = try makeTensor(backend, [co, ci, 3, 3], oldFilter)
                    try backend.conv2dBackwardFilter(input: input, outputGradient: try makeTensor(backend, [n, co, h, w], dy),
                                                     filterGradient: dw, accumulate: true)
                    let fresh = try backend.makeTensor([co, ci, 3, 3])
                    try backend.conv2dBackwardFilter(input: input, outputGradient: try makeTensor(backend, [n, co, h, w], dy),
                                                     filterGradient: fresh, accumulate: false)
                    return [try backend.download(output), try backend.download(activated), try backend.download(dx),
                            try backend.download(dw), try backend.download(fresh)]
                }
                let got = try run(winograd), want = try run(oracle)
                for (i, terms) in [ci * 9, ci * 9, co * 9 + 1, n * h * w + 1, n * h * w].enumerated() {
                    let c = compare(got[i], want[i], Tolerance(absolute: 1e-5 + 3e-7 * Float(terms), relative: 1e-4))
                    let name = ["forward", "forward+relu", "backward-input", "backward-filter accumulate", "backward-filter"][i]
                    XCTAssert(c.passed, "\(label) \(name): \(c)")
                }
            }
        }
    }

    /// The filter gradient's thread split: over output channels when a thread's images hold fewer
    /// than 1,024 pixels (conv4 up to 126 images, conv3 up to 30, conv2 up to 6), else over images;
    /// one thread, or fewer blocks than threads, over images.
    func testFilterGradientSplitFollowsTheProblemSize() {
        func split(_ n: Int, _ ci: Int, _ co: Int, _ side: Int, blocks: Int, workers: Int = 2) -> CPUBackend.FilterGradientSplit {
            let g = ConvGeometry(batch: n, inChannels: ci, outChannels: co, height: side, width: side, kernel: 3)
            return CPUBackend.filterGradientSplit(g, channelBlocks: blocks, workers: workers)
        }
        XCTAssertEqual(split(10, 128, 256, 4, blocks: 8), .channels)
        XCTAssertEqual(split(126, 128, 256, 4, blocks: 8), .channels)
        XCTAssertEqual(split(128, 128, 256, 4, blocks: 8), .images)
        XCTAssertEqual(split(30, 128, 128, 8, blocks: 4), .channels)
        XCTAssertEqual(split(32, 128, 128, 8, blocks: 4), .images)
        XCTAssertEqual(split(10, 64, 128, 16, blocks: 4), .images)
        XCTAssertEqual(split(6, 64, 128, 16, blocks: 4), .channels)
        XCTAssertEqual(split(10, 128, 256, 4, blocks: 8, workers: 1), .images)
        XCTAssertEqual(split(2, 8, 16, 4, blocks: 1), .images)
    }

    /// Forward kernels split over images when each of the threads gets two, else over output-channel
    /// blocks (batches of 1 to 3 on two threads), never into more chunks than blocks or threads.
    func testForwardSplitFollowsTheBatch() {
        typealias Plan = CPUBackend.ForwardPlan
        XCTAssertEqual(CPUBackend.forwardPlan(batch: 1, channelBlocks: 8, workers: 2), Plan(byChannels: true, chunks: 2, imagesPerChunk: 1))
        XCTAssertEqual(CPUBackend.forwardPlan(batch: 3, channelBlocks: 4, workers: 2), Plan(byChannels: true, chunks: 2, imagesPerChunk: 3))
        XCTAssertEqual(CPUBackend.forwardPlan(batch: 4, channelBlocks: 8, workers: 2), Plan(byChannels: false, chunks: 2, imagesPerChunk: 2))
        XCTAssertEqual(CPUBackend.forwardPlan(batch: 10, channelBlocks: 8, workers: 2), Plan(byChannels: false, chunks: 2, imagesPerChunk: 5))
        XCTAssertEqual(CPUBackend.forwardPlan(batch: 1, channelBlocks: 1, workers: 2), Plan(byChannels: false, chunks: 1, imagesPerChunk: 1))
        XCTAssertEqual(CPUBackend.forwardPlan(batch: 2, channelBlocks: 16, workers: 4), Plan(byChannels: true, chunks: 4, imagesPerChunk: 2))
        XCTAssertEqual(CPUBackend.forwardPlan(batch: 5, channelBlocks: 16, workers: 1), Plan(byChannels: false, chunks: 1, imagesPerChunk: 5))
    }

    /// The reduction of blocked partials into [Co, Ci, K, K], over output-channel ranges that cut
    /// through channel blocks, against a plain loop, for one and for three partials, with and
    /// without accumulation.
    func testFilterReductionOverUnalignedChannelRanges() {
        for isa in levels {
            let shape = gt_conv_shape(in_channels: 3, out_channels: 65, height: 4, width: 4, kernel: 3)
            let floats = gt_conv_filter_partial_floats(isa, shape), block = Int(gt_conv_channel_block(isa))
            var r = TestRandom(seed: 5)
            for count in [1, 3] {
                let stride = floats + 16
                let partials = r.uniform(stride * count), old = r.uniform(65 * 3 * 9)
                for accumulate in [false, true] {
                    var want = old
                    for co in 0..<65 {
                        for ci in 0..<3 {
                            for t in 0..<9 {
                                let at = ((co / block * 3 + ci) * 9 + t) * block + co % block
                                let sum = (0..<count).reduce(Float(0)) { $0 + partials[$1 * stride + at] }
                                let i = (co * 3 + ci) * 9 + t
                                want[i] = accumulate ? want[i] + sum : sum
                            }
                        }
                    }
                    var got = old
                    got.withUnsafeMutableBufferPointer { out in
                        for (first, end) in [(0, 13), (13, 50), (50, 65)] {
                            gt_conv_reduce_filter(isa, shape, partials, Int32(count), stride, out.baseAddress!, accumulate ? 1 : 0,
                                                  Int32(first), Int32(end))
                        }
                    }
                    XCTAssertEqual(got, want, "\(CPUConvolution.isaName(isa)) count \(count) accumulate \(accumulate)")
                }
            }
        }
    }

    /// The network's 3x3 layers' filter gradients on both splits (whichever this machine's thread
    /// count picks for each) against the oracle, at batch 1, 5 and 64.
    func testFilterGradientBothSplitsMatchTheOracle() throws {
        let oracle = CPUBackend(convolution: .im2col), direct = CPUBackend(convolution: .direct)
        for (n, ci, co, side) in [(1, 128, 256, 4), (5, 128, 128, 8), (64, 64, 128, 16), (3, 64, 128, 16), (64, 128, 256, 4)] {
            var r = TestRandom(seed: UInt64(n + ci + co))
            let x = r.uniform(n * ci * side * side), dy = r.uniform(n * co * side * side), old = r.uniform(co * ci * 9)
            func run(_ b: CPUBackend) throws -> [Float] {
                let dw = try makeTensor(b, [co, ci, 3, 3], old)
                try b.conv2dBackwardFilter(input: try makeTensor(b, [n, ci, side, side], x),
                                           outputGradient: try makeTensor(b, [n, co, side, side], dy), filterGradient: dw,
                                           accumulate: true)
                return try b.download(dw)
            }
            let c = compare(try run(direct), try run(oracle), Tolerance(absolute: 1e-5 + 3e-7 * Float(n * side * side + 1), relative: 1e-4))
            XCTAssert(c.passed, "N\(n) Ci\(ci) Co\(co) \(side)x\(side): \(c)")
        }
    }

    /// Unsupported levels fall back to the portable kernels consistently (packing and compute agree).
    func testUnsupportedLevelFallsBackConsistently() throws {
        let oracle = CPUBackend(convolution: .im2col)
        let bogus = CPUBackend(convolution: .direct, isa: 99)
        let c = try XCTUnwrap(OpConformance.cases().first { $0.op.hasPrefix("conv2dBackwardFilter") })
        XCTAssert(try c.check(candidate: bogus, reference: oracle).passed)
        XCTAssertEqual(gt_conv_channel_block(99), gt_conv_channel_block(Int32(GT_ISA_PORTABLE)))
    }

    /// By default, conv1's forward (Ci 1, 5x5: a 25-term reduction) goes to im2col unless fused
    /// with its pool, its filter gradient runs direct; the 3x3 layers with 64+ channels run direct
    /// (on the direct path); the input gradient counts Co*K*K terms.
    func testShortReductionsGoToIm2col() {
        let backend = CPUBackend(convolution: .direct)
        let conv1 = ConvGeometry(batch: 4, inChannels: 1, outChannels: 64, height: 32, width: 32, kernel: 5)
        let conv2 = ConvGeometry(batch: 4, inChannels: 64, outChannels: 128, height: 16, width: 16, kernel: 3)
        XCTAssertNil(backend.directShape(conv1, reduction: conv1.patchSize))
        XCTAssertNotNil(backend.directShape(conv1, reduction: 64 * 25))
        XCTAssertNotNil(backend.directShape(conv2, reduction: conv2.patchSize))
        XCTAssertNil(CPUBackend(convolution: .im2col).directShape(conv2, reduction: conv2.patchSize))
        XCTAssertNotNil(CPUBackend(convolution: .direct, isa: 0).directShape(conv1, reduction: 1))
        // The filter gradient of conv1 runs direct (its threshold is 16 terms: no per-output epilogue).
        XCTAssertTrue(backend.convolutionPaths(conv1) == ("im2col", "direct", "direct"))
        XCTAssertNotNil(backend.directFilterShape(conv1))
        XCTAssertNil(backend.directFilterShape(ConvGeometry(batch: 4, inChannels: 1, outChannels: 64, height: 8, width: 8, kernel: 3)))
        XCTAssertTrue(backend.convolutionPaths(conv2) == ("direct", "direct", "direct"))
        XCTAssertTrue(CPUBackend(convolution: .winograd).convolutionPaths(conv2) == ("winograd", "winograd", "winograd"))
        XCTAssertTrue(CPUBackend(convolution: .im2col).convolutionPaths(conv2) == ("im2col", "im2col", "im2col"))
        // Fused with the max-pool, conv1 runs direct (its epilogue stores a quarter of the outputs);
        // a 9-term reduction (Ci 1, 3x3) still goes to im2col.
        XCTAssertEqual(backend.convolutionPoolPath(conv1), "direct")
        XCTAssertEqual(backend.convolutionPoolPath(ConvGeometry(batch: 4, inChannels: 1, outChannels: 64, height: 8, width: 8, kernel: 3)),
                       "im2col")
        XCTAssertEqual(CPUBackend(convolution: .im2col).convolutionPoolPath(conv1), "im2col")
        XCTAssertEqual(CPUBackend(convolution: .winograd).convolutionPoolPath(conv2), "winograd")
    }

    func testAlgorithmChoiceAndDescription() {
        XCTAssertEqual(CPUBackend(convolution: .im2col).convolution, .im2col)
        XCTAssertTrue(CPUBackend(convolution: .direct).deviceDescription.contains("direct"))
        XCTAssertTrue(CPUBackend(convolution: .im2col).deviceDescription.contains("im2col"))
    }
}
