import Foundation
import XCTest
@testable import FlowData

/// The same three flows written by the four flow meters, as their real headers spell them, read
/// back into identical canonical features.
final class DialectTests: XCTestCase {
    // Real header lines (the V3 one keeps CIC-IDS2017's leading spaces and its duplicated
    // "Fwd Header Length"; the Python one is cicflowmeter 0.4's column order).
    static let canonicalHeader = "Flow ID,Src IP,Src Port,Dst IP,Dst Port,Protocol,Timestamp,Flow Duration,Total Fwd Packet,Total Bwd packets,Total Length of Fwd Packet,Total Length of Bwd Packet,Fwd Packet Length Max,Fwd Packet Length Min,Fwd Packet Length Mean,Fwd Packet Length Std,Bwd Packet Length Max,Bwd Packet Length Min,Bwd Packet Length Mean,Bwd Packet Length Std,Flow Bytes/s,Flow Packets/s,Flow IAT Mean,Flow IAT Std,Flow IAT Max,Flow IAT Min,Fwd IAT Total,Fwd IAT Mean,Fwd IAT Std,Fwd IAT Max,Fwd IAT Min,Bwd IAT Total,Bwd IAT Mean,Bwd IAT Std,Bwd IAT Max,Bwd IAT Min,Fwd PSH Flags,Bwd PSH Flags,Fwd URG Flags,Bwd URG Flags,Fwd RST Flags,Bwd RST Flags,Fwd Header Length,Bwd Header Length,Fwd Packets/s,Bwd Packets/s,Packet Length Min,Packet Length Max,Packet Length Mean,Packet Length Std,Packet Length Variance,FIN Flag Count,SYN Flag Count,RST Flag Count,PSH Flag Count,ACK Flag Count,URG Flag Count,CWR Flag Count,ECE Flag Count,Down/Up Ratio,Average Packet Size,Fwd Segment Size Avg,Bwd Segment Size Avg,Fwd Bytes/Bulk Avg,Fwd Packet/Bulk Avg,Fwd Bulk Rate Avg,Bwd Bytes/Bulk Avg,Bwd Packet/Bulk Avg,Bwd Bulk Rate Avg,Subflow Fwd Packets,Subflow Fwd Bytes,Subflow Bwd Packets,Subflow Bwd Bytes,FWD Init Win Bytes,Bwd Init Win Bytes,Fwd Act Data Pkts,Fwd Seg Size Min,Active Mean,Active Std,Active Max,Active Min,Idle Mean,Idle Std,Idle Max,Idle Min,Total TCP Flow Time,Label"
    static let v3Header = "Flow ID, Source IP, Source Port, Destination IP, Destination Port, Protocol, Timestamp, Flow Duration, Total Fwd Packets, Total Backward Packets,Total Length of Fwd Packets, Total Length of Bwd Packets, Fwd Packet Length Max, Fwd Packet Length Min, Fwd Packet Length Mean, Fwd Packet Length Std,Bwd Packet Length Max, Bwd Packet Length Min, Bwd Packet Length Mean, Bwd Packet Length Std,Flow Bytes/s, Flow Packets/s, Flow IAT Mean, Flow IAT Std, Flow IAT Max, Flow IAT Min,Fwd IAT Total, Fwd IAT Mean, Fwd IAT Std, Fwd IAT Max, Fwd IAT Min,Bwd IAT Total, Bwd IAT Mean, Bwd IAT Std, Bwd IAT Max, Bwd IAT Min,Fwd PSH Flags, Bwd PSH Flags, Fwd URG Flags, Bwd URG Flags, Fwd Header Length, Bwd Header Length,Fwd Packets/s, Bwd Packets/s, Min Packet Length, Max Packet Length, Packet Length Mean, Packet Length Std, Packet Length Variance,FIN Flag Count, SYN Flag Count, RST Flag Count, PSH Flag Count, ACK Flag Count, URG Flag Count, CWE Flag Count, ECE Flag Count, Down/Up Ratio, Average Packet Size, Avg Fwd Segment Size, Avg Bwd Segment Size, Fwd Header Length,Fwd Avg Bytes/Bulk, Fwd Avg Packets/Bulk, Fwd Avg Bulk Rate, Bwd Avg Bytes/Bulk, Bwd Avg Packets/Bulk,Bwd Avg Bulk Rate,Subflow Fwd Packets, Subflow Fwd Bytes, Subflow Bwd Packets, Subflow Bwd Bytes,Init_Win_bytes_forward, Init_Win_bytes_backward, act_data_pkt_fwd, min_seg_size_forward,Active Mean, Active Std, Active Max, Active Min,Idle Mean, Idle Std, Idle Max, Idle Min, Label"
    static let v4Header = "Flow ID,Src IP,Src Port,Dst IP,Dst Port,Protocol,Timestamp,Flow Duration,Tot Fwd Pkts,Tot Bwd Pkts,TotLen Fwd Pkts,TotLen Bwd Pkts,Fwd Pkt Len Max,Fwd Pkt Len Min,Fwd Pkt Len Mean,Fwd Pkt Len Std,Bwd Pkt Len Max,Bwd Pkt Len Min,Bwd Pkt Len Mean,Bwd Pkt Len Std,Flow Byts/s,Flow Pkts/s,Flow IAT Mean,Flow IAT Std,Flow IAT Max,Flow IAT Min,Fwd IAT Tot,Fwd IAT Mean,Fwd IAT Std,Fwd IAT Max,Fwd IAT Min,Bwd IAT Tot,Bwd IAT Mean,Bwd IAT Std,Bwd IAT Max,Bwd IAT Min,Fwd PSH Flags,Bwd PSH Flags,Fwd URG Flags,Bwd URG Flags,Fwd Header Len,Bwd Header Len,Fwd Pkts/s,Bwd Pkts/s,Pkt Len Min,Pkt Len Max,Pkt Len Mean,Pkt Len Std,Pkt Len Var,FIN Flag Cnt,SYN Flag Cnt,RST Flag Cnt,PSH Flag Cnt,ACK Flag Cnt,URG Flag Cnt,CWE Flag Count,ECE Flag Cnt,Down/Up Ratio,Pkt Size Avg,Fwd Seg Size Avg,Bwd Seg Size Avg,Fwd Byts/b Avg,Fwd Pkts/b Avg,Fwd Blk Rate Avg,Bwd Byts/b Avg,Bwd Pkts/b Avg,Bwd Blk Rate Avg,Subflow Fwd Pkts,Subflow Fwd Byts,Subflow Bwd Pkts,Subflow Bwd Byts,Init Fwd Win Byts,Init Bwd Win Byts,Fwd Act Data Pkts,Fwd Seg Size Min,Active Mean,Active Std,Active Max,Active Min,Idle Mean,Idle Std,Idle Max,Idle Min,Label"
    static let pythonHeader = "src_ip,dst_ip,src_port,dst_port,protocol,timestamp,flow_duration,flow_byts_s,flow_pkts_s,fwd_pkts_s,bwd_pkts_s,tot_fwd_pkts,tot_bwd_pkts,totlen_fwd_pkts,totlen_bwd_pkts,fwd_pkt_len_max,fwd_pkt_len_min,fwd_pkt_len_mean,fwd_pkt_len_std,bwd_pkt_len_max,bwd_pkt_len_min,bwd_pkt_len_mean,bwd_pkt_len_std,pkt_len_max,pkt_len_min,pkt_len_mean,pkt_len_std,pkt_len_var,fwd_header_len,bwd_header_len,fwd_seg_size_min,fwd_act_data_pkts,flow_iat_mean,flow_iat_max,flow_iat_min,flow_iat_std,fwd_iat_tot,fwd_iat_max,fwd_iat_min,fwd_iat_mean,fwd_iat_std,bwd_iat_tot,bwd_iat_max,bwd_iat_min,bwd_iat_mean,bwd_iat_std,fwd_psh_flags,bwd_psh_flags,fwd_urg_flags,bwd_urg_flags,fin_flag_cnt,syn_flag_cnt,rst_flag_cnt,psh_flag_cnt,ack_flag_cnt,urg_flag_cnt,ece_flag_cnt,down_up_ratio,pkt_size_avg,init_fwd_win_byts,init_bwd_win_byts,active_max,active_min,active_mean,active_std,idle_max,idle_min,idle_mean,idle_std,fwd_seg_size_avg,bwd_seg_size_avg,cwe_flag_count,subflow_fwd_pkts,subflow_bwd_pkts,subflow_fwd_byts,subflow_bwd_byts"

