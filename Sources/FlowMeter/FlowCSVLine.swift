import Foundation

/// Writes a closed flow as one line of the fork's CSV (dumpFlowBasedFeaturesEx), numbers spelled
/// as Java spells them: doubles with `Double.toString` (`106.0`, `1.17265842E8`, `NaN`,
/// `Infinity`), longs and ints plainly, a statistic of an empty direction as `0`.
///
/// The line is built in a reused byte buffer: formatting is most of the meter's work when flows are
/// short, so no number goes through a String on the way.
struct FlowCSVLine {
    private(set) var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(1024) }

    /// The flow's line (no line break).
    mutating func line(for flow: FlowRecord, label: String) -> String {
        bytes.removeAll(keepingCapacity: true)
        write(flow, label: label)
        return String(decoding: bytes, as: UTF8.self)
    }

    private mutating func write(_ flow: FlowRecord, label: String) {
        let key = flow.key
        var low: [UInt8] = [], high: [UInt8] = []
        Self.appendAddress(high: key.lowHigh, low: key.lowLow, isV6: key.isV6, to: &low)
        Self.appendAddress(high: key.highHigh, low: key.highLow, isV6: key.isV6, to: &high)
        let dash = UInt8(ascii: "-")
        // Flow ID: the endpoints in the order of the packet that first opened this key.
        let (first, second, firstPort, secondPort) = flow.idLowFirst
            ? (low, high, key.lowPort, key.highPort) : (high, low, key.highPort, key.lowPort)
        bytes += first; bytes.append(dash); bytes += second; bytes.append(dash)
        appendInt(Int64(firstPort)); bytes.append(dash); appendInt(Int64(secondPort)); bytes.append(dash)
        appendInt(Int64(key.protocolNumber)); comma()
        let (source, destination, sourcePort, destinationPort) = flow.sourceIsLow
            ? (low, high, key.lowPort, key.highPort) : (high, low, key.highPort, key.lowPort)
        bytes += source; comma(); long(Int64(sourcePort))
        bytes += destination; comma(); long(Int64(destinationPort))
        long(Int64(key.protocolNumber))
        Self.appendTimestamp(flow.flowStart, to: &bytes); comma()
        let duration = flow.duration
        long(duration)
        long(flow.forwardPackets)
        long(flow.backwardPackets)
        double(flow.forwardLengths.sum)
        double(flow.backwardLengths.sum)
        lengthStats(flow.forwardLengths)
        lengthStats(flow.backwardLengths)
        let seconds = Double(duration) / 1_000_000
        double(Double(flow.forwardBytes + flow.backwardBytes) / seconds)
        double(Double(flow.packetCount) / seconds)
        double(flow.flowIAT.mean); double(flow.flowIAT.standardDeviation)
        double(flow.flowIAT.maximum); double(flow.flowIAT.minimum)
        directionIAT(flow.forwardPackets, flow.forwardIAT)
        directionIAT(flow.backwardPackets, flow.backwardIAT)
        long(Int64(flow.forwardPSH)); long(Int64(flow.backwardPSH))
        long(Int64(flow.forwardURG)); long(Int64(flow.backwardURG))
        long(Int64(flow.forwardRST)); long(Int64(flow.backwardRST))
        long(flow.forwardHeaderBytes); long(flow.backwardHeaderBytes)
        double(duration > 0 ? Double(flow.forwardPackets) / seconds : 0)
        double(duration > 0 ? Double(flow.backwardPackets) / seconds : 0)
        let all = flow.allLengths
        if all.count > 0 {
            double(all.minimum); double(all.maximum); double(all.mean); double(all.standardDeviation); double(all.variance)
        } else {
            zeros(5)
        }
        for count in [flow.fin, flow.syn, flow.rst, flow.psh, flow.ack, flow.urg, flow.cwr, flow.ece] { long(Int64(count)) }
        double(flow.forwardPackets > 0 ? Double(flow.backwardPackets) / Double(flow.forwardPackets) : 0)
        double(flow.packetCount > 0 ? all.sum / Double(flow.packetCount) : 0)
        double(flow.forwardPackets != 0 ? flow.forwardLengths.sum / Double(flow.forwardPackets) : 0)
        double(flow.backwardPackets != 0 ? flow.backwardLengths.sum / Double(flow.backwardPackets) : 0)
        long(flow.forwardBulk.averageBytes); long(flow.forwardBulk.averagePackets); long(flow.forwardBulk.rate)
        long(flow.backwardBulk.averageBytes); long(flow.backwardBulk.averagePackets); long(flow.backwardBulk.rate)
        let subflows = flow.subflowCount
        long(subflows > 0 ? flow.forwardPackets / subflows : 0)
        long(subflows > 0 ? flow.forwardBytes / subflows : 0)
        long(subflows > 0 ? flow.backwardPackets / subflows : 0)
        long(subflows > 0 ? flow.backwardBytes / subflows : 0)
        long(Int64(flow.forwardInitWindow)); long(Int64(flow.backwardInitWindow))
        long(flow.forwardActiveData); long(flow.forwardMinSegment)
        lengthStats(flow.active, withSpread: true)
        lengthStats(flow.idle, withSpread: true)
        long(flow.cumulativeTCP)
        bytes += label.utf8
    }

    // MARK: - Columns

    @inline(__always) private mutating func comma() { bytes.append(UInt8(ascii: ",")) }
    @inline(__always) private mutating func long(_ value: Int64) { appendInt(value); comma() }
    @inline(__always) private mutating func double(_ value: Double) { Self.appendDouble(value, to: &bytes); comma() }

    private mutating func zeros(_ count: Int) {
        for _ in 0..<count { bytes.append(UInt8(ascii: "0")); comma() }
    }

    /// Max, min, mean, std (packet lengths) or, with `withSpread`, mean, std, max, min (Active, Idle);
    /// `0` four times for an empty set.
    private mutating func lengthStats(_ stats: RunningStats, withSpread: Bool = false) {
        guard stats.count > 0 else { return zeros(4) }
        if withSpread {
            double(stats.mean); double(stats.standardDeviation); double(stats.maximum); double(stats.minimum)
        } else {
            double(stats.maximum); double(stats.minimum); double(stats.mean); double(stats.standardDeviation)
        }
    }

    /// Total, mean, std, max, min of one direction's gaps; `0` five times under two packets.
    private mutating func directionIAT(_ packets: Int64, _ iat: RunningStats) {
        guard packets > 1 else { return zeros(5) }
        double(iat.sum); double(iat.mean); double(iat.standardDeviation); double(iat.maximum); double(iat.minimum)
    }

    @inline(__always) private mutating func appendInt(_ value: Int64) { Self.appendInt(value, to: &bytes) }

    // MARK: - Numbers, times and addresses as bytes

    static func appendInt(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        if magnitude < 10 {
            out.append(UInt8(ascii: "0") + UInt8(magnitude))
            return
        }
        // Digits from the right into a stack buffer, then one append.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var i = 20
            repeat {
                i -= 1
                buffer[i] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[i...]))
        }
    }

    /// Java's `Double.toString`: the shortest digits that read back to the same double; plain
    /// decimal with at least one fraction digit for 1e-3 <= |x| < 1e7, else `d.dddE[-]n`.
    static func appendDouble(_ value: Double, to out: inout [UInt8]) {
        if value.isNaN { out += "NaN".utf8; return }
        if value.isInfinite { out += (value < 0 ? "-Infinity" : "Infinity").utf8; return }
        if value == 0 { out += (value.sign == .minus ? "-0.0" : "0.0").utf8; return }
        let magnitude = abs(value)
        if magnitude < 1e7, magnitude == magnitude.rounded(.towardZero) {
            appendInt(Int64(value), to: &out)
            out += ".0".utf8
            return
        }
        var text = value.description
        // Swift writes this range as plain decimals too, with the same shortest digits.
        if magnitude >= 1e-3 && magnitude < 1e7 {
            text.withUTF8 { out += $0 }
            return
        }
        // Elsewhere Swift writes 1e-05 or 1.2345e+16 (or 117265842.0 below 2^53): take its digits
        // and exponent, then Java's layout d.ddddE[-]n.
        text.withUTF8 { utf8 in
            var digits: [UInt8] = []
            digits.reserveCapacity(20)
            var pointPosition = 0, exponent = 0, seenPoint = false, negativeExponent = false, inExponent = false
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "-") where inExponent: negativeExponent = true
                case UInt8(ascii: "-"), UInt8(ascii: "+"): continue
                case UInt8(ascii: "."): seenPoint = true
                case UInt8(ascii: "e"), UInt8(ascii: "E"): inExponent = true
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    if inExponent {
                        exponent = exponent * 10 + Int(byte - UInt8(ascii: "0"))
                    } else {
                        digits.append(byte)
                        if !seenPoint { pointPosition += 1 }
                    }
                default: continue
                }
            }
            if negativeExponent { exponent = -exponent }
            pointPosition += exponent
            while digits.first == UInt8(ascii: "0") { digits.removeFirst(); pointPosition -= 1 }
            while digits.count > 1, digits.last == UInt8(ascii: "0") { digits.removeLast() }
            if value < 0 { out.append(UInt8(ascii: "-")) }
            out.append(digits[0])
            out.append(UInt8(ascii: "."))
            if digits.count > 1 { out += digits[1...] } else { out.append(UInt8(ascii: "0")) }
            out.append(UInt8(ascii: "E"))
            appendInt(Int64(pointPosition - 1), to: &out)
        }
    }

    /// Microseconds since the epoch as Java's `Instant.toString` without `T` and `Z`, UTC: the
    /// fraction is left out when zero, else printed in 3 or 6 digits.
    static func appendTimestamp(_ micros: Int64, to out: inout [UInt8]) {
        var seconds = micros / 1_000_000
        var fraction = micros % 1_000_000
        if fraction < 0 { fraction += 1_000_000; seconds -= 1 }
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 { secondOfDay += 86_400; days -= 1 }
        // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func digits(_ value: Int64, _ width: Int) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            var v = value
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8((v / divisor) % 10))
                v %= divisor
                divisor /= 10
            }
        }
        digits(year, 4); out.append(UInt8(ascii: "-")); digits(month, 2); out.append(UInt8(ascii: "-")); digits(day, 2)
        out.append(UInt8(ascii: " "))
        digits(secondOfDay / 3600, 2); out.append(UInt8(ascii: ":"))
        digits(secondOfDay / 60 % 60, 2); out.append(UInt8(ascii: ":")); digits(secondOfDay % 60, 2)
        if fraction != 0 {
            out.append(UInt8(ascii: "."))
            if fraction % 1000 == 0 { digits(fraction / 1000, 3) } else { digits(fraction, 6) }
        }
    }

    /// An address as the fork prints it: dotted IPv4; IPv6 (which the fork never meters) in the
    /// RFC 5952 form.
    static func appendAddress(high: UInt64, low: UInt64, isV6: Bool, to out: inout [UInt8]) {
        if !isV6 {
            let v = UInt32(truncatingIfNeeded: low)
            appendInt(Int64(v >> 24), to: &out); out.append(UInt8(ascii: "."))
            appendInt(Int64((v >> 16) & 0xFF), to: &out); out.append(UInt8(ascii: "."))
            appendInt(Int64((v >> 8) & 0xFF), to: &out); out.append(UInt8(ascii: "."))
            appendInt(Int64(v & 0xFF), to: &out)
            return
        }
        var address = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            address[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i)))
            address[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i)))
        }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        _ = address.withUnsafeBytes { inet_ntop(AF_INET6, $0.baseAddress, &text, socklen_t(text.count)) }
        for c in text {
            if c == 0 { break }
            out.append(UInt8(bitPattern: c))
        }
    }

    // MARK: - As strings (tests, messages)

    static func javaDouble(_ value: Double) -> String {
        var out: [UInt8] = []
        appendDouble(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func timestamp(_ micros: Int64) -> String {
        var out: [UInt8] = []
        appendTimestamp(micros, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func address(high: UInt64, low: UInt64, isV6: Bool) -> String {
        var out: [UInt8] = []
        appendAddress(high: high, low: low, isV6: isV6, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
