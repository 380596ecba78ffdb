import Foundation

/// A per-column transform applied before the z-score.
public enum FeatureTransform: String, Codable, Sendable, CaseIterable {
    /// The raw value.
    case none
    /// Signed log1p: sign(x) * log(1 + |x|); tames heavy-tailed flow statistics.
    case log
    /// The baseline's empirical quantiles mapped to a standard normal (`QuantileMap`); needs the
    /// fitted map, so `Scaler` applies it per column and `apply` leaves the value as it is.
    case quantile

    @inline(__always)
    public func apply(_ x: Float) -> Float {
        switch self {
        case .none, .quantile: return x
        case .log: return x < 0 ? -Foundation.log1p(-x) : Foundation.log1p(x)
        }
    }
}

/// Fills missing values and z-scores each feature column with statistics fitted once, on the
/// training benign flows only, and stored with the model (never refitted per file: fitting on
/// each file separately leaks the label into the scaling).
///
/// For a raw value x of column j: v = x, or `fillValues[j]` when x is missing (NaN); then
/// z = (transform(v) - means[j]) / stds[j], or 0 when column j had zero variance.
///
/// Two guards keep every transformed value finite and small enough that a squared distance
/// between two rows cannot overflow a Float, so the CPU and OpenCL backends score alike:
/// - a spread is never below `spreadFloor(mean:)` (a nearly constant column: 1e-45 would turn any
///   other value into inf); `fit` floors it and `scale` applies the floor to any scaler;
/// - z is clamped to ±`saturation` (1e4). A z of 1e4 is already 1e4 baseline standard deviations
///   away, far beyond anything the baseline holds (the quantile transform stops near ±3.7), so
///   the clamp never reorders flows that could be told apart; and 1e8 per squared feature keeps
///   the sum over every feature far from Float's 3.4e38.
public struct Scaler: Codable, Equatable, Sendable {
    /// The largest |z| that `scale` returns.
    public static let saturation: Float = 1e4

    /// The smallest spread a column that varies is scaled by: 1e-6, or 1e-6 of the column's
    /// mean when larger (below it the spread is Float rounding of the values, not variation).
    public static func spreadFloor(mean: Float) -> Float { max(1e-6, abs(mean) * 1e-6) }

    public var featureNames: [String]
    public var transform: FeatureTransform
    /// Per column: the training mean of the raw values that were present (0 if none were).
    public var fillValues: [Float]
    /// Per column: mean of the transformed, filled training values.
    public var means: [Float]
    /// Per column: population standard deviation of the same; 0 marks a constant column.
    public var stds: [Float]
    /// The fitted quantile map of the `.quantile` transform (nil for the others). With it, a
    /// value is filled with the baseline median when missing and mapped to z by the map; means
    /// and stds are then 0 and 1.
    public var quantiles: QuantileMap?

    public init(featureNames: [String], transform: FeatureTransform, fillValues: [Float], means: [Float], stds: [Float],
                quantiles: QuantileMap? = nil) {
        self.featureNames = featureNames
        self.transform = transform
        self.fillValues = fillValues
        self.means = means
        self.stds = stds
        self.quantiles = quantiles
    }

    public var featureCount: Int { featureNames.count }

    /// Fits on `rows` of `table` (the caller passes the training benign rows). Throws
    /// `featureAllMissing` for a feature missing in every one of them: it has nothing to fill a
    /// missing value with or to scale by, and every flow that has it would look far from normal.
    public static func fit(_ table: FlowTable, rows: [Int], transform: FeatureTransform,
                           quantileKnots: Int = QuantileMap.defaultKnots) throws -> Scaler {
        let f = table.featureCount
        if !rows.isEmpty {
            var present = [Bool](repeating: false, count: f)
            var left = f
            table.values.withUnsafeBufferPointer { v in
                for r in rows where left > 0 {
                    for j in 0..<f where !present[j] && !v[r * f + j].isNaN { present[j] = true; left -= 1 }
                }
            }
            if let j = present.firstIndex(of: false) {
                throw FlowDataError.featureAllMissing(feature: table.featureNames[j], rows: rows.count)
            }
        }
        if transform == .quantile {
            var columns = [[Float]](repeating: [], count: f)
            table.values.withUnsafeBufferPointer { v in
                for j in 0..<f {
                    columns[j].reserveCapacity(rows.count)
                    for r in rows where !v[r * f + j].isNaN { columns[j].append(v[r * f + j]) }
                }
            }
            let map = QuantileMap.fit(columns: columns, knots: quantileKnots)
            return Scaler(featureNames: table.featureNames, transform: .quantile, fillValues: (0..<f).map { map.median($0) },
                          means: [Float](repeating: 0, count: f), stds: [Float](repeating: 1, count: f), quantiles: map)
        }
        var fill = [Float](repeating: 0, count: f)
        var means = [Float](repeating: 0, count: f)
        var stds = [Float](repeating: 0, count: f)
        table.values.withUnsafeBufferPointer { v in
            for j in 0..<f {
                var sum = 0.0, present = 0
                for r in rows {
                    let x = v[r * f + j]
                    if !x.isNaN { sum += Double(x); present += 1 }
                }
                let fillValue = present > 0 ? Float(sum / Double(present)) : 0
                fill[j] = fillValue
                guard !rows.isEmpty else { continue }
                var tsum = 0.0
                var lo = Float.infinity, hi = -Float.infinity
                for r in rows {
                    let x = v[r * f + j]
                    let t = transform.apply(x.isNaN ? fillValue : x)
                    tsum += Double(t)
                    lo = min(lo, t); hi = max(hi, t)
                }
                let mean = tsum / Double(rows.count)
                var ss = 0.0
                for r in rows {
                    let x = v[r * f + j]
                    let d = Double(transform.apply(x.isNaN ? fillValue : x)) - mean
                    ss += d * d
                }
                means[j] = Float(mean)
                stds[j] = lo == hi ? 0 : max(Float((ss / Double(rows.count)).squareRoot()), Self.spreadFloor(mean: means[j]))
            }
        }
        return Scaler(featureNames: table.featureNames, transform: transform, fillValues: fill, means: means, stds: stds)
    }

