import Foundation
import TestSupport
import XCTest

/// What an operator runs around a model: a baseline of several periods, incidents, the drift
/// guard, and `update`.
final class OperatorCLITests: XCTestCase {
    var dir: URL!
    /// Synthetic flows: two halves of the benign file as two periods, and the attack files.
    var dayOne = "", dayTwo = "", attacks = ""
    var header = ""
    var benignLines: [String] = []

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpu-train-operator-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let data = dir.appendingPathComponent("flows")
        XCTAssertEqual(try runGPUTrain(["synth", "--out", data.path, "--benign", "600", "--seed", "9"]).status, 0)
        let benign = data.appendingPathComponent("benign")
        let file = benign.appendingPathComponent(try FileManager.default.contentsOfDirectory(atPath: benign.path).sorted()[0])
        let all = try String(contentsOf: file, encoding: .utf8).split(separator: "\n").map(String.init)
        header = all[0]
        benignLines = Array(all.dropFirst())
        try FileManager.default.removeItem(at: benign)
        attacks = data.path
        dayOne = dir.appendingPathComponent("day1.csv").path
        dayTwo = dir.appendingPathComponent("day2.csv").path
        try ([header] + benignLines.prefix(300)).joined(separator: "\n").appending("\n").write(toFile: dayOne, atomically: true, encoding: .utf8)
        try ([header] + benignLines.dropFirst(300)).joined(separator: "\n").appending("\n").write(toFile: dayTwo, atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(at: dir) } }

    func train(_ baselines: [String], out: String) throws -> CLIResult {
        try runGPUTrain(["train", "--data", attacks, "--out", out, "--malicious-shots", "2", "--backend", "cpu"]
                        + baselines.flatMap { ["--baseline", $0] })
    }

    func testEachBaselineFileIsAPeriodAndTheThresholdIsCalibratedAcrossThem() throws {
        let model = dir.appendingPathComponent("m.safetensors").path
        let r = try train([dayOne, dayTwo], out: model)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("in 2 periods"), r.stdout)
        XCTAssertTrue(r.stdout.contains("calibrated cross-period over 2 periods (600 scores)"), r.stdout)
        // One file: time blocks, and a note saying how to do better.
        let single = try train([dayOne], out: dir.appendingPathComponent("one.safetensors").path)
        XCTAssertEqual(single.status, 0, single.stderr)
        XCTAssertTrue(single.stdout.contains("time-blocks over 4 time blocks"), single.stdout)
        XCTAssertTrue(single.stderr.contains("--baseline repeated, or --period"), single.stderr)
        // --period splits by timestamp instead; an absurd one is refused.
        let hourly = try runGPUTrain(["train", "--data", attacks, "--out", dir.appendingPathComponent("h.safetensors").path,
                                      "--malicious-shots", "0", "--baseline", dayOne, "--period", "60", "--backend", "cpu"])
        XCTAssertEqual(hourly.status, 0, hourly.stderr)
        XCTAssertTrue(hourly.stdout.contains("calibrated cross-period"), hourly.stdout)
        let bad = try runGPUTrain(["train", "--data", attacks, "--out", dir.appendingPathComponent("x.safetensors").path,
                                   "--baseline", dayOne, "--period", "0.5", "--backend", "cpu"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--period must be at least 1 second"), bad.stderr)
    }

    func testUnlabelledBaselineExportsAreAccepted() throws {
        // A flow meter's export without a Label column is normal traffic when given as --baseline.
        let columns = header.split(separator: ",", omittingEmptySubsequences: false)
        let labelIndex = try XCTUnwrap(columns.firstIndex(of: "Label"))
        func drop(_ line: String) -> String {
            var f = line.split(separator: ",", omittingEmptySubsequences: false)
            f.remove(at: labelIndex)
            return f.joined(separator: ",")
        }
        let unlabelled = dir.appendingPathComponent("export.csv").path
        try ([drop(header)] + benignLines.prefix(200).map(drop)).joined(separator: "\n").appending("\n")
            .write(toFile: unlabelled, atomically: true, encoding: .utf8)
        let r = try train([unlabelled], out: dir.appendingPathComponent("u.safetensors").path)
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    func testDetectWritesIncidentsAndWarnsWhenFarMoreIsFlaggedThanCalibrated() throws {
        let model = dir.appendingPathComponent("m.safetensors").path
        XCTAssertEqual(try train([dayOne, dayTwo], out: model).status, 0)
        // Scoring the attack captures: far more flagged than the 1% calibrated; incidents group them.
        let all = dir.appendingPathComponent("all.csv").path
        var rows: [String] = [header]
        for name in try FileManager.default.subpathsOfDirectory(atPath: attacks).filter({ $0.hasSuffix(".csv") }).sorted() {
            rows += try String(contentsOfFile: attacks + "/" + name, encoding: .utf8).split(separator: "\n").dropFirst().map(String.init)
        }
        // The guard judges from 1,000 flows on: the attack rows five times over.
        rows += Array(repeating: rows.dropFirst(), count: 4).flatMap { $0 }
        XCTAssertGreaterThan(rows.count, 1000)
        try rows.joined(separator: "\n").appending("\n").write(toFile: all, atomically: true, encoding: .utf8)
        let incidents = dir.appendingPathComponent("inc.jsonl").path
        let r = try runGPUTrain(["detect", "--model", model, "--input", all, "--output", dir.appendingPathComponent("v.csv").path,
                                 "--incidents", incidents, "--backend", "cpu"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr.components(separatedBy: "this model was calibrated to flag").count, 2,
                       "the guard warns exactly once: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("gpu-train update --model \(model)"), r.stderr)
        let lines = try String(contentsOfFile: incidents, encoding: .utf8).split(separator: "\n")
        XCTAssertGreaterThan(lines.count, 0)
        var flows = 0
        let incidentSchema = try JSONSchemaSubset.load("incident-v1.schema.json")
        for line in lines {
            let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertEqual(JSONSchemaSubset.violations(o, schema: incidentSchema), [], String(line))
            flows += try XCTUnwrap(o["flows"] as? Int)
            XCTAssertNotNil(o["incident_id"] as? String)
            XCTAssertNotNil(o["first_seen"] as? String)
            XCTAssertNotNil(o["top_reasons"] as? [Any])
        }
        // "scored N flows (M malicious, ...": M, the flagged flows.
        let scored = try XCTUnwrap(r.stderr.split(separator: "\n").first { $0.hasPrefix("scored ") })
        let afterScored = try XCTUnwrap(scored.range(of: "flows ("))
        let flagged = String(scored[afterScored.upperBound...].prefix { $0.isNumber })
        XCTAssertEqual(flows, Int(flagged), "every flagged flow is in exactly one incident")
        XCTAssertTrue(r.stderr.contains("incidents: \(lines.count) from \(flagged) flagged flows"), r.stderr)
        // Flows as JSON lines, schema v1: numbers as numbers, ISO timestamps, severity, model id, new edges.
        let flowsOut = try runGPUTrain(["detect", "--model", model, "--input", all, "--format", "jsonl", "--backend", "cpu"])
        XCTAssertEqual(flowsOut.status, 0, flowsOut.stderr)
        let flowSchema = try JSONSchemaSubset.load("flow-v1.schema.json")
        let modelID = "sha256:" + String(try sha256Hex(URL(fileURLWithPath: model)).prefix(16))
        var newEdges = 0
        var bySeverity: [String: [Double]] = [:]
        for line in flowsOut.stdout.split(separator: "\n") {
            let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertEqual(JSONSchemaSubset.violations(o, schema: flowSchema), [], String(line))
            XCTAssertEqual(o["model_id"] as? String, modelID)
            XCTAssertNotNil(o["dst_port"] as? Int, "ports are numbers")
            if o["new_edge"] as? Bool == true { newEdges += 1 }
            bySeverity[try XCTUnwrap(o["severity"] as? String), default: []].append(try XCTUnwrap(o["score"] as? Double))
            if o["verdict"] as? String == "benign" { XCTAssertEqual(o["severity"] as? String, "info") }
        }
        XCTAssertGreaterThan(newEdges, 0, "the attack captures' flows go to edges the baseline never saw")
        // Severity rises with the score: every flow of a higher level scores above every flow of a lower one.
        let levels = ["info", "low", "medium", "high"].filter { bySeverity[$0] != nil }
        XCTAssertGreaterThanOrEqual(levels.count, 3, "\(bySeverity.mapValues(\.count))")
        for (lower, higher) in zip(levels, levels.dropFirst()) {
            XCTAssertLessThan(try XCTUnwrap(bySeverity[lower]?.max()), try XCTUnwrap(bySeverity[higher]?.min()), "\(lower) < \(higher)")
        }
        // --k8s-pods names the ends: the first attack flow's source address as a Deployment's pod.
        let firstFlow = try XCTUnwrap(flowsOut.stdout.split(separator: "\n").first)
        let firstObject = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(firstFlow.utf8)) as? [String: Any])
        let address = try XCTUnwrap(firstObject["src_ip"] as? String)
        let pods = dir.appendingPathComponent("pods.json").path
        try #"{"items": [{"metadata": {"name": "api-7f9c-x1", "namespace": "shop", "labels": {"pod-template-hash": "7f9c"}, "ownerReferences": [{"kind": "ReplicaSet", "name": "api-7f9c"}]}, "spec": {}, "status": {"phase": "Running", "podIP": "ADDRESS"}}]}"#
            .replacingOccurrences(of: "ADDRESS", with: address).write(toFile: pods, atomically: true, encoding: .utf8)
        let named = try runGPUTrain(["detect", "--model", model, "--input", all, "--format", "jsonl", "--k8s-pods", pods,
                                     "--incidents", incidents, "--backend", "cpu"])
        XCTAssertEqual(named.status, 0, named.stderr)
        let namedFirst = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try XCTUnwrap(named.stdout.split(separator: "\n").first).utf8)) as? [String: Any])
        XCTAssertEqual(JSONSchemaSubset.violations(namedFirst, schema: flowSchema), [])
        XCTAssertEqual((namedFirst["src_k8s"] as? [String: Any])?["workload"] as? String, "api")
        XCTAssertEqual((namedFirst["src_k8s"] as? [String: Any])?["workload_kind"] as? String, "Deployment")
        XCTAssertTrue(try String(contentsOfFile: incidents, encoding: .utf8).contains("\"workload\":\"api\""))
        let namedCSV = try runGPUTrain(["detect", "--model", model, "--input", all, "--k8s-pods", pods, "--backend", "cpu"])
        XCTAssertTrue(namedCSV.stdout.hasPrefix("row,") && namedCSV.stdout.contains(",src_namespace,src_pod,src_workload,dst_namespace,dst_pod,dst_workload\n"))
        XCTAssertTrue(namedCSV.stdout.contains(",shop,api-7f9c-x1,Deployment/api,"), String(namedCSV.stdout.prefix(600)))
        // Normal traffic of the baseline's kind: quiet, no warning.
        let quiet = try runGPUTrain(["detect", "--model", model, "--input", dayTwo, "--output", dir.appendingPathComponent("verdicts-\(UUID().uuidString).csv").path, "--backend", "cpu"])
        XCTAssertEqual(quiet.status, 0, quiet.stderr)
        XCTAssertFalse(quiet.stderr.contains("warning:"), quiet.stderr)
    }

    func testDetectServesPrometheusMetricsWhileItFollowsAFile() throws {
        let model = dir.appendingPathComponent("m.safetensors").path
        XCTAssertEqual(try train([dayOne], out: model).status, 0)
        // A port of our own: free when bound and released just before (another process could take it
        // in between; then detect says it cannot listen, and the test says so).
        let port = UInt16.random(in: 30000...60000)
        let p = Process()
        p.executableURL = CLITests.binary
        p.arguments = ["detect", "--model", model, "--input", dayTwo, "--follow", "--poll-interval", "0.05", "--output", dir.appendingPathComponent("verdicts-\(UUID().uuidString).csv").path,
                       "--metrics-listen", "127.0.0.1:\(port)", "--backend", "cpu"]
        let err = dir.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: err.path, contents: nil)
        p.standardError = try FileHandle(forWritingTo: err)
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        var text = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            text = (try? httpGet(port: port, path: "/metrics", timeout: 2)) ?? ""
            if text.contains("gpu_train_flows_total{verdict=\"benign\"}") && text.contains("gpu_train_score_count 300") { break }
            Thread.sleep(forTimeInterval: 0.2)
            if !p.isRunning { break }
        }
        XCTAssertTrue(text.contains("gpu_train_score_count 300"), "scraped: \(text)\nstderr: \((try? String(contentsOf: err, encoding: .utf8)) ?? "")")
        XCTAssertTrue(text.contains("gpu_train_model_info{model_id=\"sha256:"), text)
        XCTAssertTrue(text.contains("gpu_train_calibrated_flagged_ratio"), text)
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertTrue(try String(contentsOf: err, encoding: .utf8).contains("metrics: http://127.0.0.1:\(port)/metrics"))
    }

    func testDetectSendsIncidentsToSyslogAndAFile() throws {
        let model = dir.appendingPathComponent("m.safetensors").path
        XCTAssertEqual(try train([dayOne], out: model).status, 0)
        let (fd, port) = try udpListener()
        defer { close(fd) }
        let attacks = try FileManager.default.subpathsOfDirectory(atPath: self.attacks).filter { $0.hasSuffix(".csv") }.sorted()
        let input = self.attacks + "/" + (try XCTUnwrap(attacks.first))
        let file = dir.appendingPathComponent("alerts.jsonl").path
        let r = try runGPUTrain(["detect", "--model", model, "--input", input, "--output", dir.appendingPathComponent("verdicts-\(UUID().uuidString).csv").path,
                                 "--alerts-to", "syslog+udp://127.0.0.1:\(port)", "--alerts-to", "file:\(file)#flows", "--backend", "cpu"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("alerts to syslog+udp://127.0.0.1:\(port): "), r.stderr)
        XCTAssertTrue(r.stderr.contains(" dropped (queue full), 0 failed after retries"), r.stderr)
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buffer, buffer.count, 0)
        XCTAssertGreaterThan(n, 0, "an incident arrives over UDP")
        let message = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
        XCTAssertTrue(message.range(of: "^<13[0-4]>1 [0-9T:.Z-]+ \\S+ gpu-train [0-9]+ incident - \\{\"schema\":\"gpu-train.incident/v1\"",
                                    options: .regularExpression) != nil, message)
        let flows = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        XCTAssertGreaterThan(flows.count, 0)
        XCTAssertTrue(flows.allSatisfy { $0.contains("\"verdict\":\"malicious\"") })
        // stdout is the verdicts' unless --output names a file.
        let clash = try runGPUTrain(["detect", "--model", model, "--input", input, "--alerts-to", "stdout", "--backend", "cpu"])
        XCTAssertNotEqual(clash.status, 0)
        XCTAssertTrue(clash.stderr.contains("--alerts-to stdout needs --output FILE"), clash.stderr)
    }

    func testEdgesKeptByWorkloadHoldAcrossAPodRestart() throws {
        // The baseline's first flow comes from a pod of Deployment api; the next day that pod has
        // restarted with another address.
        let columns = header.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let src = try XCTUnwrap(columns.firstIndex(of: "Src IP"))
        let first = benignLines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let oldAddress = first[src], newAddress = "10.99.99.99"
        func pods(_ address: String, _ pod: String) -> String {
            #"{"items": [{"metadata": {"name": "POD", "namespace": "shop", "labels": {"pod-template-hash": "7f9c"}, "ownerReferences": [{"kind": "ReplicaSet", "name": "api-7f9c"}]}, "spec": {}, "status": {"phase": "Running", "podIP": "ADDRESS"}}]}"#
                .replacingOccurrences(of: "ADDRESS", with: address).replacingOccurrences(of: "POD", with: pod)
        }
        let before = dir.appendingPathComponent("pods-before.json").path, after = dir.appendingPathComponent("pods-after.json").path
        try pods(oldAddress, "api-7f9c-a").write(toFile: before, atomically: true, encoding: .utf8)
        try pods(newAddress, "api-7f9c-b").write(toFile: after, atomically: true, encoding: .utf8)
        let byWorkload = dir.appendingPathComponent("w.safetensors").path, byAddress = dir.appendingPathComponent("a.safetensors").path
        let trained = try runGPUTrain(["train", "--data", attacks, "--out", byWorkload, "--malicious-shots", "0", "--baseline", dayOne,
                                       "--k8s-pods", before, "--backend", "cpu"])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        XCTAssertEqual(try train([dayOne], out: byAddress).status, 0)
        // Next day: the same flows from the restarted pod.
        let moved = dir.appendingPathComponent("moved.csv").path
        let rows = benignLines.prefix(300).filter { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)[src] == oldAddress }
        XCTAssertFalse(rows.isEmpty)
        try ([header] + rows.map { $0.replacingOccurrences(of: oldAddress, with: newAddress) }).joined(separator: "\n").appending("\n")
            .write(toFile: moved, atomically: true, encoding: .utf8)
        func newEdges(_ model: String, _ extra: [String]) throws -> [Bool?] {
            let r = try runGPUTrain(["detect", "--model", model, "--input", moved, "--format", "jsonl", "--backend", "cpu"] + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
            return try r.stdout.split(separator: "\n").map {
                try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])["new_edge"] as? Bool
            }
        }
        XCTAssertEqual(Set(try newEdges(byWorkload, ["--k8s-pods", after])), [false], "the workload's edges are known")
        XCTAssertEqual(Set(try newEdges(byAddress, [])), [true], "by address every edge of the new pod is new")
        XCTAssertEqual(Set(try newEdges(byWorkload, [])), [nil], "without the pod list a workload-keyed model cannot say")
    }

    func testUpdateAddsPeriodsRetiresTheOldestAndRecalibrates() throws {
        let model = dir.appendingPathComponent("m.safetensors").path, updated = dir.appendingPathComponent("m2.safetensors").path
        XCTAssertEqual(try train([dayOne], out: model).status, 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: model))
        let r = try runGPUTrain(["update", "--model", model, "--baseline", dayTwo, "--out", updated, "--backend", "cpu"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("periods: 1 before, 1 added, 2 now; bank 600 flows"), r.stdout)
        XCTAssertTrue(r.stdout.contains("calibrated cross-period over 2 periods"), r.stdout)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: model)), before, "the model updated is never written over")
        // A bank of 400: the oldest period (300 flows) retires, the new one stays whole.
        let small = dir.appendingPathComponent("m3.safetensors").path
        let r2 = try runGPUTrain(["update", "--model", updated, "--baseline", dayOne, "--out", small, "--bank-size", "700", "--backend", "cpu"])
        XCTAssertEqual(r2.status, 0, r2.stderr)
        XCTAssertTrue(r2.stdout.contains("1 retired (oldest first: day1.csv)"), r2.stdout)
        XCTAssertTrue(r2.stdout.contains("2 now; bank 600 flows"), r2.stdout)
        // The updated model scores flows.
        XCTAssertEqual(try runGPUTrain(["detect", "--model", small, "--input", dayTwo, "--output", dir.appendingPathComponent("verdicts-\(UUID().uuidString).csv").path, "--backend", "cpu"]).status, 0)
        // Never over its own input.
        let same = try runGPUTrain(["update", "--model", model, "--baseline", dayTwo, "--out", model, "--backend", "cpu"])
        XCTAssertNotEqual(same.status, 0)
        XCTAssertTrue(same.stderr.contains("refusing to overwrite an input"), same.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: model)), before)
    }
}