    // The 27 default features as each flow meter spells them, in FeatureSet.default's order
    // (typed from the tools' outputs, independently of the alias table under test).
    static let v3Names = ["Flow Duration", "Total Fwd Packets", "Total Backward Packets", "Total Length of Fwd Packets",
                          "Total Length of Bwd Packets", "Flow Bytes/s", "Flow Packets/s", "Flow IAT Mean", "Flow IAT Std",
                          "Flow IAT Max", "Flow IAT Min", "Fwd IAT Total", "Bwd IAT Total", "Min Packet Length",
                          "Max Packet Length", "Packet Length Mean", "Packet Length Std", "Init_Win_bytes_forward",
                          "Init_Win_bytes_backward", "Active Mean", "Active Std", "Active Max", "Active Min", "Idle Mean",
                          "Idle Std", "Idle Max", "Idle Min"]
    static let v4Names = ["Flow Duration", "Tot Fwd Pkts", "Tot Bwd Pkts", "TotLen Fwd Pkts", "TotLen Bwd Pkts", "Flow Byts/s",
                          "Flow Pkts/s", "Flow IAT Mean", "Flow IAT Std", "Flow IAT Max", "Flow IAT Min", "Fwd IAT Tot",
                          "Bwd IAT Tot", "Pkt Len Min", "Pkt Len Max", "Pkt Len Mean", "Pkt Len Std", "Init Fwd Win Byts",
                          "Init Bwd Win Byts", "Active Mean", "Active Std", "Active Max", "Active Min", "Idle Mean",
                          "Idle Std", "Idle Max", "Idle Min"]
    static let pythonNames = ["flow_duration", "tot_fwd_pkts", "tot_bwd_pkts", "totlen_fwd_pkts", "totlen_bwd_pkts",
                              "flow_byts_s", "flow_pkts_s", "flow_iat_mean", "flow_iat_std", "flow_iat_max", "flow_iat_min",
                              "fwd_iat_tot", "bwd_iat_tot", "pkt_len_min", "pkt_len_max", "pkt_len_mean", "pkt_len_std",
                              "init_fwd_win_byts", "init_bwd_win_byts", "active_mean", "active_std", "active_max",
                              "active_min", "idle_mean", "idle_std", "idle_max", "idle_min"]
    /// The Python package (0.3 to 0.5) writes every time in seconds: flow_duration, flow_iat_*,
    /// the IAT totals, active_* and idle_* (everything else in canonical units, lengths as frames).
    static let pythonSeconds: Set<Int> = [0, 7, 8, 9, 10, 11, 12, 19, 20, 21, 22, 23, 24, 25, 26]

