import Foundation
import XCTest
@testable import FlowData

/// Zeek conn.log (TSV and JSON) and Suricata eve.json flow events, hand-written from the formats'
/// documentation, read through `FlowLoader` and `FlowStreamReader`.
final class NativeLogTests: XCTestCase {
    static let zeekTSV = """
        #separator \\x09
        #set_separator\t,
        #empty_field\t(empty)
        #unset_field\t-
        #path\tconn
        #open\t2023-03-19-15-02-18
        #fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents
        #types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]
        1679238138.745393\tCHhAvVGS1DHFjwGM9\t10.244.1.5\t52311\t10.96.0.10\t53\tudp\tdns\t0.001234\t40\t120\tSF\tT\tT\t0\tDd\t1\t68\t1\t148\t(empty)
        1679238139.100000\tC4J4Th3PJpwUYZZ6gc\t10.244.1.5\t40412\t10.244.2.7\t8080\ttcp\thttp\t2.500000\t512\t4096\tSF\tT\tT\t0\tShADadFf\t12\t1140\t10\t4620\t(empty)
        1679238140.000000\tCUM0KZ3MLUfNB0cl11\t10.244.3.9\t51000\t10.244.2.7\t22\ttcp\t-\t-\t-\t-\tS0\tT\tT\t0\tS\t1\t60\t0\t0\t(empty)
        #close\t2023-03-19-15-10-00

        """

    static let zeekJSON = """
        {"ts":1679238138.745393,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"10.244.1.5","id.orig_p":52311,"id.resp_h":"10.96.0.10","id.resp_p":53,"proto":"udp","service":"dns","duration":0.001234,"orig_bytes":40,"resp_bytes":120,"conn_state":"SF","missed_bytes":0,"history":"Dd","orig_pkts":1,"orig_ip_bytes":68,"resp_pkts":1,"resp_ip_bytes":148}
        {"ts":1679238140.0,"uid":"CUM0KZ3MLUfNB0cl11","id.orig_h":"10.244.3.9","id.orig_p":51000,"id.resp_h":"10.244.2.7","id.resp_p":22,"proto":"tcp","conn_state":"S0","missed_bytes":0,"history":"S","orig_pkts":1,"orig_ip_bytes":60,"resp_pkts":0,"resp_ip_bytes":0}

        """

    static let suricata = """
        {"timestamp":"2023-03-19T15:02:19.000000+0000","flow_id":1234567890123456,"event_type":"flow","src_ip":"10.244.1.5","src_port":40412,"dest_ip":"10.244.2.7","dest_port":8080,"proto":"TCP","app_proto":"http","flow":{"pkts_toserver":12,"pkts_toclient":10,"bytes_toserver":1140,"bytes_toclient":4620,"start":"2023-03-19T15:02:17.500000+0000","end":"2023-03-19T15:02:19.000000+0000","age":2,"state":"closed","reason":"timeout","alerted":false},"tcp":{"tcp_flags":"1b","tcp_flags_ts":"1b","tcp_flags_tc":"1b","syn":true,"fin":true,"psh":true,"ack":true,"state":"closed"}}
        {"timestamp":"2023-03-19T16:02:18.745393+0100","flow_id":99,"event_type":"dns","src_ip":"10.244.1.5","src_port":52311,"dest_ip":"10.96.0.10","dest_port":53,"proto":"UDP","dns":{"type":"query","id":1,"rrname":"kubernetes.default.svc","rrtype":"A"}}
        {"timestamp":"2023-03-19T15:02:20.000000+0000","event_type":"stats","stats":{"uptime":60}}
        {"timestamp":"2023-03-19T16:02:19.000000+0100","flow_id":99,"event_type":"flow","src_ip":"10.244.1.5","src_port":52311,"dest_ip":"10.96.0.10","dest_port":53,"proto":"UDP","app_proto":"dns","flow":{"pkts_toserver":1,"pkts_toclient":1,"bytes_toserver":82,"bytes_toclient":162,"start":"2023-03-19T16:02:18.745393+0100","end":"2023-03-19T16:02:18.746627+0100","age":0,"state":"established","reason":"timeout","alerted":false}}

        """

