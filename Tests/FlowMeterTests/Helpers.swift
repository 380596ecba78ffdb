import Foundation
import TestSupport
import XCTest
@testable import FlowMeter

/// 2023-03-19 15:02:18 UTC in microseconds: the first packet time of most test captures.
let t0: Int64 = 1_679_238_138_000_000

/// A fresh temporary folder, removed when the test ends.
func temporaryFolder(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("flowmeter-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// One metered flow: its CSV fields by column name.
struct Row {
    let fields: [String: String]
    subscript(_ column: String) -> String {
        guard let value = fields[column] else { fatalError("no column \(column)") }
        return value
    }
    func double(_ column: String) -> Double { Double(self[column]) ?? .nan }
}

/// Meters the bytes of a capture file written to a temporary folder; returns the flows (in the
/// order written) and the summary. Checks the header and every line's field count.
func meter(_ bytes: [UInt8], _ test: XCTestCase, options: MeterOptions = MeterOptions(),
           name: String = "capture.pcap", file: StaticString = #filePath, line: UInt = #line) throws -> ([Row], MeterSummary) {
    let folder = try temporaryFolder(test)
    let path = folder.appendingPathComponent(name).path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    var lines: [String] = []
    let summary = try meterFlows(.files([path]), options: options) { lines.append($0) }
    XCTAssertEqual(lines.first, CICFlowMeterCSV.headerLine, file: file, line: line)
    let rows = lines.dropFirst().map { text -> Row in
        let values = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(values.count, 87, "field count of \(text)", file: file, line: line)
        XCTAssertFalse(text.hasSuffix("\n"), file: file, line: line)
        return Row(fields: Dictionary(uniqueKeysWithValues: zip(CICFlowMeterCSV.header, values)))
    }
    XCTAssertEqual(summary.flows, rows.count, file: file, line: line)
    return (rows, summary)
}

/// The sample standard deviation, written out: the oracle for the meter's running statistics.
func sampleStd(_ values: [Double]) -> Double {
    let mean = values.reduce(0, +) / Double(values.count)
    return (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
}

func assertClose(_ actual: Double, _ expected: Double, _ what: String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual, expected, accuracy: max(1e-9, abs(expected) * 1e-12), what, file: file, line: line)
}

/// Asserts that `body` throws a FlowMeterError equal to `expected`, and returns its message.
@discardableResult
func assertMeterError(_ expected: FlowMeterError, file: StaticString = #filePath, line: UInt = #line,
                      _ body: () throws -> Void) -> String {
    do {
        try body()
        XCTFail("expected \(expected)", file: file, line: line)
    } catch let error as FlowMeterError {
        XCTAssertEqual(error, expected, file: file, line: line)
        return error.description
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
    }
    return ""
}

/// A client and a server on IPv4, building Ethernet frames of one conversation.
struct Conversation {
    var client = "10.0.0.1", server = "10.0.0.2"
    var clientPort: UInt16 = 40000, serverPort: UInt16 = 80

    func tcpFromClient(_ flags: UInt8, window: UInt16, payload: Int = 0, options: Int = 12) -> [UInt8] {
        Frame.ethernet(Frame.ipv4(client, server, protocol: 6,
                                  Frame.tcp(clientPort, serverPort, flags: flags, window: window, payload: payload, optionBytes: options)))
    }

    func tcpFromServer(_ flags: UInt8, window: UInt16, payload: Int = 0, options: Int = 12) -> [UInt8] {
        Frame.ethernet(Frame.ipv4(server, client, protocol: 6,
                                  Frame.tcp(serverPort, clientPort, flags: flags, window: window, payload: payload, optionBytes: options)))
    }

    func udpFromClient(_ payload: Int) -> [UInt8] {
        Frame.ethernet(Frame.ipv4(client, server, protocol: 17, Frame.udp(clientPort, serverPort, payload: payload)))
    }

    func udpFromServer(_ payload: Int) -> [UInt8] {
        Frame.ethernet(Frame.ipv4(server, client, protocol: 17, Frame.udp(serverPort, clientPort, payload: payload)))
    }
}
