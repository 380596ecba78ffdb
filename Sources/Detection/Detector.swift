import Siamese
import Backend
import FlowData
import Foundation
import Reporting

/// Scores flows with a trained model.
///
/// Baseline recipe: a flow is embedded (by the Siamese encoder, or left as its transformed
/// feature vector with `--encoder none`) and its score is the Euclidean distance to the k-th
/// nearest entry of the model's memory bank, found by `Backend.nearestNeighbors` with the bank
/// kept on the device.
///
/// Seed recipe (the original work): the similarity of a query q to a support s is the model's
/// own notion of "same class": BCE models sigmoid(head(|e_q - e_s|)), contrastive models
/// max(0, 1 - ||e_q - e_s|| / margin); the score in [0, 1] combines these as `ScoreMethod` says.
///
/// Either way a flow is malicious when its score is at least the model's threshold.
public final class Detector {
    public let model: TrainedModel
    /// The encoder; nil for the baseline recipe with `--encoder none`.
    public let network: SiameseNetwork?
    public let backend: Backend
    public let method: ScoreMethod
    public let batchSize: Int
    /// Turns search vectors into scores: the bank (baseline recipe) or the support set (seed recipe).
    public let scorer: FlowScorer

    /// Builds the network (when the model has one) on `backend` and loads the model's weights.
    public convenience init(model: TrainedModel, backend: Backend, method: ScoreMethod? = nil, batchSize: Int = 256) throws {
        var network: SiameseNetwork?
        if model.usesNetwork {
            let n = try SiameseNetwork(backend: backend, config: model.config, training: false)
            try model.load(into: n)
            network = n
        }
        try self.init(model: model, network: network, backend: backend, method: method, batchSize: batchSize)
    }

    /// Uses a network that already holds the model's weights (the trainer's own), or none.
    public init(model: TrainedModel, network: SiameseNetwork?, backend: Backend, method: ScoreMethod? = nil,
                batchSize: Int = 256) throws {
        // The weights live in the network now; keep only the head's on the host.
        var kept = model
        kept.tensors = model.tensors.filter { $0.key.hasPrefix("head.") }
        self.model = kept
        self.method = method ?? model.options.scoreMethod
        self.batchSize = max(1, batchSize)
        self.network = network
        self.backend = backend
        guard !model.usesNetwork || network != nil else {
            throw SiameseError.invalidConfiguration("this model needs its encoder network to score flows")
        }
        if model.options.recipe == .baseline {
            guard let bank = model.bank, bank.count > 0 else {
                throw SiameseError.invalidData("a baseline-recipe model needs its memory bank")
            }
            scorer = try BankScorer(backend: backend, vectors: bank.searchVectors,
                                    dimension: bank.embeddings == nil ? bank.featureCount : bank.dimension, k: model.options.k,
                                    clip: model.options.searchClip)
        } else {
            guard let network else { throw SiameseError.invalidConfiguration("the seed recipe needs the encoder network") }
            let images = (0..<model.support.count).flatMap { model.support.image($0) }
            scorer = SupportScorer(embeddings: try network.embed(images: images, count: model.support.count),
                                   malicious: model.support.malicious, config: model.config, method: self.method,
                                   headWeights: kept.tensors["head.weight"]?.values ?? [],
                                   headBias: kept.tensors["head.bias"]?.values.first ?? 0, backend: backend)
        }
    }

    // MARK: Scoring

    /// The search vectors of `n` scaled rows starting at `start`, as a device tensor [n, D]: the
    /// encoder's embeddings, or the rows themselves with no encoder.
    private func queryTensor(_ scaledRows: [Float], start: Int, count n: Int) throws -> Tensor {
        let f = model.scaler.featureCount
        if let network {
            var images = [Float](repeating: 0, count: n * FlowImage.pixelCount)
            for i in 0..<n {
                let img = FlowImage.render(scaledRows[(start + i) * f ..< (start + i + 1) * f])
                images.replaceSubrange(i * FlowImage.pixelCount ..< (i + 1) * FlowImage.pixelCount, with: img)
            }
            return try network.embedOnDevice(images: images, count: n)
        }
        let t = try backend.makeTensor([n, f])
        try backend.upload(Array(scaledRows[start * f ..< (start + n) * f]), to: t)
        return t
    }

    /// Scores of already-scaled rows (count x F) and, for the baseline recipe, each row's nearest
    /// bank entry (for explanations; -1 for the seed recipe).
    public func scoresAndNeighbors(scaledRows: [Float], count: Int) throws -> (scores: [Float], nearest: [Int]) {
        let f = model.scaler.featureCount
        guard scaledRows.count == count * f else {
            throw SiameseError.invalidData("scores: \(scaledRows.count) values for \(count) rows of \(f) features")
        }
        var scores: [Float] = [], nearest: [Int] = []
        scores.reserveCapacity(count)
        nearest.reserveCapacity(count)
        var start = 0
        while start < count {
            let n = min(batchSize, count - start)
            let (s, near) = try scorer.scores(queries: try queryTensor(scaledRows, start: start, count: n), count: n)
            scores += s
            nearest += near
            start += n
        }
        return (scores, nearest)
    }

