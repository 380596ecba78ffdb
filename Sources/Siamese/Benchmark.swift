// `gpu-train bench`: per-op and end-to-end speed of a backend on the default network.
import Backend
import FlowData
import Foundation
import Reporting

/// What a benchmark run measures and how often.
///
/// Method: every measurement runs once untimed (warm-up: kernel builds, workspace allocation),
/// then `repeats` timed samples. A sample repeats its body until it has run at least
/// `minimumSampleSeconds` (so that sub-millisecond ops are not timer noise) and reports the time
/// per run. Median, minimum and maximum are over the samples.
public struct BenchmarkSettings: Sendable {
    public var repeats: Int
    public var config: ModelConfig
    /// Pairs per training batch for the per-op table (the encoder sees twice as many images).
    public var opPairs: Int
    public var trainBatches: [Int]
    public var inferenceBatch: Int
    /// Benign rows of the synthetic CSV data set parsed for MB/s (attack files scale with it).
    public var csvBenignRows: Int
    public var minimumSampleSeconds: Double
    /// Tiny sizes, for tests.
    public var quick: Bool

    /// The default network at the issue's sizes.
    public static func standard(repeats: Int = 5) -> BenchmarkSettings {
        BenchmarkSettings(repeats: repeats, config: .default, opPairs: 32, trainBatches: [5, 32, 128],
                          inferenceBatch: 256, csvBenignRows: 12_000, minimumSampleSeconds: 0.05, quick: false)
    }

    /// A tiny network with the default's layer structure; the same batch sizes and keys.
    public static func quick(repeats: Int = 5) -> BenchmarkSettings {
        let tiny = ModelConfig(imageSide: 8, channels: [4, 8, 8, 8], kernels: [5, 3, 3, 3], embedding: 16,
                               loss: .bce, margin: 1)
        return BenchmarkSettings(repeats: repeats, config: tiny, opPairs: 2, trainBatches: [5, 32, 128],
                                 inferenceBatch: 256, csvBenignRows: 20, minimumSampleSeconds: 0.001, quick: true)
    }
}

// MARK: Results (the `--json` schema)

/// Median, minimum and maximum of the timed samples, in seconds.
public struct SampleStats: Codable, Equatable, Sendable {
    public var median: Double
    public var min: Double
    public var max: Double
    public var samples: Int

    public init(_ values: [Double]) {
        let sorted = values.sorted()
        samples = sorted.count
        min = sorted.first ?? .nan
        max = sorted.last ?? .nan
        if sorted.isEmpty { median = .nan } else if sorted.count % 2 == 1 { median = sorted[sorted.count / 2] } else {
            median = (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
    }
}

/// One row of the per-op table. `ms` is the wall-clock median (enqueue to finish) on every
/// backend, so backends compare; `device_ms` is the OpenCL profiling-event median (kernel time only).
/// `gflops` is null for memory-bound ops (pooling, ReLU backward, Adam), which report `gb_per_s`.
public struct OpBenchmark: Codable, Equatable, Sendable {
    public var op: String
    public var layer: String
    public var shape: String
    public var ms: Double
    public var msMin: Double
    public var msMax: Double
    public var deviceMs: Double?
    public var deviceMsMin: Double?
    public var deviceMsMax: Double?
    public var gflops: Double?
    public var gbPerS: Double?

    enum CodingKeys: String, CodingKey {
        case op, layer, shape, ms, msMin = "ms_min", msMax = "ms_max", deviceMs = "device_ms",
             deviceMsMin = "device_ms_min", deviceMsMax = "device_ms_max", gflops, gbPerS = "gb_per_s"
    }

    // Optional keys are written as null rather than left out, so every row has the same keys.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(op, forKey: .op); try c.encode(layer, forKey: .layer); try c.encode(shape, forKey: .shape)
        try c.encode(ms, forKey: .ms); try c.encode(msMin, forKey: .msMin); try c.encode(msMax, forKey: .msMax)
        try c.encode(deviceMs, forKey: .deviceMs); try c.encode(deviceMsMin, forKey: .deviceMsMin)
        try c.encode(deviceMsMax, forKey: .deviceMsMax)
        try c.encode(gflops, forKey: .gflops); try c.encode(gbPerS, forKey: .gbPerS)
    }
}

/// One end-to-end figure: a rate (pairs/s or images/s) from the median sample, with its spread.
public struct RateBenchmark: Codable, Equatable, Sendable {
    /// Pairs per training step, or images per inference batch.
    public var batch: Int
    /// Items (pairs or images) per second at the median, slowest and fastest sample.
    public var perSecond: Double
    public var perSecondMin: Double
    public var perSecondMax: Double
    /// Wall-clock milliseconds per step or batch, median.
    public var ms: Double
    /// OpenCL profiling-event milliseconds per step or batch (device busy time), median.
    public var deviceMs: Double?
    /// Achieved GFLOP/s at the median (training: `ModelConfig.trainingFlopsPerPair`).
    public var gflops: Double?