    /// Three flows in canonical units (microseconds, bytes); nil is a missing value (Infinity / NaN).
    static let flows: [[Double?]] = [
        [359, 5, 5, 106, 137, 676880.25, 27855.15, 39.888, 42.413, 131, 6, 345, 335, 0, 137, 24.3, 51.747, 65280, 505,
         0, 0, 0, 0, 0, 0, 0, 0],
        [116926587, 478, 309, 10260, 773903, 6706.4559, 6.7307, 148761.56, 933745.76, 6382542, 1, 116926543, 116923882,
         0, 13480, 996.395, 2659.5687, 1083, 502, 243679.25, 33280.5, 298858, 220198, 6239859.5, 96660.95, 6382542, 6017242],
        [0, 1, 0, 0, 0, nil, nil, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1024, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ]
    static let identifiers = [("10.0.0.1", "4000", "10.0.0.2", "80"), ("10.0.0.3", "5000", "10.0.0.4", "443"),
                              ("10.0.0.5", "6000", "10.0.0.6", "53")]

    /// A CSV with `header`; each column gets a flow's value when `names` lists it (in `unit`), an
    /// identifier or the label when it is one, else 0.
    func fixture(header: String, names: [String], ids: [String], label: String?, labels: [String],
                 seconds: Set<Int> = [], missing: String = "Infinity") -> String {
        let columns = header.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var text = header + "\n"
        for (r, flow) in Self.flows.enumerated() {
            let (srcIP, srcPort, dstIP, dstPort) = Self.identifiers[r]
            let idValues = ["\(srcIP)-\(dstIP)-\(srcPort)-\(dstPort)-6", srcIP, srcPort, dstIP, dstPort, "2024-01-0\(r + 1) 10:00:00"]
            var fields: [String] = []
            for (c, name) in columns.enumerated() {
                if let k = names.firstIndex(of: name) {
                    if let v = flow[k] {
                        fields.append(seconds.contains(k) ? "\(v / 1e6)" : "\(v)")
                    } else {
                        fields.append(missing)
                    }
                } else if let k = ids.firstIndex(of: name), !ids[k].isEmpty, columns.firstIndex(of: name) == c {
                    fields.append(idValues[k])
                } else if name == label {
                    fields.append(labels[r])
                } else {
                    fields.append("0")
                }
            }
            text += fields.joined(separator: ",") + "\n"
        }
        return text
    }

    func writeAllDialects(_ dir: URL, canonicalLabels: [String] = ["0", "2", "0"], v3Labels: [String] = ["BENIGN", "PortScan", "BENIGN"],
                          v4Labels: [String] = ["Benign", "Infilteration", "benign"]) throws -> [FlowDialect: URL] {
        let canonicalIDs = ["Flow ID", "Src IP", "Src Port", "Dst IP", "Dst Port", "Timestamp"]
        return [
            .cicflowmeter: try writeFile(dir, "canonical/reconnaissance_1.csv", fixture(
                header: Self.canonicalHeader, names: FeatureSet.default, ids: canonicalIDs, label: "Label", labels: canonicalLabels)),
            .cicflowmeterV3: try writeFile(dir, "v3/Tuesday-WorkingHours.pcap_ISCX.csv", fixture(
                header: Self.v3Header, names: Self.v3Names,
                ids: ["Flow ID", "Source IP", "Source Port", "Destination IP", "Destination Port", "Timestamp"],
                label: "Label", labels: v3Labels)),
            .cicflowmeterV4: try writeFile(dir, "v4/Friday-02-03-2018_TrafficForML_CICFlowMeter.csv", fixture(
                header: Self.v4Header, names: Self.v4Names, ids: canonicalIDs, label: "Label", labels: v4Labels, missing: "NaN")),
            .pythonCICFlowMeter: try writeFile(dir, "python/benign/flows.csv", fixture(
                header: Self.pythonHeader, names: Self.pythonNames, ids: ["", "src_ip", "src_port", "dst_ip", "dst_port", "timestamp"],
                label: nil, labels: [], seconds: Self.pythonSeconds, missing: "inf")),
        ]
    }

    func assertSameFeatures(_ a: [Float], _ b: [Float], tolerance: Float = 0, _ message: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, message, file: file, line: line)
        for (k, (x, y)) in zip(a, b).enumerated() {
            if x.isNaN || y.isNaN {
                XCTAssertTrue(x.isNaN && y.isNaN, "\(message): value \(k): \(x) vs \(y)", file: file, line: line)
            } else {
                XCTAssertLessThanOrEqual(abs(x - y), tolerance * max(abs(x), abs(y)), "\(message): value \(k): \(x) vs \(y)",
                                         file: file, line: line)
            }
        }
    }

