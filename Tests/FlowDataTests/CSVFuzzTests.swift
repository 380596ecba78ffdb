import Foundation
import XCTest
@testable import FlowData

/// Seeded mutation fuzzing of the CSV readers: every mutated file ends in a `FlowDataError` that
/// names the file, or in a table that holds together (no infinity, one label and line per row).
final class CSVFuzzTests: XCTestCase {
    /// SplitMix64: a small, fixed generator so every failure replays from its seed.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Valid inputs in several dialects and label styles, and where each one sits (its folder decides
    /// the label of label-less files).
    static let seeds: [(path: String, text: String)] = {
        let canonical = "Flow ID,Src IP,Flow Duration,Total Fwd Packet,Total Bwd packets,Flow Bytes/s,Label\n"
            + "a-b-1,10.0.0.1,359,5,5,676880.2,0\n\"x,y\",10.0.0.2,116926587,478,309,6706.45,2\n"
            + "c-d-2,10.0.0.3,0,1,0,Infinity,0\nc-d-3,10.0.0.4,12,2,1,NaN,NeedManualLabel\n"
        let v3 = " Source IP, Flow Duration, Total Fwd Packets, Total Backward Packets,Flow Bytes/s, Label\n"
            + "10.0.0.1,359,5,5,676880.2,BENIGN\n10.0.0.2,116926587,478,309,6706.45,PortScan\n10.0.0.3,1,1,0,-Infinity,DDoS\n"
        let v4 = "Dst Port,Flow Duration,Tot Fwd Pkts,Tot Bwd Pkts,Flow Byts/s,Label\r\n"
            + "80,359,5,5,676880.2,Benign\r\n443,116926587,478,309,6706.45,Infilteration\r\n53,7,1,1,,No Label\r\n"
        let python = "src_ip,flow_duration,tot_fwd_pkts,tot_bwd_pkts,flow_byts_s\n"
            + "10.0.0.1,0.000359,5,5,676880.2\n10.0.0.2,116.926587,478,309,6706.45\n"
        // With every endpoint column (crossval's split by endpoint reads them).
        let endpoints = "Src IP,Dst IP,Dst Port,Flow Duration,Total Fwd Packet,Total Bwd packets,Flow Bytes/s,Label\n"
            + "10.0.0.1,\"10.0.0.9\",443,359,5,5,676880.2,0\n\"fe80::1\",10.0.0.9, 53 ,12,2,1,NaN,1\n"
        return [("/fuzz/malicious/reconnaissance_1.csv", canonical), ("/fuzz/v3.csv", v3),
                ("/fuzz/v4.csv", v4), ("/fuzz/benign/python.csv", python), ("/fuzz/malicious/x_1.csv", endpoints)]
    }()

    static let features = ["Flow Duration", "Total Fwd Packet", "Total Bwd packets", "Flow Bytes/s"]

    static let hugeNumbers = ["1e309", "-1e309", "3.5e38", "1" + String(repeating: "9", count: 400), "1e99999999999999999999",
                              "0." + String(repeating: "0", count: 500) + "1", "-0", "1e-400", "18446744073709551616", "NaN",
                              "-", "+", ".", "e", "1e", "\u{0}", "\u{FEFF}1"]

