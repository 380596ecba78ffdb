import XCTest
@testable import FlowData

/// Every bad-input case, with its exact message.
final class BadInputTests: XCTestCase {
    let options = FlowLoadOptions(features: smallFeatures)
    let readAs = "(the header was read as CICFlowMeter (current Java release, as in the Kubernetes dataset); see the README's table of dialects)"

    func testMissingColumnsNamesEveryOne() throws {
        let dir = try temporaryFolder(self)
        let url = try writeFile(dir, "x.csv", "A,Z,Label\n1,2,0\n")
        assertFlowError("\(url.path): missing required columns: B, C \(readAs)") {
            try FlowLoader.load(url, options: options)
        }
        let noLabel = try writeFile(dir, "y.csv", "A,Z\n1,2\n")
        assertFlowError("\(noLabel.path): missing required columns: B, C \(readAs)") {
            try FlowLoader.load(noLabel, options: options)
        }
    }

    func testNonNumericValueNamesFileLineColumnAndText() throws {
        let dir = try temporaryFolder(self)
        let url = try writeFile(dir, "x.csv", "A,B,C,Label\n1,2,3,0\n4,five,6,0\n")
        assertFlowError("\(url.path):3: column 'B': non-numeric value 'five'") {
            try FlowLoader.load(url, options: options)
        }
    }

    func testBadLabel() throws {
        let dir = try temporaryFolder(self)
        for bad in ["1.5", "-2", "Infinity", "1e9"] {
            let url = try writeFile(dir, "x.csv", "A,B,C,Label\n1,2,3,0\n1,2,3,\(bad)\n")
            assertFlowError("\(url.path):3: column 'Label': expected a non-negative integer or a text label, found '\(bad)'") {
                try FlowLoader.load(url, options: options)
            }
        }
    }

    func testMissingLabelsSayWhatIsNeeded() throws {
        let dir = try temporaryFolder(self)
        let needs = "this command needs labelled flows: give every row a Label (0 or BENIGN for benign traffic, a scenario "
            + "id or attack name otherwise) or put the file under a benign/ or malicious/ folder (detect needs no labels)"
        let noColumn = try writeFile(dir, "y.csv", "A,B,C\n1,2,3\n")
        assertFlowError("\(noColumn.path): no Label column; \(needs)") { try FlowLoader.load(noColumn, options: options) }
        let manual = try writeFile(dir, "m.csv", "A,B,C,Label\n1,2,3,NeedManualLabel\n4,5,6,NeedManualLabel\n")
        assertFlowError("\(manual.path): line 2 has no label ('NeedManualLabel'); \(needs)") {
            try FlowLoader.load(manual, options: options)
        }
        // Even when bad rows are skipped: a file with no labelled row says so rather than "no usable rows".
        assertFlowError("\(manual.path): line 2 has no label ('NeedManualLabel'); \(needs)") {
            try FlowLoader.load(manual, options: FlowLoadOptions(features: smallFeatures, skipBadRows: true))
        }
        // A mixed file: strict stops at the first unlabelled row, lenient skips and counts them.
        let mixed = try writeFile(dir, "x.csv", "A,B,C,Label\n1,2,3,BENIGN\n4,5,6,No Label\n7,8,9,\n1,1,1,DDoS\n")
        assertFlowError("\(mixed.path): line 3 has no label ('No Label'); \(needs)") { try FlowLoader.load(mixed, options: options) }
        let lenient = try FlowLoader.load(mixed, options: FlowLoadOptions(features: smallFeatures, skipBadRows: true))
        XCTAssertEqual(lenient.rowLines, [2, 5])
        XCTAssertEqual(lenient.report.badRowsSkipped, 2)
        XCTAssertEqual(lenient.report.firstBadRows.map(\.line), [3, 4])
        // Loads that do not need labels keep the rows as unlabelled.
        let kept = try FlowLoader.load(mixed, options: FlowLoadOptions(features: smallFeatures, requireLabels: false))
        XCTAssertEqual(kept.labels, [0, FlowTable.unlabelled, FlowTable.unlabelled, 100])
        XCTAssertEqual(kept.scenarioNames, ["benign", "unlabelled", "unlabelled", "DDoS"])
        XCTAssertEqual(kept.benignRows, [0])
        XCTAssertEqual(kept.maliciousRows, [3])
        XCTAssertEqual(kept.unlabelledRows, [1, 2])
        XCTAssertFalse(kept.isMalicious(1))
        // Unlabelled rows under a benign/ or malicious/ folder take the folder's label.
        try writeFile(dir, "tree/benign/live_1.csv", "A,B,C,Label\n1,2,3,NeedManualLabel\n")
        try writeFile(dir, "tree/malicious/scan_1.csv", "A,B,C,Label\n1,2,3,NeedManualLabel\n4,5,6,3\n")
        let tree = try FlowLoader.load(dir.appendingPathComponent("tree"), options: options)
        XCTAssertEqual(tree.labels, [0, 100, 3])
        XCTAssertEqual(tree.scenarioNames, ["benign", "scan", "scan"])
    }

