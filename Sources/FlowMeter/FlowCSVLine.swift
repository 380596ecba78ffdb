import Foundation

/// Writes a closed flow as one line of the fork's CSV (dumpFlowBasedFeaturesEx), numbers spelled
/// as Java spells them: doubles with `Double.toString` (`106.0`, `1.17265842E8`, `NaN`,
/// `Infinity`), longs and ints plainly, a statistic of an empty direction as `0`.
enum FlowCSVLine {
    static func line(for flow: FlowRecord, label: String) -> String {
        var out = ""
        out.reserveCapacity(900)
        let key = flow.key
        let low = address(high: key.lowHigh, low: key.lowLow, isV6: key.isV6)
        let high = address(high: key.highHigh, low: key.highLow, isV6: key.isV6)
        let proto = String(key.protocolNumber)
        // Flow ID: the endpoints in the order of the packet that first opened this key.
        if flow.idLowFirst {
            out += "\(low)-\(high)-\(key.lowPort)-\(key.highPort)-\(proto),"
        } else {
            out += "\(high)-\(low)-\(key.highPort)-\(key.lowPort)-\(proto),"
        }
        if flow.sourceIsLow {
            out += "\(low),\(key.lowPort),\(high),\(key.highPort),"
        } else {
            out += "\(high),\(key.highPort),\(low),\(key.lowPort),"
        }
        out += proto; out += ","
        out += timestamp(flow.flowStart); out += ","
        let duration = flow.duration
        func long(_ v: Int64) { out += String(v); out += "," }
        func int(_ v: Int32) { out += String(v); out += "," }
        func double(_ v: Double) { out += javaDouble(v); out += "," }
        long(duration)
        long(flow.forwardPackets)
        long(flow.backwardPackets)
        double(flow.forwardLengths.sum)
        double(flow.backwardLengths.sum)
        for stats in [flow.forwardLengths, flow.backwardLengths] {
            if stats.count > 0 {
                double(stats.maximum); double(stats.minimum); double(stats.mean); double(stats.standardDeviation)
            } else {
                out += "0,0,0,0,"
            }
        }
        let seconds = Double(duration) / 1_000_000
        double(Double(flow.forwardBytes + flow.backwardBytes) / seconds)
        double(Double(flow.packetCount) / seconds)
        double(flow.flowIAT.mean); double(flow.flowIAT.standardDeviation)
        double(flow.flowIAT.maximum); double(flow.flowIAT.minimum)
        for (packets, iat) in [(flow.forwardPackets, flow.forwardIAT), (flow.backwardPackets, flow.backwardIAT)] {
            if packets > 1 {
                double(iat.sum); double(iat.mean); double(iat.standardDeviation); double(iat.maximum); double(iat.minimum)
            } else {
                out += "0,0,0,0,0,"
            }
        }
        int(flow.forwardPSH); int(flow.backwardPSH); int(flow.forwardURG); int(flow.backwardURG)
        int(flow.forwardRST); int(flow.backwardRST)
        long(flow.forwardHeaderBytes); long(flow.backwardHeaderBytes)
        double(duration > 0 ? Double(flow.forwardPackets) / seconds : 0)
        double(duration > 0 ? Double(flow.backwardPackets) / seconds : 0)
        let all = flow.allLengths
        if all.count > 0 {
            double(all.minimum); double(all.maximum); double(all.mean); double(all.standardDeviation); double(all.variance)
        } else {
            out += "0,0,0,0,0,"
        }
        int(flow.fin); int(flow.syn); int(flow.rst); int(flow.psh)
        int(flow.ack); int(flow.urg); int(flow.cwr); int(flow.ece)
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
        int(flow.forwardInitWindow); int(flow.backwardInitWindow)
        long(flow.forwardActiveData); long(flow.forwardMinSegment)
        for stats in [flow.active, flow.idle] {
            if stats.count > 0 {
                double(stats.mean); double(stats.standardDeviation); double(stats.maximum); double(stats.minimum)
            } else {
                out += "0,0,0,0,"
            }
        }
        long(flow.cumulativeTCP)
        out += label
        return out
    }

