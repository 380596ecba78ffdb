/// A bidirectional flow key: the two endpoints (address, port) in a fixed order (the lower first)
/// and the protocol, so both directions of a conversation find the same flow. Addresses are two
/// 64-bit words (an IPv4 address in the low word of the second, `isV6` false).
struct FlowKey: Hashable {
    var lowHigh: UInt64, lowLow: UInt64
    var highHigh: UInt64, highLow: UInt64
    var lowPort: UInt16, highPort: UInt16
    var protocolNumber: UInt8
    var isV6: Bool

    var sameAddresses: Bool { lowHigh == highHigh && lowLow == highLow }

    func hash(into hasher: inout Hasher) {
        hasher.combine(lowLow)
        hasher.combine(highLow)
        hasher.combine(lowHigh &+ (highHigh &* 0x9E37_79B9_7F4A_7C15))
        hasher.combine(UInt64(lowPort) << 32 | UInt64(highPort) << 16 | UInt64(protocolNumber) << 1 | (isV6 ? 1 : 0))
    }
}

/// TCP flag bits as they sit in the header's 13th byte.
enum TCPFlag {
    static let fin: UInt8 = 0x01, syn: UInt8 = 0x02, rst: UInt8 = 0x04, psh: UInt8 = 0x08
    static let ack: UInt8 = 0x10, urg: UInt8 = 0x20, ece: UInt8 = 0x40, cwr: UInt8 = 0x80
}

/// What the meter needs of one packet, parsed without allocating.
struct PacketInfo {
    var key: FlowKey
    /// The packet's source endpoint is the key's low endpoint.
    var sourceIsLow: Bool
    /// Microseconds since the epoch.
    var timestamp: Int64
    /// TCP or UDP payload bytes (from the IP lengths, so a short snaplen does not shrink them).
    var payload: Int64
    /// TCP header bytes with options, 8 for UDP, 0 otherwise (the fork's "header length").
    var header: Int64
    var flags: UInt8
    var window: UInt16

    func has(_ flag: UInt8) -> Bool { flags & flag != 0 }
}

enum ParseOutcome {
    case packet
    case notIP
    case truncated
    case malformed
    /// An IP packet that is neither TCP nor UDP, or a fragment without its transport header:
    /// metered as protocol 0 with ports 0, as the fork does.
    case otherProtocol
}

/// Parses link, network and transport headers straight from libpcap's buffer.
enum PacketParser {
    @inline(__always)
    static func be16(_ p: UnsafePointer<UInt8>, _ offset: Int) -> UInt16 {
        UInt16(p[offset]) << 8 | UInt16(p[offset + 1])
    }

    @inline(__always)
    static func be32(_ p: UnsafePointer<UInt8>, _ offset: Int) -> UInt32 {
        UInt32(p[offset]) << 24 | UInt32(p[offset + 1]) << 16 | UInt32(p[offset + 2]) << 8 | UInt32(p[offset + 3])
    }

    @inline(__always)
    static func be64(_ p: UnsafePointer<UInt8>, _ offset: Int) -> UInt64 {
        UInt64(be32(p, offset)) << 32 | UInt64(be32(p, offset + 4))
    }

    /// Fills `info` (its timestamp is set by the caller) from one captured frame of `length` bytes.
    static func parse(_ link: LinkType, _ p: UnsafePointer<UInt8>, length: Int, into info: inout PacketInfo) -> ParseOutcome {
        var offset = 0
        var etherType: UInt16 = 0
        switch link {
        case .ethernet:
            guard length >= 14 else { return .truncated }
            etherType = be16(p, 12)
            offset = 14
            // 802.1Q, 802.1ad (QinQ) and the old 0x9100 tags, up to four deep.
            var tags = 0
            while etherType == 0x8100 || etherType == 0x88A8 || etherType == 0x9100 {
                guard tags < 4 else { return .malformed }
                guard length >= offset + 4 else { return .truncated }
                etherType = be16(p, offset + 2)
                offset += 4
                tags += 1
            }
        case .linuxCooked:
            guard length >= 16 else { return .truncated }
            etherType = be16(p, 14)
            offset = 16
        case .linuxCooked2:
            guard length >= 20 else { return .truncated }
            etherType = be16(p, 0)
            offset = 20
        case .rawIP:
            guard length >= 1 else { return .truncated }
            switch p[0] >> 4 {
            case 4: etherType = 0x0800
            case 6: etherType = 0x86DD
            default: return .notIP
            }
        case .bsdLoopback:
            guard length >= 4 else { return .truncated }
            // The family is in the capturing host's byte order (DLT_NULL) or network order
            // (DLT_LOOP): accept either. AF_INET is 2 everywhere; AF_INET6 is 10, 24, 28 or 30.
            let family = min(be32(p, 0), be32(p, 0).byteSwapped)
            offset = 4
            switch family {
            case 2: etherType = 0x0800
            case 10, 24, 28, 30: etherType = 0x86DD
            default: return .notIP
            }
        }
        let ip = p + offset
        let available = length - offset
        switch etherType {
        case 0x0800: return parseIPv4(ip, available: available, into: &info)
        case 0x86DD: return parseIPv6(ip, available: available, into: &info)
        default: return .notIP
        }
    }

