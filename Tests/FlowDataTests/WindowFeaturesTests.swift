import Foundation
import XCTest
@testable import FlowData

/// `WindowFeatures`: damped context per source host and destination service, from the flows before each flow.
final class WindowFeaturesTests: XCTestCase {
    /// The index of a window feature in `WindowFeatures.names`.
    func index(_ name: String) -> Int { WindowFeatures.names.firstIndex(of: "Window " + name)! }

    func flow(_ t: Double, back: Float = 1, fwd: Float = 10, bwd: Float = 20) -> WindowFlow {
        WindowFlow(time: t, backwardPackets: back, forwardBytes: fwd, backwardBytes: bwd)
    }

    func testNamesAreSixKindsAtThreeTimeScales() {
        XCTAssertEqual(WindowFeatures.timeScales, [1, 10, 60])
        XCTAssertEqual(WindowFeatures.names.count, 18)
        XCTAssertEqual(Array(WindowFeatures.names.prefix(4)),
                       ["Window Src Flows/s 1s", "Window Src Flows/s 10s", "Window Src Flows/s 60s", "Window Src Dst Ports 1s"])
        XCTAssertEqual(WindowFeatures.names.last, "Window Svc Bytes/Flow 60s")
        XCTAssertNoThrow(try FeatureSet.checkFeatures(WindowFeatures.names), "computed features, not identifiers")
    }

    func testFailedMeansNoAnswerOrNoPayload() {
        XCTAssertTrue(flow(0, back: 0).failed, "no packet came back")
        XCTAssertTrue(flow(0, back: 2, fwd: 0, bwd: 0).failed, "a handshake and a reset, no data")
        XCTAssertTrue(flow(0, back: .nan).failed, "a missing count is 0")
        XCTAssertFalse(flow(0, back: 1, fwd: .nan, bwd: 5).failed)
        XCTAssertFalse(flow(0, back: 1, fwd: 1, bwd: 0).failed)
        XCTAssertEqual(flow(0, fwd: .nan, bwd: 5).bytes, 5)
    }

