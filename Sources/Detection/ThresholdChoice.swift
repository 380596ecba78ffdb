// Choosing the decision threshold from training data (never from test data): part of training,
// here beside calibration rather than in Reporting, which only measures.
import Foundation
import Reporting

/// What a chosen threshold should optimise on the data it is chosen from.
public enum ThresholdCriterion: Equatable, Sendable, CustomStringConvertible {
    /// Maximise F1 of the malicious class. Needs at least one malicious flow.
    case f1
    /// Maximise Youden's J = TPR - FPR. Needs both classes.
    case youden
    /// Flag as much as possible while at most this fraction of the given benign flows is
    /// flagged (0...1). Needs only benign flows, so it works with a benign-only support set.
    case maxFalsePositiveRate(Double)

    public var description: String {
        switch self {
        case .f1: return "f1"
        case .youden: return "youden"
        case let .maxFalsePositiveRate(r): return "max-fpr=\(r)"
        }
    }
}

extension BinaryMetrics {
    /// Chooses `threshold` for the rule `score >= threshold -> malicious`.
    ///
    /// The rule, so that anyone can reproduce it:
    /// 1. Sort the distinct scores u_0 < u_1 < ... < u_{k-1}. Only k + 1 decisions exist:
    ///    flag everything with score >= u_j (j = 0..<k), or flag nothing.
    /// 2. Score each decision by `criterion`. Among decisions with an equal best value
    ///    (within 1e-12) the one flagging fewer flows (the higher threshold) wins: an alert
    ///    that buys nothing is not worth an operator's time.
    /// 3. Place the threshold at the midpoint (u_{j-1} + u_j) / 2 between the neighbouring
    ///    scores, which makes the same decision on these data but leaves a margin on both
    ///    sides for unseen flows. Flagging everything uses u_0; flagging nothing uses the
    ///    next Double above u_{k-1}.
    ///
    /// Apply it as `Double(score) >= threshold`: rounding a midpoint to Float can land on a score.
    public func chooseThreshold(_ criterion: ThresholdCriterion = .f1) throws -> Double {
        switch criterion {
        case .f1 where positives == 0, .youden where positives == 0 || negatives == 0:
            throw MetricsError.singleClass(criterion: criterion.description)
        case let .maxFalsePositiveRate(r):
            guard (0...1).contains(r) else { throw MetricsError.invalidParameter("maximum false-positive rate \(r) is outside 0...1") }
            guard negatives > 0 else { throw MetricsError.singleClass(criterion: criterion.description) }
        default: break
        }

        // Decision j (0...k) flags the j highest tie groups; decision 0 flags nothing.
        var best = (decision: 0, value: value(of: Confusion(tp: 0, fp: 0, tn: negatives, fn: positives), criterion))
        var tp = 0, fp = 0
        for (index, group) in groups.enumerated() {
            tp += group.positives
            fp += group.negatives
            let v = value(of: Confusion(tp: tp, fp: fp, tn: negatives - fp, fn: positives - tp), criterion)
            if v > best.value + 1e-12 { best = (index + 1, v) }
        }
        return threshold(flaggingTopGroups: best.decision)
    }

    /// Chooses a threshold from support or validation scores; see `chooseThreshold(_:)`.
    public static func chooseThreshold(scores: [Double], labels: [Bool], criterion: ThresholdCriterion = .f1) throws -> Double {
        try BinaryMetrics(scores: scores, labels: labels).chooseThreshold(criterion)
    }

    /// Chooses a threshold from support or validation scores; see `chooseThreshold(_:)`.
    public static func chooseThreshold(scores: [Float], labels: [Bool], criterion: ThresholdCriterion = .f1) throws -> Double {
        try BinaryMetrics(scores: scores, labels: labels).chooseThreshold(criterion)
    }

    /// Larger is better; decisions that break a constraint get -infinity.
    private func value(of c: Confusion, _ criterion: ThresholdCriterion) -> Double {
        switch criterion {
        case .f1: return c.f1
        case .youden: return c.recall - c.falsePositiveRate
        case let .maxFalsePositiveRate(r):
            // Among allowed decisions, more flagged flows is better.
            return c.falsePositiveRate <= r + 1e-12 ? Double(c.tp + c.fp) : -.infinity
        }
    }

    /// The threshold that flags exactly the `count` highest tie groups (`groups` is sorted high to low).
    private func threshold(flaggingTopGroups count: Int) -> Double {
        if count == 0 { return groups[0].score.nextUp }
        if count == groups.count { return groups[count - 1].score }
        let flagged = groups[count - 1].score, spared = groups[count].score
        let midpoint = spared + (flagged - spared) / 2
        // Rounding can land on the lower score when the two are adjacent Doubles.
        return midpoint > spared ? midpoint : flagged
    }
}
