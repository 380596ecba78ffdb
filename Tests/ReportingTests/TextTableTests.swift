import Reporting
import XCTest

final class TextTableTests: XCTestCase {
    func testSampleSummary() {
        let s = SampleSummary([0.5, 0.7, nil, 0.9, .nan])
        XCTAssertEqual(s.count, 3)
        XCTAssertEqual(s.undefined, 2)
        XCTAssertEqual(s.mean, 0.7, accuracy: 1e-12)
        XCTAssertEqual(s.standardDeviation, 0.2, accuracy: 1e-12)
        XCTAssertEqual(s.min, 0.5)
        XCTAssertEqual(s.max, 0.9)
        XCTAssertEqual(SampleSummary([0.8]).standardDeviation, 0)
        XCTAssertTrue(SampleSummary([nil]).mean.isNaN)
    }

    func testTableAlignsColumns() {
        XCTAssertEqual(TextTable.render(header: ["name", "n"], rows: [["ddos", "12"], ["x", "3"]]),
                       "name   n\n----  --\nddos  12\nx      3\n")
    }

    func testEvaluationSummaryMentionsScenarios() throws {
        let r = try EvaluationReport.make(scores: [0.1, 0.9], labels: [false, true], scenarioNames: ["benign", "ddos"],
                                          threshold: 0.5)
        XCTAssertTrue(r.textSummary.contains("ddos"))
        XCTAssertTrue(r.textSummary.contains("1.0000"))
    }
}