    enum CodingKeys: String, CodingKey {
        case batch, perSecond = "per_s", perSecondMin = "per_s_min", perSecondMax = "per_s_max", ms, deviceMs = "device_ms", gflops
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(batch, forKey: .batch); try c.encode(perSecond, forKey: .perSecond)
        try c.encode(perSecondMin, forKey: .perSecondMin); try c.encode(perSecondMax, forKey: .perSecondMax)
        try c.encode(ms, forKey: .ms); try c.encode(deviceMs, forKey: .deviceMs); try c.encode(gflops, forKey: .gflops)
    }
}

/// Everything measured on one backend.
public struct BackendBenchmark: Codable, Equatable, Sendable {
    public var device: String
    /// Median pairs/s of a full training step, keyed by batch size ("5", "32", "128").
    public var trainPairsPerS: [String: Double]
    public var inferenceImagesPerS: Double
    /// Peak resident set of this backend's section up to the end of training (see `peakRSSNote`).
    public var peakRSSMB: Double
    public var peakRSSNote: String
    public var ops: [OpBenchmark]
    /// The spread behind `trainPairsPerS`, same keys.
    public var train: [String: RateBenchmark]
    public var inference: RateBenchmark

    enum CodingKeys: String, CodingKey {
        case device, trainPairsPerS = "train_pairs_per_s", inferenceImagesPerS = "inference_images_per_s",
             peakRSSMB = "peak_rss_mb", peakRSSNote = "peak_rss_note", ops, train, inference
    }
}

/// A whole `gpu-train bench` run; encodes to the `--json` schema of issue 7 (plus detail keys).
public struct BenchmarkReport: Codable, Equatable, Sendable {
    public var machine: String
    public var commit: String
    public var date: String
    public var csvMBPerS: Double
    public var csvBytes: Int
    public var backends: [String: BackendBenchmark]
    public var method: String
    /// Process-wide peak RSS (getrusage ru_maxrss) at the end of the run.
    public var processPeakRSSMB: Double

    enum CodingKeys: String, CodingKey {
        case machine, commit, date, csvMBPerS = "csv_mb_per_s", csvBytes = "csv_bytes", backends, method,
             processPeakRSSMB = "process_peak_rss_mb"
    }

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}

// MARK: Running

/// Measures backends on a network configuration; see `BenchmarkSettings` for the method.
public enum Benchmark {
    /// How FLOPs are counted, printed with the results.
    public static let flopCounting = """
        FLOPs: conv forward = 2*N*Co*H*W*Ci*K*K, backward-input and backward-filter the same each; \
        dense = 2*M*N*K per GEMM; bias gradient = one add per output element. Pooling, ReLU backward \
        and Adam are memory-bound: GB/s of the bytes they must read and write, no GFLOP/s.
        """

