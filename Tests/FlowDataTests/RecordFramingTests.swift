import Foundation
import XCTest
@testable import FlowData

/// RFC 4180 records in both readers, the 1 MiB cap on a record, chunked reads, line-break styles,
/// and inputs that are not files.
final class RecordFramingTests: XCTestCase {
    let features = ["A", "B", "C"]
    /// Doubled quotes, a quoted line break (the record spans lines 3-4), a quoted comma, CRLF inside quotes.
    let quoted = "Flow ID,Src IP,Dst IP,Dst Port,A,B,C,Label\n"
        + "\"a\"\"b\",10.0.0.1,10.0.0.9,80,1,2,3,0\n"
        + "\"line\nbreak\",10.0.0.2,10.0.0.9,80,4,5,6,0\n"
        + "c,\"x,y\",10.0.0.9,\"443\",7,8,9,0\n"
        + "\"d\r\ne\",10.0.0.3,10.0.0.9,80,10,11,12,0\n"

    func testQuotedFieldsInTheLoader() throws {
        let dir = try temporaryFolder(self)
        let url = try writeFile(dir, "q.csv", quoted)
        let t = try FlowLoader.load(url, options: FlowLoadOptions(features: features, readEndpoints: true))
        XCTAssertEqual(t.values, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        XCTAssertEqual(t.rowLines, [2, 3, 5, 6], "a record's line is its first line")
        XCTAssertEqual(t.endpoints?[2], "x,y>10.0.0.9:443")
    }

    func testQuotedFieldsInTheStreamReader() throws {
        let dir = try temporaryFolder(self)
        let url = try writeFile(dir, "q.csv", quoted)
        // A tiny buffer: records cross refills, and one with a quoted line break straddles them.
        for size in [64, 100, 1 << 20] {
            let reader = try FlowStreamReader(url: url, options: FlowLoadOptions(features: features), readBufferSize: size)
            let batch = try XCTUnwrap(try reader.next())
            XCTAssertEqual(batch.identifiers.map(\.flowID), ["a\"b", "line\nbreak", "c", "d\r\ne"])
            XCTAssertEqual(batch.identifiers[2].sourceIP, "x,y")
            XCTAssertEqual(batch.lineNumbers, [2, 3, 5, 6])
            XCTAssertEqual(batch.values, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
            XCTAssertNil(try reader.next())
            XCTAssertEqual(reader.report.badRowsSkipped, 0)
        }
    }

    func testUnclosedQuoteAndTextAfterAClosingQuote() throws {
        let dir = try temporaryFolder(self)
        let open = try writeFile(dir, "o.csv", "A,B,C,Label\n1,2,3,0\n\"4,5,6,0\n7,8,9,0\n")
        assertFlowError("\(open.path):3: a quoted field is never closed (the file ends inside its quotes)") {
            try FlowLoader.load(open, options: FlowLoadOptions(features: features))
        }
        let reader = try FlowStreamReader(url: open, options: FlowLoadOptions(features: features))
        assertFlowError("\(open.path):3: a quoted field is never closed (the file ends inside its quotes)") { try reader.next() }
        let trailing = try writeFile(dir, "t.csv", "A,B,C,Label\n\"1\"2,2,3,0\n")
        assertFlowError("\(trailing.path):2: column 'A': non-numeric value '\"1\"2'") {
            try FlowLoader.load(trailing, options: FlowLoadOptions(features: features))
        }
    }

    func testARecordLongerThan1MiBIsAnErrorOrASkippedRow() throws {
        let dir = try temporaryFolder(self)
        let tail = String(repeating: "7", count: (1 << 20) + 10)
        let url = try writeFile(dir, "long.csv", "A,B,C,Label\n1,2,3,0\n" + tail + "\n4,5,6,0\n")
        let message = "\(url.path):3: a record longer than 1 MiB (a line that never ends, or a quote that is never closed)"
        assertFlowError(message) { try FlowLoader.load(url, options: FlowLoadOptions(features: features)) }
        let strict = try FlowStreamReader(url: url, options: FlowLoadOptions(features: features))
        assertFlowError(message) { while try strict.next() != nil {} }
        let t = try FlowLoader.load(url, options: FlowLoadOptions(features: features, skipBadRows: true))
        XCTAssertEqual(t.values, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(t.rowLines, [2, 4])
        XCTAssertEqual(t.report.firstBadRows.map(\.description), [message])
        let lenient = try FlowStreamReader(url: url, options: FlowLoadOptions(features: features, skipBadRows: true),
                                           batchSize: 10, readBufferSize: 64)
        let batch = try XCTUnwrap(try lenient.next())
        XCTAssertEqual(batch.lineNumbers, [2, 4])
        XCTAssertEqual(lenient.report.badRowsSkipped, 1)
        // A newline-free tail: the buffer stops growing at the cap.
        let endless = try writeFile(dir, "endless.csv", "A,B,C,Label\n1,2,3,0\n" + tail + tail)
        assertFlowError("\(endless.path):3: a record longer than 1 MiB (a line that never ends, or a quote that is never closed)") {
            try FlowLoader.load(endless, options: FlowLoadOptions(features: features))
        }
        let header = try writeFile(dir, "header.csv", "A,B," + tail + "\n1,2,3\n")
        assertFlowError("\(header.path):1: a record longer than 1 MiB (a line that never ends, or a quote that is never closed)") {
            try FlowStreamReader(url: header, options: FlowLoadOptions(features: features))
        }
    }

    func testChunkedReadsGiveTheSameTableAsOneRead() throws {
        let dir = try temporaryFolder(self)
        try SynthGenerator.write(to: dir, benign: 60, seed: 5)
        let file = try FlowLoader.csvFiles(at: dir)[0]
        let data = try Data(contentsOf: file) + Data(quoted.dropFirst(quoted.firstIndex(of: "\n")!.utf16Offset(in: quoted) + 1).utf8)
        let options = FlowLoadOptions(features: FeatureSet.default, skipBadRows: true, readEndpoints: true)
        var registry = FlowLoader.ScenarioRegistry()
        let whole = try FlowLoader.parse(data, path: file.path, options: options, registry: &registry)
        for chunk in [1, 7, 100, 4096] {
            var r = FlowLoader.ScenarioRegistry()
            let t = try FlowLoader.parse(data, path: file.path, options: options, registry: &r, chunk: chunk)
            XCTAssertEqual(t.rowLines, whole.rowLines, "chunk \(chunk)")
            XCTAssertEqual(t.endpoints, whole.endpoints, "chunk \(chunk)")
            XCTAssertEqual(t.report.badRowsSkipped, whole.report.badRowsSkipped, "chunk \(chunk)")
            XCTAssertTrue(zip(t.values, whole.values).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }, "chunk \(chunk)")
        }
        XCTAssertEqual(whole.report.bytesRead, data.count)
    }

    func testCROnlyLineEndingsAreLineBreaks() throws {
        let dir = try temporaryFolder(self)
        let url = try writeFile(dir, "mac.csv", "A,B,C,Label\r1,2,3,0\r\"x\ry\",5,6,0\r7,8,9,0")
        assertFlowError("\(url.path):3: column 'A': non-numeric value 'x\\u{D}y'") {
            try FlowLoader.load(url, options: FlowLoadOptions(features: features))
        }
        let t = try FlowLoader.load(url, options: FlowLoadOptions(features: features, skipBadRows: true))
        XCTAssertEqual(t.values, [1, 2, 3, 7, 8, 9])
        XCTAssertEqual(t.rowLines, [2, 5])
        let reader = try FlowStreamReader(url: url, options: FlowLoadOptions(features: features, skipBadRows: true))
        XCTAssertEqual(try reader.next()?.lineNumbers, [2, 5])
        // CRLF stays one line break.
        let crlf = try writeFile(dir, "dos.csv", "A,B,C,Label\r\n1,2,3,0\r\n4,5,6,0\r\n")
        XCTAssertEqual(try FlowLoader.load(crlf, options: FlowLoadOptions(features: features)).rowLines, [2, 3])
        let semicolons = try writeFile(dir, "semi.csv", "A;B;C\n1;2;3\n")
        assertFlowError("\(semicolons.path): not a CSV file (the header line has no commas; it looks separated by semicolons)") {
            try FlowLoader.load(semicolons, options: FlowLoadOptions(features: features))
        }
    }

    func testInputsThatAreNotFilesSayWhatTheyAre() throws {
        let dir = try temporaryFolder(self)
        let options = FlowLoadOptions(features: features)
        let fifo = dir.appendingPathComponent("pipe.csv")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        assertFlowError("\(fifo.path): a FIFO (named pipe), not a regular file: give a CSV file or a folder of them") {
            try FlowLoader.load(fifo, options: options)
        }
        // /dev/null, unless a sandbox made it a plain empty file.
        let device = ["/dev/null", "/dev/zero", "/dev/urandom"].first { path in
            var info = stat()
            return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR
        }
        if let device {
            assertFlowError("\(device): a character device, not a regular file: give a CSV file or a folder of them") {
                try FlowLoader.load(URL(fileURLWithPath: device), options: options)
            }
        }
        let loop = dir.appendingPathComponent("loop.csv")
        try FileManager.default.createSymbolicLink(atPath: loop.path, withDestinationPath: loop.path)
        assertFlowError("\(loop.path): a symbolic link loop: the link leads back to itself") {
            try FlowLoader.load(loop, options: options)
        }
        assertFlowError("\(loop.path): a symbolic link loop: the link leads back to itself") {
            try FlowStreamReader(url: loop, options: options)
        }
        // Inside a folder, the loop is a file that cannot be read, and says why.
        try writeFile(dir, "good.csv", "A,B,C,Label\n1,2,3,0\n")
        assertFlowError("\(loop.path): cannot read the file (a symbolic link loop: the link leads back to itself)") {
            try FlowLoader.load(dir, options: options)
        }
    }
}
