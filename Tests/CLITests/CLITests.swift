import Foundation
import TestSupport
import XCTest

/// End-to-end tests of the gpu-train command, run as a user would run it.
final class CLITests: XCTestCase {
    /// The gpu-train executable in the products folder that holds the test bundle.
    static var binary: URL {
        var url = Bundle(for: CLITests.self).bundleURL
        for _ in 0..<2 {
            let candidate = url.appendingPathComponent("gpu-train")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            url = url.deletingLastPathComponent()
        }
        return Bundle(for: CLITests.self).bundleURL.appendingPathComponent("gpu-train")
    }

    var dir: URL!

    override func setUpWithError() throws {
        // swift test builds the executable; its absence is a failure, never a silent skip.
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: Self.binary.path), "gpu-train is not built at \(Self.binary.path)")
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpu-train-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(at: dir) } }

    typealias Result = CLIResult

    @discardableResult
    func run(_ args: [String], stdin: Data? = nil) throws -> Result { try runGPUTrain(args, stdin: stdin) }

    /// A small Siamese encoder on the baseline recipe: a few seconds per run.
    let tiny = ["--encoder", "siamese", "--pairs-per-epoch", "64", "--batch-size", "16", "--patience", "0",
                "--channels", "4,8,8,16", "--embedding", "32", "--epochs", "3", "--lr", "1e-3", "--backend", "cpu"]

    func testDevicesListsTheCPUBackend() throws {
        let r = try run(["devices"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("CPU backend"), r.stdout)
        XCTAssertFalse(r.stdout.contains("OpenBLAS OpenBLAS"), r.stdout)
    }

    /// --tuning-file: refused beside --backend cpu; a file that is not tune-gemm JSON stops the
    /// command with an error naming the file, whichever backend auto would pick.
    func testTuningFileIsCheckedAndNamedInErrors() throws {
        let data = dir.appendingPathComponent("flows")
        XCTAssertEqual(try run(["synth", "--out", data.path, "--benign", "20", "--seed", "1"]).status, 0)
        let bad = dir.appendingPathComponent("sweep.json")
        try Data("{\"device\": \"x\"".utf8).write(to: bad)
        // tiny ends with --backend cpu.
        let trainArguments = ["train", "--data", data.path, "--out", dir.appendingPathComponent("model").path,
                              "--tuning-file", bad.path] + tiny.dropLast(2)
        let cpu = try run(trainArguments + ["--backend", "cpu"])
        XCTAssertEqual(cpu.status, 64, cpu.stderr)
        XCTAssertTrue(cpu.stderr.contains("--backend cpu runs none"), cpu.stderr)
        let auto = try run(trainArguments)
        XCTAssertNotEqual(auto.status, 0, auto.stderr)
        XCTAssertTrue(auto.stderr.contains("tuning file: \(bad.path): not JSON"), auto.stderr)
    }

    /// The help and the check agree: at least 5 repeats, fewer only with --quick (refused at parse
    /// time, before any backend is made).
    func testBenchRefusesFewerThanFiveRepeatsWithoutQuick() throws {
        let r = try run(["bench", "--repeats", "4", "--backend", "opencl", "--device", "no-such-device"])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("--repeats must be at least 5"), r.stderr)
        let help = try run(["bench", "--help"]).stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        XCTAssertTrue(help.contains("(at least 5; with --quick, at least 1)"), help)
    }

    /// The detector's bench options: contradictions and bad sizes refused at parse time; the
    /// reference data written (and nothing measured) with --detector-data; a detector-only quick run.
    func testBenchDetectorOptions() throws {
        let both = try run(["bench", "--quick", "--repeats", "1", "--detector-only", "--no-detector"])
        XCTAssertEqual(both.status, 64, both.stderr)
        XCTAssertTrue(both.stderr.contains("--detector-only and --no-detector exclude each other"), both.stderr)
        let bad = try run(["bench", "--quick", "--repeats", "1", "--bank-sizes", "2000,abc"])
        XCTAssertEqual(bad.status, 64, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("'abc' is not a bank size"), bad.stderr)
        let unused = try run(["bench", "--no-detector", "--bank-sizes", "2000"])
        XCTAssertEqual(unused.status, 64, unused.stderr)

        let data = dir.appendingPathComponent("knn")
        let written = try run(["bench", "--bank-sizes", "300,700", "--detector-queries", "40", "--detector-data", data.path])
        XCTAssertEqual(written.status, 0, written.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: data.path).sorted(),
                       ["bank_300.npy", "bank_700.npy", "manifest.json", "queries.npy"])
        XCTAssertFalse(written.stdout.contains("gpu-train bench"), "nothing measured: \(written.stdout)")

        let json = dir.appendingPathComponent("bench.json")
        let r = try run(["bench", "--quick", "--repeats", "1", "--backend", "cpu", "--detector-only", "--bank-sizes", "300",
                         "--detector-queries", "60", "--json", json.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("== detector"), r.stdout)
        XCTAssertFalse(r.stdout.contains("== backend cpu"), "no network figures: \(r.stdout)")
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any])
        XCTAssertEqual(doc["parts"] as? [String], ["detector"])
        XCTAssertEqual((doc["detector"] as? [String: Any])?["bank_sizes"] as? [Int], [300])
    }

    /// synth never replaces a README.md or CSV it would change (refused before anything is
    /// written) unless --force; the same command again is no loss and succeeds.
    func testSynthRefusesToReplaceFilesItWouldChangeUnlessForced() throws {
        let data = dir.appendingPathComponent("flows")
        XCTAssertEqual(try run(["synth", "--out", data.path, "--benign", "20", "--seed", "1"]).status, 0)
        XCTAssertEqual(try run(["synth", "--out", data.path, "--benign", "20", "--seed", "1"]).status, 0, "same files again")
        let readme = data.appendingPathComponent("README.md")
        let benign = data.appendingPathComponent("benign").appendingPathComponent(
            try FileManager.default.contentsOfDirectory(atPath: data.appendingPathComponent("benign").path)[0])
        let before = try Data(contentsOf: benign)
        try "my own notes\n".write(to: readme, atomically: true, encoding: .utf8)
        let refused = try run(["synth", "--out", data.path, "--benign", "20", "--seed", "2"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("README.md") && refused.stderr.contains("--force"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("background_traffic_"), refused.stderr)
        XCTAssertEqual(try String(contentsOf: readme, encoding: .utf8), "my own notes\n")
        XCTAssertEqual(try Data(contentsOf: benign), before, "nothing is written")
        let forced = try run(["synth", "--out", data.path, "--benign", "20", "--seed", "2", "--force"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertTrue(try String(contentsOf: readme, encoding: .utf8).contains("--seed 2"))
        XCTAssertNotEqual(try Data(contentsOf: benign), before)
    }

    func testSynthTrainEvaluateDetectReport() throws {
        let data = dir.appendingPathComponent("flows").path
        XCTAssertEqual(try run(["synth", "--out", data, "--seed", "3"]).status, 0)
        let model = dir.appendingPathComponent("model.safetensors").path
        let train = try run(["train", "--data", data, "--out", model] + tiny)
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertTrue(train.stderr.contains("epoch 3/3"), train.stderr)
        for name in ["model.safetensors", "history.csv", "curves.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path), name)
        }
        let history = try String(contentsOf: dir.appendingPathComponent("history.csv"), encoding: .utf8)
        XCTAssertEqual(history.split(separator: "\n").count, 4, history)

        let json = dir.appendingPathComponent("eval.json").path
        let roc = dir.appendingPathComponent("roc.svg").path
        let eval = try run(["evaluate", "--model", model, "--data", data, "--json", json, "--roc", roc, "--backend", "cpu"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let keys = Set((try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as! [String: Any]).keys)
        XCTAssertEqual(keys, ["flows", "auc", "pr_auc", "threshold", "precision", "recall", "f1", "accuracy", "confusion", "scenarios",
                             "false_positive_rate"])

        let csv = dir.appendingPathComponent("flows/malicious").path
        let file = try FileManager.default.contentsOfDirectory(atPath: csv).sorted().first!
        let input = "\(csv)/\(file)"
        let detected = try run(["detect", "--model", model, "--input", input, "--backend", "cpu"])
        XCTAssertEqual(detected.status, 0, detected.stderr)
        let rows = detected.stdout.split(separator: "\n")
        let inputRows = try String(contentsOfFile: input, encoding: .utf8).split(separator: "\n").count
        XCTAssertEqual(rows.count, inputRows, "one output row per flow plus the header")
        XCTAssertEqual(rows.first, "row,Flow ID,Src IP,Src Port,Dst IP,Dst Port,Timestamp,Protocol,score,verdict,why,severity,new_edge")

        // The same through stdin, written to a file in a folder that does not exist yet: every
        // command creates a missing output folder, as train does.
        let outFile = dir.appendingPathComponent("new/folder/scores.csv").path
        let piped = try run(["detect", "--model", model, "--input", "-", "--output", outFile, "--backend", "cpu"],
                            stdin: try Data(contentsOf: URL(fileURLWithPath: input)))
        XCTAssertEqual(piped.status, 0, piped.stderr)
        XCTAssertEqual(try String(contentsOfFile: outFile, encoding: .utf8), detected.stdout)

        let html = dir.appendingPathComponent("reports/report.html").path
        let report = try run(["report", "--model", model, "--data", data, "--out", html, "--backend", "cpu"])
        XCTAssertEqual(report.status, 0, report.stderr)
        let page = try String(contentsOfFile: html, encoding: .utf8)
        XCTAssertTrue(page.contains("data:image/png;base64,"))
        XCTAssertFalse(page.contains("http://") || page.contains("https://"), "the report must not reach the network")

        // Resume to 4 epochs.
        let resumed = try run(["train", "--data", data, "--out", model, "--resume", model, "--epochs", "4", "--backend", "cpu"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("epoch 4/4"), resumed.stderr)
        // A resumed run keeps its own options: a changed one is refused, not silently ignored.
        let changed = try run(["train", "--data", data, "--out", model, "--resume", model, "--epochs", "5", "--lr", "0.5",
                               "--backend", "cpu"])
        XCTAssertNotEqual(changed.status, 0)
        XCTAssertTrue(changed.stderr.contains("--lr 0.5 (the checkpoint has 0.001)"), changed.stderr)
    }

    func testDetectSkipsBadRowsUnlessStrict() throws {
        let data = dir.appendingPathComponent("flows").path
        XCTAssertEqual(try run(["synth", "--out", data, "--benign", "40"]).status, 0)
        let model = dir.appendingPathComponent("m.safetensors").path
        XCTAssertEqual(try run(["train", "--data", data, "--out", model, "--malicious-shots", "2"] + tiny).status, 0)
        let benign = dir.appendingPathComponent("flows/benign")
        let file = benign.appendingPathComponent(try FileManager.default.contentsOfDirectory(atPath: benign.path).first!)
        var lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n").map(String.init)
        var fields = lines[2].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        fields[10] = "abc"
        lines[2] = fields.joined(separator: ",")
        let bad = dir.appendingPathComponent("bad.csv")
        try (lines.joined(separator: "\n") + "\n").write(to: bad, atomically: true, encoding: .utf8)
        let lenient = try run(["detect", "--model", model, "--input", bad.path, "--backend", "cpu"])
        XCTAssertEqual(lenient.status, 0, lenient.stderr)
        XCTAssertEqual(lenient.stdout.split(separator: "\n").count, lines.count - 1)
        XCTAssertTrue(lenient.stderr.contains("skipped 1 bad row"), lenient.stderr)
        let out = dir.appendingPathComponent("never.csv").path
        let strict = try run(["detect", "--model", model, "--input", bad.path, "--output", out, "--strict", "--backend", "cpu"])
        XCTAssertNotEqual(strict.status, 0)
        XCTAssertTrue(strict.stderr.contains("bad.csv:3:") && strict.stderr.contains("abc"), strict.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "a failed run leaves no half-written output")
    }

    func testBadModelFilesGiveClearErrors() throws {
        let data = dir.appendingPathComponent("flows").path
        XCTAssertEqual(try run(["synth", "--out", data, "--benign", "30"]).status, 0)
        let missing = try run(["evaluate", "--model", "/nonexistent/model.safetensors", "--data", data])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("/nonexistent/model.safetensors"), missing.stderr)
        let garbage = dir.appendingPathComponent("garbage.safetensors")
        try Data("not a model".utf8).write(to: garbage)
        let r = try run(["evaluate", "--model", garbage.path, "--data", data])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("not a usable gpu-train model"), r.stderr)
    }

    func testNoSuchDeviceSuggestsTheCPUBackend() throws {
        let r = try run(["train", "--data", "/nonexistent", "--out", dir.appendingPathComponent("m").path])
        XCTAssertNotEqual(r.status, 0)
        let d = try run(["verify", "--device", "no-such-device-anywhere"])
        XCTAssertNotEqual(d.status, 0)
        XCTAssertTrue(d.stderr.contains("--backend cpu"), d.stderr)
    }

    /// On the shared dataset: the numbers of `evaluate --json` recomputed independently from
    /// the per-flow scores that `detect` writes.
    func testEvaluateJSONMatchesScoresRecomputedIndependently() throws {
        guard let shared = sharedDatasetURL() else { throw XCTSkip("../shared/data/kubernetes-dataset is absent") }
        let model = dir.appendingPathComponent("k.safetensors").path
        // The default model (baseline recipe, no encoder): its scores are exactly reproducible flow
        // by flow. (A CNN encoder's embeddings vary in the last bits with the batch a flow is in,
        // because OpenBLAS rounds GEMM rows by position.)
        let train = try run(["train", "--data", shared.path, "--out", model, "--backend", "cpu"])
        XCTAssertEqual(train.status, 0, train.stderr)
        let json = dir.appendingPathComponent("k.json").path
        let eval = try run(["evaluate", "--model", model, "--data", shared.path, "--json", json, "--include-support", "--backend", "cpu"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as! [String: Any]

        var scores: [(Float, Bool, String)] = []
        let files = try FileManager.default.subpathsOfDirectory(atPath: shared.path).filter { $0.hasSuffix(".csv") }.sorted()
        for f in files {
            let path = shared.appendingPathComponent(f).path
            let r = try run(["detect", "--model", model, "--input", path, "--backend", "cpu"])
            XCTAssertEqual(r.status, 0, r.stderr)
            // Labels straight from the input's last column, line by line.
            let labels = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropFirst()
                .map { Double($0.split(separator: ",").last!.trimmingCharacters(in: .whitespaces))! != 0 }
            let scenario = String(URL(fileURLWithPath: path).lastPathComponent.split(separator: "_").first!)
            let lines = r.stdout.split(separator: "\n")
            let scoreColumn = lines[0].split(separator: ",").firstIndex(of: "score")!
            let rows = lines.dropFirst()
            XCTAssertEqual(rows.count, labels.count, f)
            for (row, label) in zip(rows, labels) {
                let cols = row.split(separator: ",", omittingEmptySubsequences: false)
                scores.append((Float(cols[scoreColumn])!, label, label ? scenario : "benign"))
            }
        }
        XCTAssertEqual(report["flows"] as? Int, scores.count)
        let threshold = report["threshold"] as! Double
        var tp = 0, fp = 0, tn = 0, fn = 0
        for (s, malicious, _) in scores {
            let flagged = Double(s) >= threshold
            switch (flagged, malicious) {
            case (true, true): tp += 1
            case (true, false): fp += 1
            case (false, false): tn += 1
            case (false, true): fn += 1
            }
        }
        let confusion = report["confusion"] as! [String: Int]
        XCTAssertEqual(confusion, ["tp": tp, "fp": fp, "tn": tn, "fn": fn])
        XCTAssertEqual(report["accuracy"] as! Double, Double(tp + tn) / Double(scores.count), accuracy: 1e-9)
        XCTAssertEqual(report["false_positive_rate"] as! Double, Double(fp) / Double(fp + tn), accuracy: 1e-9)
        let precision = tp + fp == 0 ? 0 : Double(tp) / Double(tp + fp), recall = Double(tp) / Double(tp + fn)
        XCTAssertEqual(report["precision"] as! Double, precision, accuracy: 1e-9)
        XCTAssertEqual(report["recall"] as! Double, recall, accuracy: 1e-9)
        // AUC as the probability that a random malicious flow outscores a random benign one (ties 1/2).
        func auc(_ positives: [Float], _ negatives: [Float]) -> Double {
            let sortedNeg = negatives.sorted()
            var wins = 0.0
            for p in positives {
                var lo = 0, hi = sortedNeg.count
                while lo < hi { let m = (lo + hi) / 2; if sortedNeg[m] < p { lo = m + 1 } else { hi = m } }
                var eq = lo
                while eq < sortedNeg.count, sortedNeg[eq] == p { eq += 1 }
                wins += Double(lo) + 0.5 * Double(eq - lo)
            }
            return wins / Double(positives.count * negatives.count)
        }
        let benignScores = scores.filter { !$0.1 }.map(\.0)
        XCTAssertEqual(report["auc"] as! Double, auc(scores.filter(\.1).map(\.0), benignScores), accuracy: 1e-9)
        let scenarios = report["scenarios"] as! [String: [String: Any]]
        XCTAssertEqual(Set(scenarios.keys), ["attack-pods", "cve201920933", "cve202013379", "cve202125741", "cve202223648",
                                             "rce-reverse-shell", "reconnaissance"])
        for (name, values) in scenarios {
            let mine = scores.filter { $0.2 == name }.map(\.0)
            XCTAssertEqual(values["flows"] as? Int, mine.count, name)
            XCTAssertEqual(values["detected"] as? Int, mine.filter { Double($0) >= threshold }.count, name)
            XCTAssertEqual(values["auc"] as! Double, auc(mine, benignScores), accuracy: 1e-9, name)
        }
    }

    /// On the shared dataset: crossval's JSON summary is the mean of its scenarios, and its split by
    /// new and known endpoints counts the same flows as a recount straight from the CSV text.
    func testCrossvalJSONAndTheEndpointSplitRecountedFromTheFiles() throws {
        guard let shared = sharedDatasetURL() else { throw XCTSkip("../shared/data/kubernetes-dataset is absent") }
        let json = dir.appendingPathComponent("cv.json").path
        let r = try run(["crossval", "--data", shared.path, "--encoders", "none", "--seeds", "1", "--json", json, "--backend", "cpu"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("on flows to endpoints the baseline never saw"), r.stdout)
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as! [String: Any]
        let scenarios = report["scenarios"] as! [String: [String: Any]]
        func mean(_ key: String) -> Double {
            let v = scenarios.values.compactMap { $0[key] as? Double }
            return v.reduce(0, +) / Double(v.count)
        }
        XCTAssertEqual(report["mean_auc"] as! Double, mean("auc_mean"), accuracy: 1e-12)
        XCTAssertEqual(report["mean_auc_new_endpoints"] as! Double, mean("auc_new_endpoints_mean"), accuracy: 1e-12)
        XCTAssertEqual(report["mean_auc_known_endpoints"] as! Double, mean("auc_known_endpoints_mean"), accuracy: 1e-12)

        // Recount: endpoints of the earliest 80% of the benign rows, then each scenario's rows.
        func rows(_ path: URL) throws -> [[Substring]] {
            try String(contentsOf: path, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        }
        let files = try FileManager.default.subpathsOfDirectory(atPath: shared.path).filter { $0.hasSuffix(".csv") }.sorted()
        var baseline = Set<String>()
        var perScenario: [String: [String]] = [:]
        for f in files {
            let table = try rows(shared.appendingPathComponent(f))
            let header = table[0].map { $0.trimmingCharacters(in: .whitespaces) }
            let src = header.firstIndex(of: "Src IP")!, dst = header.firstIndex(of: "Dst IP")!, port = header.firstIndex(of: "Dst Port")!
            let endpoints = table.dropFirst().map { "\($0[src])>\($0[dst]):\($0[port])" }
            if f.hasPrefix("benign/") {
                baseline.formUnion(endpoints.prefix(Int((Double(endpoints.count) * 0.8).rounded())))
            } else {
                perScenario[String(URL(fileURLWithPath: f).lastPathComponent.split(separator: "_").first!), default: []] += endpoints
            }
        }
        XCTAssertEqual(Set(perScenario.keys), Set(scenarios.keys))
        for (name, endpoints) in perScenario {
            let known = endpoints.filter(baseline.contains).count
            XCTAssertEqual(scenarios[name]?["known_endpoint_flows"] as? Int, known, name)
            XCTAssertEqual(scenarios[name]?["new_endpoint_flows"] as? Int, endpoints.count - known, name)
        }
    }
}
