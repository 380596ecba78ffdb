import Foundation
import XCTest
@testable import FlowData

/// `follow` notices a file rewritten under it even when the new content is longer than what was
/// read, and says the dialect of a rotated file when it changes.
final class FollowTests: XCTestCase {
    /// Replaces the file's content in place (same inode): truncate, then write.
    func rewrite(_ url: URL, _ text: String) {
        let fd = open(url.path, O_WRONLY | O_TRUNC)
        XCTAssertGreaterThanOrEqual(fd, 0)
        _ = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        close(fd)
    }

    func testATruncateAndRefillPastTheOldOffsetIsReadFromItsHeader() throws {
        let dir = try temporaryFolder(self)
        let url = try writeFile(dir, "live.csv", "A,B,C\n1,2,3\n")
        let stop = LockedFlag()
        let messages = LockedLines()
        let follow = FollowOptions(pollInterval: 0.01, shouldStop: { stop.isSet }, onRestart: { messages.append($0) })
        let reader = try FlowStreamReader(url: url, options: FlowLoadOptions(features: smallFeatures), follow: follow)
        XCTAssertEqual(try reader.next()?.values, [1, 2, 3])
        var info = stat()
        stat(url.path, &info)
        let inode = info.st_ino
        // Within one poll: truncated and refilled with more bytes than were read.
        rewrite(url, "A,B,C\n7,8,9\n10,11,12\n13,14,15\n")
        stat(url.path, &info)
        XCTAssertEqual(info.st_ino, inode, "the same file")
        let batch = try XCTUnwrap(try reader.next())
        XCTAssertEqual(batch.values, [7, 8, 9, 10, 11, 12, 13, 14, 15], "no flow lost")
        XCTAssertEqual(batch.lineNumbers, [2, 3, 4], "rows match the new file's lines")
        XCTAssertEqual(messages.lines, ["\(url.path) was truncated and written again; reading it again from its header"])
        // The same while the reader waits for more: the next poll notices.
        DispatchQueue(label: "writer").async {
            usleep(50_000)
            self.rewrite(url, "A,B,C\n20,21,22\n23,24,25\n26,27,28\n29,30,31\n")
        }
        XCTAssertEqual(try reader.next()?.lineNumbers, [2, 3, 4, 5])
        DispatchQueue(label: "stopper").async { usleep(50_000); stop.set() }
        XCTAssertNil(try reader.next())
        XCTAssertEqual(reader.restarts.count, 2)
    }

    func testARotationToAnotherDialectSaysItsDialectAndTheMismatch() throws {
        let dir = try temporaryFolder(self)
        let url = try writeFile(dir, "live.csv", "Flow Duration,Total Fwd Packet\n1,2\n")
        let stop = LockedFlag()
        let messages = LockedLines()
        let follow = FollowOptions(pollInterval: 0.01, shouldStop: { stop.isSet }, onRestart: { messages.append($0) },
                                   trainedDialect: .cicflowmeter)
        let reader = try FlowStreamReader(url: url, options: FlowLoadOptions(features: ["Flow Duration", "Total Fwd Packet"]),
                                          follow: follow)
        XCTAssertEqual(reader.notes.first, "dialect: CICFlowMeter (current Java release, as in the Kubernetes dataset) [cicflowmeter]")
        XCTAssertEqual(try reader.next()?.values, [1, 2])
        try FileManager.default.moveItem(at: url, to: dir.appendingPathComponent("live.1.csv"))
        try writeFile(dir, "live.csv", "Flow Duration,Tot Fwd Pkts\n3,4\n")
        let batch = try XCTUnwrap(try reader.next())
        XCTAssertEqual(batch.values, [3, 4])
        XCTAssertEqual(batch.lineNumbers, [2])
        XCTAssertEqual(reader.dialect, .cicflowmeterV4)
        XCTAssertEqual(reader.dialects, [.cicflowmeter, .cicflowmeterV4])
        XCTAssertEqual(messages.lines, [
            "\(url.path) was replaced (rotated); reading the new file from its start",
            "dialect: CICFlowMeter-V4 (CSE-CIC-IDS2018) [cicflowmeter-v4]",
            FlowDialect.mismatchWarning(trained: .cicflowmeter, scoring: .cicflowmeterV4)!,
        ])
        stop.set()
        XCTAssertNil(try reader.next())
    }
}

/// Lines gathered from a callback.
final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    var lines: [String] { lock.withLock { stored } }
    func append(_ line: String) { lock.withLock { stored.append(line) } }
}
