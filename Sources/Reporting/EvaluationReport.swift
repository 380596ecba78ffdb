// The result of `gpu-train evaluate`, and its JSON form.
import Common
import Foundation

/// Detection results for one malicious scenario.
public struct ScenarioResult: Codable, Equatable, Sendable {
    /// Malicious flows of this scenario.
    public var flows: Int
    /// How many of them scored at or above the threshold.
    public var detected: Int
    /// ROC AUC of this scenario's flows against all benign flows of the same data; `nil`
    /// (JSON null) when the data has no benign flows.
    public var auc: Double?

    public init(flows: Int, detected: Int, auc: Double?) {
        self.flows = flows
        self.detected = detected
        self.auc = auc
    }

    /// detected / flows, or 0 for a scenario without flows.
    public var detectionRate: Double { flows == 0 ? 0 : Double(detected) / Double(flows) }

    enum CodingKeys: String, CodingKey { case flows, detected, auc }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(flows, forKey: .flows)
        try c.encode(detected, forKey: .detected)
        try c.encodeFiniteOrNull(auc, forKey: .auc)
    }
}

/// Everything `evaluate --json` writes. The JSON has exactly the keys `flows`, `auc`, `pr_auc`,
/// `threshold`, `precision`, `recall`, `f1`, `accuracy`, `confusion` (`tp`, `fp`, `tn`, `fn`)
/// and `scenarios` (name -> `flows`, `detected`, `auc`). Undefined or non-finite numbers are
/// written as null, so the file is always valid JSON.
public struct EvaluationReport: Codable, Equatable, Sendable {
    public var flows: Int
    /// ROC AUC over all flows; `nil` when only one class is present.
    public var auc: Double?
    /// Average precision; `nil` when there are no malicious flows.
    public var prAUC: Double?
    /// The rule is `score >= threshold -> malicious`.
    public var threshold: Double
    public var precision: Double
    public var recall: Double
    public var f1: Double
    public var accuracy: Double
    public var confusion: Confusion
    /// Keyed by scenario name; holds malicious scenarios only.
    public var scenarios: [String: ScenarioResult]
    /// With per-flow roles (`--flow-roles`): per capture (file name), attack flows detected and
    /// normal traffic flagged; JSON key `flow_roles`, absent without roles.
    public var captures: [String: OperatorMetrics]?

    public init(flows: Int, auc: Double?, prAUC: Double?, threshold: Double, precision: Double, recall: Double,
                f1: Double, accuracy: Double, confusion: Confusion, scenarios: [String: ScenarioResult]) {
        self.flows = flows
        self.auc = auc
        self.prAUC = prAUC
        self.threshold = threshold
        self.precision = precision
        self.recall = recall
        self.f1 = f1
        self.accuracy = accuracy
        self.confusion = confusion
        self.scenarios = scenarios
    }

    /// Builds the report from per-flow scores (higher = more malicious), labels (true = malicious)
    /// and scenario names, at a threshold chosen beforehand from support/validation data.
    ///
    /// Scenarios are formed from the malicious flows, grouped by their name; the names of benign
    /// flows (conventionally "benign") are not used. Each scenario's AUC is computed against all
    /// benign flows of the same data.
    public static func make(scores: [Double], labels: [Bool], scenarioNames: [String], threshold: Double) throws -> EvaluationReport {
        guard scenarioNames.count == scores.count else {
            throw MetricsError.invalidParameter("\(scores.count) scores but \(scenarioNames.count) scenario names; need one per flow")
        }
        let all = try BinaryMetrics(scores: scores, labels: labels)
        let c = all.confusion(threshold: threshold)

        var byScenario: [String: [Double]] = [:]
        for i in scores.indices where labels[i] { byScenario[scenarioNames[i], default: []].append(scores[i]) }
        let benignScores = zip(scores, labels).filter { !$0.1 }.map { $0.0 }

        var scenarios: [String: ScenarioResult] = [:]
        for (name, malicious) in byScenario {
            let metrics = try BinaryMetrics(scores: malicious + benignScores,
                                            labels: Array(repeating: true, count: malicious.count)
                                                + Array(repeating: false, count: benignScores.count))
            scenarios[name] = ScenarioResult(flows: malicious.count, detected: malicious.filter { $0 >= threshold }.count,
                                             auc: metrics.rocAUC)
        }
        return EvaluationReport(flows: scores.count, auc: all.rocAUC, prAUC: all.averagePrecision, threshold: threshold,
                                precision: c.precision, recall: c.recall, f1: c.f1, accuracy: c.accuracy,
                                confusion: c, scenarios: scenarios)
    }