    /// Four flows from one source, worked by hand: decay exp(-dt/tau), reads before counts, distinct
    /// ports, failed shares, bytes per flow, and a timestamp that runs backwards (no negative decay).
    func testDampedStatisticsByHand() {
        var w = WindowFeatures()
        func next(_ dst: String, _ port: String, _ f: WindowFlow) -> [Float] {
            w.next(sourceIP: "10.0.0.1", destinationIP: dst, destinationPort: port, protocolNumber: "6", flow: f)
        }
        // Another host's flow starts the stream 100 s earlier, so every scale is past its warm-up.
        _ = w.next(sourceIP: "10.0.0.7", destinationIP: "10.0.0.8", destinationPort: "1", protocolNumber: "6", flow: flow(0))
        // 1: t = 100, to ssh, failed (no answer), 100 bytes: nothing came before it.
        let first = next("10.0.0.2", "22", flow(100, back: 0, fwd: 100, bwd: 0))
        XCTAssertEqual(first, [Float](repeating: 0, count: 18))
        // 2: t = 101, to ssh again: the first flow decayed by exp(-1/tau).
        let e = [exp(-1.0), exp(-0.1), exp(-1.0 / 60)]
        let second = next("10.0.0.2", "22", flow(101, fwd: 300, bwd: 700))
        for (s, tau) in [1.0, 10, 60].enumerated() {
            XCTAssertEqual(Double(second[index("Src Flows/s 1s") + s]), e[s] / tau, accuracy: 1e-6)
            XCTAssertEqual(Double(second[index("Src Dst Ports 1s") + s]), e[s], accuracy: 1e-6)
            XCTAssertEqual(second[index("Src Failed Share 1s") + s], 1, accuracy: 1e-6)
            XCTAssertEqual(Double(second[index("Svc Flows/s 1s") + s]), e[s] / tau, accuracy: 1e-6)
            XCTAssertEqual(second[index("Svc Failed Share 1s") + s], 1, accuracy: 1e-6)
            XCTAssertEqual(second[index("Svc Bytes/Flow 1s") + s], 100, accuracy: 1e-3)
        }
        // 3: t = 101, to http (a new service and port): the source has weight e + 1, one port (22, seen at 101).
        let third = next("10.0.0.3", "80", flow(101, fwd: 500, bwd: 1000))
        for (s, tau) in [1.0, 10, 60].enumerated() {
            XCTAssertEqual(Double(third[index("Src Flows/s 1s") + s]), (e[s] + 1) / tau, accuracy: 1e-6)
            XCTAssertEqual(third[index("Src Dst Ports 1s") + s], 1, accuracy: 1e-6)
            XCTAssertEqual(Double(third[index("Src Failed Share 1s") + s]), e[s] / (e[s] + 1), accuracy: 1e-6)
            XCTAssertEqual(third[index("Svc Flows/s 1s") + s], 0, "nothing went to http before")
            XCTAssertEqual(third[index("Svc Bytes/Flow 1s") + s], 0)
        }
        // 4: t = 99, written after the others (flows are written when they close): it counts at
        // t = 101, never decaying backwards; ports 22 and 80 both seen at 101.
        let fourth = next("10.0.0.2", "22", flow(99))
        for (s, tau) in [1.0, 10, 60].enumerated() {
            XCTAssertEqual(Double(fourth[index("Src Flows/s 1s") + s]), (e[s] + 2) / tau, accuracy: 1e-6)
            XCTAssertEqual(fourth[index("Src Dst Ports 1s") + s], 2, accuracy: 1e-6)
            XCTAssertEqual(Double(fourth[index("Src Failed Share 1s") + s]), e[s] / (e[s] + 2), accuracy: 1e-6)
            // ssh: flow 1 (decayed, failed, 100 bytes) and flow 2 (1000 bytes).
            XCTAssertEqual(Double(fourth[index("Svc Flows/s 1s") + s]), (e[s] + 1) / tau, accuracy: 1e-6)
            XCTAssertEqual(Double(fourth[index("Svc Failed Share 1s") + s]), e[s] / (e[s] + 1), accuracy: 1e-6)
            XCTAssertEqual(Double(fourth[index("Svc Bytes/Flow 1s") + s]), (100 * e[s] + 1000) / (e[s] + 1), accuracy: 1e-3)
        }
        XCTAssertEqual(w.now, 101)
        // 5: no readable time: counts at the latest time seen (101).
        let fifth = next("10.0.0.2", "22", flow(.nan))
        XCTAssertEqual(Double(fifth[index("Src Flows/s 1s")]), e[0] + 3, accuracy: 1e-6)
    }

    func testDistinctPortsDecayByLastUseAndStayBounded() {
        let warmUp = (source: "z", time: -100.0)
        var w = WindowFeatures(maxPortsPerSource: 2)
        _ = w.next(sourceIP: warmUp.source, destinationIP: "y", destinationPort: "9", protocolNumber: "6", flow: flow(warmUp.time))
        var last: [Float] = []
        for (t, port) in [(0.0, "1"), (1, "2"), (2, "3"), (2, "3")] {
            last = w.next(sourceIP: "a", destinationIP: "b", destinationPort: port, protocolNumber: "6", flow: flow(t))
        }
        // Port 1 was forgotten when port 3 came; port 2 was last used at 1, port 3 at 2.
        XCTAssertEqual(Double(last[index("Src Dst Ports 1s")]), exp(-1.0) + 1, accuracy: 1e-6)
        XCTAssertEqual(Double(last[index("Src Dst Ports 10s")]), exp(-0.1) + 1, accuracy: 1e-6)
        var unbounded = WindowFeatures()
        _ = unbounded.next(sourceIP: warmUp.source, destinationIP: "y", destinationPort: "9", protocolNumber: "6", flow: flow(warmUp.time))
        for (t, port) in [(0.0, "1"), (1, "2"), (2, "3"), (2, "3")] {
            last = unbounded.next(sourceIP: "a", destinationIP: "b", destinationPort: port, protocolNumber: "6", flow: flow(t))
        }
        XCTAssertEqual(Double(last[index("Src Dst Ports 1s")]), exp(-2.0) + exp(-1.0) + 1, accuracy: 1e-6)
        // The same port number over another protocol is another port.
        var protocols = WindowFeatures()
        _ = protocols.next(sourceIP: warmUp.source, destinationIP: "y", destinationPort: "9", protocolNumber: "6", flow: flow(warmUp.time))
        _ = protocols.next(sourceIP: "a", destinationIP: "b", destinationPort: "53", protocolNumber: "6", flow: flow(0))
        _ = protocols.next(sourceIP: "a", destinationIP: "b", destinationPort: "53", protocolNumber: "17", flow: flow(0))
        last = protocols.next(sourceIP: "a", destinationIP: "b", destinationPort: "53", protocolNumber: "17", flow: flow(0))
        XCTAssertEqual(last[index("Src Dst Ports 1s")], 2, accuracy: 1e-6)
    }

