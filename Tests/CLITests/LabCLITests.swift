import Foundation
import XCTest

/// The short lab (issue 21, part 4): a minute of real loopback traffic through scripts/lab/lab.sh,
/// metered by `gpu-train flows`, labelled by client address, trained on and scored end to end.
final class LabCLITests: XCTestCase {
    static let tools = ["nginx", "sshd", "ssh", "ssh-keygen", "redis-server", "dnsmasq", "nmap", "hydra",
                        "tcpdump", "slowhttptest", "curl", "socat", "python3"]
    static let kinds = ["portscan", "ssh-bruteforce", "http-probe", "slow-http", "exfiltration", "reverse-shell"]

    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static func find(_ tool: String) -> Bool {
        for folder in ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin", "/usr/local/sbin"]
            where FileManager.default.isExecutableFile(atPath: "\(folder)/\(tool)") { return true }
        return false
    }

    /// The lab scripts' own unit tests (labels by address, AUC with ties, the report, the seeded
    /// schedules, the wire formats): standard-library Python, no root.
    func testLabScriptsUnitTests() throws {
        guard Self.find("python3") else { throw XCTSkip("python3 is not installed") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-B", Self.repository.appendingPathComponent("scripts/lab/test_lab.py").path]
        let log = Pipe()
        p.standardOutput = log
        p.standardError = log
        try p.run()
        let output = String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("OK"), output)
    }

    func testShortLabRunsEndToEnd() throws {
        guard getuid() == 0 else {
            throw XCTSkip("the lab needs root (tcpdump on lo, nmap's raw scan, sshd): run the tests as root for it")
        }
        let missing = Self.tools.filter { !Self.find($0) }
        guard missing.isEmpty else {
            throw XCTSkip("the lab's packages are not installed (missing \(missing.joined(separator: ", "))): `make test` as root installs them (make lab-deps)")
        }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("gpu-train-lab-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }

        let p = Process()
        p.executableURL = Self.repository.appendingPathComponent("scripts/lab/lab.sh")
        p.arguments = [CLITests.binary.path, out.path, "60", "7"]
        let log = Pipe()
        p.standardOutput = log
        p.standardError = log
        try p.run()
        // Bounded: a minute of traffic, then metering, training and scoring; the script stops its
        // services itself on exit, and is interrupted (its trap still stops them) if it overruns.
        let deadline = DispatchTime.now() + .seconds(420)
        DispatchQueue.global().asyncAfter(deadline: deadline) { if p.isRunning { p.interrupt() } }
        let output = String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "lab.sh failed:\n\(output.suffix(4000))")
        guard p.terminationStatus == 0 else { return }

        // Every flow labelled: the baseline only benign, the later phase every attack kind.
        let labels = try String(contentsOf: out.appendingPathComponent("labels.csv"), encoding: .utf8)
            .split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
        XCTAssertTrue(labels.allSatisfy { $0.count == 4 })
        let baselineKinds = Set(labels.filter { $0[0] == "baseline-flows.csv" }.map { $0[3] })
        XCTAssertEqual(baselineKinds, ["benign"], "the baseline phase sends benign traffic only")
        let laterKinds = Set(labels.filter { $0[0] == "later-flows.csv" }.map { $0[3] })
        for kind in Self.kinds + ["benign"] { XCTAssertTrue(laterKinds.contains(kind), "no \(kind) flow in the later phase") }
        XCTAssertFalse(laterKinds.contains("unknown"), "a flow without a lab address was captured")

        // The report: every kind scored, and outcomes that do not depend on tuning.
        let data = try Data(contentsOf: out.appendingPathComponent("report.json"))
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let attacks = try XCTUnwrap(report["attacks"] as? [String: [String: Any]])
        for kind in Self.kinds {
            let entry = try XCTUnwrap(attacks[kind], "no \(kind) in the report")
            XCTAssertGreaterThan(entry["flows"] as? Int ?? 0, 0, kind)
            XCTAssertNotNil(entry["auc_vs_later_benign"] as? Double, kind)
        }
        // A scan of a thousand ports is nothing like the benign clients' sessions: nearly all of its
        // flows are flagged, and they make at least one incident.
        let scan = try XCTUnwrap(attacks["portscan"])
        XCTAssertGreaterThanOrEqual(scan["detected_rate"] as? Double ?? 0, 0.9)
        XCTAssertGreaterThanOrEqual(scan["incidents"] as? Int ?? 0, 1)
        // Tens of megabytes in one upload is far beyond any benign flow's size.
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(attacks["exfiltration"])["auc_vs_later_benign"] as? Double ?? 0, 0.9)
        // Benign traffic of the later phase drifted only mildly: most of it is not flagged (the
        // four-minute runs flag 12-20% of it, docs/RESULTS.md; a minute's baseline is a smaller bank).
        XCTAssertGreaterThan(report["later_benign_flows"] as? Int ?? 0, 50)
        XCTAssertLessThan(report["false_positive_rate"] as? Double ?? 1, 0.5)
        let markdown = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        for kind in Self.kinds { XCTAssertTrue(markdown.contains("| \(kind) |"), "report.md has no row for \(kind)") }
        // Every service and capture stopped: nothing listens on the lab's address any more.
        // (/proc/net/tcp: local address 127.0.3.1 is 0103007F in host order; state 0A is LISTEN.)
        let listening = try String(contentsOfFile: "/proc/net/tcp", encoding: .utf8).split(separator: "\n")
            .map { $0.split(separator: " ") }
            .filter { $0.count > 3 && $0[1].hasPrefix("0103007F:") && $0[3] == "0A" }
        XCTAssertTrue(listening.isEmpty, "a service still listens on 127.0.3.1 after the lab: \(listening)")
    }
}