    /// Single-precision scores; see the Double version.
    public static func make(scores: [Float], labels: [Bool], scenarioNames: [String], threshold: Double) throws -> EvaluationReport {
        try make(scores: scores.map(Double.init), labels: labels, scenarioNames: scenarioNames, threshold: threshold)
    }

    enum CodingKeys: String, CodingKey {
        case flows, auc, prAUC = "pr_auc", threshold, precision, recall, f1, accuracy, confusion, scenarios
        case falsePositiveRate = "false_positive_rate"
        case captures = "flow_roles"
    }

    /// Fraction of the benign flows flagged (fp / (fp + tn)): what an operator pays in alerts,
    /// to compare with the `--fpr` the threshold was set for.
    public var falsePositiveRate: Double { confusion.falsePositiveRate }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        flows = try c.decode(Int.self, forKey: .flows)
        auc = try c.decodeIfPresent(Double.self, forKey: .auc)
        prAUC = try c.decodeIfPresent(Double.self, forKey: .prAUC)
        threshold = try c.decodeIfPresent(Double.self, forKey: .threshold) ?? .nan
        precision = try c.decode(Double.self, forKey: .precision)
        recall = try c.decode(Double.self, forKey: .recall)
        f1 = try c.decode(Double.self, forKey: .f1)
        accuracy = try c.decode(Double.self, forKey: .accuracy)
        confusion = try c.decode(Confusion.self, forKey: .confusion)
        scenarios = try c.decode([String: ScenarioResult].self, forKey: .scenarios)
        captures = try c.decodeIfPresent([String: OperatorMetrics].self, forKey: .captures)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(flows, forKey: .flows)
        try c.encodeFiniteOrNull(auc, forKey: .auc)
        try c.encodeFiniteOrNull(prAUC, forKey: .prAUC)
        try c.encodeFiniteOrNull(threshold, forKey: .threshold)
        try c.encodeFiniteOrNull(precision, forKey: .precision)
        try c.encodeFiniteOrNull(recall, forKey: .recall)
        try c.encodeFiniteOrNull(f1, forKey: .f1)
        try c.encodeFiniteOrNull(accuracy, forKey: .accuracy)
        try c.encode(confusion, forKey: .confusion)
        try c.encodeFiniteOrNull(confusion.fp + confusion.tn > 0 ? falsePositiveRate : nil, forKey: .falsePositiveRate)
        try c.encode(scenarios, forKey: .scenarios)
        try c.encodeIfPresent(captures, forKey: .captures)
    }

    /// Pretty-printed JSON with sorted keys (stable output, diff-friendly), ending in a newline.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var data = try encoder.encode(self)
        data.append(0x0A)
        return data
    }

    /// Writes `jsonData()` to a temporary file beside `url` and renames it into place.
    public func writeJSON(to url: URL) throws {
        try AtomicFile.write(try jsonData(), to: url)
    }
}

extension KeyedEncodingContainer {
    /// JSON has no NaN or infinity: those, and `nil`, become null rather than an encoding error.
    mutating func encodeFiniteOrNull(_ value: Double?, forKey key: Key) throws {
        if let value, value.isFinite { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
}
