import Backend
import Foundation

/// A tuning sweep of gemm_tiled: each tile variant timed on one device over a set of GEMM and
/// convolution shapes, by OpenCL profiling events (device time). What `gpu-train tune-gemm`
/// runs; its best variants are what a device entry of `OpenCLTuningTable` is made from.
public enum OpenCLGemmSweep {
    /// One measured product: a GEMM, or one of a convolution's three products.
    public struct Shape: Sendable, Equatable, Codable {
        public enum Kind: String, Sendable, Codable {
            case gemm, convForward = "conv_forward", convBackwardInput = "conv_backward_input"
            case convBackwardFilter = "conv_backward_filter"
        }
        public var name: String
        public var kind: Kind
        /// GEMM: M, N, K and transposes. Convolutions: NCHW input [batch, inChannels, height,
        /// width], `outChannels` filters of `kernel` x `kernel`.
        public var m = 0, n = 0, k = 0
        public var transposeA = false, transposeB = false
        public var batch = 0, inChannels = 0, outChannels = 0, height = 0, width = 0, kernel = 0

        public static func gemm(_ name: String, m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false) -> Shape {
            Shape(name: name, kind: .gemm, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
        }

        /// The three products of one convolution layer.
        public static func convolution(_ name: String, batch: Int, inChannels: Int, outChannels: Int,
                                       height: Int, width: Int, kernel: Int) -> [Shape] {
            [Kind.convForward, .convBackwardInput, .convBackwardFilter].map { kind in
                Shape(name: "\(name) \(kind.rawValue)", kind: kind, batch: batch, inChannels: inChannels,
                      outChannels: outChannels, height: height, width: width, kernel: kernel)
            }
        }

        /// Floating-point operations of one run (2 per multiply-add).
        public var flops: Double {
            switch kind {
            case .gemm: return 2 * Double(m) * Double(n) * Double(k)
            default: return 2 * Double(batch * outChannels * height * width) * Double(inChannels * kernel * kernel)
            }
        }
    }

    /// The device time of one variant on one shape.
    public struct Measurement: Sendable, Codable {
        public var variant: String
        public var shape: String
        /// Median device seconds per run; nil when the variant failed (then `error` says why).
        public var seconds: Double?
        public var gflops: Double?
        public var error: String?
    }

    /// Up to `limit` valid gemm_tiled variants, `first` (the table's) at the head, then tiles of
    /// 128, 64 and 32 a side, K steps 8 and 16, 8x8 to 4x4 per work-item, 64 to 256
    /// work-items, and the large tiles without row padding (to see what the padding buys).
    public static func candidates(first: [OpenCLTuning.Tile], limit: Int) -> [OpenCLTuning.Tile] {
        var all = first
        for m in [128, 64, 32] {
            for n in [128, 64, 32] {
                for k in [8, 16] {
                    for (itemM, itemN) in [(8, 8), (8, 4), (4, 8), (4, 4)] {
                        for padding in (m == 128 && n == 128 ? [4, 0] : [4]) {
                            let t = OpenCLTuning.Tile(m: m, n: n, k: k, itemM: itemM, itemN: itemN, padding: padding)
                            guard t.problem == nil, (64...256).contains(t.workItems), !all.contains(t) else { continue }
                            all.append(t)
                        }
                    }
                }
            }
        }
        return Array(all.prefix(max(0, limit)))
    }