    func testEveryDialectMapsToIdenticalCanonicalFeatures() throws {
        let dir = try temporaryFolder(self)
        let files = try writeAllDialects(dir)
        let canonical = try FlowLoader.load(files[.cicflowmeter]!)
        XCTAssertEqual(canonical.rowCount, 3)
        XCTAssertEqual(canonical.value(row: 1, feature: 0), 116926587)
        XCTAssertTrue(canonical.value(row: 2, feature: 5).isNaN)
        for dialect in FlowDialect.allCases where dialect.defaultFeatures == nil {  // the CSV dialects; Zeek and Suricata: NativeLogTests
            let table = try FlowLoader.load(files[dialect]!)
            XCTAssertEqual(table.dialect, dialect)
            XCTAssertEqual(table.report.notes.first, "dialect: \(dialect.displayName) [\(dialect.rawValue)]")
            // Seconds become microseconds through one Float multiplication: within a few ulps.
            assertSameFeatures(table.values, canonical.values, tolerance: dialect == .pythonCICFlowMeter ? 4e-7 : 0,
                               "\(dialect)")
            // Stream reading (detect) gives the same features and the identifiers under their canonical names.
            let reader = try FlowStreamReader(url: files[dialect]!)
            let batch = try XCTUnwrap(try reader.next())
            XCTAssertEqual(reader.dialect, dialect)
            assertSameFeatures(batch.values, canonical.values, tolerance: dialect == .pythonCICFlowMeter ? 4e-7 : 0,
                               "\(dialect) stream")
            XCTAssertEqual(batch.identifiers.map(\.sourceIP), ["10.0.0.1", "10.0.0.3", "10.0.0.5"], "\(dialect)")
            XCTAssertEqual(batch.identifiers.map(\.destinationPort), ["80", "443", "53"], "\(dialect)")
            XCTAssertEqual(batch.lineNumbers, [2, 3, 4])
            XCTAssertEqual(reader.identifierColumnsPresent.contains("Flow ID"), dialect != .pythonCICFlowMeter)
        }
    }

