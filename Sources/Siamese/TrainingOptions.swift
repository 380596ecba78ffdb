import Backend
import FlowData

/// How an anomaly score is made from similarities to the support set.
public enum ScoreMethod: String, Codable, Sendable, CaseIterable {
    /// 1 - mean similarity to the benign supports (the default).
    case benignMean = "benign-mean"
    /// 1 - the largest similarity to any benign support (nearest benign neighbour).
    case benignMax = "benign-max"
    /// (1 + mean similarity to malicious supports - mean similarity to benign supports) / 2.
    case contrast
}

/// Everything that shapes a training run; stored in the model file.
public struct TrainingOptions: Codable, Equatable, Sendable {
    public var benignShots = 10
    public var maliciousShots = 5
    public var pairMalicious = false
    public var seed: UInt64 = 42
    public var learningRate: Float = 1e-4
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-7
    public var batchSize = 5
    public var epochs = 20
    public var valSplit = 0.2
    /// Epochs without a better validation loss before stopping; 0 disables early stopping.
    public var patience = 5
    public var transform: FeatureTransform = .none
    public var scoreMethod: ScoreMethod = .benignMean
    /// Seconds between checkpoints during training: one is written after the first epoch that
    /// ends at least this long after the last (0: after every epoch), and always at the end.
    public var checkpointInterval: Double = 30
    /// The seed recipe is the default here so that models written before recipes existed read
    /// back as what they are; `gpu-train train` defaults to `.baseline`.
    public var recipe: Recipe = .seed
    /// Baseline recipe: what embeds flows for the nearest-neighbour search.
    public var encoder: EncoderKind = .none
    /// Baseline recipe with the Siamese encoder: pairs drawn per epoch (half similar, half dissimilar).
    public var pairsPerEpoch = 4096
    /// Baseline recipe with --encoder siamese: which baseline pairs count as similar.
    public var positivePairs: PositivePairs = .random
    /// Baseline recipe: at most this many baseline flows are kept in the memory bank (drawn with
    /// `seed` when the baseline is larger).
    public var bankSize = 20_000
    /// Baseline recipe: a flow's score is its distance to the k-th nearest bank entry.
    public var k = 1
    /// Baseline recipe with no encoder: each feature's difference is clipped at this many
    /// transformed units (baseline standard deviations) in the distance, so one feature that
    /// drifted between periods cannot make a normal flow far from everything; nil: the plain
    /// Euclidean distance (models written before the clip existed).
    public var distanceClip: Float?
    /// Target false-positive rate of the `.fpr` threshold rule.
    public var fpr = 0.05
    public var thresholdRule: ThresholdRule = .supportF1
    /// Window context features (`WindowFeatures.names`) appended to the feature list: computed per
    /// source and destination service from the flows before each flow. Models written before the
    /// option existed read as off.
    public var windowFeatures = false

    public init() {}

    /// The options `gpu-train train` starts from for `recipe`.
    public static func defaults(for recipe: Recipe) -> TrainingOptions {
        var o = TrainingOptions()
        o.recipe = recipe
        if recipe == .baseline {
            o.transform = .quantile
            o.thresholdRule = .fpr
            // 1% of normal traffic from another period (cross-period calibration): what an
            // operator can live with, and still every attack flow of the shared captures found
            // (docs/RESULTS.md); --fpr 0.02 doubles the alerts, 0.005 starts missing attacks.
            o.fpr = 0.01
            // One baseline standard deviation (docs/RESULTS.md: half the worst capture's flagged
            // background, wider range of working --fpr).
            o.distanceClip = 1
            o.batchSize = 128
            o.epochs = 5
            o.patience = 2
        }
        return o
    }

    enum CodingKeys: String, CodingKey {
        case benignShots, maliciousShots, pairMalicious, seed, learningRate, beta1, beta2, epsilon, batchSize, epochs
        case valSplit, patience, transform, scoreMethod, checkpointInterval
        case recipe, encoder, pairsPerEpoch, bankSize, k, fpr, thresholdRule, positivePairs, distanceClip, windowFeatures
    }

