@testable import Backend
import CKernels
import TestSupport
import XCTest

/// conv2dBiasReLUMaxPoolForward: a hand-computed case on every path, exact agreement with
/// conv2dForward(relu) + maxPoolForward on each CPU path, NaN inputs, and shape errors.
final class ConvPoolTests: XCTestCase {
    /// The CPU paths: im2col + SGEMM, and Winograd and the direct kernels at every level this CPU
    /// runs (for every shape they can take: `isa:` lowers the thresholds).
    var cpuBackends: [(String, CPUBackend)] {
        let levels = [GT_ISA_PORTABLE, GT_ISA_AVX2, GT_ISA_AVX512].map(Int32.init).filter { gt_isa_supported($0) != 0 }
        return [("im2col", CPUBackend(convolution: .im2col)), ("winograd", CPUBackend(convolution: .winograd))] +
            levels.map { ("winograd \(CPUConvolution.isaName($0))", CPUBackend(convolution: .winograd, isa: $0)) } +
            levels.map { ("direct \(CPUConvolution.isaName($0))", CPUBackend(convolution: .direct, isa: $0)) }
    }

    var allBackends: [(String, Backend)] {
        var all: [(String, Backend)] = cpuBackends.map { ($0.0, $0.1 as Backend) }
        if let cl = try? openCLOrSkip() { all.append(("opencl", cl)) }
        return all
    }

    /// A 1x1 convolution of one 3x3 image into two channels (weights 2 and -1, biases -1 and 0):
    ///   channel 0: 2x - 1 = [[1, 5, -1], [5, -11, 7], [0, 0, -3]] -> ReLU [[1, 5, 0], [5, 0, 7], [0, 0, 0]]
    ///   channel 1: -x     = [[-1, -3, 0], [-3, 5, -4], [-.5, -.5, 1]] -> ReLU [[0, 0, 0], [0, 5, 0], [0, 0, 1]]
    /// Windows (ceil size 2x2; the right and bottom ones hang off the image):
    ///   channel 0: {1, 5, 5, 0} -> 5 at 1 (the tie with cell 2 goes to the first), {0, 7} -> 7 at 2
    ///   (the window's (1,0) cell), {0, 0} -> 0 at 0, {0} -> 0 at 0;
    ///   channel 1: {0, 0, 0, 5} -> 5 at 3, {0, 0} -> 0 at 0, {0, 0} -> 0 at 0, {1} -> 1 at 0.
    func testHandComputedWindowsTiesAndEdges() throws {
        let x: [Float] = [1, 3, 0, 3, -5, 4, 0.5, 0.5, -1]
        for (label, b) in allBackends {
            let input = try makeTensor(b, [1, 1, 3, 3], x), filter = try makeTensor(b, [2, 1, 1, 1], [2, -1])
            let bias = try makeTensor(b, [2], [-1, 0])
            let pooled = try b.makeTensor([1, 2, 2, 2]), argmax = try b.makeTensor([1, 2, 2, 2])
            try b.conv2dBiasReLUMaxPoolForward(input: input, filter: filter, bias: bias, pooledOutput: pooled, argmax: argmax)
            XCTAssertEqual(try b.download(pooled), [5, 7, 0, 0, 5, 0, 0, 1], label)
            XCTAssertEqual(try b.download(argmax), [1, 2, 0, 0, 3, 0, 0, 0], label)
            let inference = try makeTensor(b, [1, 2, 2, 2], Array(repeating: -9, count: 8))
            try b.conv2dBiasReLUMaxPoolForward(input: input, filter: filter, bias: bias, pooledOutput: inference, argmax: nil)
            XCTAssertEqual(try b.download(inference), [5, 7, 0, 0, 5, 0, 0, 1], "\(label) without argmax")
        }
    }