    func testUnitConversionsAndInexactLengthsAreSaid() throws {
        let dir = try temporaryFolder(self)
        let files = try writeAllDialects(dir)
        let python = try FlowLoader.load(files[.pythonCICFlowMeter]!)
        let notes = python.report.notes
        XCTAssertEqual(notes.count, 4, "\(notes)")
        XCTAssertEqual(notes[1], "python-cicflowmeter: converted seconds to microseconds: Flow Duration, Flow IAT Mean, "
            + "Flow IAT Std, Flow IAT Max, Flow IAT Min, Fwd IAT Total, "
            + "Bwd IAT Total, Active Mean, Active Std, Active Max, Active Min, Idle Mean, Idle Std, Idle Max, Idle Min")
        XCTAssertEqual(notes[2], FlowDialect.pythonVersionWarning)
        let lengths = notes[3]
        XCTAssertTrue(lengths.hasPrefix("warning: python-cicflowmeter measures packet lengths as whole frames"), lengths)
        // Not said when the model itself was trained on this dialect; said when it was not.
        XCTAssertEqual(FlowDialect.notes(notes, trained: .pythonCICFlowMeter, scoring: .pythonCICFlowMeter),
                       Array(notes.prefix(3)))
        XCTAssertEqual(FlowDialect.notes(notes, trained: .cicflowmeter, scoring: .pythonCICFlowMeter), notes)
        XCTAssertEqual(FlowDialect.notes(notes, trained: nil, scoring: .pythonCICFlowMeter), notes)
        XCTAssertTrue(notes[3].hasSuffix("Total Length of Fwd Packet, Total Length of Bwd Packet, Flow Bytes/s, "
            + "Packet Length Min, Packet Length Max, Packet Length Mean, Packet Length Std"), notes[2])
        // The Java dialects share the canonical units: nothing to say beyond the dialect.
        for dialect in [FlowDialect.cicflowmeter, .cicflowmeterV3, .cicflowmeterV4] {
            XCTAssertEqual(try FlowLoader.load(files[dialect]!).report.notes.count, 1, "\(dialect)")
        }
        // A folder of mixed dialects names each once, with its file count.
        let all = try FlowLoader.load(dir, options: FlowLoadOptions(requireLabels: false))
        XCTAssertEqual(all.report.notes.filter { $0.hasPrefix("dialect:") }.count, 1)
        XCTAssertEqual(all.report.notes.filter { $0.contains("converted seconds") }.count, 1)
        XCTAssertEqual(all.report.filesByDialect, [.cicflowmeter: 1, .cicflowmeterV3: 1, .cicflowmeterV4: 1, .pythonCICFlowMeter: 1])
        XCTAssertEqual(all.rowCount, 12)
    }