    func load(_ text: String, path: String, features: [String], readEndpoints: Bool = true) throws -> FlowTable {
        var registry = FlowLoader.ScenarioRegistry()
        return try FlowLoader.parse(Data(text.utf8), path: path, options: FlowLoadOptions(features: features, readEndpoints: readEndpoints),
                                    registry: &registry, chunk: 100)
    }

    func value(_ table: FlowTable, _ row: Int, _ feature: String) -> Float {
        table.row(row)[table.row(row).startIndex + table.featureNames.firstIndex(of: feature)!]
    }

    func testZeekTSVReadsValuesIdentifiersAndUnsetAsMissing() throws {
        let table = try load(Self.zeekTSV, path: "/data/benign/conn.log", features: NativeFlowLog.zeekFeatures)
        XCTAssertEqual(table.report.filesByDialect, [.zeek: 1])
        XCTAssertEqual(table.rowCount, 3)
        XCTAssertEqual(table.labels, [0, 0, 0])
        XCTAssertEqual(table.rowLines, [9, 10, 11])
        XCTAssertEqual(value(table, 0, "duration"), 0.001234)
        XCTAssertEqual(value(table, 1, "orig_bytes"), 512)
        XCTAssertEqual(value(table, 1, "resp_ip_bytes"), 4620)
        XCTAssertEqual(value(table, 1, "history_length"), 8)
        XCTAssertEqual(value(table, 1, "conn_state_SF"), 1)
        XCTAssertEqual(value(table, 1, "conn_state_S0"), 0)
        XCTAssertEqual(value(table, 2, "conn_state_S0"), 1)
        XCTAssertTrue(value(table, 2, "duration").isNaN, "'-' is unset: missing")
        XCTAssertTrue(value(table, 2, "orig_bytes").isNaN)
        XCTAssertEqual(table.endpoints, ["10.244.1.5>10.96.0.10:53", "10.244.1.5>10.244.2.7:8080", "10.244.3.9>10.244.2.7:22"])
        XCTAssertEqual(table.timestamps?[0] ?? 0, 1_679_238_138.745393, accuracy: 1e-3)
    }

    func testZeekJSONReadsTheSameValuesWithLineNumbers() throws {
        let table = try load(Self.zeekJSON, path: "/data/malicious/scan_conn.json", features: NativeFlowLog.zeekFeatures)
        XCTAssertEqual(table.report.filesByDialect, [.zeek: 1])
        XCTAssertEqual(table.rowLines, [1, 2])
        XCTAssertEqual(table.scenarioNames, ["scan", "scan"])
        XCTAssertEqual(value(table, 0, "resp_bytes"), 120)
        XCTAssertEqual(value(table, 0, "history_length"), 2)
        XCTAssertTrue(value(table, 1, "duration").isNaN, "an absent key is unset: missing")
        XCTAssertEqual(value(table, 1, "conn_state_S0"), 1)
        XCTAssertEqual(table.endpoints, ["10.244.1.5>10.96.0.10:53", "10.244.3.9>10.244.2.7:22"])
    }