    /// One random change to `bytes`.
    static func mutate(_ bytes: inout [UInt8], _ g: inout Generator) {
        func position() -> Int { bytes.isEmpty ? 0 : Int.random(in: 0...bytes.count, using: &g) }
        switch Int.random(in: 0..<9, using: &g) {
        case 0:  // bit flips
            for _ in 0..<Int.random(in: 1...8, using: &g) where !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &g)] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &g)
            }
        case 1:  // truncation
            bytes.removeSubrange(position()...)
        case 2:  // inserted bytes, biased towards the CSV's own structure
            let alphabet: [UInt8] = Array(",\n\r\"0123456789.eE-+ \t".utf8) + [0, 0xFF, 0xC3]
            let inserted = (0..<Int.random(in: 1...16, using: &g)).map { _ in alphabet.randomElement(using: &g)! }
            bytes.insert(contentsOf: inserted, at: position())
        case 3:  // deleted range
            let a = position(), b = min(bytes.count, a + Int.random(in: 1...32, using: &g))
            if a < b { bytes.removeSubrange(a..<b) }
        case 4, 5:  // a field replaced by a huge or odd number
            let commas = bytes.indices.filter { bytes[$0] == UInt8(ascii: ",") }
            guard let c = commas.randomElement(using: &g) else { return }
            var end = c + 1
            while end < bytes.count, bytes[end] != UInt8(ascii: ","), bytes[end] != UInt8(ascii: "\n") { end += 1 }
            bytes.replaceSubrange((c + 1)..<end, with: Array(hugeNumbers.randomElement(using: &g)!.utf8))
        case 6:  // a giant field
            let filler = [UInt8(ascii: "7"), UInt8(ascii: "A"), UInt8(ascii: "\"")].randomElement(using: &g)!
            bytes.insert(contentsOf: [UInt8](repeating: filler, count: Int.random(in: 1_000...20_000, using: &g)), at: position())
        case 7:  // a duplicated line
            let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            guard let line = lines.randomElement(using: &g) else { return }
            bytes.insert(contentsOf: Array(line) + [UInt8(ascii: "\n")], at: position())
        default:  // random bytes anywhere
            bytes.insert(contentsOf: (0..<Int.random(in: 1...64, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) },
                         at: position())
        }
    }

    enum Outcome { case table, error, failed }

    /// Checks one outcome: a clear error naming the file, or a consistent table.
    func check(_ path: String, _ body: () throws -> FlowTable, file: StaticString = #filePath, line: UInt = #line) -> Outcome {
        do {
            let t = try body()
            let f = t.featureCount
            guard t.values.count == t.rowCount * f, t.scenarioNames.count == t.rowCount, t.rowLines.count == t.rowCount,
                  !t.values.contains(where: \.isInfinite), t.labels.allSatisfy({ $0 >= FlowTable.unlabelled }),
                  t.rowLines.allSatisfy({ $0 >= 2 }), zip(t.rowLines, t.rowLines.dropFirst()).allSatisfy({ $0 < $1 }),
                  t.report.rowsRead == t.rowCount, t.endpoints.map({ $0.count == t.rowCount }) ?? true else {
                XCTFail("\(path): inconsistent table: \(t.rowCount) rows", file: file, line: line)
                return .failed
            }
            return .table
        } catch let error as FlowDataError {
            guard error.description.contains(path) || error.description.contains("feature list") else {
                XCTFail("an error that does not name the file: \(error)", file: file, line: line)
                return .failed
            }
            return .error
        } catch {
            XCTFail("not a FlowDataError: \(error)", file: file, line: line)
            return .failed
        }
    }

    func testMutatedFilesEndInAClearErrorOrAConsistentTable() throws {
        var g = Generator(state: 20_261_128)
        let started = Date()
        var cases = 0, tables = 0, failures = 0, withEndpoints = 0
        for round in 0..<400 {
            for (path, text) in Self.seeds {
                var bytes = Array(text.utf8)
                for _ in 0..<Int.random(in: 1...3, using: &g) { Self.mutate(&bytes, &g) }
                let data = Data(bytes)
                for options in [FlowLoadOptions(features: Self.features),
                                FlowLoadOptions(features: Self.features, skipBadRows: true, requireLabels: round % 2 == 0,
                                                readEndpoints: round % 3 == 0)] {
                    cases += 1
                    var registry = FlowLoader.ScenarioRegistry()
                    var table: FlowTable?
                    // Reads of a few bytes at a time, now and then, put record ends and quotes across refills.
                    let chunk = round % 4 == 0 ? Int.random(in: 1...96, using: &g) : FlowLoader.chunkSize
                    switch check(path, { table = try FlowLoader.parse(data, path: path, options: options, registry: &registry,
                                                                      chunk: chunk); return table! }) {
                    case .table: tables += 1; if table?.endpoints?.isEmpty == false { withEndpoints += 1 }
                    case .error: break
                    case .failed: failures += 1; print("failing case: round \(round), \(path), \(bytes.count) bytes")
                    }
                }
                if failures > 5 { return }
            }
        }
        print("CSV fuzz (loader): \(cases) cases, \(tables) tables, \(withEndpoints) with endpoints, "
              + "\(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        XCTAssertGreaterThan(tables, cases / 20, "the mutations should leave many files readable")
        XCTAssertGreaterThan(withEndpoints, 0, "some readable files should keep their endpoints")
    }

    func testMutatedFilesThroughTheStreamReader() throws {
        var g = Generator(state: 7)
        let dir = try temporaryFolder(self)
        let started = Date()
        var cases = 0
        for round in 0..<100 {
            for (k, (_, text)) in Self.seeds.enumerated() {
                var bytes = Array(text.utf8)
                for _ in 0..<Int.random(in: 1...3, using: &g) { Self.mutate(&bytes, &g) }
                let url = dir.appendingPathComponent("case-\(k).csv")
                try Data(bytes).write(to: url)
                cases += 1
                // A tiny read buffer exercises refills and growth on every case.
                do {
                    let reader = try FlowStreamReader(url: url, options: FlowLoadOptions(features: Self.features,
                                                                                         skipBadRows: round % 2 == 0),
                                                      batchSize: Int.random(in: 1...4, using: &g), readBufferSize: 64)
                    var rows = 0, last = 1
                    while let batch = try reader.next() {
                        XCTAssertEqual(batch.values.count, batch.rowCount * Self.features.count)
                        XCTAssertEqual(batch.identifiers.count, batch.rowCount)
                        XCTAssertFalse(batch.values.contains(where: \.isInfinite))
                        for line in batch.lineNumbers {
                            XCTAssertGreaterThan(line, last)
                            last = line
                        }
                        rows += batch.rowCount
                    }
                    XCTAssertEqual(reader.report.rowsRead, rows)
                } catch let error as FlowDataError {
                    XCTAssertTrue(error.description.contains(url.path), "\(error)")
                }
            }
        }
        print("CSV fuzz (stream): \(cases) cases, \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }
}
