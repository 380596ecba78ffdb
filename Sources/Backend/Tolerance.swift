// The one tolerance helper, shared by the conformance tests and `gpu-train verify`.

/// Approximate equality with an absolute and a relative tolerance: |a - e| <= abs + rel * |e|.
/// NaN and infinities equal only themselves (NaN equals NaN; +inf equals +inf), never a number.
public struct Tolerance: CustomStringConvertible, Sendable {
    public var absolute: Float
    public var relative: Float

    public init(absolute: Float, relative: Float) {
        self.absolute = absolute
        self.relative = relative
    }

    public func accepts(_ actual: Float, _ expected: Float) -> Bool {
        if actual.isNaN || expected.isNaN { return actual.isNaN && expected.isNaN }
        if actual.isInfinite || expected.isInfinite { return actual == expected }
        return abs(actual - expected) <= absolute + relative * abs(expected)
    }

    public var description: String { "abs \(absolute) + rel \(relative)" }
}

/// The result of comparing two arrays element by element.
public struct Comparison: CustomStringConvertible, Sendable {
    public var count: Int
    public var mismatches: Int
    public var maxAbsoluteError: Float
    public var maxRelativeError: Float
    /// Index, actual and expected of the element furthest outside the tolerance (or the largest error).
    public var worst: (index: Int, actual: Float, expected: Float)?
    /// The first few mismatching elements.
    public var firstMismatches: [(index: Int, actual: Float, expected: Float)]
    public var tolerance: Tolerance
    public var passed: Bool { mismatches == 0 }

    public var description: String {
        var s = "\(mismatches) of \(count) elements outside \(tolerance); max abs error \(maxAbsoluteError), max rel error \(maxRelativeError)"
        if let w = worst { s += "; worst at [\(w.index)]: got \(w.actual), expected \(w.expected)" }
        if !firstMismatches.isEmpty {
            s += "; first mismatches: " + firstMismatches.map { "[\($0.index)] \($0.actual) vs \($0.expected)" }.joined(separator: ", ")
        }
        return s
    }
}

/// Compares `actual` with `expected` under `tolerance`; a length difference is a mismatch of every element.
public func compare(_ actual: [Float], _ expected: [Float], _ tolerance: Tolerance) -> Comparison {
    var c = Comparison(count: max(actual.count, expected.count), mismatches: 0, maxAbsoluteError: 0,
                       maxRelativeError: 0, worst: nil, firstMismatches: [], tolerance: tolerance)
    guard actual.count == expected.count else {
        c.mismatches = c.count
        return c
    }
    var worstExcess: Float = -.infinity
    for i in 0..<actual.count {
        let a = actual[i], e = expected[i]
        let ok = tolerance.accepts(a, e)
        let err = (a.isFinite && e.isFinite) ? abs(a - e) : (ok ? 0 : .infinity)
        let rel = err / max(abs(e), Float.leastNormalMagnitude)
        c.maxAbsoluteError = max(c.maxAbsoluteError, err)
        if err > 0 { c.maxRelativeError = max(c.maxRelativeError, rel) }
        let excess = err - (tolerance.absolute + tolerance.relative * (e.isFinite ? abs(e) : 0))
        if !ok {
            c.mismatches += 1
            if c.firstMismatches.count < 5 { c.firstMismatches.append((i, a, e)) }
        }
        if excess > worstExcess || (!ok && c.worst == nil) {
            worstExcess = excess
            c.worst = (i, a, e)
        }
    }
    return c
}