    func testLabelStylesOfEveryDialect() throws {
        let dir = try temporaryFolder(self)
        let files = try writeAllDialects(dir)
        let canonical = try FlowLoader.load(files[.cicflowmeter]!)
        XCTAssertEqual(canonical.labels, [0, 2, 0])
        XCTAssertEqual(canonical.scenarioNames, ["benign", "reconnaissance", "benign"])
        let v3 = try FlowLoader.load(files[.cicflowmeterV3]!)
        XCTAssertEqual(v3.labels, [0, 100, 0])
        XCTAssertEqual(v3.scenarioNames, ["benign", "PortScan", "benign"])
        let v4 = try FlowLoader.load(files[.cicflowmeterV4]!)
        XCTAssertEqual(v4.labels, [0, 100, 0])
        XCTAssertEqual(v4.scenarioNames, ["benign", "Infilteration", "benign"])
        // No Label column: the benign/ folder above the Python file labels it.
        let python = try FlowLoader.load(files[.pythonCICFlowMeter]!)
        XCTAssertEqual(python.labels, [0, 0, 0])
        // One load gives every text label its own id, after the dataset's known ones.
        let all = try FlowLoader.load(dir)
        XCTAssertEqual(Set(all.labels), [0, 2, 100, 101])
        XCTAssertEqual(all.scenarios, ["benign", "Infilteration", "PortScan", "reconnaissance"])

        // Unlabelled exports (the Java tool's NeedManualLabel, V4's No Label): a clear error for
        // training, every flow for detect.
        let unlabelled = try temporaryFolder(self)
        let live = try writeAllDialects(unlabelled, canonicalLabels: ["NeedManualLabel", "NeedManualLabel", "NeedManualLabel"],
                                        v3Labels: ["", "", ""], v4Labels: ["No Label", "No Label", "No Label"])
        for dialect in [FlowDialect.cicflowmeter, .cicflowmeterV3, .cicflowmeterV4] {
            let url = live[dialect]!
            XCTAssertThrowsError(try FlowLoader.load(url)) { error in
                XCTAssertTrue("\(error)".contains("line 2 has no label"), "\(error)")
            }
            let reader = try FlowStreamReader(url: url)
            XCTAssertEqual(try reader.next()?.rowCount, 3, "detect never drops a flow for its label (\(dialect))")
            XCTAssertEqual(reader.report.badRowsSkipped, 0)
        }
        // Even a label that would be bad for training is not read by detect.
        let odd = try writeFile(unlabelled, "odd.csv", "A,B,C,Label\n1,2,3,1.5\n4,5,6,-1\n")
        let reader = try FlowStreamReader(url: odd, options: FlowLoadOptions(features: smallFeatures))
        XCTAssertEqual(try reader.next()?.values, [1, 2, 3, 4, 5, 6])
    }

    func testHeaderMatchingIgnoresCaseSpacesAndUnderscores() throws {
        let dir = try temporaryFolder(self)
        let url = try writeFile(dir, "x.csv", "  total_fwd_PACKET ,FLOW  DURATION,flow_bytes/s , label \n3,10,2.5,BENIGN\n")
        let t = try FlowLoader.load(url, options: FlowLoadOptions(features: ["Flow Duration", "Total Fwd Packet", "Flow Bytes/s"]))
        XCTAssertEqual(Array(t.row(0)), [10, 3, 2.5])
        XCTAssertEqual(t.labels, [0])
        // Features asked for in another dialect's spelling find the canonical column too.
        let v4Spelling = try FlowLoader.load(url, options: FlowLoadOptions(features: ["Tot Fwd Pkts", "Flow Byts/s"]))
        XCTAssertEqual(Array(v4Spelling.row(0)), [3, 2.5])
    }

    func testDialectDetection() {
        func detect(_ header: String) -> FlowDialect {
            DialectTable.detect(header: header.split(separator: ",").map(String.init))
        }
        XCTAssertEqual(detect(Self.canonicalHeader), .cicflowmeter)
        XCTAssertEqual(detect(Self.v3Header), .cicflowmeterV3)
        XCTAssertEqual(detect(Self.v4Header), .cicflowmeterV4)
        XCTAssertEqual(detect(Self.pythonHeader), .pythonCICFlowMeter)
        // V4 and Python names agree once normalized: upper case without underscores is still V4, snake_case Python.
        XCTAssertEqual(detect("TOT FWD PKTS,FLOW DURATION"), .cicflowmeterV4)
        XCTAssertEqual(detect("tot_fwd_pkts,flow_duration"), .pythonCICFlowMeter)
        XCTAssertEqual(detect("A,B,C"), .cicflowmeter)
        XCTAssertEqual(FlowDialect.mismatchWarning(trained: nil, scoring: .cicflowmeterV3), nil)
        XCTAssertEqual(FlowDialect.mismatchWarning(trained: .cicflowmeter, scoring: .cicflowmeter), nil)
        XCTAssertNotNil(FlowDialect.mismatchWarning(trained: .cicflowmeter, scoring: .pythonCICFlowMeter))
        // Recorded in a model as its raw value.
        XCTAssertEqual(FlowDialect(rawValue: "cicflowmeter-v3"), .cicflowmeterV3)
    }
}
