import Backend
import Detection
import FlowData
import Foundation
import Siamese
import TestSupport
import XCTest

/// Issue 20, items 7 and 15: a nearly constant baseline feature, a huge flow value or a model file
/// with huge stored values never make a score infinite, and the CPU and OpenCL backends agree.
final class SaturationTests: XCTestCase {
    /// 40 benign flows where feature a is nearly constant (1 and the next Float up), b varies;
    /// then 2 attacks.
    func nearlyConstantTable() -> FlowTable {
        var values: [Float] = [], labels: [Int] = [], names: [String] = []
        for i in 0..<40 {
            values += [i == 0 ? Float(1).nextUp : 1, Float(i % 7)]
            labels.append(0); names.append("benign")
        }
        values += [1, 50, 1, 60]
        labels += [1, 1]; names += ["x", "x"]
        return FlowTable(featureNames: ["a", "b"], values: values, labels: labels, scenarioNames: names)
    }

    func backends() -> [Backend] {
        let (cl, why) = openCLBackend()
        if cl == nil { print("OpenCL not compared: \(why)") }
        return [CPUBackend() as Backend] + (cl.map { [$0] } ?? [])
    }

    func testFitFloorsTheSpreadAndScaleSaturates() throws {
        let scaler = try Scaler.fit(nearlyConstantTable(), rows: Array(0..<40), transform: .none)
        XCTAssertGreaterThanOrEqual(scaler.stds[0], Scaler.spreadFloor(mean: scaler.means[0]))
        let z = scaler.scale(values: [1e37, 3, -1e37, 3, .infinity, 3])
        XCTAssert(z.allSatisfy { $0.isFinite && abs($0) <= Scaler.saturation }, "\(z)")
        XCTAssertEqual(z[0], Scaler.saturation)
        XCTAssertEqual(z[2], -Scaler.saturation)
        // A spread of 1e-45 in a scaler built by hand (or an older model file) is floored too.
        let tiny = Scaler(featureNames: ["a"], transform: .none, fillValues: [0], means: [0], stds: [1e-45])
        XCTAssertEqual(tiny.scale(values: [2])[0], Scaler.saturation)
        XCTAssertEqual(tiny.scale(values: [0])[0], 0)
    }

    func testAHugeValueOnANearlyConstantFeatureScoresFinitelyAndAlikeOnBothBackends() throws {
        for clip in [Float(1), nil] {
            var o = TrainingOptions.defaults(for: .baseline)
            o.transform = .none
            o.maliciousShots = 0
            o.distanceClip = clip
            let model = try Trainer(backend: CPUBackend(), config: smallConfig, options: o).train(table: nearlyConstantTable())
            let raw: [Float] = [1e37, 3, 1, 3]
            var scores: [[Float]] = []
            for backend in backends() {
                let detector = try Detector(model: model, backend: backend)
                let s = try detector.scores(rawRows: raw, count: 2)
                XCTAssert(s.allSatisfy { $0.isFinite }, "\(s) on \(backend.name)")
                XCTAssert(detector.isMalicious(s[0]), "\(s[0]) against \(model.threshold) on \(backend.name)")
                XCTAssertFalse(detector.isMalicious(s[1]), "\(s[1]) on \(backend.name)")
                scores.append(s)
            }
            if scores.count == 2 {
                for (c, g) in zip(scores[0], scores[1]) { XCTAssertEqual(c, g, accuracy: 1e-3 * max(1, abs(c))) }
            }
        }
    }

    func testAModelWithASpreadNear0ScoresAlikeOnBothBackends() throws {
        var o = TrainingOptions.defaults(for: .baseline)
        o.transform = .none
        o.maliciousShots = 0
        var model = try Trainer(backend: CPUBackend(), config: smallConfig, options: o).train(table: nearlyConstantTable())
        model.scaler.stds[0] = 1e-45
        var scores: [[Float]] = []
        for backend in backends() {
            let detector = try Detector(model: model, backend: backend)
            let s = try detector.scores(rawRows: [2, 3, 1, 3], count: 2)
            XCTAssert(s.allSatisfy { $0.isFinite }, "\(s) on \(backend.name)")
            XCTAssert(detector.isMalicious(s[0]), "\(s[0]) on \(backend.name)")
            scores.append(s)
        }
        if scores.count == 2 {
            for (c, g) in zip(scores[0], scores[1]) { XCTAssertEqual(c, g, accuracy: 1e-3 * max(1, abs(c))) }
        }
    }

    func testAModelWhoseBankIsBeyondTheTransformsRangeIsRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpu-train-saturation-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var o = TrainingOptions.defaults(for: .baseline)
        o.maliciousShots = 0
        var model = try Trainer(backend: CPUBackend(), config: smallConfig, options: o).train(table: nearlyConstantTable())
        let bank = try XCTUnwrap(model.bank)
        model.bank = MemoryBank(features: [Float](repeating: 3e38, count: bank.features.count), featureCount: 2, embeddings: nil,
                                dimension: 2, periods: bank.periods, periodNames: bank.periodNames)
        let url = dir.appendingPathComponent("m.safetensors")
        try model.write(to: url)
        XCTAssertThrowsError(try TrainedModel.read(url)) { error in
            XCTAssert("\(error)".contains("bank.features holds values beyond"), "\(error)")
        }
    }
}
