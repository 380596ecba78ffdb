import Foundation

/// What a flow really is, for the numbers an operator lives with.
public enum FlowTruth: String, Sendable, Codable {
    /// A flow of an attack itself.
    case attack
    /// Normal traffic recorded while an attack ran (another hour or day than the baseline).
    case background
    /// Normal traffic of a benign capture.
    case benign
}

/// Attack flows detected and normal traffic flagged at a model's threshold, and how well the
/// scores separate a capture's attack flows from its background. JSON keys in snake_case; rates
/// and the AUC are null where they are undefined.
public struct OperatorMetrics: Codable, Equatable, Sendable {
    public var attackFlows = 0
    public var attackDetected = 0
    public var backgroundFlows = 0
    public var backgroundFlagged = 0
    public var benignFlows = 0
    public var benignFlagged = 0
    /// ROC AUC of the attack flows against the background flows (nil without both).
    public var attackVsBackgroundAUC: Double?

    public init() {}

    /// Counts `flagged[i]` by `truth[i]` (nil: a flow of unknown role, counted nowhere).
    public static func make(scores: [Float], flagged: [Bool], truth: [FlowTruth?]) throws -> OperatorMetrics {
        var m = OperatorMetrics()
        var attack: [Float] = [], background: [Float] = []
        for i in scores.indices {
            switch truth[i] {
            case .attack?: m.attackFlows += 1; attack.append(scores[i]); if flagged[i] { m.attackDetected += 1 }
            case .background?: m.backgroundFlows += 1; background.append(scores[i]); if flagged[i] { m.backgroundFlagged += 1 }
            case .benign?: m.benignFlows += 1; if flagged[i] { m.benignFlagged += 1 }
            case nil: break
            }
        }
        if !attack.isEmpty && !background.isEmpty {
            m.attackVsBackgroundAUC = try BinaryMetrics(scores: background + attack,
                                                        labels: background.map { _ in false } + attack.map { _ in true }).rocAUC
        }
        return m
    }

    public var detectionRate: Double? { attackFlows > 0 ? Double(attackDetected) / Double(attackFlows) : nil }
    public var backgroundFlaggedRate: Double? { backgroundFlows > 0 ? Double(backgroundFlagged) / Double(backgroundFlows) : nil }
    public var benignFlaggedRate: Double? { benignFlows > 0 ? Double(benignFlagged) / Double(benignFlows) : nil }

    enum CodingKeys: String, CodingKey {
        case attackFlows = "attack_flows", attackDetected = "attack_detected", backgroundFlows = "background_flows"
        case backgroundFlagged = "background_flagged", benignFlows = "benign_flows", benignFlagged = "benign_flagged"
        case attackVsBackgroundAUC = "auc_attack_vs_background", detectionRate = "attack_detected_rate"
        case backgroundFlaggedRate = "background_flagged_rate", benignFlaggedRate = "benign_flagged_rate"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        attackFlows = try c.decode(Int.self, forKey: .attackFlows)
        attackDetected = try c.decode(Int.self, forKey: .attackDetected)
        backgroundFlows = try c.decode(Int.self, forKey: .backgroundFlows)
        backgroundFlagged = try c.decode(Int.self, forKey: .backgroundFlagged)
        benignFlows = try c.decode(Int.self, forKey: .benignFlows)
        benignFlagged = try c.decode(Int.self, forKey: .benignFlagged)
        attackVsBackgroundAUC = try c.decodeIfPresent(Double.self, forKey: .attackVsBackgroundAUC)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(attackFlows, forKey: .attackFlows)
        try c.encode(attackDetected, forKey: .attackDetected)
        try c.encode(backgroundFlows, forKey: .backgroundFlows)
        try c.encode(backgroundFlagged, forKey: .backgroundFlagged)
        try c.encode(benignFlows, forKey: .benignFlows)
        try c.encode(benignFlagged, forKey: .benignFlagged)
        try c.encodeFiniteOrNull(attackVsBackgroundAUC, forKey: .attackVsBackgroundAUC)
        try c.encodeFiniteOrNull(detectionRate, forKey: .detectionRate)
        try c.encodeFiniteOrNull(backgroundFlaggedRate, forKey: .backgroundFlaggedRate)
        try c.encodeFiniteOrNull(benignFlaggedRate, forKey: .benignFlaggedRate)
    }

    /// The per-capture table of `evaluate` and the report: one row per capture.
    public static let tableHeader = ["capture", "attack flows", "detected", "background flows", "flagged", "benign flows", "flagged",
                                     "AUC attack vs background"]

    public func tableRow(_ capture: String) -> [String] {
        func rate(_ v: Double?) -> String { v.map { String(format: "%.3f", $0) } ?? "-" }
        return [capture, "\(attackFlows)", rate(detectionRate), "\(backgroundFlows)", rate(backgroundFlaggedRate), "\(benignFlows)",
                rate(benignFlaggedRate), attackVsBackgroundAUC.map { String(format: "%.4f", $0) } ?? "-"]
    }
}
