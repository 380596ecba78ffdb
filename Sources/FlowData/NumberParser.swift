/// Hand-written decimal parsing over bytes, for the CSV hot loop.
///
/// Accepts `[+-]digits[.digits][(e|E)[+-]digits]` (either side of the point may be empty, not
/// both), surrounding spaces, and the CICFlowMeter spellings of missing values: the empty field,
/// `Infinity`, `-Infinity`, `NaN` (also `inf` and `nan`, any case). Missing values come back as
/// `Float.nan`.
///
/// Finite values beyond Float's range (`1e309`, `3.5e38`, a 400-digit number) are also stored as
/// missing, never clamped: no flow meter writes such a value for a real flow, so it marks a broken
/// record, and a clamped 3.4e38 would turn into infinity as soon as it is scaled. The caller is told
/// (`outOfRange`) so that loads can count them on stderr instead of hiding them.
enum NumberParser {
    /// Exact powers of ten in Double (10^0 ... 10^22 are representable exactly).
    static let powersOfTen: [Double] = (0...22).map { e in
        var p = 1.0
        for _ in 0..<e { p *= 10 }
        return p
    }

    /// Parses bytes `start..<end` of `p`. Returns nil when the text is not a number.
    static func parse(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Float? {
        var ignored = false
        return parse(p, start, end, outOfRange: &ignored)
    }

    /// Parses bytes `start..<end` of `p`; sets `outOfRange` (and returns NaN) for a finite value
    /// beyond Float's range. Returns nil when the text is not a number.
    @inline(__always)
    static func parse(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, outOfRange: inout Bool) -> Float? {
        var i = start, e = end
        while i < e && (p[i] == 0x20 || p[i] == 0x09) { i += 1 }
        while e > i && (p[e - 1] == 0x20 || p[e - 1] == 0x09) { e -= 1 }
        if i == e { return .nan }
        var negative = false
        if p[i] == UInt8(ascii: "-") { negative = true; i += 1 } else if p[i] == UInt8(ascii: "+") { i += 1 }
        if i == e { return nil }
        let c0 = p[i] | 0x20
        if c0 == UInt8(ascii: "i") || c0 == UInt8(ascii: "n") { return parseSpecial(p, i, e) }

        var mantissa: UInt64 = 0
        var digits = 0          // significant digits kept in mantissa
        var exponent = 0        // decimal exponent adjustment
        var sawDigit = false
        while i < e {
            let d = p[i] &- 0x30
            if d > 9 { break }
            sawDigit = true
            if digits < 19 {
                mantissa = mantissa &* 10 &+ UInt64(d)
                if mantissa != 0 { digits += 1 }
            } else {
                exponent += 1
            }
            i += 1
        }
        if i < e && p[i] == UInt8(ascii: ".") {
            i += 1
            while i < e {
                let d = p[i] &- 0x30
                if d > 9 { break }
                sawDigit = true
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(d)
                    if mantissa != 0 { digits += 1 }
                    exponent -= 1
                }
                i += 1
            }
        }
        if !sawDigit { return nil }
        if i < e && (p[i] | 0x20) == UInt8(ascii: "e") {
            i += 1
            var expNegative = false
            if i < e && (p[i] == UInt8(ascii: "-") || p[i] == UInt8(ascii: "+")) {
                expNegative = p[i] == UInt8(ascii: "-"); i += 1
            }
            var value = 0
            var sawExpDigit = false
            while i < e {
                let d = p[i] &- 0x30
                if d > 9 { break }
                sawExpDigit = true
                if value < 100_000 { value = value * 10 + Int(d) }
                i += 1
            }
            if !sawExpDigit { return nil }
            exponent += expNegative ? -value : value
        }
        if i != e { return nil }

        var result = Double(mantissa)
        if mantissa != 0 {
            if exponent > 0 {
                if exponent <= 22 { result *= powersOfTen[exponent] } else { result = scale(result, exponent) }
            } else if exponent < 0 {
                if exponent >= -22 { result /= powersOfTen[-exponent] } else { result = scale(result, exponent) }
            }
        }
        let f = Float(negative ? -result : result)
        if f.isFinite { return f }
        outOfRange = true
        return .nan
    }

    /// The slow path for exponents beyond the exact table.
    static func scale(_ value: Double, _ exponent: Int) -> Double {
        var v = value, e = exponent
        if e > 400 { return .infinity }
        if e < -400 { return 0 }
        while e > 22 { v *= 1e22; e -= 22 }
        while e < -22 { v /= 1e22; e += 22 }
        return e >= 0 ? v * powersOfTen[e] : v / powersOfTen[-e]
    }

    /// `Infinity`, `inf`, `NaN`, `nan` in any case (the sign was consumed by the caller).
    static func parseSpecial(_ p: UnsafePointer<UInt8>, _ i: Int, _ e: Int) -> Float? {
        func matches(_ word: StaticString) -> Bool {
            guard e - i == word.utf8CodeUnitCount else { return false }
            let w = word.utf8Start
            for k in 0..<(e - i) where (p[i + k] | 0x20) != w[k] { return false }
            return true
        }
        if matches("infinity") || matches("inf") || matches("nan") { return .nan }
        return nil
    }
}
