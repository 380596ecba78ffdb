import Backend
import FlowData
import Foundation
import Detection
import Siamese
import TestSupport
import XCTest

/// Cross-period calibration against hand-computed values, periods in the model file, and incidents.
final class CalibrationTests: XCTestCase {
    /// One feature: period 0 holds 0 and 1, period 1 holds 10 and 11, period 2 holds 5.
    func threePeriodBank() -> MemoryBank {
        MemoryBank(features: [0, 1, 10, 11, 5], featureCount: 1, embeddings: nil, dimension: 1,
                   periods: [0, 0, 1, 1, 2], periodNames: ["mon", "tue", "wed"])
    }

    func testEachPeriodIsScoredAgainstTheOthers() throws {
        let (scores, method, periods) = try CrossPeriodCalibration.scores(bank: threePeriodBank(), backend: CPUBackend(), k: 1)
        // 0 -> nearest outside its period is 5; 1 -> 5 (4); 10 -> 5; 11 -> 10 is its own period, so 5 (6); 5 -> 1 or 10 (4).
        XCTAssertEqual(scores, [5, 4, 5, 6, 4])
        XCTAssertEqual(method, .crossPeriod)
        XCTAssertEqual(periods, 3)
        // k = 2: the second nearest outside the period.
        let k2 = try CrossPeriodCalibration.scores(bank: threePeriodBank(), backend: CPUBackend(), k: 2).scores
        XCTAssertEqual(k2, [10, 9, 9, 10, 5])
        // Leave-one-out, for contrast: the near-duplicate in the same period makes every distance 1 or less.
        let loo = try ThresholdFitting.leaveOneOutScores(bank: threePeriodBank(), backend: CPUBackend(), k: 1)
        XCTAssertEqual(loo, [1, 1, 1, 1, 4])
    }

    func testTheThresholdFlagsAtMostFPROfTheCrossPeriodScores() throws {
        // Scores 5, 4, 5, 6, 4: at fpr 0.2 (one of five) only the 6 is flagged; the cut sits between 5 and 6.
        let (threshold, calibration) = try CrossPeriodCalibration.fit(scores: [5, 4, 5, 6, 4], method: .crossPeriod, periods: 3, fpr: 0.2)
        XCTAssertGreaterThan(threshold, 5)
        XCTAssertLessThanOrEqual(threshold, 6)
        XCTAssertEqual(calibration, Calibration(method: .crossPeriod, periods: 3, scores: 5, fpr: 0.2, flaggedRate: 0.2))
        // fpr 0.5 allows two of five, but the two 5s tie with ... 6 and one 5 would be 3 > 2.5: still only the 6.
        let (t2, c2) = try CrossPeriodCalibration.fit(scores: [5, 4, 5, 6, 4], method: .crossPeriod, periods: 3, fpr: 0.5)
        XCTAssertGreaterThan(t2, 5)
        XCTAssertEqual(c2.flaggedRate, 0.2)
        // NaN scores (a period too small to leave a bank) are left out.
        XCTAssertEqual(try CrossPeriodCalibration.fit(scores: [.nan, 5, 4, 5, 6, 4], method: .crossPeriod, periods: 3, fpr: 0.2).calibration.scores, 5)
        XCTAssertThrowsError(try CrossPeriodCalibration.fit(scores: [.nan], method: .crossPeriod, periods: 1, fpr: 0.2))
    }

    func testOnePeriodIsSplitIntoTimeBlocks() throws {
        // 0...7 in one period: 4 blocks {0,1} {2,3} {4,5} {6,7}; each flow's nearest outside its block.
        let bank = MemoryBank(features: (0..<8).map(Float.init), featureCount: 1, embeddings: nil, dimension: 1)
        let (scores, method, periods) = try CrossPeriodCalibration.scores(bank: bank, backend: CPUBackend(), k: 1)
        XCTAssertEqual(method, .timeBlocks)
        XCTAssertEqual(periods, 4)
        XCTAssertEqual(scores, [2, 1, 1, 1, 1, 1, 1, 2])
    }

    func testTrainingRecordsPeriodsAndCalibrationAndTheFileKeepsThem() throws {
        // Two files' worth of benign rows as two periods, plus attacks far away.
        let values: [Float] = [0, 1, 2, 3, 10, 11, 12, 13, 100]
        var table = FlowTable(featureNames: ["x"], values: values, labels: [0, 0, 0, 0, 0, 0, 0, 0, 1],
                              scenarioNames: [String](repeating: "benign", count: 8) + ["a"])
        table.sourceFiles = ["day1.csv", "day2.csv", "a.csv"]
        table.rowFiles = [0, 0, 0, 0, 1, 1, 1, 1, 2]
        var o = TrainingOptions.defaults(for: .baseline)
        o.transform = .none
        o.maliciousShots = 1
        o.fpr = 0.25
        let model = try Trainer(backend: CPUBackend(), config: .default, options: o).train(table: table)
        let bank = try XCTUnwrap(model.bank)
        XCTAssertEqual(bank.periodNames, ["day1.csv", "day2.csv"])
        XCTAssertEqual(bank.periods, [0, 0, 0, 0, 1, 1, 1, 1])
        XCTAssertEqual(model.calibration?.method, .crossPeriod)
        XCTAssertEqual(model.calibration?.periods, 2)
        XCTAssertEqual(model.calibration?.scores, 8)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cal-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try model.write(to: url)
        let back = try TrainedModel.read(url)
        XCTAssertEqual(back.bank?.periods, bank.periods)
        XCTAssertEqual(back.bank?.periodNames, bank.periodNames)
        XCTAssertEqual(back.calibration, model.calibration)
        XCTAssertEqual(back.threshold, model.threshold)
    }