    static func parseIPv4(_ ip: UnsafePointer<UInt8>, available: Int, into info: inout PacketInfo) -> ParseOutcome {
        guard available >= 20 else { return .truncated }
        guard ip[0] >> 4 == 4 else { return .malformed }
        let headerLength = Int(ip[0] & 0x0F) * 4
        guard headerLength >= 20 else { return .malformed }
        guard available >= headerLength else { return .truncated }
        var totalLength = Int(be16(ip, 2))
        // A total length of 0 is what TCP segmentation offload leaves: use what was captured.
        if totalLength == 0 { totalLength = available }
        guard totalLength >= headerLength else { return .malformed }
        let source = UInt64(be32(ip, 12)), destination = UInt64(be32(ip, 16))
        let fragmentOffset = be16(ip, 6) & 0x1FFF
        var protocolNumber = ip[9]
        if fragmentOffset != 0 { protocolNumber = 0 }  // no transport header in this fragment
        return parseTransport(ip + headerLength, protocolNumber: protocolNumber,
                              available: available - headerLength, transportLength: totalLength - headerLength,
                              sourceHigh: 0, sourceLow: source, destinationHigh: 0, destinationLow: destination,
                              isV6: false, into: &info)
    }

    static func parseIPv6(_ ip: UnsafePointer<UInt8>, available: Int, into info: inout PacketInfo) -> ParseOutcome {
        guard available >= 40 else { return .truncated }
        guard ip[0] >> 4 == 6 else { return .malformed }
        var payloadLength = Int(be16(ip, 4))
        if payloadLength == 0 { payloadLength = available - 40 }  // a jumbogram or offload
        var next = ip[6]
        var offset = 40
        // Extension headers before the transport header.
        var hops = 0
        loop: while true {
            switch next {
            case 0, 43, 60, 135, 139, 140:  // hop-by-hop, routing, destination options, mobility, HIP, shim6
                guard available >= offset + 8 else { return .truncated }
                next = ip[offset]
                offset += (Int(ip[offset + 1]) + 1) * 8
            case 44:  // fragment
                guard available >= offset + 8 else { return .truncated }
                let fragmentOffset = be16(ip, offset + 2) >> 3
                next = fragmentOffset != 0 ? 0xFF : ip[offset]
                offset += 8
                if fragmentOffset != 0 { break loop }
            case 51:  // authentication header
                guard available >= offset + 8 else { return .truncated }
                next = ip[offset]
                offset += (Int(ip[offset + 1]) + 2) * 4
            default:
                break loop
            }
            hops += 1
            guard hops <= 16 else { return .malformed }
        }
        guard offset <= 40 + payloadLength else { return .malformed }
        let protocolNumber: UInt8 = (next == 6 || next == 17) ? next : 0
        return parseTransport(ip + offset, protocolNumber: protocolNumber,
                              available: available - offset, transportLength: 40 + payloadLength - offset,
                              sourceHigh: be64(ip, 8), sourceLow: be64(ip, 16),
                              destinationHigh: be64(ip, 24), destinationLow: be64(ip, 32),
                              isV6: true, into: &info)
    }

    @inline(__always)
    static func parseTransport(_ l4: UnsafePointer<UInt8>, protocolNumber: UInt8, available: Int, transportLength: Int,
                               sourceHigh: UInt64, sourceLow: UInt64, destinationHigh: UInt64, destinationLow: UInt64,
                               isV6: Bool, into info: inout PacketInfo) -> ParseOutcome {
        var sourcePort: UInt16 = 0, destinationPort: UInt16 = 0
        var outcome = ParseOutcome.packet
        var proto = protocolNumber
        switch protocolNumber {
        case 6:
            guard available >= 20 else { return .truncated }
            let headerLength = Int(l4[12] >> 4) * 4
            guard headerLength >= 20 else { return .malformed }
            sourcePort = be16(l4, 0)
            destinationPort = be16(l4, 2)
            info.flags = l4[13]
            info.window = be16(l4, 14)
            info.header = Int64(headerLength)
            info.payload = Int64(max(0, transportLength - headerLength))
        case 17:
            guard available >= 8 else { return .truncated }
            sourcePort = be16(l4, 0)
            destinationPort = be16(l4, 2)
            info.flags = 0
            info.window = 0
            info.header = 8
            info.payload = Int64(max(0, transportLength - 8))
        default:
            proto = 0
            outcome = .otherProtocol
            info.flags = 0
            info.window = 0
            info.header = 0
            info.payload = 0
        }
        let sourceIsLow = (sourceHigh, sourceLow, sourcePort) <= (destinationHigh, destinationLow, destinationPort)
        info.sourceIsLow = sourceIsLow
        if sourceIsLow {
            info.key = FlowKey(lowHigh: sourceHigh, lowLow: sourceLow, highHigh: destinationHigh, highLow: destinationLow,
                               lowPort: sourcePort, highPort: destinationPort, protocolNumber: proto, isV6: isV6)
        } else {
            info.key = FlowKey(lowHigh: destinationHigh, lowLow: destinationLow, highHigh: sourceHigh, highLow: sourceLow,
                               lowPort: destinationPort, highPort: sourcePort, protocolNumber: proto, isV6: isV6)
        }
        return outcome
    }
}