    /// The method in words, for the output.
    public static func method(_ s: BenchmarkSettings) -> String {
        "1 warm-up run, then \(s.repeats) timed samples (each repeats its body for at least " +
            "\(Int(s.minimumSampleSeconds * 1000)) ms); median, min and max over samples. " +
            "Wall clock = enqueue to finish (synchronize); OpenCL device time = sum of profiling " +
            "events (END - START) of its kernels and copies. Per-op rows at the training batch of " +
            "\(s.opPairs) pairs = \(2 * s.opPairs) images (both branches in one batch). Training step = " +
            "upload, forward of both branches, BCE loss, backward, Adam on every parameter, loss download. " +
            "Inference = upload, encoder forward, embedding download. CSV = FlowLoader parse of " +
            "synthetic CICFlowMeter files already in the page cache."
    }

    /// Measures the CSV parser (MB/s of file bytes) on a synthetic data set written to a temporary folder.
    public static func csvParsing(_ settings: BenchmarkSettings) throws -> (mbPerS: Double, bytes: Int, stats: SampleStats) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpu-train-bench-\(getpid())-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try SynthGenerator.write(to: dir, benign: settings.csvBenignRows, seed: 1)
        var bytes = 0
        let stats = try time(repeats: settings.repeats, minimumSeconds: settings.minimumSampleSeconds, backend: nil) {
            bytes = try FlowLoader.parseBytes(dir)
        }.wall
        return (Double(bytes) / stats.median / 1e6, bytes, stats)
    }

    /// Runs the per-op table, training at each batch size and inference on `backend`.
    public static func run(on backend: Backend, settings: BenchmarkSettings,
                           progress: (String) -> Void = { _ in }) throws -> BackendBenchmark {
        let rssReset = PeakRSS.reset()
        let network = try SiameseNetwork(backend: backend, config: settings.config)
        try network.initialize(seed: 1)
        progress("\(backend.name): per-op table")
        let ops = try opTable(network, settings: settings, progress: progress)
        var rng = SeededGenerator(seed: 2)
        let pixels = settings.config.imageSide * settings.config.imageSide
        var train: [String: RateBenchmark] = [:]
        for batch in settings.trainBatches {
            progress("\(backend.name): training step at batch \(batch)")
            let left = (0..<batch * pixels).map { _ in rng.uniform(0, 1) }
            let right = (0..<batch * pixels).map { _ in rng.uniform(0, 1) }
            let labels = (0..<batch).map { Float($0 % 2) }
            let optimizer = AdamHyperparameters()
            let t = try time(repeats: settings.repeats, minimumSeconds: settings.minimumSampleSeconds, backend: backend) {
                _ = try network.trainStep(left: left, right: right, labels: labels, optimizer: optimizer)
            }
            train[String(batch)] = rate(t, items: batch, flops: settings.config.trainingFlopsPerPair * Double(batch))
        }
        let peak = PeakRSS.megabytes(sinceReset: rssReset)
        let images = settings.inferenceBatch
        progress("\(backend.name): inference at batch \(images)")
        network.releaseWorkspaces()
        let input = (0..<images * pixels).map { _ in rng.uniform(0, 1) }
        let t = try time(repeats: settings.repeats, minimumSeconds: settings.minimumSampleSeconds, backend: backend) {
            _ = try network.embed(images: input, count: images)
        }
        let inference = rate(t, items: images, flops: forwardFlopsPerImage(settings.config) * Double(images))
        return BackendBenchmark(device: backend.deviceDescription,
                                trainPairsPerS: train.mapValues(\.perSecond),
                                inferenceImagesPerS: inference.perSecond,
                                peakRSSMB: peak.megabytes, peakRSSNote: peak.note,
                                ops: ops, train: train, inference: inference)
    }

