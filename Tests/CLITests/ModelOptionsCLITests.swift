import Foundation
import XCTest

/// Options accepted and ignored, files written where they do harm, and messages without a way
/// out (issue 20, items 14, 18, 22, 25, 26).
extension CLITests {
    func synthData(_ name: String = "flows", seed: Int = 3) throws -> String {
        let data = dir.appendingPathComponent(name).path
        let r = try run(["synth", "--out", data, "--seed", "\(seed)"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return data
    }

    func testEncoderNoneWritesNoHistoryOrCurves() throws {
        let data = try synthData()
        let model = dir.appendingPathComponent("m/model.safetensors").path
        let r = try run(["train", "--data", data, "--out", model, "--backend", "cpu"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("m").path), ["model.safetensors"])
        XCTAssertFalse(r.stdout.contains("history:") || r.stdout.contains("curves:"), r.stdout)
    }

    func testHistoryIsNotWrittenIntoTheDataFolderAndTheNextRunWorks() throws {
        let data = try synthData()
        let model = dir.appendingPathComponent("flows/model.safetensors").path
        for _ in 0..<2 {
            let r = try run(["train", "--data", data, "--out", model] + tiny)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stderr.contains("history.csv not written"), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("flows/history.csv").path))
        }
        // Elsewhere it is written as before.
        let other = dir.appendingPathComponent("out/model.safetensors").path
        XCTAssertEqual(try run(["train", "--data", data, "--out", other] + tiny).status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out/history.csv").path))
    }

    func testOptionsThatWouldBeIgnoredAreRefused() throws {
        let data = try synthData()
        let model = dir.appendingPathComponent("model.safetensors").path
        XCTAssertEqual(try run(["train", "--data", data, "--out", model, "--backend", "cpu"]).status, 0)
        let score = try run(["evaluate", "--model", model, "--data", data, "--score", "benign-max", "--backend", "cpu"])
        XCTAssertNotEqual(score.status, 0)
        XCTAssertTrue(score.stderr.contains("--score benign-max is not used by a baseline-recipe model"), score.stderr)

        let device = try run(["evaluate", "--model", model, "--data", data, "--backend", "cpu", "--device", "0"])
        XCTAssertEqual(device.status, 64, device.stderr)
        XCTAssertTrue(device.stderr.contains("--backend cpu uses none"), device.stderr)

        let conv = try runGPUTrain(["evaluate", "--model", model, "--data", data, "--backend", "cpu"],
                                   environment: ["GPU_TRAIN_CPU_CONV": "bogus"])
        XCTAssertNotEqual(conv.status, 0)
        XCTAssertTrue(conv.stderr.contains("GPU_TRAIN_CPU_CONV") && conv.stderr.contains("direct, im2col, winograd"), conv.stderr)
        let neighbors = try runGPUTrain(["evaluate", "--model", model, "--data", data, "--backend", "cpu"],
                                        environment: ["GPU_TRAIN_CPU_NEIGHBORS": "fast"])
        XCTAssertNotEqual(neighbors.status, 0)
        XCTAssertTrue(neighbors.stderr.contains("GPU_TRAIN_CPU_NEIGHBORS") && neighbors.stderr.contains("direct or gemm"), neighbors.stderr)
        // Either search gives the same scores: the evaluation's output is the same, byte for byte.
        let direct = try runGPUTrain(["evaluate", "--model", model, "--data", data, "--backend", "cpu"],
                                     environment: ["GPU_TRAIN_CPU_NEIGHBORS": "direct"])
        let gemm = try runGPUTrain(["evaluate", "--model", model, "--data", data, "--backend", "cpu"],
                                   environment: ["GPU_TRAIN_CPU_NEIGHBORS": "gemm"])
        XCTAssertEqual(direct.status, 0, direct.stderr)
        XCTAssertEqual(direct.stdout, gemm.stdout)

        let siamese = dir.appendingPathComponent("s/model.safetensors").path
        XCTAssertEqual(try run(["train", "--data", data, "--out", siamese] + tiny).status, 0)
        let fewer = try run(["train", "--data", data, "--out", siamese, "--resume", siamese, "--epochs", "2", "--backend", "cpu"])
        XCTAssertNotEqual(fewer.status, 0)
        XCTAssertTrue(fewer.stderr.contains("--epochs 2 is below the 3 epochs"), fewer.stderr)
    }

    func testResumeOnOtherDataIsRefused() throws {
        let data = try synthData()
        let other = try synthData("other", seed: 4)
        let model = dir.appendingPathComponent("model.safetensors").path
        let first = try run(["train", "--data", data, "--out", model] + tiny)
        XCTAssertEqual(first.status, 0, first.stderr)
        // The epoch line says how fast pairs went (make demo shows it).
        XCTAssertNotNil(first.stderr.range(of: #"epoch 3/3  loss .* [0-9]+ pairs/s"#, options: .regularExpression), first.stderr)
        let r = try run(["train", "--data", other, "--out", model, "--resume", model, "--epochs", "4", "--backend", "cpu"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--resume continues a run on the data it was started with"), r.stderr)
        let same = try run(["train", "--data", data, "--out", model, "--resume", model, "--epochs", "4", "--backend", "cpu"])
        XCTAssertEqual(same.status, 0, same.stderr)
    }

    func testABaselineWithoutAttacksSuggestsNoShots() throws {
        let data = try synthData()
        let benign = dir.appendingPathComponent("flows/benign").path
        let model = dir.appendingPathComponent("model.safetensors").path
        let r = try run(["train", "--data", benign, "--out", model, "--malicious-shots", "5", "--backend", "cpu"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("train with --malicious-shots 0"), r.stderr)
        XCTAssertEqual(try run(["train", "--data", benign, "--out", model, "--malicious-shots", "0", "--backend", "cpu"]).status, 0)
        _ = data
    }

    func testConvertTakesTheQuantileTransform() throws {
        let data = try synthData()
        let out = dir.appendingPathComponent("images").path
        let r = try run(["convert", "--data", data, "--out", out, "--transform", "quantile", "--count", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let bad = try run(["convert", "--data", data, "--out", out, "--transform", "cube"])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("quantile"), bad.stderr)
    }
}

/// Metrics that cannot be computed say why, and train can measure normal traffic it never saw
/// (issue 20, item 24).
extension CLITests {
    func testEvaluateOnTheTrainingDataSaysWhyMetricsAreUndefined() throws {
        let data = try synthData()
        let model = dir.appendingPathComponent("model.safetensors").path
        XCTAssertEqual(try run(["train", "--data", data, "--out", model, "--backend", "cpu"]).status, 0)
        let r = try run(["evaluate", "--model", model, "--data", data, "--backend", "cpu"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("false_positive_rate undefined: no benign flow was scored ("), r.stderr)
        XCTAssertTrue(r.stderr.contains("auc undefined: every scored flow is malicious"), r.stderr)
        XCTAssertTrue(r.stderr.contains("--include-support"), r.stderr)
    }

    func testHoldoutFractionMeasuresTheLatestBenignFlows() throws {
        let data = try synthData()
        let model = dir.appendingPathComponent("model.safetensors").path
        let r = try run(["train", "--data", data, "--out", model, "--holdout-fraction", "0.25", "--backend", "cpu"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("held out: the latest") && r.stdout.contains("false_positive_rate"), r.stdout)
        // The held-out flows are not in the bank: evaluate now scores benign flows.
        let e = try run(["evaluate", "--model", model, "--data", data, "--backend", "cpu"])
        XCTAssertFalse(e.stderr.contains("false_positive_rate undefined"), e.stderr)
        let bad = try run(["train", "--data", data, "--out", model, "--holdout-fraction", "1", "--backend", "cpu"])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("--holdout-fraction must be in (0, 1), got 1.0"), bad.stderr)
    }
}

/// The option table (ModelOptionSpec) keeps every message of the options it describes.
extension CLITests {
    func testUnusedOptionsAndResumeConflictsKeepTheirMessages() throws {
        let data = try synthData()
        let model = dir.appendingPathComponent("model.safetensors").path
        let none = try run(["train", "--data", data, "--out", model, "--benign-shots", "4", "--epochs", "3", "--backend", "cpu"])
        XCTAssertEqual(none.status, 64, none.stderr)
        XCTAssertTrue(none.stderr.contains("not used by --recipe baseline --encoder none: --benign-shots (the baseline recipe uses every "
                                           + "benign flow), --epochs (--encoder none trains no network)"), none.stderr)
        let seed = try run(["train", "--data", data, "--out", model, "--recipe", "seed", "--k", "3", "--clip", "2", "--backend", "cpu"])
        XCTAssertEqual(seed.status, 64, seed.stderr)
        XCTAssertTrue(seed.stderr.contains("not used by --recipe seed: --k, --clip"), seed.stderr)
        let siamese = try run(["train", "--data", data, "--out", model, "--clip", "2"] + tiny)
        XCTAssertTrue(siamese.stderr.contains("--clip (it clips transformed features; the encoder's embedding has its own units)"), siamese.stderr)
        XCTAssertEqual(try run(["train", "--data", data, "--out", model] + tiny).status, 0)
        let changed = try run(["train", "--data", data, "--out", model, "--resume", model, "--epochs", "4", "--fpr", "0.2", "--seed", "9",
                               "--backend", "cpu"])
        XCTAssertNotEqual(changed.status, 0)
        XCTAssertTrue(changed.stderr.contains("--seed 9 (the checkpoint has 42)") && changed.stderr.contains("--fpr 0.2 (the checkpoint has 0.01)"),
                      changed.stderr)
        let bad = try run(["train", "--data", data, "--out", model, "--fpr", "1", "--backend", "cpu"])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("--fpr must be in (0, 1), got 1.0"), bad.stderr)
    }
}
