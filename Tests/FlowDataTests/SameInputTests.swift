import Foundation
import TestSupport
import XCTest
@testable import FlowData

/// A file reached twice is read once; a load where most rows have an exact twin says so.
final class SameInputTests: XCTestCase {
    let options = FlowLoadOptions(features: smallFeatures)

    func testAFileAndALinkToItAreReadOnce() throws {
        let dir = try temporaryFolder(self)
        let file = try writeFile(dir, "benign/b_1.csv", "A,B,C,Label\n1,2,3,0\n4,5,6,0\n")
        let link = dir.appendingPathComponent("benign/c_1.csv")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: file)
        try FileManager.default.linkItem(at: file, to: dir.appendingPathComponent("benign/d_1.csv"))
        XCTAssertEqual(try FlowLoader.csvFiles(at: dir).map(\.path), [file.path])
        let t = try FlowLoader.load(dir, options: options)
        XCTAssertEqual(t.values, [1, 2, 3, 4, 5, 6], "read once, not three times")
        XCTAssertEqual(t.report.sameFiles, ["\(link.path) (the same file as \(file.path))",
                                            "\(dir.path)/benign/d_1.csv (the same file as \(file.path))"])
        XCTAssertEqual(t.report.notes.last, "read once: 2 files are the same as a file already read (a link, or a second "
                       + "path to it): \(t.report.sameFiles.joined(separator: ", "))")
        // Several paths loaded together: overlapping paths are read once too.
        let both = try FlowLoader.load([dir, link], options: options)
        XCTAssertEqual(both.rowCount, 2)
        XCTAssertEqual(both.report.sameFiles.count, 3)
    }

    func testMostRowsWithAnExactTwinAreWarnedAbout() throws {
        let dir = try temporaryFolder(self)
        let text = "A,B,C,Label\n1,2,3,0\n4,5,6,0\n7,8,9,0\n"
        try writeFile(dir, "one/b_1.csv", text)
        try writeFile(dir, "two/b_1.csv", text)
        let copied = try FlowLoader.load(dir, options: options)
        XCTAssertEqual(copied.report.rowsWithTwin, 6)
        XCTAssertEqual(copied.report.notes.last, "warning: 6 of 6 flows have an exact twin (the same value in every feature): "
                       + "is the same input loaded twice (a copy of a file, or overlapping paths)? Twins make the baseline "
                       + "look tighter than it is and move the threshold")
        let once = try FlowLoader.load(dir.appendingPathComponent("one"), options: options)
        XCTAssertEqual(once.report.rowsWithTwin, 0)
        XCTAssertFalse(once.report.notes.contains { $0.contains("twin") })
        // A few twins (single-packet flows alike) are normal traffic, not a warning; NaN and -0 compare as values.
        let some = try writeFile(dir, "x.csv", "A,B,C,Label\n1,,0,0\n1,NaN,-0,0\n2,2,2,0\n3,3,3,0\n4,4,4,0\n")
        let t = try FlowLoader.load(some, options: options)
        XCTAssertEqual(t.report.rowsWithTwin, 2)
        XCTAssertFalse(t.report.notes.contains { $0.contains("twin") })
    }

    func testTheRealDatasetHasFewTwins() throws {
        guard let shared = sharedDatasetURL() else { throw XCTSkip("the shared Kubernetes dataset is absent (../shared/data)") }
        let t = try FlowLoader.load(shared)
        XCTAssertLessThan(t.report.rowsWithTwin * 20, t.rowCount, "\(t.report.rowsWithTwin) of \(t.rowCount)")
        XCTAssertFalse(t.report.notes.contains { $0.contains("twin") })
    }
}
