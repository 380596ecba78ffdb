// `gpu-train bench` end to end: CSV parsing, training steps and inference per backend.
import Backend
import FlowData
import Foundation
import Siamese


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

    /// A whole run: machine, commit, CSV parsing, then each backend in order (unless `network` is
    /// false), then the detector's path on every backend (when `detector` is given).
    public static func report(backends: [Backend], settings: BenchmarkSettings, network: Bool = true,
                              detector: DetectorBenchSettings? = nil, meter: MeterBenchSettings? = nil,
                              progress: (String) -> Void = { _ in }) throws -> BenchmarkReport {
        // The meter first, so the process's peak RSS after it is the meter's (and the capture writer's).
        let metering = try meter.map { try self.meter(settings: $0, progress: progress) }
        progress("fp32 peak probe")
        let peak = PeakProbe.measure(samples: settings.quick ? 2 : 5, seconds: settings.quick ? 0.01 : 0.1)
        progress(String(format: "fp32 peak: %.1f GFLOP/s (%@, %d threads)", peak.gflops, peak.instructionSet, peak.threads))
        progress("csv parsing")
        let csv = try csvParsing(settings)
        var results: [String: BackendBenchmark] = [:]
        for backend in backends where network {
            results[backend.name] = try run(on: backend, settings: settings, progress: progress).relative(to: peak)
        }
        let scoring = try detector.map { try self.detector(backends: backends, settings: $0, progress: progress) }
        let date = ISO8601DateFormatter().string(from: Date())
        return BenchmarkReport(machine: MachineInfo.current.summary, commit: MachineInfo.commit(), date: date,
                               csvMBPerS: csv.mbPerS, csvBytes: csv.bytes, backends: results,
                               method: method(settings) + " " + flopCounting,
                               processPeakRSSMB: PeakRSS.processMegabytes, peak: peak,
                               parts: (network ? ["network"] : []) + (detector != nil ? ["detector"] : []) + (meter != nil ? ["meter"] : []),
                               detector: scoring, meter: metering)
    }

}

extension BackendBenchmark {
    /// These figures with every GFLOP/s also given as a share of `peak`.
    func relative(to peak: PeakMeasurement) -> BackendBenchmark {
        var b = self
        for i in b.ops.indices { b.ops[i].percentOfPeak = peak.percent(b.ops[i].gflops) }
        b.train = b.train.mapValues { t in
            var t = t
            t.percentOfPeak = peak.percent(t.gflops)
            return t
        }
        b.inference.percentOfPeak = peak.percent(b.inference.gflops)
        return b
    }
}