    func testWrongFieldCountNamesFileAndLine() throws {
        let dir = try temporaryFolder(self)
        let url = try writeFile(dir, "x.csv", "A,B,C,Label\n1,2,3,0\n1,2,3,0\n1,2,0\n")
        assertFlowError("\(url.path):4: expected 4 fields as in the header, found 3") {
            try FlowLoader.load(url, options: options)
        }
        // A short row is reported as a field-count error even if a value is also bad.
        let both = try writeFile(dir, "y.csv", "A,B,C,Label\nx,2,3,0,9\n")
        assertFlowError("\(both.path):2: expected 4 fields as in the header, found 5") {
            try FlowLoader.load(both, options: options)
        }
    }

    func testEmptyFile() throws {
        let dir = try temporaryFolder(self)
        let url = try writeFile(dir, "x.csv", "")
        assertFlowError("\(url.path): empty file (expected a CSV header line and data rows)") {
            try FlowLoader.load(url, options: options)
        }
        let blank = try writeFile(dir, "y.csv", "\n\n  \n")
        assertFlowError("\(blank.path): empty file (expected a CSV header line and data rows)") {
            try FlowLoader.load(blank, options: options)
        }
    }

    func testHeaderOnlyFile() throws {
        let dir = try temporaryFolder(self)
        let url = try writeFile(dir, "x.csv", "A,B,C,Label\n")
        assertFlowError("\(url.path): header only, no data rows") {
            try FlowLoader.load(url, options: options)
        }
    }

    func testNotCSV() throws {
        let dir = try temporaryFolder(self)
        let png = dir.appendingPathComponent("x.csv")
        try Data(PNG.encodeGray(width: 2, height: 2, pixels: [0, 1, 2, 3])).write(to: png)
        assertFlowError("\(png.path): not a CSV file (binary data in the first bytes)") {
            try FlowLoader.load(png, options: options)
        }
        let prose = try writeFile(dir, "y.csv", "This is a letter, not a table.\nDear reader\n")
        assertFlowError("\(prose.path): missing required columns: A, B, C \(readAs)") {
            try FlowLoader.load(prose, options: options)
        }
        let text = try writeFile(dir, "z.csv", "hello world\nsecond line\n")
        assertFlowError("\(text.path): not a CSV file (the header line has no commas)") {
            try FlowLoader.load(text, options: options)
        }
    }

    func testMissingPathAndEmptyFolder() throws {
        let dir = try temporaryFolder(self)
        let missing = dir.appendingPathComponent("nope")
        assertFlowError("\(missing.path): no such file or folder") { try FlowLoader.load(missing, options: options) }
        try writeFile(dir, "notes.txt", "a,b\n")
        assertFlowError("\(dir.path): no *.csv files (nor Zeek or Suricata logs) in this folder or below it") { try FlowLoader.load(dir, options: options) }
    }

    func testSkipBadRowsCountsAndLocates() throws {
        let dir = try temporaryFolder(self)
        let url = try writeFile(dir, "x.csv", "A,B,C,Label\n1,2,3,0\n1,2\n4,x,6,2\n7,8,9,2\n\n")
        let table = try FlowLoader.load(url, options: FlowLoadOptions(features: smallFeatures, skipBadRows: true))
        XCTAssertEqual(table.rowCount, 2)
        XCTAssertEqual(table.report.badRowsSkipped, 2)
        XCTAssertEqual(table.report.firstBadRows.map(\.line), [3, 4])
        XCTAssertEqual(table.report.badRowSummary, """
            skipped 2 bad rows; first:
              \(url.path):3: expected 4 fields as in the header, found 2
              \(url.path):4: column 'B': non-numeric value 'x'
            """)
        XCTAssertEqual(table.rowLines, [2, 5])
        let allBad = try writeFile(dir, "y.csv", "A,B,C,Label\n1,2\n")
        assertFlowError("\(allBad.path): no usable rows (1 bad rows skipped)") {
            try FlowLoader.load(allBad, options: FlowLoadOptions(features: smallFeatures, skipBadRows: true))
        }
    }

    func testEmptyFeatureList() throws {
        XCTAssertThrowsError(try FeatureSet.parse(" , ")) { XCTAssertEqual("\($0)", "the feature list is empty") }
    }

    /// Terminal injection: a path, column or value quoted in an error never carries a control character.
    func testErrorsEscapeControlCharactersOfTheInput() {
        let errors: [FlowDataError] = [
            .nonNumeric(path: "a\u{1B}[2J.csv", line: 2, column: "Flow\u{1B}]0;x\u{7}", text: "\u{1B}[31m1"),
            .badLabel(path: "f.csv", line: 3, text: "evil\u{9B}31m"),
            .noLabels(path: "f\n.csv", line: 4, text: "\r"),
        ]
        for error in errors {
            let text = "\(error)"
            XCTAssertFalse(text.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }, text)
        }
        XCTAssert("\(errors[0])".contains("a\\u{1B}[2J.csv:2: column 'Flow\\u{1B}]0;x\\u{7}'"), "\(errors[0])")
    }
}