    /// A whole run: machine, commit, CSV parsing, then each backend in order.
    public static func report(backends: [Backend], settings: BenchmarkSettings,
                              progress: (String) -> Void = { _ in }) throws -> BenchmarkReport {
        progress("csv parsing")
        let csv = try csvParsing(settings)
        var results: [String: BackendBenchmark] = [:]
        for backend in backends {
            results[backend.name] = try run(on: backend, settings: settings, progress: progress)
        }
        let date = ISO8601DateFormatter().string(from: Date())
        return BenchmarkReport(machine: MachineInfo.current.summary, commit: MachineInfo.commit(), date: date,
                               csvMBPerS: csv.mbPerS, csvBytes: csv.bytes, backends: results,
                               method: method(settings) + " " + flopCounting,
                               processPeakRSSMB: PeakRSS.processMegabytes)
    }

    // MARK: Per-op table

    static func opTable(_ network: SiameseNetwork, settings: BenchmarkSettings,
                        progress: (String) -> Void) throws -> [OpBenchmark] {
        let backend = network.backend, config = network.config
        let n = 2 * settings.opPairs
        var rng = SeededGenerator(seed: 3)
        func random(_ shape: [Int]) throws -> Tensor {
            let t = try backend.makeTensor(shape)
            try backend.upload((0..<t.count).map { _ in rng.uniform(-1, 1) }, to: t)
            return t
        }
        var rows: [OpBenchmark] = []
        func measure(_ op: String, _ layer: String, _ shape: String, flops: Double?, bytes: Double?,
                     _ body: () throws -> Void) throws {
            let t = try time(repeats: settings.repeats, minimumSeconds: settings.minimumSampleSeconds,
                             backend: backend, body)
            let seconds = t.wall.median
            rows.append(OpBenchmark(op: op, layer: layer, shape: shape,
                                    ms: seconds * 1e3, msMin: t.wall.min * 1e3, msMax: t.wall.max * 1e3,
                                    deviceMs: t.device.map { $0.median * 1e3 }, deviceMsMin: t.device.map { $0.min * 1e3 },
                                    deviceMsMax: t.device.map { $0.max * 1e3 },
                                    gflops: flops.map { $0 / seconds / 1e9 }, gbPerS: bytes.map { $0 / seconds / 1e9 }))
        }

        let sides = config.layerSides
        var inC = 1
        var layerInput = try random([n, 1, config.imageSide, config.imageSide])
        var lastOutput = layerInput
        for (i, (c, k)) in zip(config.channels, config.kernels).enumerated() {
            let s = sides[i], name = "conv\(i + 1)"
            progress("\(backend.name): per-op table, \(name)")
            guard let w = network.parameter("\(name).weight"), let b = network.parameter("\(name).bias") else {
                throw SiameseError.invalidConfiguration("no parameters for \(name)")
            }
            let g = ConvGeometry(batch: n, inChannels: inC, outChannels: c, height: s, width: s, kernel: k)
            let shape = "N\(n) \(inC)->\(c) \(s)x\(s) k\(k)"
            let output = try backend.makeTensor([n, c, s, s])
            let outputGradient = try random([n, c, s, s])
            let inputGradient = try backend.makeTensor(layerInput.shape)
            let input = layerInput
            let elements = Double(output.count)
            try measure("conv_forward+bias+relu", name, shape, flops: g.flops, bytes: nil) {
                try backend.conv2dForward(input: input, filter: w.value, bias: b.value, output: output, relu: true)
            }
            let scratch = try backend.makeTensor(output.shape)
            try measure("relu_backward", name, "N\(n) \(c)x\(s)x\(s)", flops: nil, bytes: 3 * 4 * elements) {
                try backend.reluBackward(output: output, outputGradient: outputGradient, inputGradient: scratch)
            }
            if i > 0 {
                try measure("conv_backward_input", name, shape, flops: g.flops, bytes: nil) {
                    try backend.conv2dBackwardInput(outputGradient: outputGradient, filter: w.value,
                                                    inputGradient: inputGradient, accumulate: false)
                }
            }
            try measure("conv_backward_filter", name, shape, flops: g.flops, bytes: nil) {
                try backend.conv2dBackwardFilter(input: input, outputGradient: outputGradient,
                                                 filterGradient: try w.gradient(), accumulate: false)
            }
            try measure("conv_backward_bias", name, "N\(n) \(c)x\(s)x\(s)", flops: elements, bytes: nil) {
                try backend.conv2dBackwardBias(outputGradient: outputGradient, biasGradient: try b.gradient(), accumulate: false)
            }
            lastOutput = output
            if i < config.channels.count - 1 {
                let poolShape = PoolGeometry.outputShape(output.shape)
                let pooled = try backend.makeTensor(poolShape), argmax = try backend.makeTensor(poolShape)
                let pooledGradient = try random(poolShape)
                let pool = "pool\(i + 1)", pshape = "N\(n) \(c)x\(s)x\(s)->\(poolShape[2])x\(poolShape[3])"
                let small = Double(pooled.count)
                try backend.conv2dForward(input: input, filter: w.value, bias: b.value, output: output, relu: true)
                try measure("pool_forward", pool, pshape, flops: nil, bytes: 4 * (elements + 2 * small)) {
                    try backend.maxPoolForward(input: output, output: pooled, argmax: argmax)
                }
                try measure("pool_backward", pool, pshape, flops: nil, bytes: 4 * (elements + 2 * small)) {
                    try backend.maxPoolBackward(outputGradient: pooledGradient, argmax: argmax, inputGradient: scratch)
                }
                layerInput = pooled
            }
            inC = c
        }

        progress("\(backend.name): per-op table, dense and Adam")
        guard let embed = network.parameter("embed.weight"), let embedBias = network.parameter("embed.bias") else {
            throw SiameseError.invalidConfiguration("no embed parameters")
        }
        let flat = try lastOutput.reshaped([n, config.flattened])
        let m = n, kIn = config.flattened, out = config.embedding
        let denseFlops = 2 * Double(m) * Double(kIn) * Double(out)
        let embedding = try backend.makeTensor([m, out]), embeddingGradient = try random([m, out])
        let flatGradient = try backend.makeTensor([m, kIn])
        let dshape = "\(m)x\(kIn) * \(kIn)x\(out)"
        try measure("dense_forward+bias+sigmoid", "embed", dshape, flops: denseFlops, bytes: nil) {
            try backend.gemm(flat, transposeA: false, embed.value, transposeB: false, into: embedding, alpha: 1, beta: 0)
            try backend.addBias(embedBias.value, to: embedding, activation: .sigmoid)
        }
        try measure("dense_backward_input", "embed", "\(m)x\(out) * (\(kIn)x\(out))^T", flops: denseFlops, bytes: nil) {
            try backend.gemm(embeddingGradient, transposeA: false, embed.value, transposeB: true, into: flatGradient,
                             alpha: 1, beta: 0)
        }
        try measure("dense_backward_weight", "embed", "(\(m)x\(kIn))^T * \(m)x\(out)", flops: denseFlops, bytes: nil) {
            try backend.gemm(flat, transposeA: true, embeddingGradient, transposeB: false, into: try embed.gradient(),
                             alpha: 1, beta: 0)
        }
        // Adam reads parameter, gradient and both moments and writes three of them: 7 floats per element.
        let parameterCount = network.parameters.reduce(0) { $0 + $1.value.count }
        let hyper = AdamHyperparameters()
        var step = 0
        try measure("adam", "all (\(network.parameters.count) tensors)", "\(parameterCount) parameters",
                    flops: nil, bytes: 7 * 4 * Double(parameterCount)) {
            step += 1
            for p in network.parameters {
                try backend.adamUpdate(parameter: p.value, gradient: try p.gradient(), firstMoment: try p.firstMoment(),
                                       secondMoment: try p.secondMoment(), hyperparameters: hyper, step: step)
            }
        }
        return rows
    }