/// Issue 19's targets on the shared captures, as `crossval --flow-roles` measures them with default
/// options: every attack flow found, little normal traffic of other periods flagged.
final class FlowRolesCrossvalTests: XCTestCase {
    func testMultiPeriodBaselineMeetsTheTargetsOnTheSharedCaptures() throws {
        guard let shared = sharedDatasetURL() else { throw XCTSkip("../shared/data/kubernetes-dataset is absent") }
        let roles = shared.deletingLastPathComponent().appendingPathComponent("kubernetes-flow-roles.csv")
        guard FileManager.default.fileExists(atPath: roles.path) else { throw XCTSkip("\(roles.path) is absent") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpu-train-roles-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let json = dir.appendingPathComponent("cv.json").path
        let r = try runGPUTrain(["crossval", "--data", shared.path, "--flow-roles", roles.path, "--setups", "multi-period",
                                 "--encoders", "none", "--seeds", "1", "--json", json, "--backend", "cpu"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("multi-period baseline, encoder none: per capture"), r.stdout)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        let setup = try XCTUnwrap((report["flow_roles"] as? [String: Any])?["multi-period"] as? [String: Any])
        let none = try XCTUnwrap(setup["none"] as? [String: Any])
        let captures = try XCTUnwrap(none["captures"] as? [String: [String: Any]])
        XCTAssertEqual(captures.count, 7)
        // The roles file's counts: 2,246 attack and 1,667 background flows.
        XCTAssertEqual(captures.values.compactMap { $0["attack_flows"] as? Int }.reduce(0, +), 2246)
        XCTAssertEqual(captures.values.compactMap { $0["background_flows"] as? Int }.reduce(0, +), 1667)
        for (name, c) in captures {
            if let detected = c["attack_detected_rate"] as? Double {
                XCTAssertGreaterThanOrEqual(detected, 0.99, "attack flows detected in \(name)")
            } else {
                XCTAssertEqual(c["attack_flows"] as? Int, 0, name)
            }
            XCTAssertLessThanOrEqual(try XCTUnwrap(c["background_flagged_rate"] as? Double), 0.10, "background flagged in \(name)")
        }
        XCTAssertLessThanOrEqual(try XCTUnwrap(none["background_flagged_mean"] as? Double), 0.05)
        XCTAssertLessThanOrEqual(try XCTUnwrap(none["later_benign_flagged_mean"] as? Double), 0.02)
        XCTAssertEqual((none["calibration"] as? [String: Any])?["method"] as? String, "cross-period")
    }
}

/// SHA-256 of a file by the system's sha256sum, to check the model id independently.
func sha256Hex(_ url: URL) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    p.arguments = [url.path]
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    let out = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: out, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
}