    /// Times every variant on every shape: for each variant a backend on `device` with `base`
    /// reduced to that one tile (so the plan for every shape uses it, splitting K as `base`
    /// says), one warm-up run per shape, then the median of `repeats` runs. A variant that fails
    /// to build or run is recorded with its error and the sweep goes on. `afterVariant` gets
    /// the results so far after each variant (so that a sweep stopped at a time limit keeps them).
    public static func run(device: String?, base: OpenCLTuning, variants: [OpenCLTuning.Tile], shapes: [Shape],
                           repeats: Int, progress: (String) -> Void = { _ in },
                           afterVariant: ([Measurement]) throws -> Void = { _ in }) throws -> [Measurement] {
        var results: [Measurement] = []
        for (index, tile) in variants.enumerated() {
            var tuning = base.named("\(base.entry) sweep \(tile)")
            tuning.gemm = .tiled
            tuning.convolution = .implicitGemm
            tuning.tiles = [tile]
            progress("variant \(index + 1) of \(variants.count): \(tile)")
            let backend: OpenCLBackend
            do {
                backend = try OpenCLBackend(device: device, tuning: tuning, profiling: true)
            } catch {
                results += shapes.map { Measurement(variant: "\(tile)", shape: $0.name, seconds: nil, gflops: nil, error: "\(error)") }
                try afterVariant(results)
                continue
            }
            for shape in shapes {
                do {
                    let run = try prepare(shape, on: backend)
                    try run()
                    _ = try backend.takeProfiledSeconds()
                    var samples: [Double] = []
                    for _ in 0..<max(1, repeats) {
                        try run()
                        samples.append(try backend.takeProfiledSeconds())
                    }
                    let seconds = samples.sorted()[samples.count / 2]
                    results.append(Measurement(variant: "\(tile)", shape: shape.name, seconds: seconds,
                                               gflops: seconds > 0 ? shape.flops / seconds / 1e9 : nil, error: nil))
                } catch {
                    results.append(Measurement(variant: "\(tile)", shape: shape.name, seconds: nil, gflops: nil, error: "\(error)"))
                }
            }
            try afterVariant(results)
        }
        return results
    }

    /// Allocates `shape`'s tensors with random values on `backend` and returns one run of it.
    static func prepare(_ shape: Shape, on backend: Backend) throws -> () throws -> Void {
        var rng = SeededGenerator(seed: 7)
        func tensor(_ dims: [Int]) throws -> Tensor {
            let t = try backend.makeTensor(dims)
            try backend.upload((0..<t.count).map { _ in rng.uniform(-1, 1) }, to: t)
            return t
        }
        switch shape.kind {
        case .gemm:
            let a = try tensor(shape.transposeA ? [shape.k, shape.m] : [shape.m, shape.k])
            let b = try tensor(shape.transposeB ? [shape.n, shape.k] : [shape.k, shape.n])
            let c = try tensor([shape.m, shape.n])
            return { try backend.gemm(a, transposeA: shape.transposeA, b, transposeB: shape.transposeB, into: c, alpha: 1, beta: 0) }
        case .convForward, .convBackwardInput, .convBackwardFilter:
            let x = try tensor([shape.batch, shape.inChannels, shape.height, shape.width])
            let f = try tensor([shape.outChannels, shape.inChannels, shape.kernel, shape.kernel])
            let y = try tensor([shape.batch, shape.outChannels, shape.height, shape.width])
            let bias = try tensor([shape.outChannels])
            switch shape.kind {
            case .convForward:
                return { try backend.conv2dForward(input: x, filter: f, bias: bias, output: y, relu: true) }
            case .convBackwardInput:
                return { try backend.conv2dBackwardInput(outputGradient: y, filter: f, inputGradient: x, accumulate: false) }
            default:
                return { try backend.conv2dBackwardFilter(input: x, outputGradient: y, filterGradient: f, accumulate: false) }
            }
        }
    }

    /// Per shape, the fastest variant; and the variant with the least total time over all
    /// shapes (only variants that ran every shape count).
    public static func best(_ results: [Measurement]) -> (perShape: [(shape: String, variant: String, gflops: Double)],
                                                        overall: String?) {
        var shapes: [String] = []
        for r in results where !shapes.contains(r.shape) { shapes.append(r.shape) }
        var perShape: [(String, String, Double)] = []
        for s in shapes {
            let timed = results.filter { $0.shape == s && $0.seconds != nil }
            if let fastest = timed.min(by: { ($0.seconds ?? .infinity) < ($1.seconds ?? .infinity) }) {
                perShape.append((s, fastest.variant, fastest.gflops ?? 0))
            }
        }
        var totals: [String: Double] = [:], complete: [String: Int] = [:]
        for r in results {
            if let s = r.seconds { totals[r.variant, default: 0] += s; complete[r.variant, default: 0] += 1 }
        }
        let overall = totals.filter { complete[$0.key] == shapes.count }.min { $0.value < $1.value }?.key
        return (perShape, overall)
    }
}
