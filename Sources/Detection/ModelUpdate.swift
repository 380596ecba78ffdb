import Siamese
import Backend
import FlowData
import Foundation

/// Keeps a baseline-recipe model current without retraining: new periods of normal traffic join
/// the memory bank, the oldest periods leave when the bank is over its capacity, and the threshold
/// is calibrated again across the periods now held.
public enum ModelUpdate {
    public struct Result {
        public var model: TrainedModel
        /// Periods that left the bank (oldest first), and new flows left out by subsampling.
        public var retiredPeriods: [String]
        public var subsampledAway: Int
        public var previousThreshold: Double
    }

    /// Adds `table`'s rows as new periods (`periods` by row; -1 rows are skipped). Their features
    /// go through the model's own transform (refitting it would move every stored bank flow), and
    /// through its encoder when it has one. The bank holds at most `capacity` flows (default: the
    /// model's bank size): whole periods leave oldest first, and only when the periods left are
    /// still over capacity are they subsampled (with `seed`, evenly across periods).
    public static func apply(to model: TrainedModel, table: FlowTable, periods: BaselinePeriods, backend: Backend,
                             capacity: Int? = nil, seed: UInt64? = nil, podNames: KubernetesDirectory? = nil) throws -> Result {
        guard model.options.recipe == .baseline, let bank = model.bank else {
            throw SiameseError.invalidConfiguration("update adds baseline periods to a baseline-recipe model; this model uses the seed recipe")
        }
        try model.scaler.checkCompatible(table)
        let limit = capacity ?? model.options.bankSize
        guard limit > model.options.k else {
            throw SiameseError.invalidConfiguration("--bank-size \(limit) must be above the model's k (\(model.options.k))")
        }
        let rows = (0..<table.rowCount).filter { $0 < periods.ofRow.count && periods.ofRow[$0] >= 0 }
        guard !rows.isEmpty else { throw SiameseError.invalidData("the new baseline has no flows") }
        let (rowPeriods, names) = Trainer.bankPeriods(rows: rows, periods: periods)
        let features = model.scaler.scale(values: table.subset(rows).values)
        var network: SiameseNetwork?
        if model.usesNetwork {
            let n = try SiameseNetwork(backend: backend, config: model.config, training: false)
            try model.load(into: n)
            network = n
        }
        var embeddings: [Float]?
        if let network { embeddings = try network.embed(scaledRows: features, featureCount: model.scaler.featureCount) }
        let added = MemoryBank(features: features, featureCount: bank.featureCount, embeddings: embeddings,
                               dimension: bank.dimension, periods: rowPeriods, periodNames: names)
        var merged = bank.appending(added)
        // Retire whole periods, oldest first, while the bank is over capacity and newer ones remain.
        var retired: [String] = []
        var counts = merged.periodCounts
        var first = 0
        while counts[first...].reduce(0, +) > limit && first < counts.count - 1 {
            retired.append(merged.periodNames[first])
            first += 1
        }
        if first > 0 { merged = merged.subset((0..<merged.count).filter { merged.periods[$0] >= first }) }
        counts = merged.periodCounts
        var subsampledAway = 0
        if merged.count > limit {
            // Even shares per period, so that no period crowds out the others.
            var keep: [Int] = []
            let share = max(1, limit / max(counts.count, 1))
            for p in counts.indices {
                let members = (0..<merged.count).filter { merged.periods[$0] == p }
                keep += MemoryBank.select(members, limit: share, seed: (seed ?? model.options.seed) &+ UInt64(p))
            }
            keep.sort()
            subsampledAway = merged.count - keep.count
            merged = merged.subset(keep)
        }
        var updated = model
        updated.bank = merged
        // Edges only grow: a retired period's edges stay known (the model does not record which
        // period brought an edge).
        if let known = model.edges, let e = table.endpoints {
            guard model.edgeKeys == .address || podNames != nil else {
                throw SiameseError.invalidConfiguration("this model keeps its edges by workload: give the new periods' pod list too (--k8s-pods)")
            }
            updated.edges = known.union(rows.map { EdgeKeys.key(endpoint: e[$0], names: model.edgeKeys == .workload ? podNames : nil) })
        }
        let detector = try Detector(model: updated, network: network, backend: backend)
        (updated.threshold, updated.calibration) = try ThresholdFitting.fit(detector: detector)
        if capacity != nil { updated.options.bankSize = limit }
        return Result(model: updated, retiredPeriods: retired, subsampledAway: subsampledAway, previousThreshold: model.threshold)
    }
}
