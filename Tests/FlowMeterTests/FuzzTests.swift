import Common
import Foundation
import TestSupport
import XCTest
@testable import FlowMeter

/// Damaged frames of every link type: cut at any length, bytes flipped anywhere. Never a crash;
/// every packet is read and either metered or counted.
final class FuzzTests: XCTestCase {
    func testDamagedFramesNeverCrash() throws {
        var random = SeededGenerator(seed: 21) // SplitMix64: a failure reproduces
        let templates: [[UInt8]] = [
            Frame.ipv4("10.0.0.1", "10.0.0.2", protocol: 6, Frame.tcp(1000, 80, flags: Frame.syn | Frame.ack, payload: 40, optionBytes: 8)),
            Frame.ipv4("10.0.0.2", "10.0.0.1", protocol: 17, Frame.udp(53, 1000, payload: 60)),
            Frame.ipv4("10.0.0.3", "10.0.0.1", protocol: 1, [8, 0, 0, 0, 1, 2, 3, 4]),
            Frame.ipv6("2001:db8::1", "2001:db8::2", nextHeader: 6, Frame.tcp(2000, 443, flags: Frame.ack, payload: 10), hopByHop: true),
            Frame.ipv6("2001:db8::2", "2001:db8::1", nextHeader: 17, Frame.udp(443, 2000, payload: 5)),
        ]
        for link: UInt32 in [1, 113, 276, 101, 0, 108] {
            var pcap = PcapWriter(linkType: link)
            var written = 0
            for i in 0..<1500 {
                let packet = templates[random.below(templates.count)]
                let isV6 = packet[0] >> 4 == 6
                var frame: [UInt8]
                switch link {
                case 1: frame = Frame.ethernet(packet, etherType: isV6 ? 0x86DD : 0x0800, vlans: random.below(3) == 0 ? [7] : [])
                case 113: frame = [0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0] + Frame.be16(isV6 ? 0x86DD : 0x0800) + packet
                case 276: frame = Frame.be16(isV6 ? 0x86DD : 0x0800) + [UInt8](repeating: 0, count: 18) + packet
                case 0: frame = Frame.le32(isV6 ? 10 : 2) + packet
                case 108: frame = Frame.be32(isV6 ? 24 : 2) + packet
                default: frame = packet
                }
                // Flip up to four bytes, then maybe cut the frame anywhere (even to nothing).
                for _ in 0..<random.below(5) where !frame.isEmpty {
                    frame[random.below(frame.count)] = UInt8(truncatingIfNeeded: random.next())
                }
                let captured = random.below(4) == 0 ? random.below(frame.count + 1) : frame.count
                pcap.add(frame, micros: t0 + Int64(i) * 1000, capturedLength: captured)
                written += 1
            }
            let (rows, summary) = try meter(pcap.bytes, self)
            XCTAssertEqual(summary.packets, written, "link type \(link)")
            XCTAssertGreaterThan(summary.truncated + summary.malformed + summary.skipped, 0, "link type \(link)")
            XCTAssertGreaterThan(rows.count, 0, "link type \(link)")
            let metered = rows.reduce(0) { $0 + Int($1["Total Fwd Packet"])! + Int($1["Total Bwd packets"])! }
            XCTAssertEqual(metered + summary.skipped + summary.truncated + summary.malformed, written, "link type \(link)")
        }
    }
}

private extension SeededGenerator {
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
