import Backend
import FlowData
import Foundation
import Reporting
import Detection
import Siamese
import TestSupport
import XCTest

final class TrainerTests: XCTestCase {
    func testPairsFollowTheOriginalWork() {
        let support = SupportSet(features: [Float](repeating: 0, count: 5 * 27), malicious: [false, false, false, true, true],
                                 scenarios: ["benign", "benign", "benign", "a", "b"], featureCount: 27)
        let pairs = support.pairs(includeMaliciousPairs: false)
        XCTAssertEqual(pairs.filter { $0.label == 1 }.count, 3)  // C(3,2) benign-benign
        XCTAssertEqual(pairs.filter { $0.label == 0 }.count, 6)  // 3 x 2 benign-malicious
        XCTAssertEqual(support.pairs(includeMaliciousPairs: true).filter { $0.label == 1 }.count, 4)
    }

    func testStratifiedSplitKeepsBothKinds() {
        let pairs = (0..<45).map { Pair(left: $0, right: $0 + 1, label: 1) } + (0..<50).map { Pair(left: $0, right: $0 + 2, label: 0) }
        let (train, val) = stratifiedSplit(pairs, validationFraction: 0.2, seed: 3)
        XCTAssertEqual(val.filter { $0.label == 1 }.count, 9)
        XCTAssertEqual(val.filter { $0.label == 0 }.count, 10)
        XCTAssertEqual(train.count + val.count, pairs.count)
        XCTAssertEqual(Set(train.map { "\($0.left)-\($0.right)-\($0.label)" }).intersection(val.map { "\($0.left)-\($0.right)-\($0.label)" }).count, 0)
    }

    /// Same seed, same backend: the same loss curve, bit for bit, on the CPU.
    func testSameSeedSameCurveBitForBit() throws {
        let table = syntheticTable()
        func run() throws -> [EpochRecord] {
            try Trainer(backend: CPUBackend(), config: smallConfig, options: quickOptions()).train(table: table).history
        }
        let a = try run(), b = try run()
        XCTAssertEqual(a.map { $0.loss.bitPattern }, b.map { $0.loss.bitPattern })
        XCTAssertEqual(a.map { $0.valLoss?.bitPattern }, b.map { $0.valLoss?.bitPattern })
        var other = quickOptions()
        other.seed = 43
        let c = try Trainer(backend: CPUBackend(), config: smallConfig, options: other).train(table: table).history
        XCTAssertNotEqual(a.map(\.loss), c.map(\.loss), "another seed should give another curve")
    }

    func testTrainingLearnsSeparableData() throws {
        var options = quickOptions(epochs: 15)
        options.learningRate = 3e-3
        let table = syntheticTable()
        let model = try Trainer(backend: CPUBackend(), config: smallConfig, options: options).train(table: table)
        XCTAssertLessThan(model.history.last!.loss, model.history.first!.loss)
        let scores = try Detector(model: model, backend: CPUBackend()).scores(table)
        let metrics = try BinaryMetrics(scores: scores, labels: (0..<table.rowCount).map { table.isMalicious($0) })
        XCTAssertGreaterThan(metrics.rocAUC ?? 0, 0.9, "a clearly separable toy problem")
    }

    /// CPU and OpenCL backends from the same initial weights agree over the first Adam steps.
    func testCPUAndOpenCLAgreeOverFirstSteps() throws {
        let (cl, why) = openCLBackend()
        guard let cl else { throw XCTSkip("no OpenCL device: \(why)") }
        let cpu = CPUBackend()
        for loss in [LossKind.bce, .contrastive] {
            var config = smallConfig
            config.loss = loss
            let a = try SiameseNetwork(backend: cpu, config: config), b = try SiameseNetwork(backend: cl, config: config)
            try a.initialize(seed: 5)
            try b.initialize(seed: 5)
            var r = TestRandom(seed: 11)
            let h = AdamHyperparameters(learningRate: 1e-3)
            for step in 1...4 {
                let left = r.uniform(4 * 1024, -2, 2), right = r.uniform(4 * 1024, -2, 2), labels: [Float] = [1, 0, 1, 0]
                let la = try a.trainStep(left: left, right: right, labels: labels, optimizer: h)
                let lb = try b.trainStep(left: left, right: right, labels: labels, optimizer: h)
                // float32 sums in another order: losses agree to ~1e-5 relative.
                XCTAssertEqual(la.loss, lb.loss, accuracy: 1e-4 * max(1, abs(la.loss)), "\(loss) step \(step)")
            }
            // After 4 Adam steps of lr 1e-3 the weights differ by rounding only; Adam's
            // m/sqrt(v) amplifies tiny gradient differences where v is ~0, hence abs 1e-4.
            for (pa, pb) in zip(a.parameters, b.parameters) {
                let c = compare(try cl.download(pb.value), try cpu.download(pa.value), Tolerance(absolute: 1e-4, relative: 1e-3))
                XCTAssert(c.passed, "\(loss) \(pa.name): \(c)")
            }
        }
    }
}

final class DivergenceTests: XCTestCase {
    /// A NaN or infinite loss stops training with a clear error and leaves the checkpoint alone.
    func testDivergenceStopsAndKeepsTheCheckpoint() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpu-train-nan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("m.safetensors")
        let good = try Trainer(backend: CPUBackend(), config: smallConfig, options: quickOptions(epochs: 1))
            .train(table: syntheticTable(), checkpoint: url)
        let before = try Data(contentsOf: url)
        var wild = quickOptions(epochs: 5)
        wild.learningRate = 1e30
        wild.checkpointInterval = 0
        XCTAssertThrowsError(try Trainer(backend: CPUBackend(), config: smallConfig, options: wild)
            .train(table: syntheticTable(), resume: good, checkpoint: url)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("training diverged") && text.contains("--lr"), text)
        }
        // Whatever was written before the loss went bad is a readable model with finite weights.
        let after = try TrainedModel.read(url)
        XCTAssertTrue(after.tensors.values.allSatisfy { $0.values.allSatisfy(\.isFinite) })
        XCTAssertFalse(before.isEmpty)
    }
}

final class InferenceNetworkTests: XCTestCase {
    func testInferenceNetworkHasNoTrainingStateAndRefusesToTrain() throws {
        let net = try SiameseNetwork(backend: CPUBackend(), config: smallConfig, training: false)
        XCTAssertFalse(net.parameters.contains { $0.hasTrainingState })
        XCTAssertThrowsError(try net.trainStep(left: [Float](repeating: 0, count: 1024), right: [Float](repeating: 0, count: 1024),
                                               labels: [1], optimizer: AdamHyperparameters()))
        XCTAssertEqual(try net.embed(images: [Float](repeating: 0.5, count: 2048), count: 2).count, 2 * smallConfig.embedding)
    }
}
