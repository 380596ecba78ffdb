import Foundation
import XCTest
@testable import FlowData

/// Nothing is skipped silently: links are followed (once), unreadable files fail or are counted,
/// and values beyond Float's range are counted as they become missing.
final class LinksAndRangeTests: XCTestCase {
    let options = FlowLoadOptions(features: smallFeatures)

    func testLinkedFilesAndFoldersAreReadOnceEvenThroughALoop() throws {
        let dir = try temporaryFolder(self)
        let elsewhere = dir.appendingPathComponent("elsewhere")
        try writeFile(elsewhere, "benign/b_1.csv", "A,B,C,Label\n1,2,3,0\n")
        try writeFile(elsewhere, "attacks/scan_1.csv", "A,B,C,Label\n4,5,6,2\n")
        let data = dir.appendingPathComponent("data")
        try writeFile(data, "benign/own_1.csv", "A,B,C,Label\n7,8,9,0\n")
        let fm = FileManager.default
        // A linked file, a linked folder, and a link back up the tree (a loop).
        try fm.createSymbolicLink(at: data.appendingPathComponent("benign/linked_1.csv"),
                                  withDestinationURL: elsewhere.appendingPathComponent("benign/b_1.csv"))
        try fm.createSymbolicLink(at: data.appendingPathComponent("malicious"), withDestinationURL: elsewhere.appendingPathComponent("attacks"))
        try fm.createSymbolicLink(at: data.appendingPathComponent("benign/loop"), withDestinationURL: data)
        let files = try FlowLoader.csvFiles(at: data).map { $0.path.replacingOccurrences(of: data.path + "/", with: "") }
        XCTAssertEqual(files, ["benign/linked_1.csv", "benign/own_1.csv", "malicious/scan_1.csv"])
        let table = try FlowLoader.load(data, options: options)
        XCTAssertEqual(table.values, [1, 2, 3, 7, 8, 9, 4, 5, 6])
        // --data pointing at a link to a folder.
        let link = dir.appendingPathComponent("data-link")
        try fm.createSymbolicLink(at: link, withDestinationURL: data)
        XCTAssertEqual(try FlowLoader.load(link, options: options).rowCount, 3)
    }

    func testUnreadableFilesFailOrAreCountedWithSkipBadRows() throws {
        let dir = try temporaryFolder(self)
        try writeFile(dir, "good_1.csv", "A,B,C,Label\n1,2,3,0\n")
        // A link to nothing is a file that cannot be read, whoever runs the test (root reads any file).
        let gone = dir.appendingPathComponent("gone_1.csv")
        try FileManager.default.createSymbolicLink(at: gone, withDestinationURL: dir.appendingPathComponent("moved-away.csv"))
        assertFlowError("\(gone.path): cannot read the file (No such file or directory)") {
            try FlowLoader.load(dir, options: options)
        }
        let lenient = try FlowLoader.load(dir, options: FlowLoadOptions(features: smallFeatures, skipBadRows: true))
        XCTAssertEqual(lenient.rowCount, 1)
        XCTAssertEqual(lenient.report.unreadableFiles, [gone.path])
        XCTAssertEqual(lenient.report.notes.last, "warning: skipped 1 unreadable file: \(gone.path)")
        assertFlowError("\(gone.path): a link to nothing (No such file or directory)") {
            try FlowLoader.load(gone, options: options)
        }

        // Permissions stop only other users than root.
        guard getuid() != 0 else { return }
        let locked = try writeFile(dir, "locked/x_1.csv", "A,B,C,Label\n1,2,3,0\n")
        try FileManager.default.removeItem(at: gone)
        chmod(locked.path, 0)
        defer { chmod(locked.path, 0o644) }
        assertFlowError("\(locked.path): cannot read the file (Permission denied)") { try FlowLoader.load(dir, options: options) }
        chmod(locked.path, 0o644)
        let folder = locked.deletingLastPathComponent()
        chmod(folder.path, 0)
        defer { chmod(folder.path, 0o755) }
        assertFlowError("\(folder.path): cannot list the folder (Permission denied)") { try FlowLoader.load(dir, options: options) }
        let skipped = try FlowLoader.load(dir, options: FlowLoadOptions(features: smallFeatures, skipBadRows: true))
        XCTAssertEqual(skipped.report.unreadableFiles, [folder.path + "/"])
    }

