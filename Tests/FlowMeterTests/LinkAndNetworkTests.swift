import Foundation
import TestSupport
import XCTest
@testable import FlowMeter

/// IPv6, VLAN tags, the link types, truncated and malformed packets.
final class LinkAndNetworkTests: XCTestCase {
    /// TCP over IPv6 with a hop-by-hop options header before it.
    func testIPv6WithExtensionHeader() throws {
        var pcap = PcapWriter()
        let client = "2001:db8::1", server = "2001:db8:0:1::20"
        pcap.add(Frame.ethernet(Frame.ipv6(client, server, nextHeader: 6,
                                           Frame.tcp(50000, 443, flags: Frame.syn, window: 64800, optionBytes: 20),
                                           hopByHop: true), etherType: 0x86DD), micros: t0)
        pcap.add(Frame.ethernet(Frame.ipv6(server, client, nextHeader: 6,
                                           Frame.tcp(443, 50000, flags: Frame.syn | Frame.ack, window: 64260, optionBytes: 20)),
                                etherType: 0x86DD), micros: t0 + 40)
        pcap.add(Frame.ethernet(Frame.ipv6(client, server, nextHeader: 6,
                                           Frame.tcp(50000, 443, flags: Frame.psh | Frame.ack, window: 500, payload: 517)),
                                etherType: 0x86DD), micros: t0 + 90)
        let (rows, summary) = try meter(pcap.bytes, self)
        XCTAssertEqual(summary.packets, 3)
        XCTAssertEqual(rows.count, 1)
        let f = rows[0]
        XCTAssertEqual(f["Flow ID"], "2001:db8::1-2001:db8:0:1::20-50000-443-6")
        XCTAssertEqual([f["Src IP"], f["Dst IP"]], ["2001:db8::1", "2001:db8:0:1::20"])
        XCTAssertEqual([f["Total Fwd Packet"], f["Total Bwd packets"]], ["2", "1"])
        XCTAssertEqual(f["Total Length of Fwd Packet"], "517.0")
        XCTAssertEqual([f["Fwd Header Length"], f["Bwd Header Length"]], ["60", "40"])
        XCTAssertEqual([f["FWD Init Win Bytes"], f["Bwd Init Win Bytes"]], ["64800", "64260"])
        XCTAssertEqual([f["SYN Flag Count"], f["PSH Flag Count"]], ["2", "1"])
        XCTAssertEqual(f["Flow Duration"], "90")
    }

    /// 802.1Q and QinQ tagged frames are metered like untagged ones, all in one flow.
    func testVLANTaggedFrames() throws {
        let c = Conversation(clientPort: 4000, serverPort: 161)
        let udp = Frame.ipv4(c.client, c.server, protocol: 17, Frame.udp(4000, 161, payload: 50))
        let reply = Frame.ipv4(c.server, c.client, protocol: 17, Frame.udp(161, 4000, payload: 70))
        var pcap = PcapWriter()
        pcap.add(Frame.ethernet(udp, vlans: [100]), micros: t0)
        pcap.add(Frame.ethernet(reply, vlans: [100, 200], qinq: true), micros: t0 + 10)
        pcap.add(Frame.ethernet(udp), micros: t0 + 20)
        let (rows, summary) = try meter(pcap.bytes, self)
        XCTAssertEqual(summary.skipped + summary.truncated + summary.malformed, 0)
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual([rows[0]["Total Fwd Packet"], rows[0]["Total Bwd packets"]], ["2", "1"])
        XCTAssertEqual([rows[0]["Total Length of Fwd Packet"], rows[0]["Total Length of Bwd Packet"]], ["100.0", "70.0"])
    }

    /// A frame cut inside its IPv4 header is counted as truncated and not metered; one cut after
    /// its TCP header is metered with the payload length its IP header gives.
    func testTruncatedPackets() throws {
        let c = Conversation()
        var pcap = PcapWriter(snaplen: 66)
        pcap.add(c.tcpFromClient(Frame.syn, window: 64240), micros: t0)
        pcap.add(c.tcpFromServer(Frame.ack, window: 500, payload: 1000), micros: t0 + 5, capturedLength: 30)
        pcap.add(c.tcpFromServer(Frame.ack, window: 500, payload: 1000), micros: t0 + 10, capturedLength: 66)
        pcap.add(c.tcpFromServer(Frame.ack, window: 500), micros: t0 + 15, capturedLength: 40)
        let (rows, summary) = try meter(pcap.bytes, self)
        XCTAssertEqual(summary.packets, 4)
        XCTAssertEqual(summary.truncated, 2)
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual([rows[0]["Total Fwd Packet"], rows[0]["Total Bwd packets"]], ["1", "1"])
        XCTAssertEqual(rows[0]["Total Length of Bwd Packet"], "1000.0")
        XCTAssertEqual(rows[0]["Flow Duration"], "10")
    }

