import Backend
import Foundation

/// What the on-disk program cache saves at start-up: the time from opening an OpenCL backend to
/// the end of one small pass over every kernel family (the programs a training step and a
/// detection pass build), with the cache off (every program compiled) and with a warm cache
/// (every program loaded), in interleaved pairs.
///
/// A driver's own cache (PoCL's kcache, NVIDIA's ComputeCache) also serves the cold runs unless
/// it is turned off before the process starts (POCL_KERNEL_CACHE=0, CUDA_CACHE_DISABLE=1).
public enum StartupProbe {
    public struct Sample: Sendable {
        /// Seconds with GPU_TRAIN_KERNEL_CACHE=off, and with a warm cache.
        public let cold: Double, warm: Double
        /// Programs compiled in the cold run, and loaded in the warm run.
        public let compiled: Int, loaded: Int
    }

    /// `repeats` interleaved cold/warm pairs on `device`, after one untimed run that fills a
    /// fresh cache in `cacheFolder`.
    public static func measure(device: String?, repeats: Int, cacheFolder: URL,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [Sample] {
        var cold = environment, warm = environment
        cold["GPU_TRAIN_KERNEL_CACHE"] = "off"
        warm["GPU_TRAIN_KERNEL_CACHE"] = cacheFolder.path
        _ = try run(device: device, environment: warm)
        var samples: [Sample] = []
        for _ in 0..<max(1, repeats) {
            let c = try run(device: device, environment: cold)
            let w = try run(device: device, environment: warm)
            samples.append(Sample(cold: c.seconds, warm: w.seconds, compiled: c.counts.compiled, loaded: w.counts.loaded))
        }
        return samples
    }

    /// Opens a backend and runs every kernel family once on small tensors.
    static func run(device: String?, environment: [String: String]) throws -> (seconds: Double, counts: (compiled: Int, loaded: Int)) {
        let started = DispatchTime.now().uptimeNanoseconds
        let backend = try OpenCLBackend(device: device, environment: environment)
        try exerciseEveryFamily(backend)
        try backend.synchronize()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) * 1e-9
        return (seconds, backend.programCounts)
    }

    /// Convolution (forward, both backward passes, bias), pooling, GEMMs in the three transposes,
    /// the elementwise ops, both losses, Adam and a nearest-neighbour search.
    static func exerciseEveryFamily(_ b: Backend) throws {
        var rng = SeededGenerator(seed: 5)
        func tensor(_ shape: [Int]) throws -> Tensor {
            let t = try b.makeTensor(shape)
            try b.upload((0..<t.count).map { _ in rng.uniform(-1, 1) }, to: t)
            return t
        }
        let x = try tensor([2, 4, 8, 8]), w = try tensor([8, 4, 3, 3]), bias = try tensor([8]), y = try tensor([2, 8, 8, 8])
        try b.conv2dForward(input: x, filter: w, bias: bias, output: y, relu: true)
        try b.conv2dBackwardInput(outputGradient: y, filter: w, inputGradient: x, accumulate: false)
        try b.conv2dBackwardFilter(input: x, outputGradient: y, filterGradient: w, accumulate: false)
        try b.conv2dBackwardBias(outputGradient: y, biasGradient: bias, accumulate: false)
        let pooled = try tensor([2, 8, 4, 4]), argmax = try tensor([2, 8, 4, 4])
        try b.maxPoolForward(input: y, output: pooled, argmax: argmax)
        try b.maxPoolBackward(outputGradient: pooled, argmax: argmax, inputGradient: y)
        let m = try tensor([4, 128]), wd = try tensor([128, 16]), e = try tensor([4, 16]), v = try tensor([16])
        try b.gemm(m, transposeA: false, wd, transposeB: false, into: e, alpha: 1, beta: 0)
        try b.gemm(m, transposeA: true, e, transposeB: false, into: wd, alpha: 1, beta: 0)
        try b.gemm(e, transposeA: false, wd, transposeB: true, into: m, alpha: 1, beta: 0)
        try b.addBias(v, to: e, activation: .relu)
        try b.biasGradient(outputGradient: e, biasGradient: v, accumulate: false)
        let a1 = try tensor([2, 16]), a2 = try tensor([2, 16]), d = try tensor([2, 16]), g1 = try tensor([2, 16]), g2 = try tensor([2, 16])
        try b.reluForward(a1, output: d)
        try b.reluBackward(output: d, outputGradient: a1, inputGradient: g1)
        try b.sigmoidForward(a1, output: d)
        try b.sigmoidBackward(output: d, outputGradient: a1, inputGradient: g1)
        try b.absDifference(a1, a2, output: d)
        try b.absDifferenceBackward(a1, a2, outputGradient: d, gradientA: g1, gradientB: g2)
        let logits = try tensor([2, 1]), labels = try b.makeTensor([2, 1]), gradient = try tensor([2, 1])
        try b.upload([1, 0], to: labels)
        _ = try b.binaryCrossEntropyWithLogits(logits: logits, labels: labels, logitsGradient: gradient)
        let pairLabels = try b.makeTensor([2])
        try b.upload([1, 0], to: pairLabels)
        _ = try b.contrastiveLoss(a1, a2, labels: pairLabels, margin: 1, gradientA: g1, gradientB: g2)
        let m1 = try b.makeTensor([8, 4, 3, 3]), m2 = try b.makeTensor([8, 4, 3, 3])
        try b.adamUpdate(parameter: w, gradient: w, firstMoment: m1, secondMoment: m2,
                         hyperparameters: AdamHyperparameters(), step: 1)
        let bank = try tensor([32, 16]), distances = try b.makeTensor([2, 4]), indices = try b.makeTensor([2, 4])
        try b.nearestNeighbors(queries: a1, bank: bank, k: 4, distances: distances, indices: indices)
    }

    /// The median of `values` (the mean of the middle two for an even count).
    public static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }
}