    /// On each CPU path the fused op gives exactly (bit for bit) what conv2dForward(relu) and
    /// maxPoolForward give: the network's pooled layers, odd sizes, batch 1 and odd batches.
    func testEqualsConvolutionThenPoolOnEveryCPUPath() throws {
        // (N, Ci, Co, H, W, K)
        let shapes: [(Int, Int, Int, Int, Int, Int)] = [
            (3, 1, 64, 32, 32, 5), (1, 64, 128, 16, 16, 3), (5, 128, 128, 8, 8, 3), (2, 17, 33, 7, 9, 3), (3, 5, 9, 1, 2, 1),
        ]
        for (label, b) in cpuBackends {
            for (n, ci, co, h, w, k) in shapes {
                var r = TestRandom(seed: UInt64(n * 100 + ci + co))
                let full = [n, co, h, w], p = PoolGeometry.outputShape(full)
                let input = try makeTensor(b, [n, ci, h, w], r.uniform(n * ci * h * w))
                let filter = try makeTensor(b, [co, ci, k, k], r.uniform(co * ci * k * k))
                let bias = try makeTensor(b, [co], r.uniform(co))
                let relu = try b.makeTensor(full), pooled = try b.makeTensor(p), argmax = try b.makeTensor(p)
                try b.conv2dForward(input: input, filter: filter, bias: bias, output: relu, relu: true)
                try b.maxPoolForward(input: relu, output: pooled, argmax: argmax)
                let fused = try b.makeTensor(p), fusedArgmax = try b.makeTensor(p), inference = try b.makeTensor(p)
                try b.conv2dBiasReLUMaxPoolForward(input: input, filter: filter, bias: bias, pooledOutput: fused, argmax: fusedArgmax)
                try b.conv2dBiasReLUMaxPoolForward(input: input, filter: filter, bias: bias, pooledOutput: inference, argmax: nil)
                let shape = "\(label) N\(n) Ci\(ci) Co\(co) \(h)x\(w) k\(k)"
                XCTAssertEqual(try b.download(fused), try b.download(pooled), shape)
                XCTAssertEqual(try b.download(fusedArgmax), try b.download(argmax), shape)
                XCTAssertEqual(try b.download(inference), try b.download(pooled), "\(shape) without argmax")
            }
        }
    }

    /// A NaN in the input gives what the unfused ops give on the same path (no new NaN rule):
    /// compared bit for bit, NaN equal to NaN.
    func testNaNInputMatchesTheUnfusedOps() throws {
        for (label, b) in cpuBackends {
            var r = TestRandom(seed: 7)
            var x = r.uniform(2 * 64 * 8 * 8)
            x[3] = .nan
            x[64 * 64 + 10] = .nan
            let input = try makeTensor(b, [2, 64, 8, 8], x), filter = try makeTensor(b, [16, 64, 3, 3], r.uniform(16 * 64 * 9))
            let bias = try makeTensor(b, [16], r.uniform(16))
            let relu = try b.makeTensor([2, 16, 8, 8]), pooled = try b.makeTensor([2, 16, 4, 4]), argmax = try b.makeTensor([2, 16, 4, 4])
            try b.conv2dForward(input: input, filter: filter, bias: bias, output: relu, relu: true)
            try b.maxPoolForward(input: relu, output: pooled, argmax: argmax)
            let fused = try b.makeTensor([2, 16, 4, 4]), fusedArgmax = try b.makeTensor([2, 16, 4, 4])
            try b.conv2dBiasReLUMaxPoolForward(input: input, filter: filter, bias: bias, pooledOutput: fused, argmax: fusedArgmax)
            XCTAssertEqual(try b.download(fused).map(\.bitPattern), try b.download(pooled).map(\.bitPattern), label)
            XCTAssertEqual(try b.download(fusedArgmax), try b.download(argmax), label)
        }
    }

    func testShapeErrorsNameTheTensor() throws {
        for (label, b) in allBackends {
            let input = try b.makeTensor([2, 3, 5, 5]), filter = try b.makeTensor([4, 3, 3, 3]), bias = try b.makeTensor([4])
            func message(_ body: () throws -> Void) -> String {
                do { try body() } catch { return "\(error)" }
                return "no error"
            }
            let wrongPool = message {
                try b.conv2dBiasReLUMaxPoolForward(input: input, filter: filter, bias: bias,
                                                   pooledOutput: try b.makeTensor([2, 4, 2, 2]), argmax: nil)
            }
            XCTAssert(wrongPool.contains("[2, 4, 3, 3]"), "\(label): \(wrongPool)")
            let wrongArgmax = message {
                try b.conv2dBiasReLUMaxPoolForward(input: input, filter: filter, bias: bias, pooledOutput: try b.makeTensor([2, 4, 3, 3]),
                                                   argmax: try b.makeTensor([2, 4, 3, 2]))
            }
            XCTAssert(wrongArgmax.contains("argmax"), "\(label): \(wrongArgmax)")
            let wrongBias = message {
                try b.conv2dBiasReLUMaxPoolForward(input: input, filter: filter, bias: try b.makeTensor([5]),
                                                   pooledOutput: try b.makeTensor([2, 4, 3, 3]), argmax: nil)
            }
            XCTAssert(wrongBias.contains("bias"), "\(label): \(wrongBias)")
        }
    }
}
