import Reporting
import XCTest

/// Metrics against small cases computed by hand (and, for the first, scikit-learn's documented example).
final class MetricsTests: XCTestCase {
    // scikit-learn's docs: roc_auc_score = 0.75, average_precision_score = 0.8333.
    let sklearnScores = [0.1, 0.4, 0.35, 0.8]
    let sklearnLabels = [false, false, true, true]

    // Ties across classes. Pairs (malicious, benign): 0.9 beats all three benign (3);
    // 0.5 ties two benign 0.5s (2 x 1/2) and beats 0.1 (1): U = 5 of 6 pairs.
    let tiedScores = [0.5, 0.5, 0.5, 0.9, 0.1]
    let tiedLabels = [true, false, false, true, false]

    func testAUCMatchesScikitLearnExample() throws {
        let m = try BinaryMetrics(scores: sklearnScores, labels: sklearnLabels)
        XCTAssertEqual(try XCTUnwrap(m.rocAUC), 0.75, accuracy: 1e-12)
        // Groups: 0.8 (R 1/2, P 1), 0.4 (R 1/2, P 1/2), 0.35 (R 1, P 2/3), 0.1: 1/2 + 1/2 * 2/3.
        XCTAssertEqual(try XCTUnwrap(m.averagePrecision), 0.5 + 0.5 * 2.0 / 3.0, accuracy: 1e-12)
    }

    func testAUCWithTiesUsesAverageRanks() throws {
        let m = try BinaryMetrics(scores: tiedScores, labels: tiedLabels)
        XCTAssertEqual(try XCTUnwrap(m.rocAUC), 5.0 / 6.0, accuracy: 1e-12)
        // Input order must not matter when scores tie.
        let reordered = try BinaryMetrics(scores: tiedScores.reversed(), labels: tiedLabels.reversed())
        XCTAssertEqual(reordered.rocAUC, m.rocAUC)
    }

    func testAUCKnownAnswers() throws {
        let labels = [false, false, true, true]
        XCTAssertEqual(try BinaryMetrics(scores: [0.1, 0.2, 0.8, 0.9], labels: labels).rocAUC, 1.0)
        XCTAssertEqual(try BinaryMetrics(scores: [0.9, 0.8, 0.2, 0.1], labels: labels).rocAUC, 0.0)
        XCTAssertEqual(try BinaryMetrics(scores: [0.5, 0.5, 0.5, 0.5], labels: labels).rocAUC, 0.5)
        XCTAssertEqual(try BinaryMetrics(scores: [Float(0.3), 0.3, 0.7, 0.7], labels: labels).rocAUC, 1.0)
    }

    func testAveragePrecisionGroupsTies() throws {
        // 0.9: R 1/2, P 1 -> 1/2. 0.5 (1 malicious, 2 benign): R 1, P 2/4 -> 1/4. 0.1 adds no recall.
        let m = try BinaryMetrics(scores: tiedScores, labels: tiedLabels)
        XCTAssertEqual(try XCTUnwrap(m.averagePrecision), 0.75, accuracy: 1e-12)
        XCTAssertEqual(try BinaryMetrics(scores: [0.5, 0.5, 0.5, 0.5], labels: [false, false, true, true]).averagePrecision, 0.5)
    }

    func testSingleClassLeavesRankingMetricsUndefined() throws {
        let benign = try BinaryMetrics(scores: [0.1, 0.2], labels: [false, false])
        XCTAssertNil(benign.rocAUC)
        XCTAssertNil(benign.averagePrecision)
        XCTAssertEqual(benign.rocCurve, [])
        let malicious = try BinaryMetrics(scores: [0.1, 0.2], labels: [true, true])
        XCTAssertNil(malicious.rocAUC)
        XCTAssertEqual(malicious.averagePrecision, 1.0)
    }

    func testBadInputIsAnError() {
        XCTAssertThrowsError(try BinaryMetrics(scores: [Double](), labels: [])) { XCTAssertEqual($0 as? MetricsError, .empty) }
        XCTAssertThrowsError(try BinaryMetrics(scores: [0.1], labels: [true, false])) {
            XCTAssertEqual($0 as? MetricsError, .countMismatch(scores: 1, labels: 2))
        }
        XCTAssertThrowsError(try BinaryMetrics(scores: [0.1, .nan], labels: [true, false])) {
            guard case .nonFiniteScore(index: 1, _)? = $0 as? MetricsError else { return XCTFail("\($0)") }
        }
    }

    func testROCCurveGroupsTies() throws {
        let points = try BinaryMetrics(scores: tiedScores, labels: tiedLabels).rocCurve
        XCTAssertEqual(points, [
            ROCPoint(fpr: 0, tpr: 0, threshold: .infinity),
            ROCPoint(fpr: 0, tpr: 0.5, threshold: 0.9),
            ROCPoint(fpr: 2.0 / 3.0, tpr: 1, threshold: 0.5),
            ROCPoint(fpr: 1, tpr: 1, threshold: 0.1),
        ])
    }

    func testConfusionAtThreshold() throws {
        let m = try BinaryMetrics(scores: tiedScores, labels: tiedLabels)
        let c = m.confusion(threshold: 0.5)  // score >= 0.5 is malicious, so the ties are flagged
        XCTAssertEqual(c, Confusion(tp: 2, fp: 2, tn: 1, fn: 0))
        XCTAssertEqual(c.precision, 0.5)
        XCTAssertEqual(c.recall, 1)
        XCTAssertEqual(c.f1, 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(c.accuracy, 0.6)

        let none = m.confusion(threshold: 1)  // nothing flagged: 0/0 precision and F1 are 0
        XCTAssertEqual(none, Confusion(tp: 0, fp: 0, tn: 3, fn: 2))
        XCTAssertEqual(none.precision, 0)
        XCTAssertEqual(none.f1, 0)
        XCTAssertEqual(Confusion(tp: 0, fp: 0, tn: 0, fn: 0).accuracy, 0)
    }
}
