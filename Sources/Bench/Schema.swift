// The results of `gpu-train bench`: the `--json` schema.
import Foundation


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
/// `percent_of_peak` is `gflops` as a share of the machine's measured peak (`BenchmarkReport.peak`).
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
    public var percentOfPeak: Double?

    enum CodingKeys: String, CodingKey {
        case op, layer, shape, ms, msMin = "ms_min", msMax = "ms_max", deviceMs = "device_ms",
             deviceMsMin = "device_ms_min", deviceMsMax = "device_ms_max", gflops, gbPerS = "gb_per_s",
             percentOfPeak = "percent_of_peak"
    }

    // Optional keys are written as null rather than left out, so every row has the same keys.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(op, forKey: .op); try c.encode(layer, forKey: .layer); try c.encode(shape, forKey: .shape)
        try c.encode(ms, forKey: .ms); try c.encode(msMin, forKey: .msMin); try c.encode(msMax, forKey: .msMax)
        try c.encode(deviceMs, forKey: .deviceMs); try c.encode(deviceMsMin, forKey: .deviceMsMin)
        try c.encode(deviceMsMax, forKey: .deviceMsMax)
        try c.encode(gflops, forKey: .gflops); try c.encode(gbPerS, forKey: .gbPerS)
        try c.encode(percentOfPeak, forKey: .percentOfPeak)
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
    /// `gflops` as a share of the machine's measured peak.
    public var percentOfPeak: Double?

    enum CodingKeys: String, CodingKey {
        case batch, perSecond = "per_s", perSecondMin = "per_s_min", perSecondMax = "per_s_max", ms, deviceMs = "device_ms", gflops,
             percentOfPeak = "percent_of_peak"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(batch, forKey: .batch); try c.encode(perSecond, forKey: .perSecond)
        try c.encode(perSecondMin, forKey: .perSecondMin); try c.encode(perSecondMax, forKey: .perSecondMax)
        try c.encode(ms, forKey: .ms); try c.encode(deviceMs, forKey: .deviceMs); try c.encode(gflops, forKey: .gflops)
        try c.encode(percentOfPeak, forKey: .percentOfPeak)
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
    /// The machine's fp32 peak, measured at the start of the run (`PeakProbe`).
    public var peak: PeakMeasurement
    /// What the run measured: "network" (per-op table, training, inference: `backends`),
    /// "detector" (`detector`) and "meter" (`meter`); `bench --parts` chooses.
    public var parts: [String]
    /// The detector's path (nearest-neighbour scoring, quantile transform), when measured.
    public var detector: DetectorBenchmark?
    /// gpu-train's flow meter on one capture (packets/s on one thread), when measured.
    public var meter: MeterBenchmark?

    enum CodingKeys: String, CodingKey {
        case machine, commit, date, csvMBPerS = "csv_mb_per_s", csvBytes = "csv_bytes", backends, method,
             processPeakRSSMB = "process_peak_rss_mb", peak, parts, detector, meter
    }

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}

