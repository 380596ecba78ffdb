import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Reporting
import XCTest

/// Counts elements by name and records the first parse error.
private final class XMLCheck: NSObject, XMLParserDelegate {
    var elements: [String: Int] = [:]
    var error: Error?
    var text = ""

    static func parse(_ document: String) -> XMLCheck {
        let check = XMLCheck()
        let parser = XMLParser(data: Data(document.utf8))
        parser.delegate = check
        if !parser.parse() { check.error = check.error ?? parser.parserError ?? NSError(domain: "xml", code: -1) }
        return check
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements[name, default: 0] += 1
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) { error = parseError }
}

final class ChartTests: XCTestCase {
    func history(validation: Bool) -> [EpochRecord] {
        (1...12).map { e in
            EpochRecord(epoch: e, loss: 1 / Double(e), accuracy: 1 - 0.5 / Double(e),
                        valLoss: validation ? 1.2 / Double(e) : .nan, valAccuracy: validation ? 0.9 - 0.4 / Double(e) : nil)
        }
    }

    func testTrainingCurvesAreValidXMLWithTwoPanels() throws {
        let check = XMLCheck.parse(SVG.trainingCurves(history: history(validation: true)).document)
        XCTAssertNil(check.error)
        XCTAssertEqual(check.elements["svg"], 1)
        XCTAssertEqual(check.elements["polyline"], 4)
        XCTAssertTrue(check.text.contains("Model accuracy"))
        XCTAssertTrue(check.text.contains("Model loss"))
        XCTAssertTrue(check.text.contains("validation"))
    }

    func testMissingValidationIsOmitted() {
        let check = XMLCheck.parse(SVG.trainingCurves(history: history(validation: false)).document)
        XCTAssertNil(check.error)
        XCTAssertEqual(check.elements["polyline"], 2)
        XCTAssertFalse(check.text.contains("validation"))
        // A single epoch still draws (a degenerate axis range is widened).
        XCTAssertNil(XMLCheck.parse(SVG.trainingCurves(history: [EpochRecord(epoch: 1, loss: 0.5, accuracy: 0.5)]).document).error)
    }

    func testROCAndConfusionMatrixAreValidXML() throws {
        let metrics = try BinaryMetrics(scores: [0.1, 0.4, 0.35, 0.8], labels: [false, false, true, true])
        let roc = XMLCheck.parse(SVG.rocCurve(points: metrics.rocCurve, auc: metrics.rocAUC).document)
        XCTAssertNil(roc.error)
        XCTAssertTrue(roc.text.contains("AUC = 0.7500"))
        XCTAssertNil(XMLCheck.parse(SVG.rocCurve(points: [], auc: nil).document).error)
        let matrix = XMLCheck.parse(SVG.confusionMatrix(tp: 5, fp: 1, tn: 9, fn: 0).document)
        XCTAssertNil(matrix.error)
        XCTAssertEqual(matrix.elements["rect"], 5)  // background + four cells
    }

    func testTextIsEscaped() {
        let chart = LineChart(title: "a < b & \"c\"", xLabel: "x'", yLabel: "y>\u{1}",
                              series: [ChartSeries(name: "<script>", points: [(0, 0), (1, 1)], color: "#000")])
        let check = XMLCheck.parse(chart.image().document)
        XCTAssertNil(check.error)
        XCTAssertTrue(check.text.contains("a < b & \"c\""))
        XCTAssertTrue(check.text.contains("<script>"))
        XCTAssertEqual(SVG.escape("<&>\"'\u{0}"), "&lt;&amp;&gt;&quot;&#39;")
    }

    func testHistoryCSV() {
        let csv = HistoryCSV.render([EpochRecord(epoch: 1, loss: 0.5, accuracy: 0.75, valLoss: .nan, valAccuracy: 0.5, seconds: 2)])
        XCTAssertEqual(csv, "epoch,loss,accuracy,val_loss,val_accuracy,seconds\n1,0.5,0.75,,0.5,2.0\n")
        // Read back: the missing value stays missing; a row whose epoch is not an integer is skipped.
        let back = HistoryCSV.parse(csv + "nan,1,1,,,\n2,0.25,0.875,0.5,0.75,\n")
        XCTAssertEqual(back, [EpochRecord(epoch: 1, loss: 0.5, accuracy: 0.75, valLoss: nil, valAccuracy: 0.5, seconds: 2),
                              EpochRecord(epoch: 2, loss: 0.25, accuracy: 0.875, valLoss: 0.5, valAccuracy: 0.75, seconds: nil)])
    }
}
