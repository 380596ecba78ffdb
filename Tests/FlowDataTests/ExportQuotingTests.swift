import Foundation
import XCTest
@testable import FlowData

/// `convert` output stays parseable whatever the file names hold (issue 13, item 6):
/// examples.csv is RFC 4180 and scenarios.txt keeps one line per row.
final class ExportQuotingTests: XCTestCase {
    let names = ["benign", "benign", "we,ird", "quo\"te", "new\nline\\back", "cr\rhere", "plain"]

    func table() -> FlowTable {
        let labels = names.map { $0 == "benign" ? 0 : 1 }
        let values = (0..<(names.count * 2)).map { Float($0 % 5) }
        return FlowTable(featureNames: ["A", "B"], values: values, labels: labels, scenarioNames: names,
                         sourceFiles: ["dir/a,b\"c\nd.csv"], rowFiles: [Int32](repeating: 0, count: names.count),
                         rowLines: (0..<names.count).map { Int32($0 + 2) })
    }

    /// An independent RFC 4180 reader: fields separated by commas, records by CRLF or LF,
    /// quoted fields may hold anything with quotes doubled.
    func parseCSV(_ text: String) -> [[String]] {
        var records: [[String]] = [], record: [String] = [], field = ""
        var quoted = false, wasQuoted = false
        var chars = Array(text)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { field.append("\""); chars.removeFirst() } else { quoted = false }
                } else { field.append(c) }
            } else if c == "\"" && field.isEmpty && !wasQuoted {
                quoted = true; wasQuoted = true
            } else if c == "," {
                record.append(field); field = ""; wasQuoted = false
            } else if c == "\n" || c == "\r\n" {
                record.append(field); records.append(record); record = []; field = ""; wasQuoted = false
            } else {
                XCTAssertFalse(wasQuoted, "text after a closing quote")
                field.append(c)
            }
        }
        XCTAssertFalse(quoted, "unterminated quote")
        if !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
        return records
    }

    func unescapeLine(_ line: Substring) -> String {
        var out = "", it = line.makeIterator()
        while let c = it.next() {
            guard c == "\\" else { out.append(c); continue }
            switch it.next() {
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "\\": out.append("\\")
            case let other: XCTFail("unexpected escape \\\(String(describing: other))")
            }
        }
        return out
    }

    func testExamplesAreRFC4180AndScenarioLinesMatchRows() throws {
        let out = try temporaryFolder(self), t = table()
        _ = try FlowExport.write(table: t, to: out, count: 10, factor: 1)

        let examples = parseCSV(try String(contentsOf: out.appendingPathComponent("examples.csv"), encoding: .utf8))
        XCTAssertEqual(examples.first, ["file", "row", "label", "scenario", "source"])
        let rows = examples.dropFirst()
        XCTAssertEqual(rows.count, names.count, "one record per example image")
        for record in rows {
            XCTAssertEqual(record.count, 5, "\(record)")
            guard record.count == 5, let row = Int(record[1]) else { continue }
            XCTAssertEqual(record[3], names[row])
            XCTAssertEqual(record[4], t.location(ofRow: row))
        }

        let text = try String(contentsOf: out.appendingPathComponent("scenarios.txt"), encoding: .utf8)
        // Split on every line break a reader might honour; there must be exactly one per row.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0.isNewline })
        XCTAssertEqual(lines.count, names.count + 1, "one line per row, then the final newline: \(lines)")
        XCTAssertEqual(lines.dropLast().map(unescapeLine), names)
    }

    func testExamplesNeutraliseFormulas() throws {
        let formulas = ["=HYPERLINK(\"http://evil\",\"x\")", "+SUM(1,2)", "@SUM(A1)", "-2+3", "\tTAB", "\rCR"]
        let names = ["benign", "benign"] + formulas
        let t = FlowTable(featureNames: ["A"], values: (0..<names.count).map(Float.init), labels: names.map { $0 == "benign" ? 0 : 1 },
                          scenarioNames: names, sourceFiles: ["=cmd.csv"], rowFiles: [Int32](repeating: 0, count: names.count),
                          rowLines: (0..<names.count).map { Int32($0 + 2) })
        let out = try temporaryFolder(self)
        _ = try FlowExport.write(table: t, to: out, count: 10, factor: 1)
        let rows = parseCSV(try String(contentsOf: out.appendingPathComponent("examples.csv"), encoding: .utf8)).dropFirst()
        XCTAssertEqual(rows.count, names.count)
        for record in rows where record.count == 5 {
            guard let row = Int(record[1]) else { continue }
            XCTAssertEqual(record[3], names[row] == "benign" ? "benign" : "'" + names[row], "\(record)")
            XCTAssertFalse(record[4].first.map { "=+-@\t\r".contains($0) } ?? false, "\(record)")
        }
    }

    func testQuotingLeavesPlainFieldsAlone() {
        XCTAssertEqual(FlowExport.csvQuote("reconnaissance"), "reconnaissance")
        XCTAssertEqual(FlowExport.csvQuote("a,b"), "\"a,b\"")
        XCTAssertEqual(FlowExport.csvQuote("say \"hi\""), "\"say \"\"hi\"\"\"")
        XCTAssertEqual(FlowExport.csvQuote("two\nlines"), "\"two\nlines\"")
        XCTAssertEqual(FlowExport.lineEscape("a\\b\nc\rd"), "a\\\\b\\nc\\rd")
        XCTAssertEqual(FlowExport.lineEscape("x\u{2028}y"), "x\\u{2028}y")
    }
}
