import Foundation
import XCTest

/// A model trained on a Zeek baseline (conn.log files under benign/, a scan under malicious/, no
/// --features) scores Zeek records with detect, from a file and from standard input.
final class NativeLogCLITests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: CLITests.binary.path), "gpu-train is not built")
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpu-train-zeek-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(at: dir) } }

    static let fields = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
                         "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
                         "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents"]

    /// A conn.log of `count` flows: DNS lookups and HTTP requests inside a cluster, or (scan) one
    /// SYN to each of many ports answered by a reset.
    static func connLog(count: Int, start: Double, seed: UInt64, scan: Bool) -> String {
        var state = seed
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        var lines = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", "#path\tconn",
                     "#open\t2023-03-19-15-00-00", "#fields\t" + fields.joined(separator: "\t"),
                     "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]"]
        for k in 0..<count {
            let ts = String(format: "%.6f", start + Double(k) * 1.5)
            let uid = "C\(seed)x\(k)"
            let row: [String]
            if scan {
                row = [ts, uid, "10.244.9.9", "\(40000 + k)", "10.244.2.7", "\(1 + k * 7)", "tcp", "-", "0.000\(100 + next(50))",
                       "0", "0", "REJ", "T", "T", "0", "Sr", "1", "44", "1", "40", "(empty)"]
            } else if next(2) == 0 {
                let q = 30 + next(20), a = 90 + next(60)
                row = [ts, uid, "10.244.1.\(2 + next(5))", "\(30000 + next(20000))", "10.96.0.10", "53", "udp", "dns",
                       String(format: "%.6f", 0.0005 + Double(next(100)) / 100_000), "\(q)", "\(a)", "SF", "T", "T", "0", "Dd",
                       "1", "\(q + 28)", "1", "\(a + 28)", "(empty)"]
            } else {
                let up = 300 + next(400), down = 2000 + next(6000), op = 6 + next(6), rp = 5 + next(8)
                row = [ts, uid, "10.244.1.\(2 + next(5))", "\(30000 + next(20000))", "10.244.2.7", "8080", "tcp", "http",
                       String(format: "%.6f", 0.05 + Double(next(1000)) / 1000), "\(up)", "\(down)", "SF", "T", "T", "0",
                       "ShADadFf", "\(op)", "\(up + op * 52)", "\(rp)", "\(down + rp * 52)", "(empty)"]
            }
            lines.append(row.joined(separator: "\t"))
        }
        lines.append("#close\t2023-03-19-16-00-00")
        return lines.joined(separator: "\n") + "\n"
    }

    func write(_ name: String, _ text: String) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
        return url
    }

    func testAZeekBaselineTrainsAModelThatScoresZeekRecords() throws {
        let data = dir.appendingPathComponent("zeek")
        _ = try write("zeek/benign/monday/conn.log", Self.connLog(count: 80, start: 1_679_238_000, seed: 1, scan: false))
        _ = try write("zeek/benign/tuesday/conn.log", Self.connLog(count: 80, start: 1_679_324_400, seed: 2, scan: false))
        let scan = try write("zeek/malicious/reconnaissance/conn.log",
                             Self.connLog(count: 30, start: 1_679_330_000, seed: 3, scan: true))
        let model = dir.appendingPathComponent("model.safetensors").path
        let train = try runGPUTrain(["train", "--data", data.path, "--out", model, "--encoder", "none", "--backend", "cpu"])
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertTrue(train.stderr.contains("features: the 22 default features of zeek"), train.stderr)
        XCTAssertTrue(train.stderr.contains("dialect: Zeek conn.log [zeek]"), train.stderr)

        let detected = try runGPUTrain(["detect", "--model", model, "--input", scan.path, "--backend", "cpu"])
        XCTAssertEqual(detected.status, 0, detected.stderr)
        let rows = detected.stdout.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        XCTAssertEqual(rows.count, 31, detected.stdout)
        XCTAssertEqual(rows.first?.prefix(8).joined(separator: ","), "row,Flow ID,Src IP,Src Port,Dst IP,Dst Port,Timestamp,Protocol")
        XCTAssertEqual(rows[1][0], "9", "the row is the conn.log's line")
        XCTAssertEqual(rows[1][1], "C3x0")
        XCTAssertEqual(rows[1][7], "6")
        let verdict = try XCTUnwrap(rows[0].firstIndex(of: "verdict"))
        let flagged = rows.dropFirst().filter { $0[verdict] == "malicious" }.count
        XCTAssertGreaterThan(flagged, 20, "a port scan is far from a baseline of DNS and HTTP: \(detected.stdout)")
        // Normal traffic of another day is not.
        let wednesday = try write("wednesday/conn.log", Self.connLog(count: 40, start: 1_679_410_800, seed: 4, scan: false))
        let normal = try runGPUTrain(["detect", "--model", model, "--input", wednesday.path, "--backend", "cpu"])
        XCTAssertEqual(normal.status, 0, normal.stderr)
        let normalRows = normal.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        XCTAssertEqual(normalRows.count, 40)
        XCTAssertLessThan(normalRows.filter { $0[verdict] == "malicious" }.count, 4, normal.stdout)

        // The same flows as Zeek JSON on standard input score the same.
        let json = Self.connLog(count: 30, start: 1_679_330_000, seed: 3, scan: true).split(separator: "\n")
            .filter { !$0.hasPrefix("#") }.map { line -> String in
                let values = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
                let pairs = zip(Self.fields, values).filter { $0.1 != "-" && $0.1 != "(empty)" }.map { name, value in
                    Double(value) != nil && !["uid", "id.orig_h", "id.resp_h"].contains(name)
                        ? "\"\(name)\":\(value)" : "\"\(name)\":\"\(value)\""
                }
                return "{" + pairs.joined(separator: ",") + "}"
            }.joined(separator: "\n") + "\n"
        let piped = try runGPUTrain(["detect", "--model", model, "--input", "-", "--backend", "cpu"], stdin: Data(json.utf8))
        XCTAssertEqual(piped.status, 0, piped.stderr)
        let pipedRows = piped.stdout.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        XCTAssertEqual(pipedRows.count, 31)
        XCTAssertEqual(pipedRows[1][0], "1", "JSON lines are numbered from 1")
        // Everything but the row and the Timestamp's spelling (JSON's number 1679330000.0, TSV's 1679330000.000000).
        func withoutRowAndTimestamp(_ r: [[Substring]]) -> [[Substring]] { r.dropFirst().map { Array($0[1..<6] + $0[7...]) } }
        XCTAssertEqual(withoutRowAndTimestamp(pipedRows), withoutRowAndTimestamp(rows))
    }

    /// An eve.json of `count` flow events (HTTP inside the cluster, or a SYN scan answered by
    /// resets), each after an alert-free dns event that is not a flow.
    static func eve(count: Int, start: Double, seed: UInt64, scan: Bool) -> String {
        var state = seed
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        func iso(_ t: Double) -> String {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(secondsFromGMT: 0)
            f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'+0000'"
            return f.string(from: Date(timeIntervalSince1970: t))
        }
        var lines: [String] = []
        for k in 0..<count {
            let t = start + Double(k) * 2
            lines.append("{\"timestamp\":\"\(iso(t))\",\"event_type\":\"dns\",\"src_ip\":\"10.244.1.5\",\"dest_ip\":\"10.96.0.10\",\"proto\":\"UDP\",\"dns\":{\"type\":\"query\"}}")
            let flow: String
            if scan {
                flow = "\"src_ip\":\"10.244.9.9\",\"src_port\":\(40000 + k),\"dest_ip\":\"10.244.2.7\",\"dest_port\":\(1 + 7 * k),\"proto\":\"TCP\","
                    + "\"flow\":{\"pkts_toserver\":1,\"pkts_toclient\":1,\"bytes_toserver\":58,\"bytes_toclient\":54,\"start\":\"\(iso(t))\","
                    + "\"end\":\"\(iso(t + 0.0001))\",\"age\":0,\"state\":\"closed\",\"reason\":\"timeout\",\"alerted\":false},"
                    + "\"tcp\":{\"tcp_flags\":\"16\",\"syn\":true,\"rst\":true,\"ack\":true}"
            } else {
                let up = 300 + next(400), down = 2000 + next(6000), duration = 0.05 + Double(next(1000)) / 1000
                flow = "\"src_ip\":\"10.244.1.\(2 + next(5))\",\"src_port\":\(30000 + next(20000)),\"dest_ip\":\"10.244.2.7\",\"dest_port\":8080,"
                    + "\"proto\":\"TCP\",\"app_proto\":\"http\",\"flow\":{\"pkts_toserver\":\(6 + next(6)),\"pkts_toclient\":\(5 + next(8)),"
                    + "\"bytes_toserver\":\(up),\"bytes_toclient\":\(down),\"start\":\"\(iso(t))\",\"end\":\"\(iso(t + duration))\","
                    + "\"age\":\(Int(duration)),\"state\":\"closed\",\"reason\":\"timeout\",\"alerted\":false},"
                    + "\"tcp\":{\"tcp_flags\":\"1b\",\"syn\":true,\"fin\":true,\"psh\":true,\"ack\":true}"
            }
            lines.append("{\"timestamp\":\"\(iso(t + 1))\",\"flow_id\":\(1000 * Int(seed) + k),\"event_type\":\"flow\"," + flow + "}")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func testASuricataBaselineTrainsAModelThatScoresEveFlows() throws {
        let data = dir.appendingPathComponent("suricata")
        _ = try write("suricata/benign/monday/eve.json", Self.eve(count: 60, start: 1_679_238_000, seed: 1, scan: false))
        _ = try write("suricata/benign/tuesday/eve.json", Self.eve(count: 60, start: 1_679_324_400, seed: 2, scan: false))
        let scan = try write("suricata/malicious/reconnaissance/eve.json", Self.eve(count: 20, start: 1_679_330_000, seed: 3, scan: true))
        let model = dir.appendingPathComponent("model.safetensors").path
        let train = try runGPUTrain(["train", "--data", data.path, "--out", model, "--encoder", "none", "--backend", "cpu"])
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertTrue(train.stderr.contains("features: the 16 default features of suricata"), train.stderr)
        XCTAssertTrue(train.stderr.contains("skipped 140 Suricata events other than flow events"), train.stderr)

        let detected = try runGPUTrain(["detect", "--model", model, "--input", scan.path, "--backend", "cpu"])
        XCTAssertEqual(detected.status, 0, detected.stderr)
        XCTAssertTrue(detected.stderr.contains("dialect: Suricata eve.json flow events [suricata]"), detected.stderr)
        XCTAssertTrue(detected.stderr.contains("skipped 20 Suricata events other than flow events"), detected.stderr)
        let rows = detected.stdout.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        XCTAssertEqual(rows.count, 21, detected.stdout)
        XCTAssertEqual(rows[1][0], "2", "the flow event's line in eve.json")
        XCTAssertEqual(rows[1][1], "3000")
        XCTAssertEqual(rows[1][6], "2023-03-20T16:33:20.000000+0000")
        let verdict = try XCTUnwrap(rows[0].firstIndex(of: "verdict"))
        XCTAssertGreaterThan(rows.dropFirst().filter { $0[verdict] == "malicious" }.count, 15, detected.stdout)
    }
}