    /// Scores of already-scaled rows (count x F).
    public func scores(scaledRows: [Float], count: Int) throws -> [Float] {
        try scoresAndNeighbors(scaledRows: scaledRows, count: count).scores
    }

    /// Scores raw (unscaled, NaN = missing) rows with the model's scaler.
    public func scores(rawRows: [Float], count: Int) throws -> [Float] {
        try scores(scaledRows: model.scaler.scale(values: rawRows), count: count)
    }

    /// Scores every row of a table loaded with the model's features.
    public func scores(_ table: FlowTable) throws -> [Float] {
        try model.scaler.checkCompatible(table)
        return try scores(rawRows: table.values, count: table.rowCount)
    }

    // MARK: Explanations

    /// The features of a scaled row that differ most from its reference flow (the nearest bank
    /// entry, or for the seed recipe the nearest benign support in feature space), largest
    /// |difference| first, as (name, signed difference in transformed units: standard deviations
    /// of the baseline for the quantile and z-score transforms). At most `top`, and only those
    /// differing by at least 0.05.
    public func explanation(scaledRow: ArraySlice<Float>, nearest: Int, top: Int = 3) -> [(feature: String, deviation: Float)] {
        let f = model.scaler.featureCount
        let row = Array(scaledRow)
        guard row.count == f else { return [] }
        var reference: ArraySlice<Float>?
        if let bank = model.bank, nearest >= 0, nearest < bank.count {
            reference = bank.features[nearest * f ..< (nearest + 1) * f]
        } else {
            // Nearest benign support by transformed features.
            var best = Float.infinity
            for j in 0..<model.support.count where !model.support.malicious[j] {
                let s = model.support.features[j * f ..< (j + 1) * f]
                var d: Float = 0
                for (a, b) in zip(row, s) { d += (a - b) * (a - b) }
                if d < best { best = d; reference = s }
            }
        }
        guard let reference else { return [] }
        let deviations = zip(row, reference).map { $0 - $1 }
        // Differences that would print as 0.0 explain nothing: a flow equal to its reference has
        // an empty explanation.
        return deviations.indices.filter { abs(deviations[$0]) >= 0.05 }
            .sorted { abs(deviations[$0]) != abs(deviations[$1]) ? abs(deviations[$0]) > abs(deviations[$1]) : $0 < $1 }
            .prefix(top).map { (model.scaler.featureNames[$0], deviations[$0]) }
    }

    /// `explanation` in the flow meter's units: each feature's raw value in the flow beside the
    /// reference flow's (the nearest bank flow's, brought back through the transform), for people:
    /// "Total Length of Bwd Packet 18,630 vs 18,738".
    public func rawExplanation(rawRow: ArraySlice<Float>, scaledRow: ArraySlice<Float>, nearest: Int,
                               top: Int = 3) -> [(feature: String, value: Float, baseline: Float, deviation: Float)] {
        let names = model.scaler.featureNames
        let raw = Array(rawRow), scaled = Array(scaledRow)
        return explanation(scaledRow: scaledRow, nearest: nearest, top: top).compactMap { reason in
            guard let j = names.firstIndex(of: reason.feature), j < raw.count, j < scaled.count else { return nil }
            let reference = scaled[j] - reason.deviation
            return (reason.feature, raw[j], model.scaler.unscale(reference, feature: j), reason.deviation)
        }
    }

    /// A number as people read it: thousands separated, at most 3 significant decimals.
    public static func readable(_ v: Float) -> String {
        guard v.isFinite else { return v.isNaN ? "missing" : (v > 0 ? "inf" : "-inf") }
        if abs(v) >= 1000 || v == v.rounded() {
            let formatter = NumberFormatter()
            formatter.numberStyle = .decimal
            formatter.maximumFractionDigits = 0
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.usesGroupingSeparator = true
            formatter.groupingSeparator = ","
            formatter.groupingSize = 3
            return formatter.string(from: NSNumber(value: Double(v.rounded()))) ?? String(format: "%.0f", v)
        }
        return String(format: "%.3g", v)
    }

    /// `explanation` as one field: "Flow IAT Max +4.1; Bwd Init Win Bytes -3.2; ...".
    public func explanationText(scaledRow: ArraySlice<Float>, nearest: Int, top: Int = 3) -> String {
        Self.explanationText(explanation(scaledRow: scaledRow, nearest: nearest, top: top))
    }

    /// An explanation as one field.
    public static func explanationText(_ reasons: [(feature: String, deviation: Float)]) -> String {
        reasons.map { String(format: "%@ %+.1f", $0.feature, $0.deviation) }.joined(separator: "; ")
    }

    /// A flow's edge as the model's `edges` hold it: source address to destination address and
    /// port ("10.16.0.5>10.96.0.1:443"), the same form as `FlowTable.endpoints`.
    public static func edge(source: String, destination: String, port: String) -> String {
        source.trimmingCharacters(in: .whitespaces) + ">" + destination.trimmingCharacters(in: .whitespaces) + ":"
            + port.trimmingCharacters(in: .whitespaces)
    }

    /// The verdict for a score under the model's threshold.
    public func isMalicious(_ score: Float) -> Bool { Double(score) >= model.threshold }
}
