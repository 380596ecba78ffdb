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

/// --window-features (issue 21, part 5).
extension CLITests {
    /// The `__metadata__` of a safetensors file: after an 8-byte little-endian header length, a JSON header.
    func safetensorsMetadata(_ path: String) throws -> [String: String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as? [String: Any]
        return header?["__metadata__"] as? [String: String] ?? [:]
    }

    func testWindowFeaturesAreTrainedRecordedAndComputedByDetect() throws {
        let data = try synthData()
        let model = dir.appendingPathComponent("w/model.safetensors").path
        let trained = try run(["train", "--data", data, "--out", model, "--window-features", "on", "--backend", "cpu"])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        XCTAssertTrue(trained.stderr.contains("window features on"), trained.stderr)
        let metadata = try safetensorsMetadata(model)
        let features = try JSONDecoder().decode([String].self, from: Data((metadata["features"] ?? "").utf8))
        XCTAssertEqual(features.filter { $0.hasPrefix("Window ") }.count, 18, "\(features)")
        XCTAssertEqual(features[features.count - 18], "Window Src Flows/s 1s")
        XCTAssertEqual(features.last, "Window Svc Bytes/Flow 60s")
        XCTAssertTrue(metadata["options"]?.contains("\"windowFeatures\":true") == true)
        // detect computes them from the stream: a file and the same flows on standard input score alike.
        let malicious = URL(fileURLWithPath: data).appendingPathComponent("malicious")
        let name = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: malicious.path).first { $0.hasPrefix("reconnaissance") })
        let input = malicious.appendingPathComponent(name)
        let fromFile = dir.appendingPathComponent("file.csv").path, fromPipe = dir.appendingPathComponent("pipe.csv").path
        let a = try run(["detect", "--model", model, "--input", input.path, "--output", fromFile, "--backend", "cpu"])
        XCTAssertEqual(a.status, 0, a.stderr)
        let b = try runGPUTrain(["detect", "--model", model, "--input", "-", "--output", fromPipe, "--backend", "cpu"],
                                stdin: try Data(contentsOf: input))
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertEqual(try String(contentsOfFile: fromFile, encoding: .utf8), try String(contentsOfFile: fromPipe, encoding: .utf8))
        // evaluate and update load with the model's features, so they compute them too.
        let evaluated = try run(["evaluate", "--model", model, "--data", data, "--backend", "cpu"])
        XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
        let updated = dir.appendingPathComponent("w/updated.safetensors").path
        let update = try run(["update", "--model", model, "--baseline", input.path, "--out", updated, "--backend", "cpu"])
        XCTAssertEqual(update.status, 0, update.stderr)
        XCTAssertEqual(try safetensorsMetadata(updated)["features"], metadata["features"])
        // Resuming with the other setting is a conflict.
        let resumed = try run(["train", "--data", data, "--out", model, "--resume", model, "--window-features", "off", "--backend", "cpu"])
        XCTAssertNotEqual(resumed.status, 0)
        XCTAssertTrue(resumed.stderr.contains("--window-features off (the checkpoint has on)"), resumed.stderr)
    }

    func testCrossvalTakesWindowFeaturesAndSaysSo() throws {
        let data = try synthData()
        let json = dir.appendingPathComponent("cv.json").path
        let r = try run(["crossval", "--data", data, "--seeds", "1", "--window-features", "on", "--json", json, "--backend", "cpu"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
        XCTAssertEqual(object?["window_features"] as? Bool, true)
        let off = try run(["crossval", "--data", data, "--seeds", "1", "--json", json, "--backend", "cpu"])
        XCTAssertEqual(off.status, 0, off.stderr)
        let offObject = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
        XCTAssertEqual(offObject?["window_features"] as? Bool, false)
    }

    func testWindowFeaturesAreAskedForByTheOptionOnly() throws {
        let data = try synthData()
        let model = dir.appendingPathComponent("model.safetensors").path
        let listed = try run(["train", "--data", data, "--out", model, "--features", "Flow Duration,Window Src Flows/s 1s", "--backend", "cpu"])
        XCTAssertEqual(listed.status, 64, listed.stderr)
        XCTAssertTrue(listed.stderr.contains("--features lists window features (Window Src Flows/s 1s): they are computed, all of them "
                                             + "or none; give --window-features on instead"), listed.stderr)
        let bad = try run(["train", "--data", data, "--out", model, "--window-features", "yes", "--backend", "cpu"])
        XCTAssertEqual(bad.status, 64, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("--window-features"), bad.stderr)
        // Flows without the identifiers that group them: a clear error naming the columns.
        let bare = dir.appendingPathComponent("bare/benign/a.csv")
        try FileManager.default.createDirectory(at: bare.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("Flow Duration,Total Bwd packets,Total Length of Fwd Packet,Total Length of Bwd Packet,Label\n5,1,2,3,0\n6,1,2,3,0\n".utf8).write(to: bare)
        let missing = try run(["train", "--data", bare.deletingLastPathComponent().deletingLastPathComponent().path, "--out", model,
                               "--features", "Flow Duration", "--window-features", "on", "--backend", "cpu"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("columns this file lacks: Src IP, Dst IP, Dst Port, Timestamp"), missing.stderr)
    }
}