    func testSuricataReadsFlowEventsAndSkipsTheOthers() throws {
        let table = try load(Self.suricata, path: "/data/benign/eve.json", features: NativeFlowLog.suricataFeatures)
        XCTAssertEqual(table.report.filesByDialect, [.suricata: 1])
        XCTAssertEqual(table.report.eventsSkipped, 2)
        XCTAssertTrue(table.report.notes.contains("skipped 2 Suricata events other than flow events"))
        XCTAssertEqual(table.rowLines, [1, 4])
        XCTAssertEqual(value(table, 0, "age"), 2)
        XCTAssertEqual(value(table, 0, "duration"), 1.5, accuracy: 1e-6)
        XCTAssertEqual(value(table, 0, "bytes_toclient"), 4620)
        XCTAssertEqual(value(table, 0, "state_closed"), 1)
        XCTAssertEqual(value(table, 0, "tcp_syn"), 1)
        XCTAssertEqual(value(table, 0, "tcp_rst"), 0)
        XCTAssertEqual(value(table, 1, "state_established"), 1)
        XCTAssertEqual(value(table, 1, "tcp_syn"), 0, "a UDP flow has no TCP flags")
        XCTAssertEqual(value(table, 1, "duration"), 0.001234, accuracy: 1e-5)
        // Start times, with Suricata's +0100 offset applied.
        XCTAssertEqual(table.timestamps?[0] ?? 0, 1_679_238_137.5, accuracy: 1e-3)
        XCTAssertEqual(table.timestamps?[1] ?? 0, 1_679_238_138.745393, accuracy: 1e-3)
    }

    func testStreamReaderReadsEachFormatWithIdentifiers() throws {
        let dir = try temporaryFolder(self)
        let cases: [(String, String, [String], FlowDialect)] = [
            ("conn.log", Self.zeekTSV, NativeFlowLog.zeekFeatures, .zeek),
            ("conn.json", Self.zeekJSON, NativeFlowLog.zeekFeatures, .zeek),
            ("eve.json", Self.suricata, NativeFlowLog.suricataFeatures, .suricata),
        ]
        for (name, text, features, dialect) in cases {
            let url = try writeFile(dir, name, text)
            let reader = try FlowStreamReader(url: url, options: FlowLoadOptions(features: features, requireLabels: false),
                                              batchSize: 2)
            var lines: [Int] = [], ids: [FlowIdentifiers] = []
            while let batch = try reader.next() { lines += batch.lineNumbers; ids += batch.identifiers }
            XCTAssertEqual(reader.dialect, dialect, name)
            XCTAssertEqual(lines.count, dialect == .suricata ? 2 : (name == "conn.log" ? 3 : 2), name)
            XCTAssertEqual(ids.first?.sourceIP, "10.244.1.5", name)
            XCTAssertEqual(ids.first?.protocolNumber, dialect == .suricata ? "6" : "17", name)
            if dialect == .suricata {
                XCTAssertEqual(ids.first?.flowID, "1234567890123456")
                XCTAssertEqual(reader.report.eventsSkipped, 2)
            } else {
                XCTAssertEqual(ids.first?.flowID, "CHhAvVGS1DHFjwGM9")
            }
        }
    }

    func testDialectDefaultFeatures() {
        XCTAssertEqual(FlowDialect.zeek.defaultFeatures, NativeFlowLog.zeekFeatures)
        XCTAssertEqual(FlowDialect.suricata.defaultFeatures, NativeFlowLog.suricataFeatures)
        XCTAssertNil(FlowDialect.cicflowmeter.defaultFeatures)
        XCTAssertTrue(NativeFlowLog.zeekFeatures.contains("conn_state_SF"))
    }

