import Foundation
import TestSupport
import XCTest
@testable import FlowData

final class SynthAndStreamTests: XCTestCase {
    func testSynthIsDeterministicLoadableAndShapedLikeTheRealFiles() throws {
        let a = try temporaryFolder(self), b = try temporaryFolder(self), c = try temporaryFolder(self)
        try SynthGenerator.write(to: a, benign: 120, seed: 7)
        try SynthGenerator.write(to: b, benign: 120, seed: 7)
        try SynthGenerator.write(to: c, benign: 120, seed: 8)
        let files = try FlowLoader.csvFiles(at: a).map { $0.path.replacingOccurrences(of: a.path + "/", with: "") }
        XCTAssertEqual(files, [
            "benign/background_traffic_20230319T1802.pcap_Flow.csv",
            "malicious/attack-pods_20230319T1712.pcap_Flow.csv",
            "malicious/cve202013379_20230318T2159.pcap_Flow.csv",
            "malicious/cve202125741_20230319T1549.pcap_Flow.csv",
            "malicious/rce-reverse-shell_20230319T1710.pcap_Flow.csv",
            "malicious/reconnaissance_20230319T1704.pcap_Flow.csv",
        ])
        for name in files {
            XCTAssertEqual(try Data(contentsOf: a.appendingPathComponent(name)), try Data(contentsOf: b.appendingPathComponent(name)), name)
        }
        XCTAssertNotEqual(try Data(contentsOf: a.appendingPathComponent(files[0])), try Data(contentsOf: c.appendingPathComponent(files[0])))
        XCTAssertTrue(FileManager.default.fileExists(atPath: a.appendingPathComponent("README.md").path))

        let header = String(decoding: try Data(contentsOf: a.appendingPathComponent(files[0])), as: UTF8.self)
            .split(separator: "\n")[0]
        XCTAssertEqual(header.split(separator: ",", omittingEmptySubsequences: false).count, 87)
        XCTAssertTrue(header.hasSuffix(",Label"))
        if let shared = sharedDatasetURL() {
            let real = try String(contentsOf: try FlowLoader.csvFiles(at: shared)[0], encoding: .utf8).split(separator: "\n")[0]
            XCTAssertEqual(String(header), String(real))
        }

        let t = try FlowLoader.load(a)  // strict: every row well formed
        XCTAssertEqual(t.scenarioCounts["benign"], 120)
        XCTAssertEqual(Set(t.labels), [0, 1, 2, 3, 4, 8])
        for sc in SynthGenerator.scenarios {
            XCTAssertEqual(t.labels.filter { $0 == sc.id }.count, SynthGenerator.scenarioCount(per600: sc.per600, benign: 120))
        }
        // Some single-packet flows carry the Infinity/NaN missing values, as the real data does.
        XCTAssertTrue(t.benignRows.contains { t.value(row: $0, feature: 5).isNaN })
        // Attack traffic differs: reconnaissance flows are much shorter than benign ones on average.
        func meanDuration(_ rows: [Int]) -> Float { rows.map { t.value(row: $0, feature: 0) }.reduce(0, +) / Float(rows.count) }
        XCTAssertLessThan(meanDuration(t.rows { t.scenarioNames[$0] == "reconnaissance" }) * 5, meanDuration(t.benignRows))
    }