    /// Impossible headers are counted, never metered, never a crash.
    func testMalformedPackets() throws {
        var pcap = PcapWriter()
        var badIHL = Frame.ipv4("10.0.0.1", "10.0.0.2", protocol: 17, Frame.udp(1, 2, payload: 4))
        badIHL[0] = 0x43  // header length 12 bytes
        pcap.add(Frame.ethernet(badIHL), micros: t0)
        var badOffset = Frame.ipv4("10.0.0.1", "10.0.0.2", protocol: 6, Frame.tcp(1, 2, flags: Frame.syn))
        badOffset[20 + 12] = 0x10  // data offset 1 word
        pcap.add(Frame.ethernet(badOffset), micros: t0 + 1)
        pcap.add(Frame.ethernet([0x45]), micros: t0 + 2)
        let (rows, summary) = try meter(pcap.bytes, self)
        XCTAssertEqual(rows.count, 0)
        XCTAssertEqual(summary.malformed, 2)
        XCTAssertEqual(summary.truncated, 1)
    }

    /// One UDP exchange under each link type the meter reads gives the same flow.
    func testLinkTypes() throws {
        let request = Frame.ipv4("192.168.1.5", "192.168.1.1", protocol: 17, Frame.udp(33000, 53, payload: 30))
        let answer = Frame.ipv4("192.168.1.1", "192.168.1.5", protocol: 17, Frame.udp(53, 33000, payload: 60))
        let v6 = Frame.ipv6("fe80::1", "fe80::2", nextHeader: 17, Frame.udp(546, 547, payload: 12))
        func sll(_ packet: [UInt8], _ proto: UInt16) -> [UInt8] {
            [0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0] + Frame.be16(proto) + packet
        }
        func sll2(_ packet: [UInt8], _ proto: UInt16) -> [UInt8] {
            Frame.be16(proto) + [0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0] + packet
        }
        let cases: [(String, UInt32, ([UInt8], UInt16) -> [UInt8])] = [
            ("Ethernet", 1, { Frame.ethernet($0, etherType: $1) }),
            ("Linux SLL", 113, sll),
            ("Linux SLL2", 276, sll2),
            ("raw IP", 101, { p, _ in p }),
            ("DLT_RAW", 12, { p, _ in p }),
            ("IPv4/IPv6 link types", 228, { p, _ in p }),
            ("BSD loopback (host order)", 0, { p, proto in Frame.le32(proto == 0x0800 ? 2 : 24) + p }),
            ("OpenBSD loopback (network order)", 108, { p, proto in Frame.be32(proto == 0x0800 ? 2 : 24) + p }),
        ]
        for (name, link, frame) in cases {
            var pcap = PcapWriter(linkType: link)
            pcap.add(frame(request, 0x0800), micros: t0)
            pcap.add(frame(answer, 0x0800), micros: t0 + 700)
            if link != 228 { pcap.add(frame(v6, 0x86DD), micros: t0 + 800) }
            let (rows, summary) = try meter(pcap.bytes, self)
            XCTAssertEqual(summary.skipped + summary.truncated + summary.malformed, 0, name)
            XCTAssertEqual(rows.count, link == 228 ? 1 : 2, name)
            XCTAssertEqual(rows.first?["Flow ID"], "192.168.1.5-192.168.1.1-33000-53-17", name)
            XCTAssertEqual(rows.first?["Flow Duration"], "700", name)
            XCTAssertEqual(rows.first?["Total Length of Bwd Packet"], "60.0", name)
            if link != 228 { XCTAssertEqual(rows.last?["Flow ID"], "fe80::1-fe80::2-546-547-17", name) }
        }
    }

    /// Both directions between two sockets of one address (loopback): the fork tells directions
    /// apart by address only, so every packet counts as forward.
    func testSameAddressBothWays() throws {
        var pcap = PcapWriter()
        pcap.add(Frame.ethernet(Frame.ipv4("127.0.0.1", "127.0.0.1", protocol: 17, Frame.udp(40000, 53, payload: 10))), micros: t0)
        pcap.add(Frame.ethernet(Frame.ipv4("127.0.0.1", "127.0.0.1", protocol: 17, Frame.udp(53, 40000, payload: 20))), micros: t0 + 9)
        let (rows, _) = try meter(pcap.bytes, self)
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(rows[0]["Flow ID"], "127.0.0.1-127.0.0.1-40000-53-17")
        XCTAssertEqual([rows[0]["Total Fwd Packet"], rows[0]["Total Bwd packets"]], ["2", "0"])
    }
}
