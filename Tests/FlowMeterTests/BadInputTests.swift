import Foundation
import TestSupport
import XCTest
@testable import FlowMeter

/// Bad capture files and options: a clear error naming the file, never a crash.
final class BadInputTests: XCTestCase {
    func path(_ name: String, _ bytes: [UInt8]) throws -> String {
        let url = try temporaryFolder(self).appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    func run(_ path: String, options: MeterOptions = MeterOptions()) throws {
        _ = try meterFlows(.files([path]), options: options) { _ in }
    }

    func testNonexistentFile() {
        let message = assertMeterError(.fileNotFound(path: "/nonexistent/capture.pcap")) { try run("/nonexistent/capture.pcap") }
        XCTAssertEqual(message, "/nonexistent/capture.pcap: no such file")
    }

    func testEmptyFile() throws {
        let p = try path("empty.pcap", [])
        let message = assertMeterError(.emptyFile(path: p)) { try run(p) }
        XCTAssertTrue(message.hasPrefix(p))
    }

    func testWrongMagic() throws {
        let p = try path("flows.csv", Array("Flow ID,Src IP,Src Port\n1,2,3\n".utf8))
        let message = assertMeterError(.notAPcap(path: p, detail: "it starts with bytes 466c6f77; a pcap file starts with a1b2c3d4 or d4c3b2a1 (or the nanosecond a1b23c4d), a pcapng file with 0a0d0d0a")) { try run(p) }
        XCTAssertTrue(message.contains("not a pcap or pcapng capture"))
    }

    func testTruncatedFileHeader() throws {
        let p = try path("short.pcap", Array(PcapWriter().bytes.prefix(10)))
        assertMeterError(.truncatedFile(path: p, detail: "the pcap file header needs 24 bytes, the file has 10")) { try run(p) }
    }

    /// A file cut inside a packet record: an error naming the file and how far it got, after the
    /// flows already closed were written.
    func testTruncatedInsideAPacket() throws {
        var pcap = PcapWriter()
        let c = Conversation()
        pcap.add(c.udpFromClient(100), micros: t0)
        pcap.add(c.udpFromClient(100), micros: t0 + 1)
        let p = try path("cut.pcap", Array(pcap.bytes.dropLast(50)))
        do {
            try run(p)
            XCTFail("expected an error")
        } catch let error as FlowMeterError {
            guard case .truncatedFile(let errorPath, let detail) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(errorPath, p)
            XCTAssertTrue(detail.contains("after 1 packets"), detail)
            XCTAssertTrue(error.description.hasPrefix("\(p): the capture is truncated"))
        }
    }

    func testSnaplenZero() throws {
        var pcap = PcapWriter(snaplen: 0)
        pcap.add(Conversation().udpFromClient(10), micros: t0)
        let p = try path("zero.pcap", pcap.bytes)
        let message = assertMeterError(.zeroSnaplen(path: p)) { try run(p) }
        XCTAssertTrue(message.contains("snaplen of 0"))
    }

    func testUnknownLinkType() throws {
        var pcap = PcapWriter(linkType: 147)  // LINKTYPE_USER0
        pcap.add([1, 2, 3, 4], micros: t0)
        let p = try path("user0.pcap", pcap.bytes)
        do {
            try run(p)
            XCTFail("expected an error")
        } catch let error as FlowMeterError {
            guard case .unknownLinkType(let source, let linkType, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(source, p)
            XCTAssertEqual(linkType, 147)
            XCTAssertTrue(error.description.contains("link type 147 ("), error.description)
            XCTAssertTrue(error.description.contains("is not one the flow meter reads"), error.description)
        }
    }

    func testFolderIsNotACapture() throws {
        let folder = try temporaryFolder(self).path
        assertMeterError(.notReadable(path: folder, reason: "is a folder, not a capture file")) { try run(folder) }
    }

    func testBadFilter() throws {
        var pcap = PcapWriter()
        pcap.add(Conversation().udpFromClient(10), micros: t0)
        let p = try path("ok.pcap", pcap.bytes)
        do {
            try run(p, options: MeterOptions(bpf: "tcp and and"))
            XCTFail("expected an error")
        } catch let error as FlowMeterError {
            guard case .badFilter(let filter, let message) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(filter, "tcp and and")
            XCTAssertFalse(message.isEmpty)
        }
    }

    /// A filter keeps only what it matches.
    func testFilterSelectsPackets() throws {
        var pcap = PcapWriter()
        let c = Conversation()
        pcap.add(c.udpFromClient(10), micros: t0)
        pcap.add(c.tcpFromClient(Frame.syn, window: 1), micros: t0 + 1)
        let (rows, summary) = try meter(pcap.bytes, self, options: MeterOptions(bpf: "tcp"))
        XCTAssertEqual(summary.packets, 1)
        XCTAssertEqual(rows.map { $0["Protocol"] }, ["6"])
    }

    func testAbsurdOptions() {
        for (options, text) in [(MeterOptions(flowTimeout: 0), "flow timeout"), (MeterOptions(flowTimeout: -.infinity), "flow timeout"),
                                (MeterOptions(activityTimeout: .nan), "activity timeout"), (MeterOptions(snaplen: 0), "snaplen"),
                                (MeterOptions(label: "a,b"), "label"), (MeterOptions(closedKeyMemory: -1), "closed-key memory")] {
            do {
                _ = try meterFlows(.files(["/nonexistent"]), options: options) { _ in }
                XCTFail("accepted \(options)")
            } catch let error as FlowMeterError {
                guard case .badOption(let message) = error else { XCTFail("\(error)"); continue }
                XCTAssertTrue(message.contains(text), message)
            } catch { XCTFail("\(error)") }
        }
        assertMeterError(.badOption("the capture duration must be a positive number of seconds, got -1.0")) {
            _ = try meterFlows(.interface("lo", duration: -1)) { _ in }
        }
    }

    /// A live capture on an interface that does not exist, or without the privilege: a clear error.
    func testLiveCaptureErrors() {
        do {
            _ = try meterFlows(.interface("no-such-if0", duration: 0.2)) { _ in }
            XCTFail("expected an error")
        } catch let error as FlowMeterError {
            switch error {
            case .interfaceNotFound(let name, _): XCTAssertEqual(name, "no-such-if0")
            case .permissionDenied(let name, _):
                XCTAssertEqual(name, "no-such-if0")
                XCTAssertTrue(error.description.contains("needs root or the CAP_NET_RAW capability"))
            case .captureFailed(let source, _): XCTAssertEqual(source, "interface no-such-if0")
            default: XCTFail("\(error)")
            }
        } catch { XCTFail("\(error)") }
    }
}
