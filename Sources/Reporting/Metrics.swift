// Binary classification metrics for anomaly scores: ROC AUC, average precision,
// the ROC curve and the confusion at a threshold.
import Foundation

/// Why metrics could not be computed from the given scores and labels.
public enum MetricsError: Error, Equatable, CustomStringConvertible {
    /// No flows at all.
    case empty
    /// `scores`, `labels` (and scenario names) must have one entry per flow.
    case countMismatch(scores: Int, labels: Int)
    /// A score is NaN or infinite; a model that diverged should be reported, not ranked.
    case nonFiniteScore(index: Int, value: Double)
    /// The threshold criterion needs both benign and malicious flows.
    case singleClass(criterion: String)
    /// A parameter is outside its domain (for example a quantile outside 0...1).
    case invalidParameter(String)

    public var description: String {
        switch self {
        case .empty: return "no flows to evaluate"
        case let .countMismatch(s, l): return "\(s) scores but \(l) labels; need one of each per flow"
        case let .nonFiniteScore(i, v): return "score of flow \(i) is \(v); scores must be finite"
        case let .singleClass(c): return "threshold criterion \(c) needs both benign and malicious flows"
        case let .invalidParameter(m): return m
        }
    }
}

/// One point of a ROC curve: the rates when every flow with `score >= threshold` is called malicious.
public struct ROCPoint: Equatable, Sendable {
    public var fpr: Double
    public var tpr: Double
    /// The cut; the first point of a curve uses +infinity (nothing flagged).
    public var threshold: Double

    public init(fpr: Double, tpr: Double, threshold: Double) {
        self.fpr = fpr
        self.tpr = tpr
        self.threshold = threshold
    }
}

/// Counts of a binary decision, malicious being the positive class.
///
/// Rates whose denominator is zero are defined as 0 (not NaN), so that a report never
/// holds NaN: precision with no flagged flows, recall with no malicious flows, F1 when
/// precision + recall is 0, and accuracy with no flows are all 0.
public struct Confusion: Codable, Equatable, Sendable {
    public var tp: Int
    public var fp: Int
    public var tn: Int
    public var fn: Int

    public init(tp: Int, fp: Int, tn: Int, fn: Int) {
        self.tp = tp
        self.fp = fp
        self.tn = tn
        self.fn = fn
    }

    public var total: Int { tp + fp + tn + fn }
    /// tp / (tp + fp), or 0 when nothing was flagged.
    public var precision: Double { ratio(tp, tp + fp) }
    /// tp / (tp + fn), or 0 when there are no malicious flows.
    public var recall: Double { ratio(tp, tp + fn) }
    /// Harmonic mean of precision and recall, 2tp / (2tp + fp + fn); 0 when that is 0/0.
    public var f1: Double { ratio(2 * tp, 2 * tp + fp + fn) }
    /// (tp + tn) / total, or 0 with no flows.
    public var accuracy: Double { ratio(tp + tn, total) }
    /// fp / (fp + tn), or 0 when there are no benign flows.
    public var falsePositiveRate: Double { ratio(fp, fp + tn) }

    private func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? 0 : Double(a) / Double(b) }
}

/// Ranking metrics of anomaly scores (higher = more malicious) against true labels (true = malicious).
///
/// Everything is exact: ties between scores are grouped, never broken by input order.
/// Metrics that need both classes are `nil` when only one is present.
public struct BinaryMetrics: Sendable {
    public let scores: [Double]
    public let labels: [Bool]
    /// Number of malicious flows.
    public let positives: Int
    /// Number of benign flows.
    public let negatives: Int
    /// Distinct scores from highest to lowest, with how many positives and negatives share each.
    public let groups: [(score: Double, positives: Int, negatives: Int)]