    /// FLOPs of the encoder's forward pass for one image (convs and the embedding GEMM).
    public static func forwardFlopsPerImage(_ config: ModelConfig) -> Double {
        var flops = 0.0, inC = 1
        for (i, (c, k)) in zip(config.channels, config.kernels).enumerated() {
            let s = config.layerSides[i]
            flops += 2 * Double(c * inC * k * k * s * s)
            inC = c
        }
        return flops + 2 * Double(config.flattened * config.embedding)
    }

    // MARK: Timing

    static func rate(_ t: (wall: SampleStats, device: SampleStats?), items: Int, flops: Double) -> RateBenchmark {
        let n = Double(items)
        return RateBenchmark(batch: items, perSecond: n / t.wall.median, perSecondMin: n / t.wall.max, perSecondMax: n / t.wall.min,
                             ms: t.wall.median * 1e3, deviceMs: t.device.map { $0.median * 1e3 },
                             gflops: flops / t.wall.median / 1e9)
    }

    /// Warm-up, then `repeats` samples of `body` (each run enough times to last `minimumSeconds`);
    /// seconds per run by wall clock and, on a profiling OpenCL backend, by profiling events.
    static func time(repeats: Int, minimumSeconds: Double, backend: Backend?,
                     _ body: () throws -> Void) throws -> (wall: SampleStats, device: SampleStats?) {
        let profiler = (backend as? OpenCLBackend).flatMap { $0.isProfiling ? $0 : nil }
        func sample(_ runs: Int) throws -> (Double, Double) {
            try backend?.synchronize()
            _ = try profiler?.takeProfiledSeconds()
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<runs { try body() }
            try backend?.synchronize()
            let wall = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            let device = try profiler?.takeProfiledSeconds() ?? 0
            return (wall / Double(runs), device / Double(runs))
        }
        let (warm, _) = try sample(1)
        let runs = max(1, min(1000, Int((minimumSeconds / max(warm, 1e-7)).rounded(.up))))
        var walls: [Double] = [], devices: [Double] = []
        for _ in 0..<max(1, repeats) {
            let (w, d) = try sample(runs)
            walls.append(w); devices.append(d)
        }
        return (SampleStats(walls), profiler == nil ? nil : SampleStats(devices))
    }
}