    func testMalformedLinesNameFileAndLine() {
        let brokenJSON = Self.zeekJSON.replacingOccurrences(of: "\"ts\":1679238140.0,", with: "\"ts\":1679238140.0,,")
        assertFlowError("/d/benign/conn.json:2: not a JSON object ({\"ts\":1679238140.0,,\"uid\":\"CUM0KZ3MLUfNB0cl11\",\"id.orig_h\":\"...)") {
            try load(brokenJSON, path: "/d/benign/conn.json", features: NativeFlowLog.zeekFeatures)
        }
        let shortRow = Self.zeekTSV.replacingOccurrences(of: "\tSh\t1\t60\t0\t0", with: "\tS\t1\t60")
            .replacingOccurrences(of: "\tS\t1\t60\t0\t0\t(empty)", with: "\tS\t1\t60")
        assertFlowError("/d/benign/conn.log:11: expected 21 fields as in the header, found 18") {
            try load(shortRow, path: "/d/benign/conn.log", features: NativeFlowLog.zeekFeatures)
        }
        let textCount = Self.zeekTSV.replacingOccurrences(of: "\t512\t4096\t", with: "\tmany\t4096\t")
        assertFlowError("/d/benign/conn.log:10: column 'orig_bytes': non-numeric value 'many'") {
            try load(textCount, path: "/d/benign/conn.log", features: NativeFlowLog.zeekFeatures)
        }
        let noType = Self.suricata.replacingOccurrences(of: "\"event_type\":\"stats\",", with: "")
        assertFlowError("/d/benign/eve.json:3: a Suricata event with no \"event_type\"") {
            try load(noType, path: "/d/benign/eve.json", features: NativeFlowLog.suricataFeatures)
        }
        let noFields = Self.zeekTSV.split(separator: "\n").filter { !$0.hasPrefix("#fields") }.joined(separator: "\n")
        assertFlowError("/d/benign/conn.log:8: a record before the #fields line") {
            try load(noFields, path: "/d/benign/conn.log", features: NativeFlowLog.zeekFeatures)
        }
    }

    func testFoldersListLogsByTheirFirstLineAndNameTheirDialect() throws {
        let dir = try temporaryFolder(self)
        try writeFile(dir, "benign/monday/eve.json", Self.suricata)
        try writeFile(dir, "benign/monday/settings.json", "{\"retention\": 7}\n")
        try writeFile(dir, "benign/monday/suricata.log", "19/3/2023 -- 15:02:17 - <Notice> - all 2 packet processing threads\n")
        let table = try FlowLoader.load(dir, options: FlowLoadOptions(features: NativeFlowLog.suricataFeatures))
        XCTAssertEqual(table.sourceFiles.map { URL(fileURLWithPath: $0).lastPathComponent }, ["eve.json"])
        XCTAssertEqual(table.rowCount, 2)
        XCTAssertEqual(FlowLoader.logDialect(of: [dir]), .suricata)
        let zeek = try temporaryFolder(self)
        try writeFile(zeek, "benign/conn.log", Self.zeekTSV)
        XCTAssertEqual(FlowLoader.logDialect(of: [zeek]), .zeek)
        XCTAssertNil(FlowLoader.logDialect(of: [try writeFile(zeek, "flows.csv", "A,B,C\n1,2,3\n")]))
    }

    func testFollowRefusesLogsForNow() throws {
        let url = try writeFile(try temporaryFolder(self), "conn.log", Self.zeekTSV)
        let follow = FollowOptions(pollInterval: 0.01, shouldStop: { true })
        assertFlowError("\(url.path): --follow does not read Zeek or Suricata logs yet; run detect on the file or pipe it to standard input") {
            try FlowStreamReader(url: url, options: FlowLoadOptions(features: NativeFlowLog.zeekFeatures, requireLabels: false),
                                 follow: follow).next()
        }
    }

    func testLogsNamedByTheirFlowMeterTakeTheirScenarioFromTheFolder() throws {
        let table = try load(Self.zeekTSV, path: "/d/malicious/reconnaissance/conn.log", features: NativeFlowLog.zeekFeatures)
        XCTAssertEqual(Set(table.scenarioNames), ["reconnaissance"])
        XCTAssertEqual(FlowLoader.scenarioName(ofFile: URL(fileURLWithPath: "/d/malicious/rce/conn.15:00:00-16:00:00.log")), "rce")
        XCTAssertEqual(FlowLoader.scenarioName(ofFile: URL(fileURLWithPath: "/d/malicious/eve.json")), "eve")
        XCTAssertEqual(FlowLoader.scenarioName(ofFile: URL(fileURLWithPath: "/d/malicious/x/scan_conn.log")), "scan")
    }

