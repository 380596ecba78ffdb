// What a benchmark run measures and how often.
import Siamese

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

    /// The default network at the sizes.
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

