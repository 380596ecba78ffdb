import Foundation
import XCTest

/// `gpu-train detect` as a pipeline stage: output formats, the row column, --follow on a live
/// file, signals, and the output-is-input guard.
final class DetectCLITests: XCTestCase {
    var dir: URL!
    var model: String!
    /// A synthetic benign flow file: its header and data lines.
    var header = ""
    var lines: [String] = []

    override func setUpWithError() throws {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: CLITests.binary.path), "gpu-train is not built")
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpu-train-detect-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let data = dir.appendingPathComponent("flows").path
        XCTAssertEqual(try run(["synth", "--out", data, "--benign", "40", "--seed", "5"]).status, 0)
        model = dir.appendingPathComponent("m.safetensors").path
        let train = try run(["train", "--data", data, "--out", model, "--recipe", "seed", "--benign-shots", "4", "--malicious-shots", "2",
                             "--channels", "4,8,8,16", "--embedding", "32", "--epochs", "2", "--lr", "1e-3", "--backend", "cpu"])
        XCTAssertEqual(train.status, 0, train.stderr)
        let benign = dir.appendingPathComponent("flows/benign")
        let file = benign.appendingPathComponent(try FileManager.default.contentsOfDirectory(atPath: benign.path).sorted()[0])
        let all = try String(contentsOf: file, encoding: .utf8).split(separator: "\n").map(String.init)
        header = all[0]
        lines = Array(all.dropFirst())
    }

    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(at: dir) } }

    typealias Result = CLIResult

    /// Runs gpu-train to completion (stdin from `stdin`, then closed).
    @discardableResult
    func run(_ args: [String], stdin: Data? = nil) throws -> Result { try runGPUTrain(args, stdin: stdin) }

    /// Starts gpu-train in the background; stderr goes to the returned file.
    func start(_ args: [String], stdin: Pipe? = nil) throws -> (Process, URL) {
        let p = Process()
        p.executableURL = CLITests.binary
        p.arguments = args
        let err = dir.appendingPathComponent("stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        p.standardError = try FileHandle(forWritingTo: err)
        p.standardOutput = FileHandle.nullDevice
        p.standardInput = stdin ?? FileHandle.nullDevice
        try p.run()
        return (p, err)
    }

    /// Waits for `p` to exit; one still running after `seconds` fails the test and is killed, so a
    /// stuck child can never hang the suite.
    func finish(_ p: Process, within seconds: Double, file: StaticString = #filePath, line: UInt = #line) {
        if !wait(seconds, { !p.isRunning }) {
            XCTFail("gpu-train still running after \(seconds) s; killed", file: file, line: line)
            kill(p.processIdentifier, SIGKILL)
        }
        p.waitUntilExit()
    }

    /// Polls `condition` every 20 ms for up to `seconds`; true when it held.
    func wait(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    func outputLines(_ url: URL) -> [String] {
        guard let data = FileManager.default.contents(atPath: url.path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    func append(_ text: String, to url: URL) throws {
        let h = try FileHandle(forWritingTo: url)
        try h.seekToEnd()
        try h.write(contentsOf: Data(text.utf8))
        try h.close()
    }

    func testFollowScoresAppendedRowsSurvivesTruncationAndRotationAndStopsOnSIGTERM() throws {
        let live = dir.appendingPathComponent("live.csv"), out = dir.appendingPathComponent("scores.csv")
        try (header + "\n" + lines[0] + "\n" + lines[1] + "\n").write(to: live, atomically: false, encoding: .utf8)
        let (p, err) = try start(["detect", "--model", model, "--input", live.path, "--output", out.path, "--follow",
                                  "--poll-interval", "0.05", "--backend", "cpu"])
        defer { if p.isRunning { p.terminate() } }
        // Generous bounds: the machine running the suite may be loaded; a hang still fails.
        XCTAssertTrue(wait(60) { outputLines(out).count == 3 }, "the first rows are scored: \(outputLines(out))")
        XCTAssertEqual(outputLines(out).first, "row,Flow ID,Src IP,Src Port,Dst IP,Dst Port,Timestamp,Protocol,score,verdict,why,severity,new_edge")

        // Appended rows, the last one arriving in two pieces: nothing is scored from half a line.
        let half = lines[4].count / 2
        let appended = Date()
        try append(lines[2] + "\n" + lines[3] + "\n" + String(lines[4].prefix(half)), to: live)
        XCTAssertTrue(wait(30) { outputLines(out).count == 5 }, "appended rows are scored: \(outputLines(out))")
        let latency = Date().timeIntervalSince(appended)
        usleep(300_000)
        XCTAssertEqual(outputLines(out).count, 5, "an incomplete line waits for its newline")
        try append(String(lines[4].dropFirst(half)) + "\n", to: live)
        XCTAssertTrue(wait(30) { outputLines(out).count == 6 })
        XCTAssertEqual(outputLines(out).dropFirst().map { $0.split(separator: ",")[0] }, ["2", "3", "4", "5", "6"])
        XCTAssertTrue(outputLines(out)[5].hasPrefix("6," + lines[4].split(separator: ",")[0] + ","), outputLines(out)[5])
        print("detect --follow: append-to-score latency \(String(format: "%.3f", latency)) s (poll 0.05 s; debug build)")

        // Truncated and rewritten (copytruncate rotation): read again from the new header.
        try Data().write(to: live)
        usleep(400_000)
        try append(header + "\n" + lines[5] + "\n", to: live)
        XCTAssertTrue(wait(30) { outputLines(out).count == 7 }, "rows after a truncation are scored: \(outputLines(out))")
        XCTAssertTrue(outputLines(out)[6].hasPrefix("2," + lines[5].split(separator: ",")[0] + ","), outputLines(out)[6])

        // Rotated: renamed away and a new file created under the name.
        try FileManager.default.moveItem(at: live, to: dir.appendingPathComponent("live.csv.1"))
        try (header + "\n" + lines[6] + "\n" + lines[7] + "\n").write(to: live, atomically: false, encoding: .utf8)
        XCTAssertTrue(wait(30) { outputLines(out).count == 9 }, "rows of the new file are scored: \(outputLines(out))")

        p.terminate()  // SIGTERM
        finish(p, within: 20)  // detect --follow stops on SIGTERM
        XCTAssertEqual(p.terminationReason, .exit)
        XCTAssertEqual(p.terminationStatus, 0)
        let stderr = try String(contentsOf: err, encoding: .utf8)
        XCTAssertTrue(stderr.contains("stopped by SIGTERM: scored 8 flows"), stderr)
        XCTAssertTrue(stderr.contains("flows/s while scoring"), stderr)
        XCTAssertTrue(stderr.contains("was truncated"), stderr)
        XCTAssertTrue(stderr.contains("rotated"), stderr)
        XCTAssertEqual(outputLines(out).count, 9, "everything scored was flushed")
    }

    func testFollowStopsOnSIGINTBeforeAnyHeaderArrives() throws {
        let live = dir.appendingPathComponent("empty.csv"), out = dir.appendingPathComponent("o.jsonl")
        _ = FileManager.default.createFile(atPath: live.path, contents: nil)
        let (p, err) = try start(["detect", "--model", model, "--input", live.path, "--output", out.path, "--follow",
                                  "--format", "jsonl", "--poll-interval", "0.05", "--backend", "cpu"])
        defer { if p.isRunning { p.terminate() } }
        XCTAssertTrue(wait(60) { (try? String(contentsOf: err, encoding: .utf8))?.contains("backend:") == true })
        usleep(300_000)
        kill(p.processIdentifier, SIGINT)
        finish(p, within: 20)
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertTrue(try String(contentsOf: err, encoding: .utf8).contains("stopped by SIGINT: scored 0 flows"))
    }

    /// Every signal that would end the run (SIGHUP, SIGQUIT and SIGUSR1 too, not only SIGINT and
    /// SIGTERM) removes the temporary output, keeps the old one and exits 128 + signal.
    func testSignalInNormalModeRemovesTheTemporaryOutputAndKeepsTheOldOne() throws {
        for signal in [SIGINT, SIGHUP, SIGQUIT, SIGUSR1] {
            try signalStopsNormalRun(signal)
        }
    }

    func signalStopsNormalRun(_ signal: Int32) throws {
        let out = dir.appendingPathComponent("scores.csv")
        try "the previous run's output\n".write(to: out, atomically: true, encoding: .utf8)
        let stdin = Pipe()
        let (p, err) = try start(["detect", "--model", model, "--input", "-", "--output", out.path, "--backend", "cpu"], stdin: stdin)
        defer { if p.isRunning { p.terminate() } }
        // Rows arrive but the input never ends, so the run is still going when the signal comes.
        stdin.fileHandleForWriting.write(Data((header + "\n" + lines[0] + "\n" + lines[1] + "\n").utf8))
        let temporaryExists = { () -> Bool in
            let names = (try? FileManager.default.contentsOfDirectory(atPath: self.dir.path)) ?? []
            return names.contains { $0.hasPrefix(".gt-") }
        }
        XCTAssertTrue(wait(60) { temporaryExists() }, "the temporary output is being written")
        kill(p.processIdentifier, signal)
        finish(p, within: 20)
        XCTAssertEqual(p.terminationReason, .exit, "signal \(signal)")
        XCTAssertEqual(p.terminationStatus, 128 + signal, "signal \(signal)")
        XCTAssertFalse(temporaryExists(), "the temporary output is removed (signal \(signal))")
        XCTAssertEqual(try String(contentsOf: out, encoding: .utf8), "the previous run's output\n")
        let stderr = try String(contentsOf: err, encoding: .utf8)
        XCTAssertTrue(stderr.contains("interrupted; no output written"), "signal \(signal): \(stderr)")
        XCTAssertFalse(stderr.contains("crashed"), stderr)
        try? stdin.fileHandleForWriting.close()
    }

    /// A short run prints one summary line, not a progress line beside it.
    func testOneSummaryLine() throws {
        let input = dir.appendingPathComponent("in.csv")
        try (header + "\n" + lines.prefix(5).joined(separator: "\n") + "\n").write(to: input, atomically: true, encoding: .utf8)
        let r = try run(["detect", "--model", model, "--input", input.path, "--backend", "cpu"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let summaries = r.stderr.split(separator: "\n").filter { $0.contains("flows/s") }
        XCTAssertEqual(summaries.count, 1, r.stderr)
        XCTAssertTrue(summaries.first?.hasPrefix("scored 5 flows") == true, r.stderr)
    }

    /// --follow on a file that does not exist yet waits for it (saying so once), as tail -F does,
    /// then scores what is appended; a signal while waiting stops it cleanly.
    func testFollowWaitsForAFileThatDoesNotExistYet() throws {
        let live = dir.appendingPathComponent("later.csv"), out = dir.appendingPathComponent("o.csv")
        let (p, err) = try start(["detect", "--model", model, "--input", live.path, "--output", out.path, "--follow",
                                  "--poll-interval", "0.05", "--backend", "cpu"])
        defer { if p.isRunning { p.terminate() } }
        let stderr = { (try? String(contentsOf: err, encoding: .utf8)) ?? "" }
        XCTAssertTrue(wait(60) { stderr().contains("does not exist yet: waiting for it") }, stderr())
        usleep(200_000)
        XCTAssertTrue(p.isRunning, stderr())
        try (header + "\n" + lines[0] + "\n" + lines[1] + "\n").write(to: live, atomically: true, encoding: .utf8)
        XCTAssertTrue(wait(30) { self.outputLines(out).count == 3 }, "\(outputLines(out)) \(stderr())")
        p.terminate()
        finish(p, within: 20)
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertEqual(stderr().components(separatedBy: "does not exist yet").count, 2, "said once: \(stderr())")
        XCTAssertTrue(stderr().contains("stopped by SIGTERM: scored 2 flows"), stderr())

        // Stopped before the file appears: a clean stop with nothing scored.
        let never = dir.appendingPathComponent("never.csv")
        let (q, err2) = try start(["detect", "--model", model, "--input", never.path, "--output", out.path, "--follow",
                                   "--poll-interval", "0.05", "--backend", "cpu"])
        defer { if q.isRunning { q.terminate() } }
        XCTAssertTrue(wait(60) { (try? String(contentsOf: err2, encoding: .utf8))?.contains("waiting for it") == true })
        kill(q.processIdentifier, SIGINT)
        finish(q, within: 20)
        XCTAssertEqual(q.terminationStatus, 0, (try? String(contentsOf: err2, encoding: .utf8)) ?? "")
        XCTAssertTrue(try String(contentsOf: err2, encoding: .utf8).contains("stopped by SIGINT: scored 0 flows"))
    }

    func testOutputThatIsTheInputIsRefusedBeforeAnythingIsTouched() throws {
        let input = dir.appendingPathComponent("in.csv")
        let original = header + "\n" + lines[0] + "\n"
        try original.write(to: input, atomically: true, encoding: .utf8)
        let symlink = dir.appendingPathComponent("link.csv"), hardlink = dir.appendingPathComponent("hard.csv")
        try FileManager.default.createSymbolicLink(at: symlink, withDestinationURL: input)
        try FileManager.default.linkItem(at: input, to: hardlink)
        for output in [input.path, symlink.path, hardlink.path, dir.appendingPathComponent("./in.csv").path] {
            // A model that does not exist: the guard answers before the model is even opened.
            let r = try run(["detect", "--model", "/nonexistent/model.safetensors", "--input", input.path, "--output", output])
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.stderr.contains("the output is the input file"), r.stderr)
            XCTAssertEqual(try String(contentsOf: input, encoding: .utf8), original)
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".gt-") }
        XCTAssertEqual(leftovers, [])
    }

    func testJSONLinesOnlyAlertsAndTheRowColumn() throws {
        // Unlabelled (NeedManualLabel), one bad row, and no identifier columns at all.
        let columns = header.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let keep = columns.indices.filter { !["Flow ID", "Src IP", "Src Port", "Dst IP", "Dst Port", "Timestamp", "Protocol"].contains(columns[$0]) }
        func strip(_ line: String, label: String) -> String {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            return keep.map { columns[$0] == "Label" ? label : fields[$0] }.joined(separator: ",")
        }
        var text = keep.map { columns[$0] }.joined(separator: ",") + "\n"
        for (k, line) in lines.prefix(12).enumerated() {
            text += (k == 3 ? "1,2,3" : strip(line, label: "NeedManualLabel")) + "\n"
        }
        let input = dir.appendingPathComponent("unlabelled.csv")
        try text.write(to: input, atomically: true, encoding: .utf8)

        let csv = try run(["detect", "--model", model, "--input", input.path, "--backend", "cpu"])
        XCTAssertEqual(csv.status, 0, csv.stderr)
        let rows = csv.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(rows[0], "row,score,verdict,why,severity,new_edge")
        XCTAssertEqual(rows.dropFirst().map { Int($0.split(separator: ",")[0])! }, [2, 3, 4] + Array(6...13),
                       "every labelled-or-not flow is scored; the row column skips only the bad line 5")
        XCTAssertTrue(csv.stderr.contains("skipped 1 bad row"), csv.stderr)
        XCTAssertTrue(csv.stderr.contains("dialect: CICFlowMeter"), csv.stderr)
        XCTAssertTrue(csv.stderr.contains(" flows/s"), csv.stderr)

        let jsonl = try run(["detect", "--model", model, "--input", input.path, "--format", "jsonl", "--backend", "cpu"])
        XCTAssertEqual(jsonl.status, 0, jsonl.stderr)
        let objects = try jsonl.stdout.split(separator: "\n").map {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        XCTAssertEqual(objects.count, rows.count - 1)
        let schema = try JSONSchemaSubset.load("flow-v1.schema.json")
        for (object, row) in zip(objects, rows.dropFirst()) {
            // Schema v1: every key, null where the input has no identifier.
            XCTAssertEqual(JSONSchemaSubset.violations(object, schema: schema), [])
            XCTAssertTrue(object["src_ip"] is NSNull && object["dst_port"] is NSNull && object["timestamp"] is NSNull)
            let fields = row.split(separator: ",", omittingEmptySubsequences: false)
            XCTAssertEqual(object["row"] as? Int, Int(fields[0]))
            XCTAssertEqual(Float((object["score"] as! NSNumber).doubleValue), Float(fields[1]))
            XCTAssertEqual(object["verdict"] as? String, String(fields[2]))
            // The same explanation in both formats (it never holds a comma, so the CSV field is bare).
            XCTAssertEqual(object["why"] as? String, String(fields[3]))
            XCTAssertEqual(object["severity"] as? String, String(fields[4]))
            XCTAssertTrue(object["new_edge"] is NSNull && fields[5].isEmpty, "no addresses, no edge")
        }

        let alerts = try run(["detect", "--model", model, "--input", input.path, "--only-alerts", "--backend", "cpu"])
        XCTAssertEqual(alerts.status, 0, alerts.stderr)
        let expected = rows.dropFirst().filter { $0.contains(",malicious,") }
        XCTAssertEqual(Array(alerts.stdout.split(separator: "\n").dropFirst().map(String.init)), expected)
    }

    func testDetectReadsACICIDS2017StyleExport() throws {
        // The same flows renamed the CIC-IDS2017 way (leading spaces, V3 names, text labels).
        let renames = ["Src IP": " Source IP", "Src Port": " Source Port", "Dst IP": " Destination IP", "Dst Port": " Destination Port",
                       "Total Fwd Packet": " Total Fwd Packets", "Total Bwd packets": " Total Backward Packets",
                       "Total Length of Fwd Packet": "Total Length of Fwd Packets", "Total Length of Bwd Packet": " Total Length of Bwd Packets",
                       "Packet Length Min": " Min Packet Length", "Packet Length Max": " Max Packet Length",
                       "FWD Init Win Bytes": "Init_Win_bytes_forward", "Bwd Init Win Bytes": " Init_Win_bytes_backward", "Label": " Label"]
        let v3Header = header.split(separator: ",", omittingEmptySubsequences: false).map { renames[String($0)] ?? String($0) }
        let labelColumn = v3Header.firstIndex(of: " Label")!
        var text = v3Header.joined(separator: ",") + "\n"
        var canonical = header + "\n"
        for line in lines.prefix(6) {
            var fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            canonical += line + "\n"
            fields[labelColumn] = "BENIGN"
            text += fields.joined(separator: ",") + "\n"
        }
        let v3 = dir.appendingPathComponent("v3.csv"), same = dir.appendingPathComponent("canonical.csv")
        try text.write(to: v3, atomically: true, encoding: .utf8)
        try canonical.write(to: same, atomically: true, encoding: .utf8)
        let a = try run(["detect", "--model", model, "--input", v3.path, "--backend", "cpu"])
        let b = try run(["detect", "--model", model, "--input", same.path, "--backend", "cpu"])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertTrue(a.stderr.contains("dialect: CICFlowMeter-V3 (CIC-IDS2017)"), a.stderr)
        XCTAssertEqual(a.stdout, b.stdout, "the same flows score the same in either dialect")
    }
}
