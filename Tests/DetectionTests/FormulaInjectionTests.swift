import Detection
import FlowData
import Foundation
@testable import Siamese
import XCTest

/// Identifiers copied from input never reach a spreadsheet as formulas (OWASP CSV injection):
/// detect's CSV neutralises them, JSON lines keep the text, numbers are left alone.
final class FormulaInjectionTests: XCTestCase {
    func testDetectCSVNeutralisesIdentifiersButNotScores() {
        let ids = FlowIdentifiers(flowID: "=HYPERLINK(\"http://evil\",\"x\")", sourceIP: "+SUM(1,2)", sourcePort: "-2+3",
                                  destinationIP: "@SUM(A1)", destinationPort: "\t=1", timestamp: "2023-01-01 10:00")
        let verdict = FlowVerdict(row: 2, identifiers: ids, score: -1.5, malicious: false, why: "=cmd|' /C calc'!A0")
        let csv = VerdictFormatter(format: .csv, identifierColumns: FeatureSet.identifierColumns)
        let expected = ["2", "\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\"", "\"'+SUM(1,2)\"", "'-2+3", "'@SUM(A1)", "'\t=1",
                        "2023-01-01 10:00", "", "-1.5", "benign", "'=cmd|' /C calc'!A0", "info", ""]
        XCTAssertEqual(csv.line(verdict), expected.joined(separator: ",") + "\n")
        let jsonl = VerdictFormatter(format: .jsonl, identifierColumns: FeatureSet.identifierColumns)
        let object = try? JSONSerialization.jsonObject(with: Data(jsonl.line(verdict).utf8)) as? [String: Any]
        XCTAssertEqual(object?["flow_id"] as? String, ids.flowID, "JSON lines keep the text")
        XCTAssertTrue(object?["src_port"] is NSNull, "schema v1: a port is a number or null")
        XCTAssertEqual(object?["src_ip"] as? String, "+SUM(1,2)")
        XCTAssertEqual(object?["score"] as? Double, -1.5)
    }
}
