import Foundation
import TestSupport
import XCTest

/// From packets to verdicts: a model trained on two pcap baselines (metered by gpu-train's own
/// flow meter) scores pcaps with detect --pcap; bad captures and option mixes give clear errors.
final class PcapCLITests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: CLITests.binary.path), "gpu-train is not built")
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpu-train-pcap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(at: dir) } }

    func write(_ name: String, _ data: Data) throws -> String {
        let url = dir.appendingPathComponent(name)
        try data.write(to: url)
        return url.path
    }

    /// Rows of a CSV verdict output, split on commas (the synthetic flows need no quoting).
    func rows(_ text: String) -> [[Substring]] {
        text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
    }

    /// A labelled --data folder for the attacks (the baseline recipe takes its attacks from --data).
    func attacks() throws -> String {
        let data = dir.appendingPathComponent("synth").path
        XCTAssertEqual(try runGPUTrain(["synth", "--out", data, "--benign", "20", "--seed", "3"]).status, 0)
        return data
    }

    func testPcapBaselinesTrainAModelThatScoresPcaps() throws {
        let monday = try write("monday.pcap", PcapTraffic.normal(count: 120, start: 1_679_238_000, seed: 1))
        let tuesday = try write("tuesday.pcap", PcapTraffic.normal(count: 120, start: 1_679_324_400, seed: 2))
        let model = dir.appendingPathComponent("model.safetensors").path
        let train = try runGPUTrain(["train", "--data", try attacks(), "--baseline", monday, "--baseline", tuesday,
                                     "--out", model, "--backend", "cpu"])
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertTrue(train.stderr.contains("metered \(monday): "), train.stderr)
        XCTAssertTrue(train.stdout.contains("in 2 periods"), train.stdout)

        // A scan: every probe is flagged.
        let scan = try write("scan.pcap", PcapTraffic.scan(count: 40, start: 1_679_330_000))
        let detected = try runGPUTrain(["detect", "--model", model, "--pcap", scan, "--backend", "cpu"])
        XCTAssertEqual(detected.status, 0, detected.stderr)
        let out = rows(detected.stdout)
        XCTAssertEqual(out.count, 41, detected.stdout)
        XCTAssertEqual(out.first?.prefix(8).joined(separator: ","), "row,Flow ID,Src IP,Src Port,Dst IP,Dst Port,Timestamp,Protocol")
        let verdict = try XCTUnwrap(out[0].firstIndex(of: "verdict"))
        XCTAssertEqual(out.dropFirst().filter { $0[verdict] == "malicious" }.count, 40, detected.stdout)
        XCTAssertTrue(detected.stderr.contains("flow meter: 80 packets -> 40 flows"), detected.stderr)

        // Normal traffic of another day is not; and two captures are read in the order given.
        let wednesday = try write("wednesday.pcap", PcapTraffic.normal(count: 60, start: 1_679_410_800, seed: 4))
        let normal = try runGPUTrain(["detect", "--model", model, "--pcap", wednesday, "--pcap", scan, "--backend", "cpu",
                                      "--format", "jsonl"])
        XCTAssertEqual(normal.status, 0, normal.stderr)
        let objects = try normal.stdout.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        XCTAssertEqual(objects.count, 100, normal.stdout)
        // Flows are written as they close (the scan's at its resets, the rest at the end), so sort by source.
        let scanned = objects.filter { $0["src_ip"] as? String == "10.9.9.9" }
        let others = objects.filter { $0["src_ip"] as? String != "10.9.9.9" }
        XCTAssertEqual(scanned.count, 40)
        XCTAssertEqual(others.count, 60)
        XCTAssertLessThan(others.filter { $0["verdict"] as? String == "malicious" }.count, 6, normal.stdout)
        XCTAssertEqual(scanned.filter { $0["verdict"] as? String == "malicious" }.count, 40)
    }

    func testBadCapturesAndOptionMixesAreRefusedClearly() throws {
        let model = dir.appendingPathComponent("model.safetensors").path
        let base = try write("base.pcap", PcapTraffic.normal(count: 60, start: 1_679_238_000, seed: 1))
        XCTAssertEqual(try runGPUTrain(["train", "--data", try attacks(), "--baseline", base, "--out", model,
                                        "--backend", "cpu"]).status, 0)
        let output = dir.appendingPathComponent("verdicts.csv").path
        // A capture given as flows says what to do.
        let asFlows = try runGPUTrain(["detect", "--model", model, "--input", base, "--backend", "cpu"])
        XCTAssertNotEqual(asFlows.status, 0)
        XCTAssertTrue(asFlows.stderr.contains("is a packet capture, not flows: give it as --pcap"), asFlows.stderr)
        // Missing and foreign captures name the file; no output is left behind.
        // The meter's own error is told (not the reader's "no data rows"), and no output is left.
        let whole = PcapTraffic.normal(count: 5, start: 1_679_238_000, seed: 9)
        for (name, bytes, message) in [("missing.pcap", nil, ": no such file"),
                                       ("foreign.pcap", Data("not a capture at all\n".utf8), ": not a pcap or pcapng capture"),
                                       ("truncated.pcap", whole.prefix(70), "truncated")] {
            let path = dir.appendingPathComponent(name).path
            if let bytes { try bytes.write(to: URL(fileURLWithPath: path)) }
            let r = try runGPUTrain(["detect", "--model", model, "--pcap", path, "--output", output, "--backend", "cpu"])
            XCTAssertNotEqual(r.status, 0, "\(name): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(path) && r.stderr.contains(message), "\(name): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("no data rows"), "\(name): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: output), "\(name): a failed run leaves no output")
        }
        // A capture that is cut short after good packets: the flows before are not committed either.
        let cut = dir.appendingPathComponent("cut.pcap").path
        try whole.prefix(whole.count - 30).write(to: URL(fileURLWithPath: cut))
        let midway = try runGPUTrain(["detect", "--model", model, "--pcap", base, "--pcap", cut, "--output", output, "--backend", "cpu"])
        XCTAssertNotEqual(midway.status, 0, midway.stderr)
        XCTAssertTrue(midway.stderr.contains(cut), midway.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output), "a capture failing midway leaves no output")
        // An interface that does not exist: named, and no (live, written-as-it-goes) output is created.
        let noInterface = try runGPUTrain(["detect", "--model", model, "--interface", "gtnosuch0", "--output", output, "--backend", "cpu"])
        XCTAssertNotEqual(noInterface.status, 0)
        XCTAssertTrue(noInterface.stderr.contains("gtnosuch0") && !noInterface.stderr.contains("no data rows"), noInterface.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
        for (args, message) in [
            (["--input", base, "--pcap", base], "--input, --pcap and --interface are alternatives"),
            ([String](), "give the flows to score"),
            (["--pcap", base, "--follow"], "--follow reads a growing flow file"),
            (["--pcap", base, "--duration", "5"], "--duration goes with --interface"),
            (["--interface", "lo", "--duration", "-1"], "--duration must be a positive number of seconds"),
            (["--input", base, "--bpf", "tcp"], "--bpf filters packets"),
        ] {
            let r = try runGPUTrain(["detect", "--model", model, "--backend", "cpu"] + args)
            XCTAssertNotEqual(r.status, 0, "\(args)")
            XCTAssertTrue(r.stderr.contains(message), "\(args): \(r.stderr)")
        }
    }

    /// Live capture on loopback: UDP datagrams to a port of the test's own, seen by detect
    /// --interface lo with a BPF filter for that port; SIGINT stops the capture, the flows still
    /// open are scored, and the summary is printed. Needs root (or CAP_NET_RAW).
    func testLiveCaptureOnLoopbackScoresFlowsAndStopsOnSIGINT() throws {
        guard getuid() == 0 else { throw XCTSkip("live capture needs root or CAP_NET_RAW (run the suite as root to test it)") }
        let model = dir.appendingPathComponent("model.safetensors").path
        let base = try write("base.pcap", PcapTraffic.normal(count: 60, start: 1_679_238_000, seed: 1))
        XCTAssertEqual(try runGPUTrain(["train", "--data", try attacks(), "--baseline", base, "--out", model,
                                        "--backend", "cpu"]).status, 0)
        let (server, port) = try udpListener()
        defer { close(server) }
        let output = dir.appendingPathComponent("live.csv")
        let errors = dir.appendingPathComponent("live.err")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        let p = Process()
        p.executableURL = CLITests.binary
        p.arguments = ["detect", "--model", model, "--interface", "lo", "--bpf", "udp port \(port)", "--output", output.path,
                       "--duration", "60", "--backend", "cpu"]
        p.standardError = try FileHandle(forWritingTo: errors)
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        // Bounded traffic: 20 clients, 3 datagrams each, over about 4 s, to 127.0.0.1 only.
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_addr.s_addr = inet_addr("127.0.0.1")
        target.sin_port = port.bigEndian
        for client in 0..<20 {
            usleep(200_000)
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            XCTAssertGreaterThanOrEqual(fd, 0)
            for _ in 0..<3 {
                let payload = [UInt8](repeating: UInt8(client), count: 40 + client)
                _ = withUnsafePointer(to: &target) { t in
                    t.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, payload, payload.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            close(fd)
        }
        usleep(300_000)
        kill(p.processIdentifier, SIGINT)
        let deadline = Date().addingTimeInterval(30)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        XCTAssertFalse(p.isRunning, "detect did not stop within 30 s of SIGINT")
        p.waitUntilExit()
        let stderr = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
        XCTAssertEqual(p.terminationStatus, 0, stderr)
        XCTAssertTrue(stderr.contains("stopped by SIGINT"), stderr)
        let lines = try String(contentsOf: output, encoding: .utf8).split(separator: "\n")
        // The capture starts a moment after the process: the first clients may be missed.
        XCTAssertGreaterThanOrEqual(lines.count - 1, 10, lines.joined(separator: "\n") + stderr)
        XCTAssertTrue(lines.dropFirst().allSatisfy { $0.contains("127.0.0.1") && $0.contains(",\(port),") },
                      lines.joined(separator: "\n"))
    }
}
