import FlowData
import Foundation
import TestSupport
import XCTest

/// `gpu-train flows`, run as a user would run it.
final class FlowsCLITests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: CLITests.binary.path), "gpu-train is not built")
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpu-train-flows-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(at: dir) } }

    /// 2023-03-19 15:02:18 UTC.
    let t0: Int64 = 1_679_238_138_000_000

    /// Three conversations: a TCP exchange closed by FINs, a DNS query and answer, a RST.
    func capture() -> PcapWriter {
        var pcap = PcapWriter()
        func tcp(_ s: String, _ d: String, _ sp: UInt16, _ dp: UInt16, _ flags: UInt8, _ payload: Int = 0) -> [UInt8] {
            Frame.ethernet(Frame.ipv4(s, d, protocol: 6, Frame.tcp(sp, dp, flags: flags, window: 502, payload: payload)))
        }
        let a = "10.0.0.1", b = "10.0.0.2"
        pcap.add(tcp(a, b, 40000, 80, Frame.syn), micros: t0)
        pcap.add(tcp(b, a, 80, 40000, Frame.syn | Frame.ack), micros: t0 + 100)
        pcap.add(tcp(a, b, 40000, 80, Frame.ack), micros: t0 + 200)
        pcap.add(tcp(a, b, 40000, 80, Frame.psh | Frame.ack, 120), micros: t0 + 300)
        pcap.add(Frame.ethernet(Frame.ipv4("10.0.0.3", "10.0.0.53", protocol: 17, Frame.udp(5000, 53, payload: 30))), micros: t0 + 350)
        pcap.add(tcp(b, a, 80, 40000, Frame.psh | Frame.ack, 900), micros: t0 + 900)
        pcap.add(Frame.ethernet(Frame.ipv4("10.0.0.53", "10.0.0.3", protocol: 17, Frame.udp(53, 5000, payload: 90))), micros: t0 + 950)
        pcap.add(tcp(a, b, 40000, 80, Frame.fin | Frame.ack), micros: t0 + 1000)
        pcap.add(tcp(b, a, 80, 40000, Frame.fin | Frame.ack), micros: t0 + 1100)
        pcap.add(tcp(a, b, 40000, 80, Frame.ack), micros: t0 + 1200)
        pcap.add(tcp("10.0.0.4", b, 41000, 22, Frame.syn), micros: t0 + 2000)
        pcap.add(tcp(b, "10.0.0.4", 22, 41000, Frame.rst | Frame.ack), micros: t0 + 2050)
        return pcap
    }

    func testFlowsWritesACSVTheLoaderReads() throws {
        let pcap = dir.appendingPathComponent("capture.pcap")
        try capture().write(to: pcap.path)
        let out = dir.appendingPathComponent("flows.csv")
        let r = try runGPUTrain(["flows", "--pcap", pcap.path, "--out", out.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("metered 12 packets, 3 flows"), r.stderr)
        XCTAssertTrue(r.stderr.contains("wrote 3 flows to \(out.path)"), r.stderr)
        let text = try String(contentsOf: out, encoding: .utf8)
        let lines = text.split(separator: "\n")
        XCTAssertEqual(lines.count, 4)
        XCTAssertTrue(text.hasSuffix("\n"))
        XCTAssertTrue(lines[0].hasPrefix("Flow ID,Src IP,Src Port,Dst IP,Dst Port,Protocol,Timestamp,Flow Duration,"))
        // Written at the end, oldest first.
        XCTAssertTrue(lines[1].hasPrefix("10.0.0.1-10.0.0.2-40000-80-6,10.0.0.1,40000,10.0.0.2,80,6,2023-03-19 15:02:18,1200,5,3,120.0,900.0,"), String(lines[1]))
        XCTAssertTrue(lines[2].hasPrefix("10.0.0.3-10.0.0.53-5000-53-17,10.0.0.3,5000,10.0.0.53,53,17,2023-03-19 15:02:18.000350,600,1,1,30.0,90.0,"), String(lines[2]))
        XCTAssertTrue(lines[3].hasPrefix("10.0.0.4-10.0.0.2-41000-22-6,"), String(lines[3]))
        XCTAssertTrue(lines.dropFirst().allSatisfy { $0.hasSuffix(",NeedManualLabel") })

        // The flow loader reads it with the default features, unlabelled.
        let table = try FlowLoader.load(out, options: FlowLoadOptions(requireLabels: false))
        XCTAssertEqual(table.rowCount, 3)
        XCTAssertEqual(table.featureNames, FeatureSet.default)
        let width = FeatureSet.default.count
        let duration = FeatureSet.default.firstIndex(of: "Flow Duration")!
        let fwdLength = FeatureSet.default.firstIndex(of: "Total Length of Fwd Packet")!
        XCTAssertEqual(table.values[duration], 1200)
        XCTAssertEqual(table.values[width + fwdLength], 30)
        XCTAssertEqual(Set(table.labels), [FlowTable.unlabelled])

        // With a label, train and evaluate can use it as a labelled file.
        let labelled = dir.appendingPathComponent("benign.csv")
        XCTAssertEqual(try runGPUTrain(["flows", "--pcap", pcap.path, "--out", labelled.path, "--label", "0"]).status, 0)
        let benign = try FlowLoader.load(labelled)
        XCTAssertEqual(benign.labels, [0, 0, 0])
    }

    func testStandardOutputAndSeveralFiles() throws {
        let first = dir.appendingPathComponent("a.pcap"), second = dir.appendingPathComponent("b.pcapng")
        try capture().write(to: first.path)
        var ng = PcapngWriter()
        ng.add(Frame.ethernet(Frame.ipv4("10.9.0.1", "10.9.0.2", protocol: 17, Frame.udp(1, 2, payload: 5))), micros: t0 + 5000)
        try ng.write(to: second.path)
        let r = try runGPUTrain(["flows", "--pcap", first.path, second.path, "--out", "-"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 5)
        XCTAssertTrue(lines[4].hasPrefix("10.9.0.1-10.9.0.2-1-2-17,"))
    }

    /// A capture on standard input (tcpdump -w - | gpu-train flows --pcap -).
    func testStandardInput() throws {
        let r = try runGPUTrain(["flows", "--pcap", "-", "--out", "-"], stdin: Data(capture().bytes))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 4)
        let empty = try runGPUTrain(["flows", "--pcap", "-", "--out", "-"], stdin: Data())
        XCTAssertEqual(empty.status, 1)
        XCTAssertTrue(empty.stderr.contains("standard input: "), empty.stderr)
    }

    func testRefusesBadUse() throws {
        let pcap = dir.appendingPathComponent("capture.pcap")
        try capture().write(to: pcap.path)
        let out = dir.appendingPathComponent("flows.csv").path
        func refused(_ args: [String], _ message: String, status: Int32 = 64) throws {
            let r = try runGPUTrain(["flows"] + args)
            XCTAssertEqual(r.status, status, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(message), "\(args): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(args) wrote an output")
        }
        try refused(["--out", out], "give either --pcap FILE... or --interface NAME")
        try refused(["--pcap", pcap.path, "--interface", "lo", "--out", out], "exactly one")
        try refused(["--interface", "lo", "--duration", "-1", "--out", out], "--duration must be a number of seconds above 0")
        try refused(["--interface", "lo", "--duration", "nan", "--out", out], "--duration must be")
        try refused(["--pcap", pcap.path, "--duration", "5", "--out", out], "--duration applies to --interface only")
        try refused(["--pcap", pcap.path, "--flow-timeout", "0", "--out", out], "--flow-timeout must be a positive number")
        try refused(["--pcap", pcap.path, "--activity-timeout", "-5", "--out", out], "--activity-timeout must be a positive number")
        try refused(["--pcap", pcap.path, "--label", "a,b", "--out", out], "--label must be")
        try refused(["--interface", "lo", "--snaplen", "0", "--out", out], "--snaplen must be between 1 and 262144")
        // The output is never one of the inputs.
        let r = try runGPUTrain(["flows", "--pcap", pcap.path, "--out", pcap.path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertEqual(try Data(contentsOf: pcap), Data(capture().bytes), "the input was changed")
        // A file that is no capture: the error names it, and no output is left.
        let csv = dir.appendingPathComponent("flows-in.csv")
        try Data("Flow ID,Src IP\n".utf8).write(to: csv)
        try refused(["--pcap", csv.path, "--out", out], "\(csv.path): not a pcap or pcapng capture", status: 1)
        try refused(["--pcap", dir.appendingPathComponent("missing.pcap").path, "--out", out], "missing.pcap: no such file", status: 1)
        try refused(["--pcap", pcap.path, "--bpf", "port port", "--out", out], "bad BPF filter 'port port'", status: 1)
    }

    /// A live capture on loopback (as root: skipped otherwise) of a bounded UDP exchange between
    /// two 127.0.0.0/8 addresses; --duration ends it and every open flow is written.
    func testLiveCaptureOnLoopback() throws {
        guard getuid() == 0 else { throw XCTSkip("live capture needs root or CAP_NET_RAW") }
        let out = dir.appendingPathComponent("live.csv")
        let process = Process()
        process.executableURL = CLITests.binary
        process.arguments = ["flows", "--interface", "lo", "--duration", "3", "--bpf", "udp and port 47811", "--out", out.path]
        let err = Pipe()
        process.standardError = err
        try process.run()
        Thread.sleep(forTimeInterval: 1.0)
        // Ten datagrams from 127.0.0.1 to 127.0.0.2:47811 (nothing listens; loopback only).
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(47811).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.2")
        let payload = [UInt8](repeating: 0x41, count: 64)
        for _ in 0..<10 {
            _ = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, payload, payload.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            usleep(20_000)
        }
        close(fd)
        process.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 0, stderr)
        let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2, stderr)
        XCTAssertTrue(lines[1].hasPrefix("127.0.0.1-127.0.0.2-"), String(lines[1]))
        XCTAssertTrue(lines[1].contains(",47811,17,"), String(lines[1]))
        XCTAssertTrue(lines[1].split(separator: ",")[8] == "10", String(lines[1]))
    }

    /// SIGINT during a file run (here a FIFO that never ends) leaves no output, not even a
    /// temporary file, and an old output stays as it was.
    func testInterruptedFileRunLeavesNoOutput() throws {
        let fifo = dir.appendingPathComponent("capture.fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let out = dir.appendingPathComponent("flows.csv")
        try Data("old output\n".utf8).write(to: out)
        let process = Process()
        process.executableURL = CLITests.binary
        process.arguments = ["flows", "--pcap", fifo, "--out", out.path]
        let err = Pipe()
        process.standardError = err
        try process.run()
        let writer = try FileHandle(forWritingTo: URL(fileURLWithPath: fifo))
        // The whole capture, then nothing more while the writer stays open: the run never ends.
        writer.write(Data(capture().bytes))
        Thread.sleep(forTimeInterval: 1.0)
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        try? writer.close()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 128 + SIGINT, stderr)
        XCTAssertTrue(stderr.contains("gpu-train flows: interrupted; no output written"), stderr)
        XCTAssertEqual(try String(contentsOf: out, encoding: .utf8), "old output\n")
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".gt-") }
        XCTAssertEqual(left, [], "a temporary file was left")
    }

    /// Without the privilege, a live capture says what it needs (run as root, dropping to nobody).
    func testLiveCaptureWithoutPrivilegeSaysWhy() throws {
        let runuser = "/usr/sbin/runuser"
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: runuser) else {
            throw XCTSkip("needs root and runuser to run gpu-train as an unprivileged user")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: runuser)
        process.arguments = ["-u", "nobody", "--", CLITests.binary.path, "flows", "--interface", "lo", "--duration", "1", "--out", "-"]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        process.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        if process.terminationStatus == 126 || process.terminationStatus == 127 || stderr.contains("Permission denied") {
            throw XCTSkip("nobody cannot run the binary here: \(stderr)")
        }
        XCTAssertEqual(process.terminationStatus, 1, stderr)
        XCTAssertTrue(stderr.contains("interface lo: live capture needs root or the CAP_NET_RAW capability"), stderr)
    }

    /// SIGINT ends a live capture cleanly: open flows are written and the output completed.
    func testLiveCaptureStopsOnSIGINT() throws {
        guard getuid() == 0 else { throw XCTSkip("live capture needs root or CAP_NET_RAW") }
        let out = dir.appendingPathComponent("live.csv")
        let process = Process()
        process.executableURL = CLITests.binary
        process.arguments = ["flows", "--interface", "lo", "--bpf", "udp and port 47812", "--out", out.path]
        let err = Pipe()
        process.standardError = err
        try process.run()
        Thread.sleep(forTimeInterval: 1.0)
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(47812).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.3")
        let payload = [UInt8](repeating: 0x42, count: 16)
        for _ in 0..<3 {
            _ = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, payload, payload.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        close(fd)
        Thread.sleep(forTimeInterval: 0.5)
        let sent = Date()
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        XCTAssertLessThan(Date().timeIntervalSince(sent), 2, "the stop took too long")
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 0, stderr)
        XCTAssertTrue(stderr.contains("stopped by SIGINT"), stderr)
        let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2, stderr)
        XCTAssertTrue(lines[1].contains(",127.0.0.3,47812,17,"), String(lines[1]))
    }
}
