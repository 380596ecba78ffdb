import Foundation
import Reporting
import XCTest

final class HTMLReportTests: XCTestCase {
    func testPageIsSelfContainedAndEscaped() throws {
        let scores = [0.1, 0.3, 0.8, 0.9], labels = [false, false, true, true]
        let metrics = try BinaryMetrics(scores: scores, labels: labels)
        let evaluation = try EvaluationReport.make(scores: scores, labels: labels,
                                                   scenarioNames: ["benign", "benign", "port<scan>", "ddos"], threshold: 0.5)
        // The report embeds the bytes as given (FlowData's PNG encoder makes real ones); these
        // cover every base64 character, '+' and '/' included.
        let benignPNG: [UInt8] = [0x89, 0x50, 0x4E, 0x47] + (0..<256).map { UInt8($0) }
        let maliciousPNG: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0xFB, 0xFF, 0xBF]
        let content = ReportContent(
            title: "Report <for> \"k8s\" & co", subtitle: "backend: cpu", evaluation: evaluation, rocCurve: metrics.rocCurve,
            history: [EpochRecord(epoch: 1, loss: 0.7, accuracy: 0.6, valLoss: 0.8, valAccuracy: 0.55),
                      EpochRecord(epoch: 2, loss: 0.4, accuracy: 0.8, valLoss: 0.5, valAccuracy: 0.75)],
            examples: [ExampleImage(caption: "benign #1", group: "Benign", png: benignPNG),
                       ExampleImage(caption: "ddos <1>", group: "Malicious", png: maliciousPNG)],
            options: [("data", "https://example.invalid/flows.csv"), ("epochs", "2")],
            timings: [("train", "1.2 s")])
        let html = HTMLReport.render(content)

        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(html.contains("data:image/png;base64," + Data(benignPNG).base64EncodedString()))
        XCTAssertTrue(html.contains("data:image/png;base64," + Data(maliciousPNG).base64EncodedString()))
        XCTAssertEqual(html.components(separatedBy: "<svg").count - 1, 3)  // training curves, ROC, confusion
        XCTAssertTrue(html.contains("Report &lt;for&gt; &quot;k8s&quot; &amp; co"))
        XCTAssertTrue(html.contains("port&lt;scan&gt;"))
        XCTAssertFalse(html.contains("<for>"))
        // Nothing is fetched: no URL except user text, which is shown but never linked.
        let withoutUserText = html.replacingOccurrences(of: "https://example.invalid/flows.csv", with: "")
        XCTAssertFalse(withoutUserText.contains("http://"))
        XCTAssertFalse(withoutUserText.contains("https://"))
        XCTAssertFalse(html.contains("<link"))
        XCTAssertFalse(html.contains("<script"))
    }

    func testEmptyContentStillRenders() {
        let html = HTMLReport.render(ReportContent())
        XCTAssertTrue(html.contains("No evaluation."))
        XCTAssertFalse(html.contains("http"))
    }
}