    /// Why this scaler cannot be used (lengths, non-finite or negative statistics, bad quantile
    /// knots), or nil; the model loader refuses a model with one.
    public func problem() -> String? {
        let f = featureCount
        guard f > 0, means.count == f, stds.count == f, fillValues.count == f else {
            return "the scaler has inconsistent lengths for \(f) features"
        }
        guard (means + stds + fillValues).allSatisfy({ $0.isFinite }), stds.allSatisfy({ $0 >= 0 }) else {
            return "the scaler holds NaN, infinite or negative values"
        }
        if transform == .quantile {
            guard let q = quantiles, q.featureCount == f,
                  q.knots.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isFinite } && zip($0, $0.dropFirst()).allSatisfy { $0 <= $1 } })
            else { return "the quantile transform's knots are missing, not finite or not sorted for \(f) features" }
        }
        return nil
    }

    /// Throws `featureMismatch` unless `table` has exactly this scaler's feature columns.
    public func checkCompatible(_ table: FlowTable) throws {
        guard table.featureNames == featureNames else {
            throw FlowDataError.featureMismatch(expected: featureNames, found: table.featureNames)
        }
    }

    /// Scales every row of `table` (rowCount x F, row-major). The table must have this scaler's
    /// features in the same order (load it with `FlowLoadOptions(features: scaler.featureNames)`;
    /// `checkCompatible` checks).
    public func scale(_ table: FlowTable) -> [Float] {
        precondition(table.featureCount == featureCount, "table has \(table.featureCount) features, scaler \(featureCount)")
        return scale(values: table.values)
    }

    /// Scales a row-major block of raw rows (count a multiple of F).
    public func scale(values raw: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: raw.count)
        raw.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in scale(raw: src, into: dst) }
        }
        return out
    }

    /// Scales one raw row of F values.
    public func scaleRow(_ raw: [Float]) -> [Float] { scale(values: raw) }

    /// Scales one raw row of F values.
    public func scaleRow(_ raw: ArraySlice<Float>) -> [Float] { scale(values: Array(raw)) }

    /// Scales `raw` (any number of whole rows) into `out` of the same length.
    public func scale(raw: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        let f = featureCount
        precondition(f > 0 && raw.count % f == 0 && out.count >= raw.count, "scale: buffer sizes")
        var inverse = [Float](repeating: 0, count: f)
        for j in 0..<f { inverse[j] = stds[j] > 0 ? 1 / max(stds[j], Self.spreadFloor(mean: means[j])) : 0 }
        let limit = Self.saturation
        let rows = raw.count / f
        if transform == .quantile, let quantiles {
            for r in 0..<rows {
                let base = r * f
                for j in 0..<f {
                    let x = raw[base + j]
                    out[base + j] = min(max(quantiles.map(x.isNaN ? fillValues[j] : x, feature: j), -limit), limit)
                }
            }
            return
        }
        for r in 0..<rows {
            let base = r * f
            for j in 0..<f {
                let x = raw[base + j]
                let v = x.isNaN ? fillValues[j] : x
                let z = (transform.apply(v) - means[j]) * inverse[j]
                // An infinite raw value gives ±inf (clamped like any large value), or NaN in a
                // constant column, whose every value scales to 0.
                out[base + j] = z.isNaN ? 0 : min(max(z, -limit), limit)
            }
        }
    }

    /// The raw value (flow-meter units) of feature j whose transformed value is `z`: the inverse of
    /// `scale` (up to ties of the quantile transform, where every value of a tie maps to one z).
    public func unscale(_ z: Float, feature j: Int) -> Float {
        if transform == .quantile, let quantiles { return quantiles.unmap(z, feature: j) }
        let t = z * stds[j] + means[j]
        switch transform {
        case .log: return t < 0 ? -Float(Foundation.expm1(Double(-t))) : Float(Foundation.expm1(Double(t)))
        case .none, .quantile: return t
        }
    }

    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}
