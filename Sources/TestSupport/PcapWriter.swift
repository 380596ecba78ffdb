import Foundation

/// Builds capture files in memory for the flow meter's tests: classic pcap (microsecond, little
/// endian) and pcapng, with frames made by `Frame`.
public struct PcapWriter {
    public private(set) var bytes: [UInt8] = []
    public let linkType: UInt32

    /// A pcap file header: magic a1b2c3d4 (written little-endian), version 2.4, the snaplen and link type.
    public init(linkType: UInt32 = 1, snaplen: UInt32 = 65535) {
        self.linkType = linkType
        bytes += Frame.le32(0xa1b2_c3d4)
        bytes += Frame.le16(2) + Frame.le16(4)
        bytes += Frame.le32(0) + Frame.le32(0)
        bytes += Frame.le32(snaplen) + Frame.le32(linkType)
    }

    /// One record at `micros` since the epoch; `capturedLength` cuts the frame short as a small
    /// snaplen would (the original length stays the frame's).
    public mutating func add(_ frame: [UInt8], micros: Int64, capturedLength: Int? = nil) {
        let captured = min(capturedLength ?? frame.count, frame.count)
        bytes += Frame.le32(UInt32(micros / 1_000_000)) + Frame.le32(UInt32(micros % 1_000_000))
        bytes += Frame.le32(UInt32(captured)) + Frame.le32(UInt32(frame.count))
        bytes += frame.prefix(captured)
    }

    public func write(to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}

/// A pcapng file: a section header, one interface (microsecond timestamps) and enhanced packet blocks.
public struct PcapngWriter {
    public private(set) var bytes: [UInt8] = []

    public init(linkType: UInt16 = 1, snaplen: UInt32 = 65535) {
        // Section header block.
        var shb = Frame.le32(0x1a2b_3c4d) + Frame.le16(1) + Frame.le16(0)
        shb += Frame.le32(0xFFFF_FFFF) + Frame.le32(0xFFFF_FFFF)  // section length unknown (-1)
        bytes += Self.block(type: 0x0a0d_0d0a, body: shb)
        // Interface description block, no options (default resolution: microseconds).
        let idb = Frame.le16(linkType) + Frame.le16(0) + Frame.le32(snaplen)
        bytes += Self.block(type: 1, body: idb)
    }

    public mutating func add(_ frame: [UInt8], micros: Int64) {
        let stamp = UInt64(micros)
        var body = Frame.le32(0) + Frame.le32(UInt32(stamp >> 32)) + Frame.le32(UInt32(stamp & 0xFFFF_FFFF))
        body += Frame.le32(UInt32(frame.count)) + Frame.le32(UInt32(frame.count))
        body += frame
        while body.count % 4 != 0 { body.append(0) }
        bytes += Self.block(type: 6, body: body)
    }

    static func block(type: UInt32, body: [UInt8]) -> [UInt8] {
        let length = UInt32(12 + body.count)
        return Frame.le32(type) + Frame.le32(length) + body + Frame.le32(length)
    }

    public func write(to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}

/// Frames for the tests: Ethernet (optionally VLAN-tagged), IPv4 and IPv6, TCP and UDP.
public enum Frame {
    public static let fin: UInt8 = 0x01, syn: UInt8 = 0x02, rst: UInt8 = 0x04, psh: UInt8 = 0x08
    public static let ack: UInt8 = 0x10, urg: UInt8 = 0x20

    public static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    public static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * UInt32($0))) & 0xFF) } }
    public static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
    public static func be32(_ v: UInt32) -> [UInt8] { (0..<4).reversed().map { UInt8((v >> (8 * UInt32($0))) & 0xFF) } }

    /// Dotted IPv4 text to 4 bytes.
    public static func ipv4Address(_ text: String) -> [UInt8] { text.split(separator: ".").map { UInt8($0)! } }

    /// IPv6 text to 16 bytes.
    public static func ipv6Address(_ text: String) -> [UInt8] {
        var address = in6_addr()
        precondition(inet_pton(AF_INET6, text, &address) == 1, "bad IPv6 address \(text)")
        return withUnsafeBytes(of: &address) { Array($0) }
    }

    /// A TCP segment: 20 bytes of header plus `optionBytes` (a multiple of 4) of NOP options, then
    /// `payload` bytes of 0x61.
    public static func tcp(_ sourcePort: UInt16, _ destinationPort: UInt16, flags: UInt8, window: UInt16 = 64240,
                           payload: Int = 0, optionBytes: Int = 0) -> [UInt8] {
        precondition(optionBytes % 4 == 0)
        var segment = be16(sourcePort) + be16(destinationPort) + be32(1000) + be32(2000)
        segment.append(UInt8((20 + optionBytes) / 4) << 4)
        segment.append(flags)
        segment += be16(window) + be16(0) + be16(0)
        segment += [UInt8](repeating: 1, count: optionBytes)
        segment += [UInt8](repeating: 0x61, count: payload)
        return segment
    }

    public static func udp(_ sourcePort: UInt16, _ destinationPort: UInt16, payload: Int) -> [UInt8] {
        be16(sourcePort) + be16(destinationPort) + be16(UInt16(8 + payload)) + be16(0)
            + [UInt8](repeating: 0x62, count: payload)
    }

    /// An IPv4 packet around `transport` (protocol 6 TCP, 17 UDP, 1 ICMP, ...).
    public static func ipv4(_ source: String, _ destination: String, protocol number: UInt8, _ transport: [UInt8],
                            fragmentOffset: UInt16 = 0) -> [UInt8] {
        var header: [UInt8] = [0x45, 0]
        header += be16(UInt16(20 + transport.count)) + be16(0x1234) + be16(fragmentOffset & 0x1FFF)
        header += [64, number] + be16(0)
        header += ipv4Address(source) + ipv4Address(destination)
        return header + transport
    }

    /// An IPv6 packet; `hopByHop` puts an 8-byte hop-by-hop options header before the transport.
    public static func ipv6(_ source: String, _ destination: String, nextHeader: UInt8, _ transport: [UInt8],
                            hopByHop: Bool = false) -> [UInt8] {
        var body = transport
        var next = nextHeader
        if hopByHop {
            body = [nextHeader, 0, 1, 4, 0, 0, 0, 0] + transport  // PadN option filling the 8 bytes
            next = 0
        }
        var header: [UInt8] = [0x60, 0, 0, 0]
        header += be16(UInt16(body.count)) + [next, 64]
        header += ipv6Address(source) + ipv6Address(destination)
        return header + body
    }

    /// An Ethernet II frame; each VLAN id adds an 802.1Q tag (the first one 802.1ad when `qinq`).
    public static func ethernet(_ packet: [UInt8], etherType: UInt16 = 0x0800, vlans: [UInt16] = [], qinq: Bool = false) -> [UInt8] {
        var frame: [UInt8] = [0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01]
        for (i, vlan) in vlans.enumerated() {
            frame += be16(qinq && i == 0 ? 0x88A8 : 0x8100) + be16(vlan)
        }
        frame += be16(etherType)
        return frame + packet
    }
}
