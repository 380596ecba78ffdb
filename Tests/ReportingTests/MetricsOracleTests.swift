import Reporting
import XCTest

/// The fast metrics against slow, differently formulated definitions on random data with many ties.
final class MetricsOracleTests: XCTestCase {
    /// AUC as the mean over all (malicious, benign) pairs of 1 (above), 1/2 (tie) or 0 (below).
    func pairwiseAUC(_ scores: [Double], _ labels: [Bool]) -> Double {
        var sum = 0.0, pairs = 0.0
        for i in scores.indices where labels[i] {
            for j in scores.indices where !labels[j] {
                sum += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0
                pairs += 1
            }
        }
        return sum / pairs
    }

    /// Average precision as the mean, over malicious flows, of the precision at that flow's score.
    func perPositiveAP(_ scores: [Double], _ labels: [Bool]) -> Double {
        let positives = scores.indices.filter { labels[$0] }
        let total = positives.map { i -> Double in
            let flagged = scores.indices.filter { scores[$0] >= scores[i] }
            return Double(flagged.filter { labels[$0] }.count) / Double(flagged.count)
        }.reduce(0, +)
        return total / Double(positives.count)
    }

    func testRandomTiedDataAgreesWithOracles() throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        for trial in 0..<50 {
            let n = 2 + Int(next() % 60)
            // Few distinct levels so that ties are common; malicious flows lean higher.
            let labels = (0..<n).map { _ in next() % 3 == 0 }
            let scores = labels.map { Double(next() % 7 + ($0 ? 2 : 0)) / 8 }
            guard labels.contains(true), labels.contains(false) else { continue }
            let m = try BinaryMetrics(scores: scores, labels: labels)
            XCTAssertEqual(try XCTUnwrap(m.rocAUC), pairwiseAUC(scores, labels), accuracy: 1e-12, "trial \(trial)")
            XCTAssertEqual(try XCTUnwrap(m.averagePrecision), perPositiveAP(scores, labels), accuracy: 1e-12, "trial \(trial)")
            // The trapezoid area under the ROC curve is the AUC.
            let curve = m.rocCurve
            let area = zip(curve, curve.dropFirst()).map { ($1.fpr - $0.fpr) * ($1.tpr + $0.tpr) / 2 }.reduce(0, +)
            XCTAssertEqual(area, pairwiseAUC(scores, labels), accuracy: 1e-12, "trial \(trial)")
        }
    }
}