    /// Throws on empty input, a length mismatch or a non-finite score.
    public init(scores: [Double], labels: [Bool]) throws {
        guard scores.count == labels.count else { throw MetricsError.countMismatch(scores: scores.count, labels: labels.count) }
        guard !scores.isEmpty else { throw MetricsError.empty }
        if let i = scores.firstIndex(where: { !$0.isFinite }) { throw MetricsError.nonFiniteScore(index: i, value: scores[i]) }
        self.scores = scores
        self.labels = labels
        positives = labels.lazy.filter { $0 }.count
        negatives = labels.count - positives
        groups = BinaryMetrics.tieGroups(scores: scores, labels: labels)
    }

    /// Single-precision scores are widened to Double exactly, so thresholds compare the same way.
    public init(scores: [Float], labels: [Bool]) throws {
        try self.init(scores: scores.map(Double.init), labels: labels)
    }

    static func tieGroups(scores: [Double], labels: [Bool]) -> [(score: Double, positives: Int, negatives: Int)] {
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var groups: [(score: Double, positives: Int, negatives: Int)] = []
        for i in order {
            if let last = groups.last, last.score == scores[i] {
                groups[groups.count - 1].positives += labels[i] ? 1 : 0
                groups[groups.count - 1].negatives += labels[i] ? 0 : 1
            } else {
                groups.append((scores[i], labels[i] ? 1 : 0, labels[i] ? 0 : 1))
            }
        }
        return groups
    }

    /// ROC AUC: the probability that a random malicious flow scores above a random benign one,
    /// ties counting one half (Mann-Whitney U with average ranks).
    /// `nil` when the data holds only one class, where the AUC is undefined.
    public var rocAUC: Double? {
        guard positives > 0, negatives > 0 else { return nil }
        // Walk from the lowest score up, giving each tie group the average of the ranks it spans.
        var rankSumOfPositives = 0.0
        var ranksUsed = 0
        for group in groups.reversed() {
            let size = group.positives + group.negatives
            let averageRank = Double(ranksUsed) + Double(size + 1) / 2
            rankSumOfPositives += averageRank * Double(group.positives)
            ranksUsed += size
        }
        let p = Double(positives)
        let u = rankSumOfPositives - p * (p + 1) / 2
        return u / (p * Double(negatives))
    }

    /// PR AUC as average precision, scikit-learn's definition: sum over distinct thresholds,
    /// highest first, of (R_n - R_{n-1}) * P_n with R_0 = 0; tied scores form one threshold.
    /// `nil` when there are no malicious flows (recall undefined).
    public var averagePrecision: Double? {
        guard positives > 0 else { return nil }
        var tp = 0, fp = 0
        var previousRecall = 0.0
        var sum = 0.0
        for group in groups {
            tp += group.positives
            fp += group.negatives
            let recall = Double(tp) / Double(positives)
            let precision = Double(tp) / Double(tp + fp)
            sum += (recall - previousRecall) * precision
            previousRecall = recall
        }
        return sum
    }

    /// The ROC curve: (0, 0) at threshold +infinity, then one point per distinct score from
    /// highest to lowest, ending at (1, 1). Empty when only one class is present.
    public var rocCurve: [ROCPoint] {
        guard positives > 0, negatives > 0 else { return [] }
        var points = [ROCPoint(fpr: 0, tpr: 0, threshold: .infinity)]
        var tp = 0, fp = 0
        for group in groups {
            tp += group.positives
            fp += group.negatives
            points.append(ROCPoint(fpr: Double(fp) / Double(negatives), tpr: Double(tp) / Double(positives),
                                   threshold: group.score))
        }
        return points
    }

    /// The confusion when every flow with `score >= threshold` is called malicious.
    public func confusion(threshold: Double) -> Confusion {
        var c = Confusion(tp: 0, fp: 0, tn: 0, fn: 0)
        for (score, malicious) in zip(scores, labels) {
            switch (score >= threshold, malicious) {
            case (true, true): c.tp += 1
            case (true, false): c.fp += 1
            case (false, false): c.tn += 1
            case (false, true): c.fn += 1
            }
        }
        return c
    }
}
