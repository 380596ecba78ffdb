import Foundation
import XCTest
@testable import FlowMeter

/// Live capture on loopback (root or CAP_NET_RAW; skipped otherwise), with bounded traffic between
/// 127.0.0.0/8 addresses only.
final class LiveCaptureTests: XCTestCase {
    /// Sends `count` UDP datagrams of 32 bytes from an ephemeral port to 127.0.0.4:`port` (nothing listens).
    static func send(count: Int, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.4")
        let payload = [UInt8](repeating: 0x43, count: 32)
        for _ in 0..<count {
            _ = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, payload, payload.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    /// A flow on a quiet interface closes by the wall clock once its flow timeout has passed, well
    /// before the capture ends; `shouldStop` ends the capture within a poll.
    func testQuietInterfaceClosesFlowsByTheWallClock() throws {
        guard getuid() == 0 else { throw XCTSkip("live capture needs root or CAP_NET_RAW") }
        let start = Date()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { Self.send(count: 3, port: 47813) }
        var emitted: [(String, TimeInterval)] = []
        let options = MeterOptions(flowTimeout: 0.5, bpf: "udp and port 47813")
        let summary = try meterFlows(.interface("lo", duration: nil), options: options,
                                     shouldStop: { Date().timeIntervalSince(start) > 3 }) { line in
            emitted.append((line, Date().timeIntervalSince(start)))
        }
        let stoppedAfter = Date().timeIntervalSince(start)
        XCTAssertEqual(summary.packets, 3)
        XCTAssertEqual(emitted.count, 2)
        guard emitted.count == 2 else { return }
        XCTAssertTrue(emitted[1].0.contains(",127.0.0.4,47813,17,"), emitted[1].0)
        // Sent at 0.5 s, closed 0.5 s later by the clock (give the machine a second of slack).
        XCTAssertLessThan(emitted[1].1, 2.2, "the flow was not closed while the interface was quiet")
        XCTAssertLessThan(stoppedAfter, 3.5, "shouldStop was not polled while nothing arrived")
    }
}