    func testIncidentsGroupBySourceAndDestinationWithinTheWindow() {
        var g = IncidentGrouper(window: 60)
        var closed: [Incident] = []
        closed += g.add(source: "a", destination: "d", port: "22", time: 0, score: 2, reasons: ["x", "y"], why: "x +1", row: 2)
        closed += g.add(source: "a", destination: "d", port: "23", time: 30, score: 5, reasons: ["x"], why: "x +5", row: 3)
        closed += g.add(source: "b", destination: "d", port: "22", time: 40, score: 1, reasons: [], why: "", row: 4)
        XCTAssertTrue(closed.isEmpty)
        // 100 s after a's last flow: a new incident for a, and b (quiet since 40) closes too.
        closed += g.add(source: "a", destination: "d", port: "22", time: 130, score: 1, reasons: ["z"], why: "z", row: 5)
        XCTAssertEqual(closed.map(\.sourceIP), ["a", "b"])
        let first = closed[0]
        XCTAssertEqual(first.flows, 2)
        XCTAssertEqual(first.destinationPorts, ["22", "23"])
        XCTAssertEqual(first.firstSeen, 0)
        XCTAssertEqual(first.lastSeen, 30)
        XCTAssertEqual(first.maxScore, 5)
        XCTAssertEqual(first.maxScoreRow, 3)
        XCTAssertEqual(first.topFlowWhy, "x +5")
        XCTAssertEqual(first.topReasons().map(\.feature), ["x", "y"])
        XCTAssertEqual(first.topReasons().map(\.flows), [2, 1])
        let rest = g.finish()
        XCTAssertEqual(rest.count, 1)
        XCTAssertEqual(rest[0].flows, 1)
        XCTAssertEqual(g.incidentsOpened, 3)
        XCTAssertTrue(first.jsonLine.contains("\"dst_ports\":[22,23]"), first.jsonLine)
        XCTAssertTrue(first.jsonLine.contains("\"first_seen\":\"1970-01-01T00:00:00.000Z\""), first.jsonLine)
        XCTAssertTrue(first.jsonLine.hasPrefix("{\"schema\":\"gpu-train.incident/v1\",\"incident_id\":\"inc-"), first.jsonLine)
        XCTAssertNotEqual(first.id, rest[0].id)
    }

    func testIncidentsWithoutTimestampsJoinTheirGroup() {
        let incidents = IncidentGrouper.group([("a>d:1", .nan, 1, 2), ("a>d:2", .nan, 3, 3), ("c>[::1]:9", .nan, 1, 4)], window: 1)
        XCTAssertEqual(incidents.map(\.flows), [2, 1])
        XCTAssertEqual(incidents[1].destinationIP, "[::1]")
        XCTAssertEqual(incidents[1].destinationPorts, ["9"])
    }
}

/// The drift guard's arithmetic.
final class DriftGuardTests: XCTestCase {
    func testWarnsOnceAfterEnoughFlowsAtMoreThanThreeTimesTheCalibratedRate() {
        var g = DriftGuard(expectedRate: 0.01, modelPath: "m.safetensors")
        XCTAssertNil(g.check(flows: 999, flagged: 999), "too few flows to judge")
        XCTAssertNil(g.check(flows: 1000, flagged: 30), "3% is three times 1%, not more")
        let message = g.check(flows: 1000, flagged: 31)
        XCTAssertNotNil(message)
        XCTAssertTrue(message?.contains("3.1% of the first 1000 flows") ?? false, message ?? "")
        XCTAssertTrue(message?.contains("gpu-train update --model m.safetensors") ?? false, message ?? "")
        XCTAssertNil(g.check(flows: 5000, flagged: 5000), "once only")
        XCTAssertTrue(g.warned)
    }
}

/// The Siamese encoder's drift pairs: a flow and the nearest flow of its service from another period.
final class CrossPeriodPairTests: XCTestCase {
    func testPartnersAreOfTheSameServiceFromAnotherPeriod() {
        // Rows 0-2 in period 0, rows 3-5 in period 1; services by destination port.
        let table = FlowTable(featureNames: ["x"], values: [0, 5, 9, 1, 4, 100], labels: [0, 0, 0, 0, 0, 0],
                              scenarioNames: [String](repeating: "benign", count: 6),
                              endpoints: ["a>b:80", "a>b:53", "a>b:80", "c>b:80", "c>b:53", "c>b:22"])
        let periods = BaselinePeriods(ofRow: [0, 0, 0, 1, 1, 1], names: ["mon", "tue"])
        let partners = Trainer.crossPeriodPartners(rows: Array(0..<6), table: table, periods: periods,
                                                   features: table.values, f: 1)
        // 0 (80, mon) -> 3 (80, tue); 1 (53) -> 4; 2 (80, x=9) -> 3; 3 -> 0 (nearer than 2); 4 -> 1; 5 (22) has no partner.
        XCTAssertEqual(partners, [0: 3, 1: 4, 2: 3, 3: 0, 4: 1])
    }
}
