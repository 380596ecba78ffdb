import Foundation

/// Per-feature empirical quantiles of the benign baseline, mapped to a standard normal.
///
/// Flow statistics are heavy-tailed and often discrete (window sizes, packet counts), so a
/// z-score lets a few huge values dominate every distance. This map sends each feature through
/// the baseline's own distribution instead: a value's position among the baseline's quantiles
/// (its empirical CDF) goes through the inverse normal CDF, so that every feature of a baseline
/// flow is roughly N(0, 1) and one unusual feature can add at most a bounded amount to a distance.
///
/// For feature j with knots k_0 <= ... <= k_{m-1} (the baseline's quantiles at probabilities
/// i / (m - 1), computed like NumPy's default linear `quantile`):
/// - the position of x is the midpoint of the knots equal to x when there are any (so a value
///   that a quarter of the baseline shares sits in the middle of that quarter), otherwise the
///   linear interpolation between its two neighbouring knots, clamped to [0, m - 1];
/// - p = (position + 0.5) / m and z = Φ⁻¹(p), so z stays within ±Φ⁻¹(1 - 0.5/m) (±3.29 for
///   m = 1000): a value beyond the baseline's range maps to the baseline's extreme.
public struct QuantileMap: Codable, Equatable, Sendable {
    /// Knots per feature by default (fewer when the baseline has fewer flows).
    public static let defaultKnots = 1000

    /// Per feature: m sorted knots.
    public var knots: [[Float]]

    public init(knots: [[Float]]) { self.knots = knots }

    /// Fits on column-major samples: `columns[j]` holds feature j's present (non-NaN) values.
    /// A feature with no values gets a single knot at 0.
    public static func fit(columns: [[Float]], knots requested: Int = defaultKnots) -> QuantileMap {
        QuantileMap(knots: columns.map { values in
            guard !values.isEmpty else { return [0] }
            let sorted = values.sorted()
            let m = max(1, min(requested, sorted.count))
            guard m > 1 else { return [sorted[sorted.count / 2]] }
            let n = sorted.count
            return (0..<m).map { i in
                let h = Double(n - 1) * Double(i) / Double(m - 1)
                let lo = Int(h.rounded(.down)), hi = min(lo + 1, n - 1)
                let t = h - Double(lo)
                return Float(Double(sorted[lo]) + t * (Double(sorted[hi]) - Double(sorted[lo])))
            }
        })
    }

    public var featureCount: Int { knots.count }

    /// The median knot of feature j: what a missing value is filled with (z = 0 or close).
    public func median(_ j: Int) -> Float { knots[j][knots[j].count / 2] }

    /// z for value x of feature j (x must not be NaN).
    public func map(_ x: Float, feature j: Int) -> Float {
        let k = knots[j], m = k.count
        // One knot (a one-flow baseline): equal is typical, anything else as extreme as it gets.
        guard m > 1 else { return x == k[0] ? 0 : (x < k[0] ? -Self.zLimit(Self.defaultKnots) : Self.zLimit(Self.defaultKnots)) }
        // First knot >= x and first knot > x, by binary search.
        let lo = Self.lowerBound(k, x), hi = Self.upperBound(k, x)
        let position: Double
        if hi > lo {
            position = Double(lo + hi - 1) / 2
        } else if lo == 0 {
            position = 0
        } else if lo == m {
            position = Double(m - 1)
        } else {
            let a = Double(k[lo - 1]), b = Double(k[lo])
            position = Double(lo - 1) + (b > a ? (Double(x) - a) / (b - a) : 0)
        }
        return Float(Self.inverseNormalCDF((position + 0.5) / Double(m)))
    }

    /// The value of feature j at z: the inverse of `map` (exact at knots; between them, linear as
    /// `map` is). Used to show a transformed baseline value in the flow meter's units.
    public func unmap(_ z: Float, feature j: Int) -> Float {
        let k = knots[j], m = k.count
        guard m > 1 else { return k.first ?? .nan }
        guard z.isFinite else { return z > 0 ? k[m - 1] : k[0] }
        let p = 0.5 * erfc(-Double(z) / 2.0.squareRoot())
        let position = min(max(p * Double(m) - 0.5, 0), Double(m - 1))
        let lo = Int(position.rounded(.down)), hi = min(lo + 1, m - 1)
        let t = Float(position - Double(lo))
        return k[lo] + (k[hi] - k[lo]) * t
    }

    /// The largest |z| that `map` returns with m knots.
    static func zLimit(_ m: Int) -> Float { Float(inverseNormalCDF(1 - 0.5 / Double(m))) }

    static func lowerBound(_ k: [Float], _ x: Float) -> Int {
        var lo = 0, hi = k.count
        while lo < hi { let mid = (lo + hi) / 2; if k[mid] < x { lo = mid + 1 } else { hi = mid } }
        return lo
    }

    static func upperBound(_ k: [Float], _ x: Float) -> Int {
        var lo = 0, hi = k.count
        while lo < hi { let mid = (lo + hi) / 2; if k[mid] <= x { lo = mid + 1 } else { hi = mid } }
        return lo
    }

    /// Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation (relative error 1.2e-9) refined by
    /// one Halley step on erfc, which brings it to double precision.
    public static func inverseNormalCDF(_ p: Double) -> Double {
        precondition(p > 0 && p < 1, "inverseNormalCDF needs p in (0, 1)")
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        var x: Double
        if p < low {
            let q = (-2 * Foundation.log(p)).squareRoot()
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
                ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p <= 1 - low {
            let q = p - 0.5, r = q * q
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
                (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let q = (-2 * Foundation.log(1 - p)).squareRoot()
            x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
                ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        let e = 0.5 * erfc(-x / 2.0.squareRoot()) - p
        let u = e * (2 * Double.pi).squareRoot() * Foundation.exp(x * x / 2)
        x -= u / (1 + x * u / 2)
        return x
    }
}
