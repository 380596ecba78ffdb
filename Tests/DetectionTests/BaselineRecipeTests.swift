import Backend
import FlowData
import Foundation
import Reporting
import Detection
import Siamese
import TestSupport
import XCTest

/// The baseline recipe: the memory bank, k-th-nearest scoring, the fpr threshold rule,
/// explanations, model files with their bank, and resume with best weights.
final class BaselineRecipeTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpu-train-baseline-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func baselineOptions(encoder: EncoderKind = .none) -> TrainingOptions {
        var o = TrainingOptions.defaults(for: .baseline)
        o.encoder = encoder
        // The hand-computed distances below are Euclidean; the clip has a test of its own.
        o.distanceClip = nil
        o.maliciousShots = 3
        o.epochs = 2
        o.pairsPerEpoch = 32
        o.batchSize = 8
        o.learningRate = 1e-3
        return o
    }

    /// A one-feature table whose benign values are 0, 1, ..., 9 (so leave-one-out distances are 1,
    /// except 10 flows at the ends) and whose attacks sit at 100.
    func lineTable() -> FlowTable {
        let values: [Float] = (0..<10).map(Float.init) + [100, 101, 102]
        return FlowTable(featureNames: ["x"], values: values, labels: [Int](repeating: 0, count: 10) + [1, 1, 1],
                         scenarioNames: [String](repeating: "benign", count: 10) + ["a", "a", "a"])
    }

    func testScoresAreDistancesToTheKthNearestBankFlow() throws {
        var o = baselineOptions()
        o.transform = .none
        o.k = 2
        let model = try Trainer(backend: CPUBackend(), config: smallConfig, options: o).train(table: lineTable())
        XCTAssertEqual(model.bank?.count, 10)
        XCTAssertNil(model.bank?.embeddings, "--encoder none searches the features themselves")
        let detector = try Detector(model: model, backend: CPUBackend())
        // z-scored x: the scaler's std of 0...9 is sqrt(8.25); a flow at 4.5 is 0.5 from its two
        // nearest (4 and 5), a flow at 20 is 11 and 12 from 9 and 8.
        let std = Float(8.25).squareRoot()
        let scores = try detector.scores(rawRows: [4.5, 20], count: 2)
        XCTAssertEqual(scores[0], 0.5 / std, accuracy: 1e-5)
        XCTAssertEqual(scores[1], 12 / std, accuracy: 1e-5)
        // Leave-one-out: the 2nd nearest other flow is 1 away inside, 2 away at both ends.
        let loo = try ThresholdFitting.leaveOneOutScores(bank: try XCTUnwrap(model.bank), backend: CPUBackend(), k: 2)
        XCTAssertEqual(loo.map { ($0 * std).rounded() }, [2, 1, 1, 1, 1, 1, 1, 1, 1, 2])
    }

    func testTheDefaultDistanceClipsEachFeatureAtOneUnit() throws {
        // Bank (0, 0) and (3, 0); a flow at (0.5, 5): clipped, 5 counts as 1, so (0, 0) is nearest at
        // sqrt(0.25 + 1); Euclidean it is sqrt(0.25 + 25).
        XCTAssertEqual(TrainingOptions.defaults(for: .baseline).distanceClip, 1)
        let table = FlowTable(featureNames: ["a", "b"], values: [0, 0, 3, 0, 0, 0, 3, 0, 9, 9], labels: [0, 0, 0, 0, 1],
                              scenarioNames: ["benign", "benign", "benign", "benign", "x"])
        for (clip, expected) in [(Float(1), Float(1.25).squareRoot()), (nil, Float(25.25).squareRoot())] {
            var o = TrainingOptions.defaults(for: .baseline)
            o.distanceClip = clip
            o.maliciousShots = 0
            var model = try Trainer(backend: CPUBackend(), config: smallConfig, options: o).train(table: table)
            // Identity transform, to check the arithmetic in the features' own units.
            model.scaler = Scaler(featureNames: ["a", "b"], transform: .none, fillValues: [0, 0], means: [0, 0], stds: [1, 1])
            model.bank = MemoryBank(features: [0, 0, 3, 0], featureCount: 2, embeddings: nil, dimension: 2)
            for backend in [CPUBackend() as Backend] + (openCLBackend().0.map { [$0] } ?? []) {
                let detector = try Detector(model: model, backend: backend)
                let (scores, nearest) = try detector.scoresAndNeighbors(scaledRows: [0.5, 5], count: 1)
                XCTAssertEqual(scores[0], expected, accuracy: 1e-5, "clip \(String(describing: clip)) on \(backend.name)")
                XCTAssertEqual(nearest[0], 0)
            }
        }
        // An encoder's embedding is never clipped: its units are its own.
        var siamese = TrainingOptions.defaults(for: .baseline)
        siamese.encoder = .siamese
        XCTAssertEqual(siamese.searchClip, .infinity)
        XCTAssertEqual(TrainingOptions.defaults(for: .baseline).searchClip, 1)
    }

    func testFPRThresholdFlagsAtMostThatShareOfTheBaseline() throws {
        var rng = SeededGenerator(seed: 3)
        let n = 400
        let values = (0..<(n * 3)).map { _ in rng.normal() }
        let table = FlowTable(featureNames: ["a", "b", "c"], values: values + [9, 9, 9, 8, 8, 8],
                              labels: [Int](repeating: 0, count: n) + [1, 1],
                              scenarioNames: [String](repeating: "benign", count: n) + ["x", "x"])
        for fpr in [0.01, 0.05, 0.2] {
            var o = baselineOptions()
            o.fpr = fpr
            o.maliciousShots = 2
            let model = try Trainer(backend: CPUBackend(), config: smallConfig, options: o).train(table: table)
            let detector = try Detector(model: model, backend: CPUBackend())
            // One period: calibrated on time blocks, each scored against the others.
            let (loo, method, _) = try CrossPeriodCalibration.scores(bank: try XCTUnwrap(model.bank), backend: CPUBackend(), k: o.k)
            XCTAssertEqual(method, .timeBlocks)
            XCTAssertEqual(model.calibration?.method, .timeBlocks)
            let flagged = loo.filter { Double($0) >= model.threshold }.count
            XCTAssertEqual(model.calibration?.flaggedRate ?? -1, Double(flagged) / Double(n), accuracy: 1e-12)
            // At most fpr of the baseline, and as many as that allows (ties aside): the next lower
            // cross-block score would flag too many.
            XCTAssertLessThanOrEqual(Double(flagged), fpr * Double(n) + 1e-9, "fpr \(fpr)")
            XCTAssertGreaterThanOrEqual(Double(flagged), fpr * Double(n) - 1, "fpr \(fpr)")
            // The attacks are far outside: flagged.
            XCTAssertTrue(try detector.scores(rawRows: [9, 9, 9], count: 1).allSatisfy { detector.isMalicious($0) })
        }
    }

    func testSupportF1RuleSeparatesShotsFromTheBaseline() throws {
        var o = baselineOptions()
        o.thresholdRule = .supportF1
        o.transform = .none
        let model = try Trainer(backend: CPUBackend(), config: smallConfig, options: o).train(table: lineTable())
        let detector = try Detector(model: model, backend: CPUBackend())
        // Shots are ~91 (z-units ~31.7) from the bank, the baseline 1-2 (0.35-0.7): the F1-best cut is between.
        let cross = try CrossPeriodCalibration.scores(bank: try XCTUnwrap(model.bank), backend: CPUBackend(), k: o.k).scores
        XCTAssertGreaterThan(model.threshold, Double(try XCTUnwrap(cross.max())))
        XCTAssertTrue(try detector.scores(rawRows: [100], count: 1).allSatisfy { detector.isMalicious($0) })
    }

    func testExplanationNamesTheFeaturesThatDifferFromTheNearestBaselineFlow() throws {
        let values: [Float] = [0, 0, 0, 1, 1, 1, 0, 5, 0, 9, 9, 9]
        let table = FlowTable(featureNames: ["a", "b", "c"], values: values, labels: [0, 0, 0, 1],
                              scenarioNames: ["benign", "benign", "benign", "x"])
        var o = baselineOptions()
        o.transform = .none
        o.maliciousShots = 1
        let model = try Trainer(backend: CPUBackend(), config: smallConfig, options: o).train(table: table)
        let detector = try Detector(model: model, backend: CPUBackend())
        // A flow at (1, 1, 4): nearest is (1, 1, 1); it differs in c only, upwards.
        let raw: [Float] = [1, 1, 4]
        let scaled = model.scaler.scale(values: raw)
        let (scores, nearest) = try detector.scoresAndNeighbors(scaledRows: scaled, count: 1)
        XCTAssertEqual(nearest, [1])
        let why = detector.explanation(scaledRow: scaled[0..<3], nearest: nearest[0])
        XCTAssertEqual(why.map(\.feature), ["c"])
        let cScale = model.scaler.stds[2]
        XCTAssertEqual(why[0].deviation, 3 / cScale, accuracy: 1e-5)
        XCTAssertEqual(scores[0], 3 / cScale, accuracy: 1e-5)
        XCTAssertEqual(detector.explanationText(scaledRow: scaled[0..<3], nearest: nearest[0]),
                       String(format: "c %+.1f", 3 / cScale))
        // A flow equal to a baseline flow has nothing to explain.
        let same = model.scaler.scale(values: [0, 5, 0])
        XCTAssertEqual(detector.explanationText(scaledRow: same[0..<3], nearest: 2), "")
    }

    func testModelRoundTripKeepsTheBankAndScoresIdentically() throws {
        let table = syntheticTable(benign: 60, malicious: 12)
        for encoder in [EncoderKind.none, .siamese] {
            var config = smallConfig
            config.loss = .contrastive
            let model = try Trainer(backend: CPUBackend(), config: config, options: baselineOptions(encoder: encoder)).train(table: table)
            let url = dir.appendingPathComponent("\(encoder.rawValue).safetensors")
            try model.write(to: url)
            let back = try TrainedModel.read(url)
            XCTAssertEqual(back.bank?.features, model.bank?.features)
            XCTAssertEqual(back.bank?.embeddings, model.bank?.embeddings)
            XCTAssertEqual(back.scaler, model.scaler)
            XCTAssertEqual(back.options, model.options)
            XCTAssertEqual(back.threshold, model.threshold)
            XCTAssertEqual(back.bank?.count, 60)
            XCTAssertEqual(back.bank?.embeddings?.count, encoder == .siamese ? 60 * 32 : nil)
            let test = syntheticTable(benign: 20, malicious: 5, seed: 99)
            let s1 = try Detector(model: model, backend: CPUBackend()).scores(test)
            let s2 = try Detector(model: back, backend: CPUBackend()).scores(test)
            XCTAssertEqual(s1.map(\.bitPattern), s2.map(\.bitPattern), encoder.rawValue)
            // The inference-only copy scores the same and carries no optimizer state.
            let lean = dir.appendingPathComponent("lean.safetensors")
            try model.inferenceOnly().write(to: lean)
            let leanModel = try TrainedModel.read(lean)
            XCTAssertFalse(leanModel.tensors.keys.contains { $0.hasPrefix("adam.") })
            XCTAssertEqual(try Detector(model: leanModel, backend: CPUBackend()).scores(test).map(\.bitPattern), s1.map(\.bitPattern))
        }
    }

    func testABankWithNaNOrAMissingBankIsRefused() throws {
        let model = try Trainer(backend: CPUBackend(), config: smallConfig, options: baselineOptions()).train(table: lineTable())
        func message(_ edit: (inout TrainedModel) -> Void) throws -> String {
            var m = model
            edit(&m)
            let file = try SafeTensors.decode(try m.encoded(), path: "m.safetensors")
            do { _ = try TrainedModel.decode(file, path: "m.safetensors"); return "no error" } catch { return "\(error)" }
        }
        XCTAssertEqual(try message { _ in }, "no error")
        XCTAssertTrue(try message { $0.bank?.features[3] = .nan }.contains("bank.features holds NaN"))
        XCTAssertTrue(try message { $0.bank = nil }.contains("memory bank"))
        XCTAssertTrue(try message { $0.threshold = -1 }.contains("threshold"))
        XCTAssertTrue(try message { $0.scaler.stds[0] = -1 }.contains("scaler"))
        XCTAssertTrue(try message { $0.support.features = $0.support.features.map { _ in .nan } }.contains("support set"))
    }

    /// Issue 13: a resumed run restores the same best weights as an uninterrupted one, even when
    /// the best epoch came before the checkpoint it resumed from.
    func testResumeAfterTheBestEpochIsBitIdentical() throws {
        let table = syntheticTable(benign: 40, malicious: 16)
        // A high learning rate, so that validation loss peaks early for some seed and then
        // worsens; which seed does depends on the convolution path's rounding, so the test looks
        // for one (the case the issue reported: the best epoch lies before the checkpoint).
        for seed: UInt64 in 1...8 {
            var o = quickOptions(epochs: 8)
            o.learningRate = 0.03
            o.seed = seed
            o.checkpointInterval = 0
            o.benignShots = 12
            o.maliciousShots = 6
            // The uninterrupted run, its checkpoint after every epoch copied aside, as if the run
            // had been killed right after writing it.
            let url = dir.appendingPathComponent("c\(seed).safetensors")
            var checkpoints = 0
            let straight = try Trainer(backend: CPUBackend(), config: smallConfig, options: o).train(table: table, checkpoint: url) { event in
                if case .checkpoint = event {
                    checkpoints += 1
                    try? FileManager.default.copyItem(at: url, to: self.dir.appendingPathComponent("s\(seed)-e\(checkpoints).safetensors"))
                }
            }
            let best = straight.history.min { ($0.valLoss ?? .infinity) < ($1.valLoss ?? .infinity) }?.epoch ?? 8
            guard best <= 6 else { continue }
            let killedAfter = best + 1
            let checkpoint = try TrainedModel.read(dir.appendingPathComponent("s\(seed)-e\(killedAfter).safetensors"))
            XCTAssertEqual(checkpoint.epochsCompleted, killedAfter)
            XCTAssertEqual(checkpoint.bestEpoch, best)
            let resumed = try Trainer(backend: CPUBackend(), config: smallConfig, options: o)
                .train(table: table, resume: checkpoint, checkpoint: dir.appendingPathComponent("resumed.safetensors"))
            XCTAssertEqual(resumed.history.map { $0.valLoss?.bitPattern }, straight.history.map { $0.valLoss?.bitPattern })
            for (name, t) in straight.tensors where !name.hasPrefix("adam.") {
                XCTAssertEqual(resumed.tensors[name]?.values.map(\.bitPattern), t.values.map(\.bitPattern), name)
            }
            XCTAssertEqual(resumed.threshold, straight.threshold)
            return
        }
        XCTFail("no seed peaked before its last checkpoint; the test could not exercise the case")
    }
}
