import Backend
import FlowData
import Foundation
import Reporting
import Detection
import Siamese
import XCTest

/// Leave-one-scenario-out folds and the split of each left-out scenario by new and known endpoints.
final class CrossValidationTests: XCTestCase {
    /// One feature. Benign flows 0, 1, ..., 9 in time order (each talking to its own endpoint);
    /// scenario "far" sits at 100+ and talks to an endpoint the baseline never saw; scenario
    /// "copy" repeats baseline values exactly over baseline endpoints, as background traffic
    /// captured alongside an attack does.
    func table() -> FlowTable {
        let benign: [Float] = (0..<10).map(Float.init)
        let values = benign + [100, 101, 102] + [1, 2, 3]
        let labels = [Int](repeating: 0, count: 10) + [1, 1, 1] + [2, 2, 2]
        let names = [String](repeating: "benign", count: 10) + ["far", "far", "far", "copy", "copy", "copy"]
        let endpoints = (0..<10).map { "10.0.0.\($0)>10.0.1.1:443" } + [String](repeating: "10.0.0.9>198.51.100.7:4444", count: 3)
            + ["10.0.0.1>10.0.1.1:443", "10.0.0.2>10.0.1.1:443", "10.0.0.3>10.0.1.1:443"]
        return FlowTable(featureNames: ["x"], values: values, labels: labels, scenarioNames: names, endpoints: endpoints)
    }

    func testFoldsSplitBenignByTimeAndHoldOutOneScenario() {
        let folds = CrossValidation.folds(table: table(), baselineFraction: 0.8)
        XCTAssertEqual(folds.map(\.scenario), ["copy", "far"])
        // Earliest 8 benign rows train; the other scenario's flows are the shots.
        XCTAssertEqual(folds[0].train, Array(0..<8) + [10, 11, 12])
        XCTAssertEqual(folds[0].test, [8, 9, 13, 14, 15])
        XCTAssertEqual(folds[1].train, Array(0..<8) + [13, 14, 15])
        XCTAssertEqual(folds[1].test, [8, 9, 10, 11, 12])
    }

    func testEndpointSplitScoresEachPartAgainstTheSameBenignFlows() throws {
        // Benign 0.1, 0.2, 0.3; new-endpoint attacks 0.5, 0.6 (above every benign score: AUC 1);
        // known-endpoint attacks 0.15 (above 1 of 3) and 0.25 (above 2 of 3): AUC (1 + 2) / 6.
        let scores: [Float] = [0.1, 0.5, 0.2, 0.15, 0.3, 0.6, 0.25]
        let labels = [false, true, false, true, false, true, true]
        let flagged = scores.map { $0 > 0.22 }
        let endpoints = ["b1", "new1", "b2", "b1", "b3", "new2", "b2"]
        let split = try CrossValidation.endpointSplit(scores: scores, labels: labels, flagged: flagged, test: Array(0..<7),
                                                      endpoints: endpoints, baselineEndpoints: ["b1", "b2", "b3"])
        XCTAssertEqual(split.newEndpointFlows, 2)
        XCTAssertEqual(split.knownEndpointFlows, 2)
        XCTAssertEqual(try XCTUnwrap(split.newEndpointAUC), 1, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(split.knownEndpointAUC), 0.5, accuracy: 1e-12)
        XCTAssertEqual(split.newEndpointDetectionRate, 1)
        XCTAssertEqual(split.knownEndpointDetectionRate, 0.5)
    }

    func testEndpointSplitWithoutNewEndpointsHasNoAUCForThatPart() throws {
        let split = try CrossValidation.endpointSplit(scores: [0.1, 0.2], labels: [false, true], flagged: [false, false],
                                                      test: [0, 1], endpoints: ["a", "a"], baselineEndpoints: ["a"])
        XCTAssertNil(split.newEndpointAUC)
        XCTAssertEqual(split.newEndpointFlows, 0)
        XCTAssertEqual(split.newEndpointDetectionRate, 0)
        XCTAssertEqual(try XCTUnwrap(split.knownEndpointAUC), 1, accuracy: 1e-12)
    }

    func testRunSplitsTheLeftOutScenarioByEndpoint() throws {
        var o = TrainingOptions.defaults(for: .baseline)
        o.transform = .none
        o.maliciousShots = 1
        let folds = try CrossValidation.run(table: table(), config: smallConfig, options: o, seeds: [1],
                                            encoders: [.none], baselineFraction: 0.8, backend: CPUBackend())
        XCTAssertEqual(folds.count, 2)
        let copy = try XCTUnwrap(folds.first { $0.scenario == "copy" }?.endpointSplit)
        // Copies of baseline flows (distance 0) over baseline endpoints score below the later
        // benign flows 8 and 9 (distance 1 and 2 to flow 7).
        XCTAssertEqual(copy.knownEndpointFlows, 3)
        XCTAssertEqual(copy.newEndpointFlows, 0)
        XCTAssertEqual(try XCTUnwrap(copy.knownEndpointAUC), 0, accuracy: 1e-12)
        XCTAssertNil(copy.newEndpointAUC)
        let far = try XCTUnwrap(folds.first { $0.scenario == "far" }?.endpointSplit)
        XCTAssertEqual(far.newEndpointFlows, 3)
        XCTAssertEqual(far.knownEndpointFlows, 0)
        XCTAssertEqual(try XCTUnwrap(far.newEndpointAUC), 1, accuracy: 1e-12)
        XCTAssertEqual(far.newEndpointDetectionRate, 1)
    }

    func testRunWithoutEndpointsHasNoSplit() throws {
        var t = table()
        t.endpoints = nil
        var o = TrainingOptions.defaults(for: .baseline)
        o.maliciousShots = 1
        let folds = try CrossValidation.run(table: t, config: smallConfig, options: o, seeds: [1], encoders: [.none],
                                            baselineFraction: 0.8, backend: CPUBackend())
        XCTAssertTrue(folds.allSatisfy { $0.endpointSplit == nil })
        XCTAssertTrue(folds.allSatisfy { $0.auc != nil })
    }
}