    func testValuesBeyondFloatRangeAreMissingAndCounted() throws {
        let dir = try temporaryFolder(self)
        let huge = "1" + String(repeating: "7", count: 400)
        let url = try writeFile(dir, "x.csv", "A,B,C,Label\n1e309,3.5e38,\(huge),0\n-1e400,3.4e38,1e-400,0\n")
        let t = try FlowLoader.load(url, options: options)
        XCTAssertTrue(t.row(0).allSatisfy(\.isNaN))
        XCTAssertTrue(t.value(row: 1, feature: 0).isNaN)
        XCTAssertEqual(t.value(row: 1, feature: 1), 3.4e38)
        XCTAssertEqual(t.value(row: 1, feature: 2), 0, "underflow is zero, not missing")
        XCTAssertEqual(t.report.valuesOutOfRange, 4)
        XCTAssertEqual(t.report.notes.last, "warning: 4 values beyond Float's range (|x| > 3.4e38) read as missing")
        let reader = try FlowStreamReader(url: url, options: options)
        _ = try reader.next()
        XCTAssertEqual(reader.report.valuesOutOfRange, 4)
        // The Python dialect's seconds-to-microseconds conversion can itself overflow a Float: still never infinite.
        let python = try writeFile(dir, "benign/p.csv", "flow_duration,tot_fwd_pkts\n3e37,1\n")
        let p = try FlowLoader.load(python, options: FlowLoadOptions(features: ["Flow Duration", "Total Fwd Packet"]))
        XCTAssertFalse(p.values.contains { $0.isInfinite }, "\(p.values)")
    }

    func testFollowReadsAppendedRowsAndRestartsAfterTruncation() throws {
        let dir = try temporaryFolder(self)
        let url = try writeFile(dir, "live.csv", "A,B,C\n1,2,3\n")
        let stop = LockedFlag()
        let restarts = LockedFlag()
        let follow = FollowOptions(pollInterval: 0.01, shouldStop: { stop.isSet }, onRestart: { _ in restarts.set() })
        let reader = try FlowStreamReader(url: url, options: FlowLoadOptions(features: smallFeatures), follow: follow)
        XCTAssertEqual(try reader.next()?.values, [1, 2, 3])
        // Another writer appends a row in two pieces, then truncates and starts over, then we stop.
        let writer = DispatchQueue(label: "writer")
        writer.async {
            func append(_ s: String) {
                guard let h = try? FileHandle(forWritingTo: url) else { return }
                _ = try? h.seekToEnd()
                try? h.write(contentsOf: Data(s.utf8))
                try? h.close()
            }
            usleep(50_000); append("4,5")
            usleep(50_000); append(",6\n")
        }
        XCTAssertEqual(try reader.next()?.values, [4, 5, 6], "a row written in two pieces is read whole")
        writer.async {
            try? Data().write(to: url)
            usleep(100_000)
            try? Data("A,B,C\n7,8,9\n".utf8).write(to: url)
        }
        let batch = try reader.next()
        XCTAssertEqual(batch?.values, [7, 8, 9])
        XCTAssertEqual(batch?.lineNumbers, [2], "line numbers start again with the new content")
        XCTAssertTrue(restarts.isSet)
        writer.async { usleep(50_000); stop.set() }
        XCTAssertNil(try reader.next(), "a stop ends the stream")
        XCTAssertEqual(reader.report.rowsRead, 3)
    }
}

/// A flag shared with a background writer.
final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
