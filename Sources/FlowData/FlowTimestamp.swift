import Foundation

/// Parses the `Timestamp` column of flow exports into seconds since 1970 (UTC, as the flow meter
/// wrote it; no time zone is applied when none is written, which is what ordering flows and
/// measuring gaps need; a written offset, `+0000` or `-05:30`, is applied).
///
/// Accepted: `2023-03-19 15:02:18.745393` (the current CICFlowMeter), `2023-03-19T15:02:18Z`,
/// `2023-03-19T15:02:18.745393+0000` (Suricata),
/// `19/03/2023 06:02:14 PM` and `7/7/2017 8:59` (CICFlowMeter-V3/V4, day first), and plain epoch
/// seconds or milliseconds. Anything else is nil: timestamps only order flows into periods and
/// windows, so an unreadable one never stops a load.
public enum FlowTimestamp {
    public static func parse(_ text: String) -> Double? {
        let s = text.trimmingCharacters(in: .whitespaces)
        guard !s.isEmpty else { return nil }
        if let v = Double(s), v.isFinite, v > 0 {
            return v > 1e11 ? v / 1000 : v   // epoch milliseconds or seconds
        }
        let bytes = Array(s.utf8)
        var i = 0
        func number(maxDigits: Int) -> Int? {
            var value = 0, digits = 0
            while i < bytes.count, digits < maxDigits, bytes[i] >= 48, bytes[i] <= 57 {
                value = value * 10 + Int(bytes[i] - 48); i += 1; digits += 1
            }
            return digits > 0 ? value : nil
        }
        func skip(_ c: UInt8) -> Bool { if i < bytes.count, bytes[i] == c { i += 1; return true }; return false }
        var year = 0, month = 0, day = 0
        guard let first = number(maxDigits: 4) else { return nil }
        if skip(UInt8(ascii: "-")) {
            guard let m = number(maxDigits: 2), skip(UInt8(ascii: "-")), let d = number(maxDigits: 2) else { return nil }
            (year, month, day) = (first, m, d)
        } else if skip(UInt8(ascii: "/")) {
            guard let m = number(maxDigits: 2), skip(UInt8(ascii: "/")), let y = number(maxDigits: 4) else { return nil }
            (year, month, day) = (y < 100 ? 2000 + y : y, m, first)
        } else { return nil }
        guard (1...12).contains(month), (1...31).contains(day), year >= 1970 else { return nil }
        guard skip(UInt8(ascii: " ")) || skip(UInt8(ascii: "T")) else { return nil }
        guard var hour = number(maxDigits: 2), skip(UInt8(ascii: ":")), let minute = number(maxDigits: 2) else { return nil }
        var second = 0.0
        if skip(UInt8(ascii: ":")) {
            guard let whole = number(maxDigits: 2) else { return nil }
            second = Double(whole)
            if skip(UInt8(ascii: ".")) {
                let start = i
                guard let fraction = number(maxDigits: 9) else { return nil }
                second += Double(fraction) / pow(10, Double(i - start))
            }
        }
        // A time zone offset (`+0000`, `-05:30`, as Suricata and ISO 8601 write it) is applied.
        var zoneSeconds = 0
        if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
            let sign = bytes[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let zoneHours = number(maxDigits: 2) else { return nil }
            _ = skip(UInt8(ascii: ":"))
            let zoneMinutes = number(maxDigits: 2) ?? 0
            guard zoneHours < 24, zoneMinutes < 60, i == bytes.count else { return nil }
            zoneSeconds = sign * (zoneHours * 3600 + zoneMinutes * 60)
        }
        while i < bytes.count, bytes[i] == UInt8(ascii: " ") { i += 1 }
        let rest = String(decoding: bytes[i...], as: UTF8.self).uppercased()
        switch rest {
        case "", "Z": break
        case "AM": if hour == 12 { hour = 0 }
        case "PM": if hour < 12 { hour += 12 }
        default: return nil
        }
        guard hour < 24, minute < 60, second < 61 else { return nil }
        return Double(daysSince1970(year: year, month: month, day: day)) * 86_400 + Double(hour * 3600 + minute * 60 - zoneSeconds)
            + second
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    static func daysSince1970(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// ISO 8601 in UTC with milliseconds, for outputs.
    public static func iso8601(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "" }
        let whole = floor(seconds)
        var t = time_t(whole)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec),
                      min(999, Int(((seconds - whole) * 1000).rounded())))
    }
}