    func testChunkedReadsGiveTheSameTable() throws {
        for (text, path, features) in [(Self.zeekTSV, "/d/benign/conn.log", NativeFlowLog.zeekFeatures),
                                       (Self.zeekJSON, "/d/benign/conn.json", NativeFlowLog.zeekFeatures),
                                       (Self.suricata, "/d/benign/eve.json", NativeFlowLog.suricataFeatures)] {
            var registry = FlowLoader.ScenarioRegistry()
            let options = FlowLoadOptions(features: features, readEndpoints: true)
            let whole = try FlowLoader.parse(Data(text.utf8), path: path, options: options, registry: &registry)
            for chunk in [1, 7, 64] {
                let table = try FlowLoader.parse(Data(text.utf8), path: path, options: options, registry: &registry, chunk: chunk)
                XCTAssertEqual(table.values.map(\.bitPattern), whole.values.map(\.bitPattern), "\(path), chunk \(chunk)")
                XCTAssertEqual(table.rowLines, whole.rowLines, "\(path), chunk \(chunk)")
                XCTAssertEqual(table.endpoints, whole.endpoints, "\(path), chunk \(chunk)")
            }
        }
    }

    func testALineLongerThan1MiBIsAnError() {
        let long = Self.zeekJSON + "{\"ts\":\"" + String(repeating: "9", count: CSVRecordReader.maxRecordBytes + 10)
        assertFlowError("/d/benign/conn.json:3: a record longer than 1 MiB (a line that never ends, or a quote that is never closed)") {
            try load(long, path: "/d/benign/conn.json", features: NativeFlowLog.zeekFeatures)
        }
    }

    func testLogsWithoutFlowsSaySo() {
        let noFlows = Self.suricata.split(separator: "\n").filter { !$0.contains("\"event_type\":\"flow\"") }.joined(separator: "\n")
        assertFlowError("/d/benign/eve.json: no flow events (2 events of other types skipped)") {
            try load(noFlows, path: "/d/benign/eve.json", features: NativeFlowLog.suricataFeatures)
        }
        let commentsOnly = Self.zeekTSV.split(separator: "\n").filter { $0.hasPrefix("#") }.joined(separator: "\n")
        assertFlowError("/d/benign/conn.log: no connection records") {
            try load(commentsOnly, path: "/d/benign/conn.log", features: NativeFlowLog.zeekFeatures)
        }
    }

    func testSkipBadRowsSkipsMalformedLogLines() throws {
        let broken = Self.suricata.replacingOccurrences(of: "\"event_type\":\"stats\",", with: "")
            .replacingOccurrences(of: "{\"timestamp\":\"2023-03-19T16:02:19", with: "not json {\"timestamp\":\"2023-03-19T16:02:19")
        var registry = FlowLoader.ScenarioRegistry()
        let table = try FlowLoader.parse(Data(broken.utf8), path: "/d/benign/eve.json",
                                         options: FlowLoadOptions(features: NativeFlowLog.suricataFeatures, skipBadRows: true),
                                         registry: &registry)
        XCTAssertEqual(table.rowCount, 1)
        XCTAssertEqual(table.report.badRowsSkipped, 2)
        XCTAssertEqual(table.report.firstBadRows.map(\.line), [3, 4])
        XCTAssertEqual(table.report.firstBadRows.first?.error.description, "/d/benign/eve.json:3: a Suricata event with no \"event_type\"")
    }

    func testSuricataOffsetTimestamps() {
        XCTAssertEqual(FlowTimestamp.parse("2023-03-19T15:02:18.745393+0000") ?? 0, 1_679_238_138.745393, accuracy: 1e-4)
        XCTAssertEqual(FlowTimestamp.parse("2023-03-19T16:02:18.745393+0100") ?? 0, 1_679_238_138.745393, accuracy: 1e-4)
        XCTAssertEqual(FlowTimestamp.parse("2023-03-19T10:32:18-04:30") ?? 0, 1_679_238_138, accuracy: 1e-4)
        XCTAssertNil(FlowTimestamp.parse("2023-03-19T15:02:18+0000 junk"))
    }
}