// MARK: Machine, commit, memory

/// The machine in words: CPU model, cores, memory, OS.
public struct MachineInfo: Sendable {
    public var cpuModel: String
    public var cores: Int
    public var memoryBytes: UInt64
    public var operatingSystem: String

    public static var current: MachineInfo {
        return MachineInfo(cpuModel: CPUInfo.modelName ?? "unknown CPU", cores: ProcessInfo.processInfo.activeProcessorCount,
                           memoryBytes: ProcessInfo.processInfo.physicalMemory,
                           operatingSystem: ProcessInfo.processInfo.operatingSystemVersionString)
    }

    public var summary: String {
        String(format: "%@, %d cores, %.1f GiB memory, %@", cpuModel, cores, Double(memoryBytes) / 1_073_741_824,
               operatingSystem)
    }

    /// `git rev-parse --short HEAD` of the working directory, "+dirty" when the tree has changes; "unknown" without git.
    public static func commit() -> String {
        guard let head = git(["rev-parse", "--short", "HEAD"]), !head.isEmpty else { return "unknown" }
        let dirty = git(["status", "--porcelain", "--untracked-files=no"]).map { !$0.isEmpty } ?? false
        return head + (dirty ? "+dirty" : "")
    }

    private static func git(_ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Peak resident set size. getrusage's ru_maxrss is process-wide and never goes down, so a
/// backend's own peak comes from Linux's VmHWM after resetting it (`5` > /proc/self/clear_refs).
enum PeakRSS {
    /// Process-wide peak (getrusage RUSAGE_SELF, ru_maxrss in KiB on Linux) in MB.
    static var processMegabytes: Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) * 1024 / 1e6
    }