    /// Reads options written by any version: a key that is absent keeps its default.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func read<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let v = try c.decodeIfPresent(T.self, forKey: key) { value = v }
        }
        try read(.benignShots, &benignShots); try read(.maliciousShots, &maliciousShots)
        try read(.pairMalicious, &pairMalicious); try read(.seed, &seed); try read(.learningRate, &learningRate)
        try read(.beta1, &beta1); try read(.beta2, &beta2); try read(.epsilon, &epsilon); try read(.batchSize, &batchSize)
        try read(.epochs, &epochs); try read(.valSplit, &valSplit); try read(.patience, &patience)
        try read(.transform, &transform); try read(.scoreMethod, &scoreMethod); try read(.checkpointInterval, &checkpointInterval)
        try read(.recipe, &recipe); try read(.encoder, &encoder); try read(.pairsPerEpoch, &pairsPerEpoch)
        try read(.positivePairs, &positivePairs)
        try read(.bankSize, &bankSize); try read(.k, &k); try read(.fpr, &fpr); try read(.thresholdRule, &thresholdRule)
        distanceClip = try c.decodeIfPresent(Float.self, forKey: .distanceClip)
        try read(.windowFeatures, &windowFeatures)
    }

    /// The clip the nearest-neighbour search uses: `distanceClip` on transformed features (no
    /// encoder), none in an encoder's embedding, whose units are its own.
    public var searchClip: Float {
        recipe == .baseline && encoder == .none ? (distanceClip ?? .infinity) : .infinity
    }

    public var adam: AdamHyperparameters {
        AdamHyperparameters(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon)
    }

    public func validate() throws {
        func bad(_ s: String) -> SiameseError { .invalidConfiguration(s) }
        if recipe == .seed {
            guard benignShots >= 2 else { throw bad("--benign-shots must be at least 2 (benign-benign pairs need two), got \(benignShots)") }
            guard maliciousShots >= 1 else { throw bad("--malicious-shots must be at least 1, got \(maliciousShots)") }
        } else {
            guard maliciousShots >= 0 else { throw bad("--malicious-shots must be 0 or more, got \(maliciousShots)") }
            guard encoder == .none || maliciousShots >= 1 else {
                throw bad("--encoder siamese learns from dissimilar pairs and needs --malicious-shots of at least 1")
            }
            guard pairsPerEpoch >= 2 else { throw bad("--pairs-per-epoch must be at least 2, got \(pairsPerEpoch)") }
            guard bankSize >= 2 else { throw bad("--bank-size must be at least 2, got \(bankSize)") }
            guard (1...NeighborGeometry.maxK - 1).contains(k) else {
                throw bad("--k must be in 1...\(NeighborGeometry.maxK - 1), got \(k)")
            }
            guard k < bankSize else { throw bad("--k (\(k)) must be below --bank-size (\(bankSize))") }
            if let distanceClip {
                guard distanceClip.isFinite, distanceClip > 0 else { throw bad("--clip must be a positive number or none, got \(distanceClip)") }
            }
        }
        guard fpr > 0, fpr < 1 else { throw bad("--fpr must be in (0, 1), got \(fpr)") }
        guard batchSize >= 1 else { throw bad("--batch-size must be at least 1, got \(batchSize)") }
        guard epochs >= 1 else { throw bad("--epochs must be at least 1, got \(epochs)") }
        guard (0..<1).contains(valSplit) else { throw bad("--val-split must be in [0, 1), got \(valSplit)") }
        guard learningRate > 0, learningRate.isFinite else { throw bad("--lr must be a positive number, got \(learningRate)") }
        guard patience >= 0 else { throw bad("--patience must be 0 or more, got \(patience)") }
        guard checkpointInterval >= 0 else { throw bad("--checkpoint-interval must be 0 or more seconds, got \(checkpointInterval)") }
    }
}