    func testFullTablesDropIdleKeysThenTheLeastRecentlySeen() {
        var w = WindowFeatures(maxKeys: 2)
        func from(_ source: String, at t: Double) -> [Float] {
            w.next(sourceIP: source, destinationIP: "svc", destinationPort: "80", protocolNumber: "6", flow: flow(t))
        }
        _ = from("a", at: 0)
        _ = from("b", at: 1)
        _ = from("c", at: 2)   // full: nothing idle, so the least recently seen (a) goes
        XCTAssertEqual(w.sourceCount, 2)
        XCTAssertEqual(w.serviceCount, 1)
        XCTAssertEqual(w.evictions, 1)
        let b = from("b", at: 3)
        XCTAssertEqual(Double(b[index("Src Flows/s 1s")]), exp(-2.0), accuracy: 1e-6, "b was kept")
        let a = from("a", at: 3)   // a comes back as new (and c, now the oldest, goes)
        XCTAssertEqual(a[index("Src Flows/s 1s")], 0)
        XCTAssertEqual(w.evictions, 2)
        // Keys idle longer than idleSeconds go first, however many: both go at once.
        XCTAssertEqual(WindowFeatures.idleSeconds, 600)
        _ = from("d", at: 1000)
        XCTAssertEqual(w.sourceCount, 1)
        XCTAssertEqual(w.evictions, 4)
        // The service table is bounded the same way.
        var services = WindowFeatures(maxKeys: 3)
        for k in 0..<10 {
            _ = services.next(sourceIP: "s", destinationIP: "h\(k)", destinationPort: "80", protocolNumber: "6", flow: flow(Double(k)))
        }
        XCTAssertLessThanOrEqual(services.serviceCount, 3)
    }

    func testEachScaleIsMissingUntilTheStreamHasBeenWatchedThatLong() {
        var w = WindowFeatures()
        func known(at t: Double) -> [Bool] {
            let v = w.next(sourceIP: "a", destinationIP: "b", destinationPort: "80", protocolNumber: "6", flow: flow(t))
            // Every kind at a scale is known or missing together.
            for s in 0..<3 { XCTAssertEqual(Set((0..<6).map { v[$0 * 3 + s].isNaN }).count, 1, "scale \(s) at \(t)") }
            return (0..<3).map { !v[$0].isNaN }
        }
        XCTAssertEqual(known(at: 1000), [false, false, false], "the first flow: nothing watched yet")
        XCTAssertEqual(known(at: 1000.5), [false, false, false])
        XCTAssertEqual(known(at: 1001), [true, false, false], "watched 1 s")
        XCTAssertEqual(known(at: 990), [true, false, false], "an older flow: still watched 1 s")
        XCTAssertEqual(known(at: 1030), [true, true, false])
        XCTAssertEqual(known(at: 1060), [true, true, true])
        XCTAssertEqual(known(at: .nan), [true, true, true], "no time: at the latest time seen")
        var untimed = WindowFeatures()
        let v = untimed.next(sourceIP: "a", destinationIP: "b", destinationPort: "80", protocolNumber: "6", flow: flow(.nan))
        XCTAssertTrue(v.allSatisfy(\.isNaN), "no time seen at all: nothing is known")
    }

    func testKeysIgnoreSurroundingSpacesAndQuotesButNotTheValue() {
        let plain = WindowKey.keys(sourceIP: "10.0.0.1", destinationIP: "10.0.0.2", destinationPort: "22", protocolNumber: "6")
        let spaced = WindowKey.keys(sourceIP: " 10.0.0.1 ", destinationIP: "\"10.0.0.2\"", destinationPort: "22", protocolNumber: "6")
        XCTAssertEqual(plain.source, spaced.source)
        XCTAssertEqual(plain.service, spaced.service)
        let other = WindowKey.keys(sourceIP: "10.0.0.1", destinationIP: "10.0.0.22", destinationPort: "2", protocolNumber: "6")
        XCTAssertNotEqual(plain.service, other.service, "host and port are kept apart")
        XCTAssertNotEqual(plain.port, other.port)
    }

