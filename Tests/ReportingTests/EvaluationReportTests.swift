import Foundation
import Reporting
import XCTest

final class EvaluationReportTests: XCTestCase {
    let scores = [0.1, 0.3, 0.35, 0.8, 0.9, 0.2, 0.6]
    let labels = [false, false, false, true, true, true, true]
    let names = ["benign", "benign", "benign", "ddos", "ddos", "scan", "scan"]

    func testJSONHasExactlyTheDocumentedKeys() throws {
        let report = try EvaluationReport.make(scores: scores, labels: labels, scenarioNames: names, threshold: 0.5)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: report.jsonData()) as? [String: Any])
        XCTAssertEqual(Set(json.keys), ["flows", "auc", "pr_auc", "threshold", "precision", "recall", "f1", "accuracy",
                                        "confusion", "scenarios", "false_positive_rate"])
        // No benign score (0.1, 0.3, 0.35) reaches the threshold 0.5.
        XCTAssertEqual(json["false_positive_rate"] as? Double, 0)
        let confusion = try XCTUnwrap(json["confusion"] as? [String: Any])
        XCTAssertEqual(Set(confusion.keys), ["tp", "fp", "tn", "fn"])
        let scenarios = try XCTUnwrap(json["scenarios"] as? [String: [String: Any]])
        XCTAssertEqual(Set(scenarios.keys), ["ddos", "scan"])
        for scenario in scenarios.values { XCTAssertEqual(Set(scenario.keys), ["flows", "detected", "auc"]) }
    }

    func testValuesAreRecomputedIndependently() throws {
        let r = try EvaluationReport.make(scores: scores, labels: labels, scenarioNames: names, threshold: 0.5)
        XCTAssertEqual(r.flows, 7)
        XCTAssertEqual(r.confusion, Confusion(tp: 3, fp: 0, tn: 3, fn: 1))
        XCTAssertEqual(r.precision, 1)
        XCTAssertEqual(r.recall, 0.75)
        XCTAssertEqual(r.accuracy, 6.0 / 7.0, accuracy: 1e-12)
        // Malicious 0.2 loses to benign 0.3 and 0.35: 10 of 12 pairs.
        XCTAssertEqual(try XCTUnwrap(r.auc), 10.0 / 12.0, accuracy: 1e-12)
        XCTAssertEqual(r.scenarios["ddos"], ScenarioResult(flows: 2, detected: 2, auc: 1))
        // scan: 0.6 beats all three benign, 0.2 beats one: 4 of 6.
        let scan = try XCTUnwrap(r.scenarios["scan"])
        XCTAssertEqual(scan.flows, 2)
        XCTAssertEqual(scan.detected, 1)
        XCTAssertEqual(try XCTUnwrap(scan.auc), 4.0 / 6.0, accuracy: 1e-12)
    }

    func testUndefinedValuesAreNullAndOutputIsStable() throws {
        // No benign flows: the AUCs are undefined; an infinite threshold is not valid JSON either.
        let r = try EvaluationReport.make(scores: [Float(0.4), 0.9], labels: [true, true], scenarioNames: ["x", "y"],
                                          threshold: .infinity)
        let data = try r.jsonData()
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertTrue(json["auc"] is NSNull)
        XCTAssertTrue(json["threshold"] is NSNull)
        XCTAssertTrue((json["scenarios"] as? [String: [String: Any]])?["x"]?["auc"] is NSNull)
        XCTAssertEqual(data, try r.jsonData())
        let text = try XCTUnwrap(String(data: data, encoding: .utf8))
        XCTAssertLessThan(try XCTUnwrap(text.range(of: "\"accuracy\"")).lowerBound, try XCTUnwrap(text.range(of: "\"auc\"")).lowerBound)
        let decoded = try JSONDecoder().decode(EvaluationReport.self, from: data)
        XCTAssertNil(decoded.auc)
        XCTAssertEqual(decoded.confusion, r.confusion)
    }

    func testScenarioNamesMustMatchFlows() {
        XCTAssertThrowsError(try EvaluationReport.make(scores: [0.1, 0.2], labels: [false, true], scenarioNames: ["benign"],
                                                       threshold: 0.5))
    }
}