    /// Resets the high-water mark; false where the kernel does not allow it.
    static func reset() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        do { try handle.write(contentsOf: Data("5".utf8)) } catch { return false }
        return true
    }

    /// The peak since `reset()` (VmHWM) when the reset worked, else the process-wide peak; with a note saying which.
    static func megabytes(sinceReset: Bool) -> (megabytes: Double, note: String) {
        if sinceReset, let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
           let kb = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) }) {
            return (kb * 1024 / 1e6, "VmHWM of this backend's section (reset before it) through training at the largest batch")
        }
        return (processMegabytes, "process-wide ru_maxrss through this backend's training (includes earlier sections)")
    }
}

// MARK: Text

extension BenchmarkReport {
    /// The tables `gpu-train bench` prints.
    public var text: String {
        var out = """
            gpu-train bench
            machine: \(machine)
            commit:  \(commit)
            date:    \(date)
            method:  \(method)

            CSV parsing: \(String(format: "%.1f", csvMBPerS)) MB/s (\(csvBytes) bytes, median)

            """
        for name in backends.keys.sorted(by: { ($0 == "cpu" ? 0 : 1, $0) < ($1 == "cpu" ? 0 : 1, $1) }) {
            guard let b = backends[name] else { continue }
            out += "\n== backend \(name): \(b.device)\n"
            out += b.text(name: name)
        }
        out += String(format: "\nprocess peak RSS (getrusage ru_maxrss, whole run): %.0f MB\n", processPeakRSSMB)
        return out
    }
}

extension BackendBenchmark {
    func text(name: String) -> String {
        let hasDevice = ops.contains { $0.deviceMs != nil }
        func f(_ v: Double?, _ format: String) -> String { v.map { String(format: format, $0) } ?? "-" }
        var header = ["op", "layer", "shape", "ms med", "ms min", "ms max", "GFLOP/s", "GB/s"]
        if hasDevice { header += ["event ms med", "min", "max"] }
        let rows = ops.map { o -> [String] in
            var r = [o.op, o.layer, o.shape, f(o.ms, "%.3f"), f(o.msMin, "%.3f"), f(o.msMax, "%.3f"),
                     f(o.gflops, "%.1f"), f(o.gbPerS, "%.1f")]
            if hasDevice { r += [f(o.deviceMs, "%.3f"), f(o.deviceMsMin, "%.3f"), f(o.deviceMsMax, "%.3f")] }
            return r
        }
        var out = "per op (wall clock" + (hasDevice ? "; event = OpenCL profiling events" : "") + "):\n"
        out += TextTable.render(header: header, rows: rows)
        out += String(format: "sum of per-op medians: %.1f ms\n", ops.reduce(0) { $0 + $1.ms })
        var e2e: [[String]] = []
        for key in train.keys.sorted(by: { (Int($0) ?? 0) < (Int($1) ?? 0) }) {
            guard let t = train[key] else { continue }
            e2e.append(["train step, batch \(key) pairs", f(t.perSecond, "%.1f") + " pairs/s",
                        f(t.perSecondMin, "%.1f"), f(t.perSecondMax, "%.1f"), f(t.ms, "%.1f"), f(t.deviceMs, "%.1f"),
                        f(t.gflops, "%.1f")])
        }
        let i = inference
        e2e.append(["inference, batch \(i.batch) images", f(i.perSecond, "%.1f") + " images/s",
                    f(i.perSecondMin, "%.1f"), f(i.perSecondMax, "%.1f"), f(i.ms, "%.1f"), f(i.deviceMs, "%.1f"),
                    f(i.gflops, "%.1f")])
        out += "\nend to end (rate from the median sample; min/max from the slowest/fastest):\n"
        out += TextTable.render(header: ["", "median", "min", "max", "ms/step", "event ms", "GFLOP/s"], rows: e2e)
        out += String(format: "peak RSS: %.0f MB (%@)\n", peakRSSMB, peakRSSNote)
        return out
    }
}
