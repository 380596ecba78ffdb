import XCTest
@testable import FlowData

/// Every bad-input case, with its exact message.
final class BadInputTests: XCTestCase {
    let options = FlowLoadOptions(features: smallFeatures)

    func testMissingColumnsNamesEveryOne() throws {
        let dir = try temporaryFolder(self)
        let url = try writeFile(dir, "x.csv", "A,Z,Label\n1,2,0\n")
        assertFlowError("\(url.path): missing required columns: B, C") {
            try FlowLoader.load(url, options: options)
        }
        let noLabel = try writeFile(dir, "y.csv", "A,Z\n1,2\n")
        assertFlowError("\(noLabel.path): missing required columns: B, C, Label (a file without a Label column must sit under a benign/ or malicious/ folder)") {
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
        let url = try writeFile(dir, "x.csv", "A,B,C,Label\n1,2,3,BENIGN\n")
        assertFlowError("\(url.path):2: column 'Label': expected a non-negative integer, found 'BENIGN'") {
            try FlowLoader.load(url, options: options)
        }
        let half = try writeFile(dir, "y.csv", "A,B,C,Label\n1,2,3,1.5\n")
        assertFlowError("\(half.path):2: column 'Label': expected a non-negative integer, found '1.5'") {
            try FlowLoader.load(half, options: options)
        }
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
        assertFlowError("\(prose.path): missing required columns: A, B, C, Label (a file without a Label column must sit under a benign/ or malicious/ folder)") {
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
        assertFlowError("\(dir.path): no *.csv files in this folder or below it") { try FlowLoader.load(dir, options: options) }
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
}
