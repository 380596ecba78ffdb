import Detection
import Reporting
import XCTest

final class ThresholdTests: XCTestCase {
    func testSeparableDataGetsTheMidpoint() throws {
        let scores = [0.1, 0.2, 0.6, 0.7], labels = [false, false, true, true]
        XCTAssertEqual(try BinaryMetrics.chooseThreshold(scores: scores, labels: labels), 0.4, accuracy: 1e-12)
        XCTAssertEqual(try BinaryMetrics.chooseThreshold(scores: scores, labels: labels, criterion: .youden), 0.4, accuracy: 1e-12)
        let floats: [Float] = [0.1, 0.2, 0.6, 0.7]
        let t = try BinaryMetrics.chooseThreshold(scores: floats, labels: labels)
        XCTAssertEqual(try BinaryMetrics(scores: floats, labels: labels).confusion(threshold: t), Confusion(tp: 2, fp: 0, tn: 2, fn: 0))
    }

    func testCriteriaAndTieBreakTowardFewerAlerts() throws {
        // Flag >= 4: TPR 1/2, FPR 0, F1 2/3. Flag >= 2: TPR 1, FPR 1/2, F1 4/5.
        // Youden ties at 1/2 and takes the higher threshold; F1 prefers flagging >= 2.
        let m = try BinaryMetrics(scores: [1.0, 2, 3, 4], labels: [false, true, false, true])
        XCTAssertEqual(try m.chooseThreshold(.youden), 3.5)
        XCTAssertEqual(try m.chooseThreshold(.f1), 1.5)
    }

    func testMaximumFalsePositiveRate() throws {
        let m = try BinaryMetrics(scores: [0.1, 0.2, 0.6, 0.7], labels: [false, false, true, true])
        XCTAssertEqual(try m.chooseThreshold(.maxFalsePositiveRate(0)), 0.4, accuracy: 1e-12)
        XCTAssertEqual(try m.chooseThreshold(.maxFalsePositiveRate(0.5)), 0.15, accuracy: 1e-12)
        XCTAssertEqual(try m.chooseThreshold(.maxFalsePositiveRate(1)), 0.1)
        XCTAssertThrowsError(try m.chooseThreshold(.maxFalsePositiveRate(1.5)))

        // A benign-only support set: nothing of it may be flagged.
        let benign = try BinaryMetrics(scores: [0.1, 0.2, 0.3], labels: [false, false, false])
        let t = try benign.chooseThreshold(.maxFalsePositiveRate(0))
        XCTAssertGreaterThan(t, 0.3)
        XCTAssertEqual(benign.confusion(threshold: t).fp, 0)
    }

    func testSingleClassCriteriaThrow() throws {
        let benign = try BinaryMetrics(scores: [0.1, 0.2], labels: [false, false])
        XCTAssertThrowsError(try benign.chooseThreshold(.f1)) { XCTAssertEqual($0 as? MetricsError, .singleClass(criterion: "f1")) }
        XCTAssertThrowsError(try benign.chooseThreshold(.youden))
        let malicious = try BinaryMetrics(scores: [0.1, 0.2], labels: [true, true])
        XCTAssertThrowsError(try malicious.chooseThreshold(.maxFalsePositiveRate(0.1)))
        XCTAssertEqual(try malicious.chooseThreshold(.f1), 0.1)  // flag everything: F1 = 1
    }

    func testTheChosenThresholdMakesTheBestCutsDecisionsOnRandomTies() throws {
        var state: UInt64 = 0x5EED
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        for trial in 0..<200 {
            let n = 2 + Int(next() % 60)
            let labels = (0..<n).map { _ in next() % 3 == 0 }
            let scores = labels.map { Double(next() % 7 + ($0 ? 2 : 0)) / 8 }
            guard labels.contains(true), labels.contains(false) else { continue }
            let m = try BinaryMetrics(scores: scores, labels: labels)
            let t = try m.chooseThreshold(.f1)
            let best = Set(scores).map { m.confusion(threshold: $0).f1 }.max() ?? 0
            XCTAssertEqual(m.confusion(threshold: t).f1, best, accuracy: 1e-12, "trial \(trial)")
        }
    }
}
