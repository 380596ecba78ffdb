import Foundation
import XCTest

/// Cross-check of `gpu-train flows` against the Python `cicflowmeter` 0.5.0 on one real loopback
/// capture (issue 21, part 3). Fixtures and how they were made: tools/make_flowmeter_crosscheck_fixture.py.
///
/// Every Python column is compared with gpu-train's column of the same meaning. Where the two
/// meters differ, the difference is one of the rules in README (Dialects, "gpu-train flows against
/// Python cicflowmeter"), and the test asserts that rule: Python's value is computed from ours (a
/// unit, a count one higher) or, where Python measures other bytes (whole frames), from the
/// capture's own packets, with the matching statistic of payload bytes checked against ours.
final class FlowMeterCrossCheckTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let pcap = fixtures.appendingPathComponent("crosscheck-loopback.pcap")
    static let python = fixtures.appendingPathComponent("crosscheck-python-cicflowmeter-0.5.0.csv")

    // MARK: - The capture, read independently of both meters

    /// One packet of the fixture: Ethernet, IPv4, TCP or UDP (all this capture holds).
    struct Packet {
        var micros: Int64
        var source: String, destination: String
        var sourcePort: Int, destinationPort: Int
        var proto: Int
        var frame: Int          // bytes of the whole frame (what Python's len(packet) counts)
        var ipHeader: Int       // IPv4 header bytes
        var transportHeader: Int
        var payload: Int        // transport payload bytes (what CICFlowMeter counts)
        var flags: UInt8        // TCP flags (0 for UDP)
        var window: Int
    }

    static func readPcap(_ url: URL) throws -> [Packet] {
        let data = try [UInt8](Data(contentsOf: url))
        func u32(_ at: Int) -> Int { Int(data[at]) | Int(data[at + 1]) << 8 | Int(data[at + 2]) << 16 | Int(data[at + 3]) << 24 }
        func be16(_ at: Int) -> Int { Int(data[at]) << 8 | Int(data[at + 1]) }
        guard data.count >= 24, u32(0) == 0xA1B2_C3D4, u32(20) == 1 else {
            throw XCTSkip("the fixture is not a little-endian microsecond Ethernet pcap")
        }
        var packets: [Packet] = []
        var at = 24
        while at + 16 <= data.count {
            let micros = Int64(u32(at)) * 1_000_000 + Int64(u32(at + 4))
            let captured = u32(at + 8)
            let frameStart = at + 16
            at = frameStart + captured
            guard be16(frameStart + 12) == 0x0800 else { continue }
            let ip = frameStart + 14
            let ipHeader = Int(data[ip] & 0x0F) * 4
            let total = be16(ip + 2)
            let proto = Int(data[ip + 9])
            let address = { (o: Int) in "\(data[o]).\(data[o + 1]).\(data[o + 2]).\(data[o + 3])" }
            let transport = ip + ipHeader
            let header = proto == 6 ? Int(data[transport + 12] >> 4) * 4 : 8
            packets.append(Packet(micros: micros, source: address(ip + 12), destination: address(ip + 16),
                                  sourcePort: be16(transport), destinationPort: be16(transport + 2), proto: proto,
                                  frame: captured, ipHeader: ipHeader, transportHeader: header,
                                  payload: total - ipHeader - header,
                                  flags: proto == 6 ? data[transport + 13] : 0,
                                  window: proto == 6 ? be16(transport + 14) : 0))
        }
        return packets
    }

    // MARK: - CSV rows

    static func rows(_ text: String) -> [[String: String]] {
        let lines = text.split(whereSeparator: \.isNewline).map(String.init)
        guard let header = lines.first?.split(separator: ",", omittingEmptySubsequences: false).map(String.init) else { return [] }
        return lines.dropFirst().map { line in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            return Dictionary(uniqueKeysWithValues: zip(header, fields))
        }
    }

    static func key(_ row: [String: String], _ names: [String]) -> String { names.map { row[$0] ?? "?" }.joined(separator: "|") }

    // MARK: - Statistics as each meter computes them

    static func mean(_ v: [Double]) -> Double { v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count) }
    /// numpy.var (Python cicflowmeter): divides by n.
    static func populationVariance(_ v: [Double]) -> Double {
        guard !v.isEmpty else { return 0 }
        let m = mean(v)
        return v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count)
    }
    /// Apache Commons' SummaryStatistics (the Java fork, hence gpu-train): divides by n - 1.
    static func sampleVariance(_ v: [Double]) -> Double {
        guard v.count > 1 else { return 0 }
        let m = mean(v)
        return v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count - 1)
    }
    /// Python's get_statistics(): every statistic is 0 for a list of fewer than two values.
    static func pythonStatistics(_ v: [Double]) -> (total: Double, max: Double, min: Double, mean: Double, std: Double) {
        guard v.count > 1 else { return (0, 0, 0, 0, 0) }
        return (v.reduce(0, +), v.max()!, v.min()!, mean(v), populationVariance(v).squareRoot())
    }

    func testGPUTrainFlowsAgainstPythonCICFlowMeter() throws {
        let packets = try Self.readPcap(Self.pcap)
        XCTAssertEqual(packets.count, 45, "the committed capture has 45 packets")
        let pythonRows = Self.rows(try String(contentsOf: Self.python, encoding: .utf8))
        XCTAssertEqual(pythonRows.count, 6)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpu-train-crosscheck-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("flows.csv")
        let run = try runGPUTrain(["flows", "--pcap", Self.pcap.path, "--out", out.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        let ours = Self.rows(try String(contentsOf: out, encoding: .utf8))
        try compare(python: pythonRows, ours: ours, packets: packets)
    }

    /// Python's columns a comparison has asserted; every one of the header must be.
    var checked = Set<String>()

    func compare(python pythonRows: [[String: String]], ours: [[String: String]], packets: [Packet]) throws {
        // Both meters key a flow by its 5-tuple with the first packet's sender as source.
        let pythonKey = ["src_ip", "src_port", "dst_ip", "dst_port", "protocol"]
        let ourKey = ["Src IP", "Src Port", "Dst IP", "Dst Port", "Protocol"]
        let oursByKey = Dictionary(grouping: ours) { Self.key($0, ourKey) }
        XCTAssertEqual(Set(oursByKey.keys), Set(pythonRows.map { Self.key($0, pythonKey) }),
                       "the same flows, keyed and directed the same way")
        for py in pythonRows {
            let key = Self.key(py, pythonKey)
            guard let mine = oursByKey[key], mine.count == 1, let row = mine.first else {
                XCTFail("\(key): gpu-train wrote \(oursByKey[key]?.count ?? 0) flows where Python wrote one"); continue
            }
            let flowPackets = packets.filter {
                "\($0.source)|\($0.sourcePort)|\($0.destination)|\($0.destinationPort)|\($0.proto)" == key
                    || "\($0.destination)|\($0.destinationPort)|\($0.source)|\($0.sourcePort)|\($0.proto)" == key
            }
            try compareFlow(key: key, python: py, ours: row, packets: flowPackets)
        }
        let header = Set(pythonRows.first?.keys.map { $0 } ?? [])
        XCTAssertEqual(header.subtracting(checked), [], "Python columns compared with nothing")
    }

    // swiftlint:disable:next function_body_length
    func compareFlow(key: String, python py: [String: String], ours: [String: String], packets: [Packet]) throws {
        func p(_ name: String) -> Double {
            guard let text = py[name], let v = Double(text) else { XCTFail("\(key): Python's \(name) is \(py[name] ?? "absent")"); return .nan }
            return v
        }
        func o(_ name: String) -> Double {
            guard let text = ours[name], let v = Double(text) else { XCTFail("\(key): our \(name) is \(ours[name] ?? "absent")"); return .nan }
            return v
        }
        /// Asserts that Python's column equals `expected` (relative 1e-9, absolute 1e-6: Python
        /// writes 17 significant digits, its seconds are floats of microsecond times).
        func expect(_ name: String, _ expected: Double, _ why: String, absolute: Double = 1e-6) {
            checked.insert(name)
            let actual = p(name)
            let tolerance = max(absolute, 1e-9 * abs(expected))
            XCTAssertLessThanOrEqual(abs(actual - expected), tolerance, "\(key): Python's \(name) is \(actual), expected \(expected) (\(why))")
        }
        func expectOurs(_ name: String, _ expected: Double, _ why: String) {
            let actual = o(name)
            if expected.isInfinite {
                XCTAssertEqual(actual, expected, "\(key): our \(name) (\(why))"); return
            }
            XCTAssertLessThanOrEqual(abs(actual - expected), max(1e-6, 1e-9 * abs(expected)), "\(key): our \(name) is \(actual), expected \(expected) (\(why))")
        }

        let forward = packets.first.map { (first: Packet) in { (q: Packet) in q.source == first.source && q.sourcePort == first.sourcePort } }!
        let fwd = packets.filter(forward), bwd = packets.filter { !forward($0) }
        let first = packets[0]
        // Python's view of the flow: the first packet twice (Flow() keeps it, add_packet() adds it).
        let pyPackets = [first] + packets, pyFwd = [first] + fwd
        let frames = { (list: [Packet]) in list.map { Double($0.frame) } }
        let payloads = { (list: [Packet]) in list.map { Double($0.payload) } }
        let seconds = 1e-6

        // Identifiers: the same flow, the same direction.
        XCTAssertEqual(py["src_ip"], ours["Src IP"]); XCTAssertEqual(py["dst_ip"], ours["Dst IP"])
        XCTAssertEqual(py["src_port"], ours["Src Port"]); XCTAssertEqual(py["dst_port"], ours["Dst Port"])
        XCTAssertEqual(py["protocol"], ours["Protocol"])
        checked.formUnion(["src_ip", "dst_ip", "src_port", "dst_port", "protocol", "timestamp"])
        // Timestamp: Python writes whole seconds in local time (the fixture was made with TZ=UTC);
        // gpu-train writes the first packet's time in UTC with its fraction.
        XCTAssertEqual(py["timestamp"], ours["Timestamp"].map { String($0.prefix(19)) }, "\(key): timestamp to the second")

        // Times: Python in seconds, gpu-train in microseconds.
        let duration = o("Flow Duration")
        expect("flow_duration", duration * seconds, "seconds, not microseconds")

        // Packet counts: Python counts the first (forward) packet twice.
        expect("tot_fwd_pkts", o("Total Fwd Packet") + 1, "first packet counted twice")
        expect("subflow_fwd_pkts", o("Total Fwd Packet") + 1, "Python's subflow is the whole flow; first packet twice")
        expect("tot_bwd_pkts", o("Total Bwd packets"), "same")
        expect("subflow_bwd_pkts", o("Total Bwd packets"), "Python's subflow is the whole flow")
        // The fork's subflow test compares microseconds with seconds, so every packet starts a new
        // subflow, and each Subflow column is its total divided (as integers) by the packet count.
        let n = Double(packets.count)
        expectOurs("Subflow Fwd Packets", (o("Total Fwd Packet") / n).rounded(.down), "the fork: one subflow per packet")
        expectOurs("Subflow Bwd Packets", (o("Total Bwd packets") / n).rounded(.down), "the fork: one subflow per packet")
        expectOurs("Subflow Fwd Bytes", (o("Total Length of Fwd Packet") / n).rounded(.down), "the fork: one subflow per packet")
        expectOurs("Subflow Bwd Bytes", (o("Total Length of Bwd Packet") / n).rounded(.down), "the fork: one subflow per packet")
        let pyDuration = p("flow_duration")
        let rate = { (count: Double) in pyDuration > 0 ? count / pyDuration : 0 }
        expect("flow_pkts_s", rate(o("Total Fwd Packet") + o("Total Bwd packets") + 1), "per second of Python's duration; first packet twice")
        expect("fwd_pkts_s", rate(o("Total Fwd Packet") + 1), "first packet twice")
        expect("bwd_pkts_s", rate(o("Total Bwd packets")), "same count, same duration")
        expect("down_up_ratio", o("Total Bwd packets") / (o("Total Fwd Packet") + 1), "first packet twice in the denominator")

        // Lengths: Python measures whole frames (Ethernet, IP and transport headers included) where
        // CICFlowMeter measures payload bytes, and its spreads divide by n (numpy), CICFlowMeter's by n - 1.
        expectOurs("Total Length of Fwd Packet", payloads(fwd).reduce(0, +), "payload bytes")
        expectOurs("Total Length of Bwd Packet", payloads(bwd).reduce(0, +), "payload bytes")
        expect("totlen_fwd_pkts", frames(pyFwd).reduce(0, +), "whole frames; the first twice")
        expect("totlen_bwd_pkts", frames(bwd).reduce(0, +), "whole frames")
        expect("subflow_fwd_byts", frames(pyFwd).reduce(0, +), "whole frames; the first twice")
        expect("subflow_bwd_byts", frames(bwd).reduce(0, +), "whole frames")
        for (pyPrefix, ourPrefix, pyList, ourList) in [("fwd_pkt_len", "Fwd Packet Length", pyFwd, fwd),
                                                     ("bwd_pkt_len", "Bwd Packet Length", bwd, bwd)] {
            let f = frames(pyList), l = payloads(ourList)
            expect("\(pyPrefix)_max", f.max() ?? 0, "largest frame")
            expect("\(pyPrefix)_min", f.min() ?? 0, "smallest frame")
            expect("\(pyPrefix)_mean", Self.mean(f), "mean frame")
            expect("\(pyPrefix)_std", Self.populationVariance(f).squareRoot(), "frames, divided by n")
            expectOurs("\(ourPrefix) Max", l.max() ?? 0, "largest payload")
            expectOurs("\(ourPrefix) Min", l.min() ?? 0, "smallest payload")
            expectOurs("\(ourPrefix) Mean", Self.mean(l), "mean payload")
            expectOurs("\(ourPrefix) Std", Self.sampleVariance(l).squareRoot(), "payloads, divided by n - 1")
        }
        expect("fwd_seg_size_avg", p("fwd_pkt_len_mean"), "Python copies its forward mean frame")
        expect("bwd_seg_size_avg", p("bwd_pkt_len_mean"), "Python copies its backward mean frame")
        let all = frames(pyPackets), allPayloads = payloads(packets)
        expect("pkt_len_max", all.max()!, "largest frame")
        expect("pkt_len_min", all.min()!, "smallest frame")
        expect("pkt_len_mean", Self.mean(all), "mean frame, the first twice")
        expect("pkt_len_var", Self.populationVariance(all), "frames, divided by n")
        expect("pkt_len_std", Self.populationVariance(all).squareRoot(), "frames, divided by n")
        expect("pkt_size_avg", Self.mean(all), "mean frame, the first twice")
        expect("flow_byts_s", rate(all.reduce(0, +)), "frames per second, the first twice")
        expectOurs("Packet Length Max", allPayloads.max()!, "largest payload")
        expectOurs("Packet Length Min", allPayloads.min()!, "smallest payload")
        expectOurs("Packet Length Mean", Self.mean(allPayloads), "mean payload")
        expectOurs("Packet Length Variance", Self.sampleVariance(allPayloads), "payloads, divided by n - 1")
        // A flow of one instant: Python writes rates of 0, the fork divides by zero (Java's Infinity).
        expectOurs("Flow Bytes/s", duration > 0 ? allPayloads.reduce(0, +) / (duration * seconds) : .infinity, "payload bytes per second")
        expectOurs("Flow Packets/s", duration > 0 ? n / (duration * seconds) : .infinity, "packets per second")

        // Headers: Python sums IPv4 header lengths (IHL); CICFlowMeter sums transport headers.
        expect("fwd_header_len", pyFwd.map { Double($0.ipHeader) }.reduce(0, +), "IP headers, the first twice")
        expect("bwd_header_len", bwd.map { Double($0.ipHeader) }.reduce(0, +), "IP headers")
        expect("fwd_seg_size_min", Double(pyFwd.map(\.ipHeader).min()!), "smallest forward IP header")
        expectOurs("Fwd Seg Size Min", Double(fwd.map(\.transportHeader).min()!), "smallest forward transport header")
        expectOurs("Fwd Header Length", fwd.map { Double($0.transportHeader) }.reduce(0, +), "transport headers")
        expectOurs("Bwd Header Length", bwd.map { Double($0.transportHeader) }.reduce(0, +), "transport headers")

        // Inter-arrival times: Python in seconds, with one extra gap of 0 s between the first packet
        // and its copy in the flow and the forward lists (never in the backward list).
        let gaps = { (list: [Packet]) in zip(list.dropFirst(), list).map { Double($0.micros - $1.micros) } }
        for (pyPrefix, ourPrefix, pyGaps, ourGaps, hasTotal) in [
            ("flow_iat", "Flow IAT", [0] + gaps(packets), gaps(packets), false),
            ("fwd_iat", "Fwd IAT", [0] + gaps(fwd), gaps(fwd), true),
            ("bwd_iat", "Bwd IAT", gaps(bwd), gaps(bwd), true),
        ] {
            let s = Self.pythonStatistics(pyGaps.map { $0 * seconds })
            expect("\(pyPrefix)_max", s.max, "seconds")
            expect("\(pyPrefix)_min", s.min, "seconds; 0 for the copied first packet")
            expect("\(pyPrefix)_mean", s.mean, "seconds; one gap more")
            expect("\(pyPrefix)_std", s.std, "seconds; one gap more, divided by n")
            if hasTotal { expect("\(pyPrefix)_tot", s.total, "seconds") }
            if ourGaps.count > 0 {
                expectOurs("\(ourPrefix) Max", ourGaps.max()!, "microseconds")
                expectOurs("\(ourPrefix) Min", ourGaps.min()!, "microseconds")
                expectOurs("\(ourPrefix) Mean", Self.mean(ourGaps), "microseconds")
                expectOurs("\(ourPrefix) Std", Self.sampleVariance(ourGaps).squareRoot(), "microseconds, divided by n - 1")
            }
        }

        // TCP flags: the first packet (a SYN) counted twice.
        let count = { (list: [Packet], bit: UInt8) in Double(list.filter { $0.flags & bit != 0 }.count) }
        expect("syn_flag_cnt", o("SYN Flag Count") + (first.flags & 0x02 != 0 ? 1 : 0), "the SYN twice")
        expect("fin_flag_cnt", o("FIN Flag Count"), "same")
        expect("rst_flag_cnt", o("RST Flag Count"), "same")
        expect("psh_flag_cnt", count(pyPackets, 0x08), "PSH packets, the first twice")
        expect("ack_flag_cnt", count(pyPackets, 0x10), "ACK packets, the first twice")
        expect("urg_flag_cnt", o("URG Flag Count"), "same")
        expect("ece_flag_cnt", o("ECE Flag Count"), "same")
        expect("fwd_psh_flags", count(pyFwd, 0x08), "forward PSH packets")
        expect("bwd_psh_flags", o("Bwd PSH Flags"), "same")
        expect("fwd_urg_flags", o("Fwd URG Flags"), "same")
        expect("bwd_urg_flags", o("Bwd URG Flags"), "same")
        expect("cwr_flag_count", p("fwd_urg_flags"), "Python writes its forward URG count here, not CWR")
        let withPayload = { (list: [Packet]) in Double(list.filter { $0.payload > 0 }.count) }
        expect("fwd_act_data_pkts", withPayload(pyFwd), "forward packets with payload, the first twice")
        expectOurs("Fwd Act Data Pkts", withPayload(Array(fwd.dropFirst())), "the fork leaves the flow's first packet out")
        expect("init_fwd_win_byts", o("FWD Init Win Bytes"), "the first forward packet's window")
        expect("init_bwd_win_byts", Double(bwd.first?.window ?? 0), "the first backward packet's window")
        expectOurs("Bwd Init Win Bytes", Double(bwd.last?.window ?? 0), "the fork overwrites it with every backward packet's")

        // Active and idle: Python never records any (its check compares a packet's time with the
        // flow's latest time after updating it to that packet); gpu-train splits at 5 s of silence.
        for name in ["active_max", "active_min", "active_mean", "active_std", "idle_max", "idle_min", "idle_mean", "idle_std"] {
            expect(name, 0, "Python never measures active and idle periods")
        }
        // Bulk transfers: none in these flows for either meter.
        for name in ["fwd_byts_b_avg", "fwd_pkts_b_avg", "bwd_byts_b_avg", "bwd_pkts_b_avg", "fwd_blk_rate_avg", "bwd_blk_rate_avg"] {
            expect(name, 0, "no bulk")
        }
        for name in ["Fwd Bytes/Bulk Avg", "Fwd Packet/Bulk Avg", "Fwd Bulk Rate Avg", "Bwd Bytes/Bulk Avg", "Bwd Packet/Bulk Avg", "Bwd Bulk Rate Avg"] {
            expectOurs(name, 0, "no bulk")
        }
    }
}