    /// An address as the fork prints it: dotted IPv4; IPv6 (which the fork never meters) in the
    /// RFC 5952 form.
    static func address(high: UInt64, low: UInt64, isV6: Bool) -> String {
        if !isV6 {
            let v = UInt32(truncatingIfNeeded: low)
            return "\(v >> 24).\((v >> 16) & 0xFF).\((v >> 8) & 0xFF).\(v & 0xFF)"
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            bytes[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i)))
            bytes[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i)))
        }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        _ = bytes.withUnsafeBytes { inet_ntop(AF_INET6, $0.baseAddress, &text, socklen_t(text.count)) }
        return String(cString: text)
    }

    /// Microseconds since the epoch as Java's `Instant.toString` without `T` and `Z`, UTC: the
    /// fraction is left out when zero, else printed in 3 or 6 digits.
    static func timestamp(_ micros: Int64) -> String {
        var seconds = micros / 1_000_000
        var fraction = micros % 1_000_000
        if fraction < 0 { fraction += 1_000_000; seconds -= 1 }
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        var text = String(format: "%04d-%02d-%02d %02d:%02d:%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                          Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
        if fraction != 0 {
            text += fraction % 1000 == 0 ? String(format: ".%03d", Int(fraction / 1000)) : String(format: ".%06d", Int(fraction))
        }
        return text
    }

    /// Java's `Double.toString`: the shortest digits that read back to the same double; plain
    /// decimal with at least one fraction digit for 1e-3 <= |x| < 1e7, else `d.dddE[-]n`.
    static func javaDouble(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        if value == 0 { return value.sign == .minus ? "-0.0" : "0.0" }
        let magnitude = abs(value)
        if magnitude < 1e7, magnitude == magnitude.rounded(.towardZero) {
            return (value < 0 ? "-" : "") + String(Int64(magnitude)) + ".0"
        }
        // Shortest round-trip digits from Swift's description, then Java's layout.
        let (digits, exponent) = decimalDigits(magnitude)
        var text = value < 0 ? "-" : ""
        if magnitude >= 1e-3 && magnitude < 1e7 {
            // value = 0.d1d2... x 10^exponent
            if exponent <= 0 {
                text += "0." + String(repeating: "0", count: -exponent) + digits
            } else if exponent >= digits.count {
                text += digits + String(repeating: "0", count: exponent - digits.count) + ".0"
            } else {
                let split = digits.index(digits.startIndex, offsetBy: exponent)
                text += digits[..<split] + "." + digits[split...]
            }
        } else {
            let first = digits.prefix(1)
            let rest = digits.dropFirst()
            text += first + "." + (rest.isEmpty ? "0" : rest) + "E" + String(exponent - 1)
        }
        return text
    }

    /// The significant digits of a positive finite double (no leading or trailing zeros) and the
    /// exponent e with value = 0.digits x 10^e.
    static func decimalDigits(_ magnitude: Double) -> (String, Int) {
        let description = magnitude.description  // e.g. 117265842.0, 1e-05, 1.2345e+16
        var mantissa = Substring(description)
        var exponent = 0
        if let e = description.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = description[..<e]
            exponent = Int(description[description.index(after: e)...]) ?? 0
        }
        var integerPart = mantissa
        var fractionPart: Substring = ""
        if let dot = mantissa.firstIndex(of: ".") {
            integerPart = mantissa[..<dot]
            fractionPart = mantissa[mantissa.index(after: dot)...]
        }
        var digits = String(integerPart) + String(fractionPart)
        var pointPosition = integerPart.count + exponent
        while digits.hasPrefix("0") {
            digits.removeFirst()
            pointPosition -= 1
        }
        while digits.hasSuffix("0") { digits.removeLast() }
        if digits.isEmpty { digits = "0" }
        return (digits, pointPosition)
    }
}
