import Siamese
import Foundation
import FlowData
import Backend

/// The baseline recipe's model of normal traffic: baseline flows as the transformed feature
/// vectors and, with the Siamese encoder, their embeddings. A flow's score is its distance to
/// the k-th nearest entry; explanations compare a flow with its nearest entry's features.
public struct MemoryBank: Sendable {
    /// Transformed features, count x featureCount.
    public var features: [Float]
    public var featureCount: Int
    /// Embeddings, count x dimension; nil when the encoder is `.none` and the search runs on
    /// the features themselves.
    public var embeddings: [Float]?
    public var dimension: Int
    /// Per entry: the index into `periodNames` of the baseline period it came from (an hour, a
    /// day, a file of the user's baseline). Cross-period calibration scores each period against
    /// the others; `update` adds and retires whole periods.
    public var periods: [Int]
    /// The periods, oldest first: file names, or time blocks of a single file.
    public var periodNames: [String]

    public init(features: [Float], featureCount: Int, embeddings: [Float]?, dimension: Int,
                periods: [Int]? = nil, periodNames: [String]? = nil) {
        self.features = features
        self.featureCount = featureCount
        self.embeddings = embeddings
        self.dimension = dimension
        let n = featureCount > 0 ? features.count / featureCount : 0
        self.periods = periods ?? [Int](repeating: 0, count: n)
        self.periodNames = periodNames ?? ["baseline"]
    }

    public var count: Int { featureCount > 0 ? features.count / featureCount : 0 }

    /// Entries per period, in `periodNames` order.
    public var periodCounts: [Int] {
        var counts = [Int](repeating: 0, count: periodNames.count)
        for p in periods where p >= 0 && p < counts.count { counts[p] += 1 }
        return counts
    }

    /// The bank restricted to `entries` (indices, kept in the order given), periods renumbered to
    /// those still present.
    public func subset(_ entries: [Int]) -> MemoryBank {
        let f = featureCount, d = dimension
        var kept: [Int: Int] = [:], names: [String] = []
        for p in Set(entries.map { periods[$0] }).sorted() { kept[p] = names.count; names.append(periodNames[p]) }
        var feats: [Float] = []; feats.reserveCapacity(entries.count * f)
        var emb: [Float]? = embeddings.map { _ in [] }
        for i in entries {
            feats += features[i * f ..< (i + 1) * f]
            if let e = embeddings { emb?.append(contentsOf: e[i * d ..< (i + 1) * d]) }
        }
        return MemoryBank(features: feats, featureCount: f, embeddings: emb, dimension: d,
                          periods: entries.map { kept[periods[$0]] ?? 0 }, periodNames: names)
    }

    /// This bank followed by `other`'s entries as new periods (same features and dimension).
    public func appending(_ other: MemoryBank) -> MemoryBank {
        let offset = periodNames.count
        var e: [Float]?
        if let mine = embeddings, let theirs = other.embeddings { e = mine + theirs }
        return MemoryBank(features: features + other.features, featureCount: featureCount, embeddings: e, dimension: dimension,
                          periods: periods + other.periods.map { $0 + offset }, periodNames: periodNames + other.periodNames)
    }

    /// What the nearest-neighbour search compares: count x dimension.
    public var searchVectors: [Float] { embeddings ?? features }

    /// Which of `rows` go into a bank of at most `limit` entries: all of them in order when they
    /// fit, else a uniform sample drawn with `seed`, kept in the original order.
    public static func select(_ rows: [Int], limit: Int, seed: UInt64) -> [Int] {
        guard rows.count > limit else { return rows }
        var rng = SeededGenerator(seed: seed ^ 0xBA5E_BA4C)
        var positions = Array(rows.indices)
        positions.shuffle(using: &rng)
        return positions.prefix(limit).sorted().map { rows[$0] }
    }
}

/// Which baseline period each row of a training table belongs to: an hour, a day, a file of the
/// user's baseline. Periods are what cross-period calibration scores against each other, and what
/// `update` adds and retires.
public struct BaselinePeriods: Sendable, Equatable {
    /// Per table row: an index into `names`, or -1 for rows of no period (attacks).
    public var ofRow: [Int]
    /// The periods, oldest first.
    public var names: [String]

    public init(ofRow: [Int], names: [String]) {
        self.ofRow = ofRow
        self.names = names
    }

    /// Every source file of the table is a period; files are ordered by their earliest timestamp
    /// when the table has timestamps, else in load order.
    public static func byFile(_ table: FlowTable) -> BaselinePeriods {
        var earliest = [Double](repeating: .infinity, count: table.sourceFiles.count)
        if let t = table.timestamps {
            for i in 0..<table.rowCount where t[i].isFinite {
                let f = Int(table.rowFiles[i])
                if f >= 0, f < earliest.count { earliest[f] = min(earliest[f], t[i]) }
            }
        }
        let order = table.sourceFiles.indices.sorted { (earliest[$0], $0) < (earliest[$1], $1) }
        var rank = [Int](repeating: -1, count: table.sourceFiles.count)
        for (r, f) in order.enumerated() { rank[f] = r }
        let names = order.map { URL(fileURLWithPath: table.sourceFiles[$0]).lastPathComponent }
        let ofRow = (0..<table.rowCount).map { i -> Int in
            let f = Int(table.rowFiles[i])
            return f >= 0 && f < rank.count ? rank[f] : -1
        }
        return BaselinePeriods(ofRow: ofRow, names: names.isEmpty ? ["baseline"] : names)
    }
}
