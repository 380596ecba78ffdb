import FlowData

/// What a model learns normal traffic from.
public enum Recipe: String, Codable, Sendable, CaseIterable {
    /// Every benign flow of the training data is the model of normal traffic (the memory bank),
    /// plus a few labelled attack flows (the shots). A flow's score is its distance to the
    /// bank's k-th nearest entry. The default of `gpu-train train`.
    case baseline
    /// The original work: 10 benign and 5 malicious support flows, every pair of them trained on,
    /// scored by the head's similarity to the supports. Kept to reproduce that work.
    case seed

    /// The feature columns each recipe uses unless `--features` says otherwise. The baseline
    /// recipe drops the 8 Active/Idle columns (mostly 0 for short flows): leave-one-scenario-out
    /// AUC rose with them dropped (docs/RESULTS.md); the seed recipe keeps the original 27.
    public var defaultFeatures: [String] {
        switch self {
        case .baseline: return FeatureSet.default.filter { !$0.hasPrefix("Active") && !$0.hasPrefix("Idle") }
        case .seed: return FeatureSet.default
        }
    }
}

/// What embeds a flow before the nearest-neighbour search of the baseline recipe.
public enum EncoderKind: String, Codable, Sendable, CaseIterable {
    /// No network: the transformed feature vector itself (nearest neighbour on the features).
    case none
    /// The Siamese CNN, trained on pairs of baseline flows (similar) and baseline x shots
    /// (dissimilar); the score is the distance in its embedding.
    case siamese
}

/// How the decision threshold is chosen after training.
public enum ThresholdRule: String, Codable, Sendable, CaseIterable {
    /// The (1 - fpr) quantile of the baseline's leave-one-out scores: about `fpr` of traffic like
    /// the baseline is flagged. Needs no labelled attacks.
    case fpr
    /// The F1-best cut between the leave-one-out scores of the benign flows and the scores of the
    /// malicious shots (the seed recipe's support set, or the baseline bank plus the shots).
    case supportF1 = "support-f1"
}

/// Which baseline pairs the Siamese encoder learns as similar.
public enum PositivePairs: String, Codable, Sendable, CaseIterable {
    /// Any two baseline flows: all of normal traffic is pulled together.
    case random
    /// A baseline flow and its nearest other baseline flow in the transformed features: only
    /// neighbours are pulled together, so the embedding keeps normal traffic's local structure,
    /// which the nearest-neighbour score relies on.
    case nearest
    /// A baseline flow and the nearest flow of the same service (destination port) from another
    /// period: the encoder learns to ignore how one day's traffic differs from another's (drift),
    /// while the shots push attacks away. The service only picks the pairs; it is never a feature.
    case crossPeriod = "cross-period"
}