    // MARK: - Through the readers

    static let header = "Flow ID,Src IP,Src Port,Dst IP,Dst Port,Protocol,Timestamp,Flow Duration,Total Bwd packets,"
        + "Total Length of Fwd Packet,Total Length of Bwd Packet,Label"

    /// Flows of a small burst: a scanner (10.0.0.9) probing ports of one host, among ordinary traffic.
    static func rows() -> [String] {
        var rows: [String] = []
        for k in 0..<30 {
            let t = 100 + Double(k) * 0.25
            let stamp = FlowTimestamp.iso8601(t).replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "")
            if k % 3 == 0 {
                rows.append("f\(k),10.0.0.1,4000\(k),10.0.0.2,443,6,\(stamp),\(1000 + k),3,200,\(4000 + k),0")
            } else {
                rows.append("f\(k),10.0.0.9,5000\(k),10.0.0.2,\(20 + k),6,\(stamp),\(10 + k),0,0,0,1")
            }
        }
        return rows
    }

    static let features = ["Flow Duration"] + WindowFeatures.names

    func testLoaderAndStreamGiveTheSameValuesWhateverTheBatchAndNoLookAhead() throws {
        let dir = try temporaryFolder(self)
        let rows = Self.rows()
        let file = try writeFile(dir, "benign/flows.csv", ([Self.header] + rows).joined(separator: "\n") + "\n")
        let options = FlowLoadOptions(features: Self.features)
        let table = try FlowLoader.load(file, options: options)
        XCTAssertEqual(table.featureNames, Self.features)
        XCTAssertEqual(table.rowCount, 30)
        // The same flows through the type itself.
        var w = WindowFeatures()
        var expected: [Float] = []
        for row in rows {
            let c = row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let ids = FlowIdentifiers(flowID: c[0], sourceIP: c[1], sourcePort: c[2], destinationIP: c[3], destinationPort: c[4],
                                      timestamp: c[6], protocolNumber: c[5])
            expected += [Float(c[7])!] + w.next(ids, backwardPackets: Float(c[8])!, forwardBytes: Float(c[9])!, backwardBytes: Float(c[10])!)
        }
        XCTAssertEqual(table.values.map(\.bitPattern), expected.map(\.bitPattern))
        // The capture lasts 7.25 s: the 10 s and 60 s scales are still warming up (missing) at its end.
        XCTAssertTrue(table.value(row: 29, feature: 1 + index("Src Flows/s 10s")).isNaN)
        // The scanner's last probe sees 19 earlier probes to 19 ports, all failed; by hand at 1 s:
        // probes every 0.25 s except every third slot: sum of exp(-age) over the earlier probes.
        let last = 29
        let probeTimes = (0..<29).filter { $0 % 3 != 0 }.map { 100 + Double($0) * 0.25 }
        let byHand = probeTimes.map { exp(-(100 + 29 * 0.25 - $0)) }.reduce(0, +)
        XCTAssertEqual(Double(table.value(row: last, feature: 1 + index("Src Flows/s 1s"))), byHand, accuracy: 1e-5)
        XCTAssertEqual(Double(table.value(row: last, feature: 1 + index("Src Dst Ports 1s"))), byHand, accuracy: 1e-5)
        XCTAssertEqual(table.value(row: last, feature: 1 + index("Src Failed Share 1s")), 1, accuracy: 1e-6)

        for batch in [1, 2, 7, 64] {
            let reader = try FlowStreamReader(url: file, options: FlowLoadOptions(features: Self.features, requireLabels: false),
                                              batchSize: batch, readBufferSize: 64)
            var streamed: [Float] = []
            while let b = try reader.next() { streamed += b.values }
            XCTAssertEqual(streamed.map(\.bitPattern), expected.map(\.bitPattern), "batch size \(batch)")
        }
        // No look-ahead: the first 12 flows have the same values when the later ones are not there.
        let prefix = try writeFile(dir, "benign/prefix.csv", ([Self.header] + rows.prefix(12)).joined(separator: "\n") + "\n")
        let short = try FlowLoader.load(prefix, options: options)
        XCTAssertEqual(short.values.map(\.bitPattern), expected.prefix(12 * Self.features.count).map(\.bitPattern))
    }

    func testEachFileStartsAfresh() throws {
        let dir = try temporaryFolder(self)
        let text = ([Self.header] + Self.rows()).joined(separator: "\n") + "\n"
        try writeFile(dir, "benign/a.csv", text)
        try writeFile(dir, "benign/b.csv", text)
        let table = try FlowLoader.load(dir, options: FlowLoadOptions(features: Self.features))
        XCTAssertEqual(table.rowCount, 60)
        XCTAssertEqual(table.values[0..<(30 * Self.features.count)].map(\.bitPattern), table.values[(30 * Self.features.count)...].map(\.bitPattern),
                       "the second file's window context does not see the first file's flows")
    }

    /// Under --follow a file that grows, then is rotated, is one stream: the same values as the whole
    /// sequence read at once.
    func testFollowingAGrowingAndRotatedFileKeepsOneContext() throws {
        let dir = try temporaryFolder(self)
        let rows = Self.rows()
        let whole = try writeFile(dir, "whole.csv", ([Self.header] + rows).joined(separator: "\n") + "\n")
        let expected = try FlowLoader.load(whole, options: FlowLoadOptions(features: Self.features, requireLabels: false)).values
        let url = try writeFile(dir, "live.csv", ([Self.header] + rows[0..<10]).joined(separator: "\n") + "\n")
        let stop = LockedFlag()
        let follow = FollowOptions(pollInterval: 0.01, shouldStop: { stop.isSet })
        let reader = try FlowStreamReader(url: url, options: FlowLoadOptions(features: Self.features, requireLabels: false), follow: follow)
        var streamed: [Float] = []
        streamed += try XCTUnwrap(try reader.next()).values
        let handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((rows[10..<20].joined(separator: "\n") + "\n").utf8))
        try handle.close()
        while streamed.count < 20 * Self.features.count { streamed += try XCTUnwrap(try reader.next()).values }
        try FileManager.default.moveItem(at: url, to: dir.appendingPathComponent("live.1.csv"))
        try writeFile(dir, "live.csv", ([Self.header] + rows[20...]).joined(separator: "\n") + "\n")
        while streamed.count < 30 * Self.features.count { streamed += try XCTUnwrap(try reader.next()).values }
        stop.set()
        XCTAssertNil(try reader.next())
        XCTAssertEqual(reader.restarts.count, 1, "one rotation")
        XCTAssertEqual(streamed.map(\.bitPattern), expected.map(\.bitPattern))
    }

    func testWindowFeaturesNeedTheIdentifiersAndCounts() throws {
        let dir = try temporaryFolder(self)
        let noSource = try writeFile(dir, "benign/a.csv", "Dst IP,Dst Port,Flow Duration,Total Bwd packets,Total Length of Fwd Packet,"
                                     + "Total Length of Bwd Packet,Label\n10.0.0.2,22,5,1,2,3,0\n")
        let message = "\(noSource.path): window features (--window-features on) are computed per source and destination service "
            + "from columns this file lacks: Src IP, Timestamp (the header was read as CICFlowMeter (current Java release, as in "
            + "the Kubernetes dataset)); give flows with these columns, or train with --window-features off"
        assertFlowError(message) { try FlowLoader.load(noSource, options: FlowLoadOptions(features: Self.features)) }
        assertFlowError(message) { try FlowStreamReader(url: noSource, options: FlowLoadOptions(features: Self.features)) }
        let noCounts = try writeFile(dir, "benign/b.csv", "Src IP,Dst IP,Dst Port,Timestamp,Flow Duration,Label\n1.1.1.1,10.0.0.2,22,5,5,0\n")
        assertFlowError("\(noCounts.path): window features (--window-features on) are computed per source and destination service "
                        + "from columns this file lacks: Total Bwd packets, Total Length of Fwd Packet, Total Length of Bwd Packet "
                        + "(the header was read as CICFlowMeter (current Java release, as in the Kubernetes dataset)); give flows "
                        + "with these columns, or train with --window-features off") {
            try FlowLoader.load(noCounts, options: FlowLoadOptions(features: Self.features))
        }
        // Without window features the same file loads.
        XCTAssertEqual(try FlowLoader.load(noCounts, options: FlowLoadOptions(features: ["Flow Duration"])).values, [5])
    }

    func testABaselineWithoutReadableTimesSaysWhyTheWindowIsMissing() throws {
        let dir = try temporaryFolder(self)
        let rows = Self.rows().map { row -> String in
            var c = row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            c[6] = "soon"
            return c.joined(separator: ",")
        }
        let file = try writeFile(dir, "benign/flows.csv", ([Self.header] + rows).joined(separator: "\n") + "\n")
        let table = try FlowLoader.load(file, options: FlowLoadOptions(features: Self.features))
        XCTAssertTrue(table.values.enumerated().allSatisfy { $0.offset % Self.features.count == 0 || $0.element.isNaN })
        assertFlowError("window feature 'Window Src Flows/s 1s' is missing in all 30 baseline flows: it is known only once a file has "
                        + "been watched for 1 s, from flows with a readable Timestamp, and no baseline file has that; give a longer "
                        + "baseline with readable timestamps (README: flow records), or train with --window-features off") {
            try Scaler.fit(table, rows: Array(0..<30), transform: .quantile)
        }
    }

    func testZeekLogsUseTheirOwnCounts() throws {
        // The fixture's third flow is an unanswered SSH attempt (resp_pkts 0, bytes unset); a fourth,
        // from the same host a second later, sees it.
        let later = "1679238141.000000\tCx\t10.244.3.9\t51001\t10.244.2.7\t23\ttcp\t-\t0.1\t0\t0\tREJ\tT\tT\t0\tSr\t1\t60\t1\t40\t(empty)\n"
        let text = NativeLogTests.zeekTSV.replacingOccurrences(of: "#close", with: later + "#close")
        var registry = FlowLoader.ScenarioRegistry()
        let features = NativeFlowLog.zeekFeatures + WindowFeatures.names
        let table = try FlowLoader.parse(Data(text.utf8), path: "/data/benign/conn.log", options: FlowLoadOptions(features: features),
                                         registry: &registry, chunk: 100)
        XCTAssertEqual(table.rowCount, 4)
        func value(_ row: Int, _ name: String) -> Float { table.value(row: row, feature: features.firstIndex(of: "Window " + name)!) }
        XCTAssertTrue(value(1, "Src Flows/s 1s").isNaN, "0.35 s watched")
        XCTAssertEqual(Double(value(3, "Src Flows/s 1s")), exp(-1.0), accuracy: 1e-6)
        XCTAssertEqual(value(3, "Src Failed Share 1s"), 1, "the attempt before it failed")
        XCTAssertEqual(Double(value(3, "Src Dst Ports 1s")), exp(-1.0), accuracy: 1e-6)
        XCTAssertEqual(value(3, "Svc Flows/s 1s"), 0, "port 23 is another service")
        XCTAssertTrue(value(3, "Src Flows/s 10s").isNaN)
    }

    func testOtherDialectsReadTheirOwnColumns() throws {
        let dir = try temporaryFolder(self)
        // CIC-IDS2017 spelling: the inputs are found through the alias table; no Protocol column is fine.
        let v3 = try writeFile(dir, "benign/v3.csv", " Source IP, Destination IP, Destination Port, Timestamp, Flow Duration, Total Backward Packets,"
                               + " Total Length of Fwd Packets, Total Length of Bwd Packets, Label\n"
                               + "9.9.9.9,2.2.2.2,80,7/7/2017 8:57,5,1,10,10,BENIGN\n"
                               + "1.1.1.1,2.2.2.2,80,7/7/2017 8:59,5,0,0,0,BENIGN\n1.1.1.1,2.2.2.2,81,7/7/2017 8:59,5,1,10,10,BENIGN\n")
        let table = try FlowLoader.load(v3, options: FlowLoadOptions(features: Self.features))
        XCTAssertEqual(table.value(row: 2, feature: 1 + index("Src Flows/s 1s")), 1, "same minute: no decay")
        XCTAssertEqual(table.value(row: 2, feature: 1 + index("Src Failed Share 60s")), 1)
        XCTAssertEqual(table.value(row: 2, feature: 1 + index("Svc Flows/s 1s")), 0, "port 81 is another service")
    }
}