    func testStreamReaderBatchesRowsWithIdentifiersAndLineNumbers() throws {
        let dir = try temporaryFolder(self)
        try SynthGenerator.write(to: dir, benign: 50, seed: 3)
        let file = try FlowLoader.csvFiles(at: dir)[0]
        let table = try FlowLoader.load(file)
        // A tiny read buffer forces refills and a buffer that grows to hold a line.
        let reader = try FlowStreamReader(url: file, options: FlowLoadOptions(), batchSize: 16, readBufferSize: 100)
        XCTAssertTrue(reader.hasLabel)
        XCTAssertEqual(reader.identifierColumnsPresent, FeatureSet.identifierColumns)
        var values: [Float] = [], lines: [Int] = [], batches = 0
        var first: FlowIdentifiers?
        while let batch = try reader.next() {
            XCTAssertLessThanOrEqual(batch.rowCount, 16)
            values += batch.values
            lines += batch.lineNumbers
            batches += 1
            if first == nil { first = batch.identifiers[0] }
        }
        XCTAssertEqual(batches, 4)
        XCTAssertEqual(lines, table.rowLines.map(Int.init))
        XCTAssertEqual(values.count, table.values.count)
        XCTAssertTrue(zip(values, table.values).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) })
        let firstLine = try String(contentsOf: file, encoding: .utf8).split(separator: "\n")[1].split(separator: ",").map(String.init)
        XCTAssertEqual(first, FlowIdentifiers(flowID: firstLine[0], sourceIP: firstLine[1], sourcePort: firstLine[2],
                                              destinationIP: firstLine[3], destinationPort: firstLine[4], timestamp: firstLine[6],
                                              protocolNumber: firstLine[5]))
        XCTAssertEqual(try reader.next()?.rowCount, nil)
    }

    func testStreamReaderLenientAndStrict() throws {
        let dir = try temporaryFolder(self)
        let url = try writeFile(dir, "s.csv", "Src IP,A,B,C\n1.2.3.4,1,2,3\nbad,1\n5.6.7.8,x,2,3\n9.9.9.9,4,5,6")
        let lenient = try FlowStreamReader(url: url, options: FlowLoadOptions(features: smallFeatures, skipBadRows: true))
        let batch = try XCTUnwrap(try lenient.next())
        XCTAssertEqual(batch.values, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(batch.lineNumbers, [2, 5])
        XCTAssertEqual(batch.identifiers.map(\.sourceIP), ["1.2.3.4", "9.9.9.9"])
        XCTAssertEqual(batch.identifiers[0].flowID, "")
        XCTAssertNil(try lenient.next())
        XCTAssertEqual(lenient.report.badRowsSkipped, 2)
        XCTAssertEqual(lenient.report.firstBadRows.map(\.line), [3, 4])

        let strict = try FlowStreamReader(url: url, options: FlowLoadOptions(features: smallFeatures), batchSize: 1)
        XCTAssertNotNil(try strict.next())
        assertFlowError("\(url.path):3: expected 4 fields as in the header, found 2") { try strict.next() }

        let headerOnly = try writeFile(dir, "h.csv", "A,B,C\n")
        let reader = try FlowStreamReader(url: headerOnly, options: FlowLoadOptions(features: smallFeatures))
        assertFlowError("\(headerOnly.path): header only, no data rows") { try reader.next() }
        let empty = try writeFile(dir, "e.csv", "")
        assertFlowError("\(empty.path): empty file (expected a CSV header line and data rows)") {
            try FlowStreamReader(url: empty, options: FlowLoadOptions(features: smallFeatures))
        }
        let missing = try writeFile(dir, "m.csv", "A,Q\n1,2\n")
        assertFlowError("\(missing.path): missing required columns: B, C (the header was read as CICFlowMeter (current Java release, as in the Kubernetes dataset); see the README's table of dialects)") {
            try FlowStreamReader(url: missing, options: FlowLoadOptions(features: smallFeatures))
        }
    }

    func testExportWritesPNGsMontageAndNPY() throws {
        let data = try temporaryFolder(self), out = try temporaryFolder(self)
        try SynthGenerator.write(to: data, benign: 60, seed: 1)
        let table = try FlowLoader.load(data)
        let summary = try FlowExport.write(table: table, to: out, count: 6, transform: .log, factor: 2)
        XCTAssertEqual(summary.benignImages, 6)
        XCTAssertEqual(summary.maliciousImages, 6)
        for name in ["benign/image_1.png", "malicious/image_6.png", "montage.png", "images.npy", "labels.npy",
                     "scenario_ids.npy", "scaler.json", "examples.csv", "scenarios.txt"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), name)
        }
        // The malicious examples cover every scenario (round robin over 5 scenarios, 6 picks).
        let examples = try String(contentsOf: out.appendingPathComponent("examples.csv"), encoding: .utf8)
        XCTAssertEqual(Set(examples.split(separator: "\n").filter { $0.hasPrefix("malicious/") }.map { $0.split(separator: ",")[3] }).count, 5)
        let npy = try Data(contentsOf: out.appendingPathComponent("images.npy"))
        let header = String(decoding: npy[10..<128], as: UTF8.self)
        XCTAssertTrue(header.contains("'shape': (\(table.rowCount), 1, 32, 32)"), header)
        XCTAssertEqual(npy.count, 128 + table.rowCount * 4096)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "no temporary files left behind")
    }
}
