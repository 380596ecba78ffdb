import Backend
import FlowData
import Foundation
import Reporting

/// Scores flows against a trained model's support set.
///
/// The support set is encoded once; queries are embedded in batches through the backend.
/// The similarity of a query q to a support s is the model's own notion of "same class":
/// BCE models: sigmoid(head(|e_q - e_s|)); contrastive models: max(0, 1 - ||e_q - e_s|| / margin).
/// The anomaly score in [0, 1] combines these similarities as `ScoreMethod` says; a flow is
/// malicious when its score is at least the model's threshold.
public final class Detector {
    public let model: TrainedModel
    public let network: SiameseNetwork
    public let method: ScoreMethod
    public let batchSize: Int
    let supportEmbeddings: [Float]
    let headWeights: [Float]
    let headBias: Float
    var dim: Int { model.config.embedding }

    /// Builds the network on `backend` and loads the model's weights into it.
    public convenience init(model: TrainedModel, backend: Backend, method: ScoreMethod? = nil, batchSize: Int = 256) throws {
        let network = try SiameseNetwork(backend: backend, config: model.config, training: false)
        try model.load(into: network)
        try self.init(model: model, network: network, method: method, batchSize: batchSize)
    }

    /// Uses a network that already holds the model's weights (the trainer's own).
    public init(model: TrainedModel, network: SiameseNetwork, method: ScoreMethod? = nil, batchSize: Int = 256) throws {
        // The weights live in the network now; keep only the head's on the host.
        var kept = model
        kept.tensors = model.tensors.filter { $0.key.hasPrefix("head.") }
        self.model = kept
        self.method = method ?? model.options.scoreMethod
        self.batchSize = max(1, batchSize)
        self.network = network
        let images = (0..<model.support.count).flatMap { model.support.image($0) }
        supportEmbeddings = try network.embed(images: images, count: model.support.count)
        headWeights = kept.tensors["head.weight"]?.values ?? []
        headBias = kept.tensors["head.bias"]?.values.first ?? 0
    }

    /// Similarity of embedding `q` (dim floats at `query`) to support `j`, in [0, 1].
    @inline(__always)
    func similarity(_ query: UnsafePointer<Float>, support j: Int) -> Float {
        supportEmbeddings.withUnsafeBufferPointer { s in
            let row = s.baseAddress! + j * dim
            switch model.config.loss {
            case .bce:
                var z = headBias
                headWeights.withUnsafeBufferPointer { w in
                    for k in 0..<dim { z += w[k] * abs(query[k] - row[k]) }
                }
                return sigmoid(z)
            case .contrastive:
                var sq: Float = 0
                for k in 0..<dim { let d = query[k] - row[k]; sq += d * d }
                return max(0, 1 - sq.squareRoot() / model.config.margin)
            }
        }
    }

    /// Combines similarities into a score, skipping support `excluded` (for leave-one-out).
    func score(_ query: UnsafePointer<Float>, excluding excluded: Int = -1) -> Float {
        var benignSum: Float = 0, benignMax: Float = 0, benignCount = 0
        var maliciousSum: Float = 0, maliciousCount = 0
        for j in 0..<model.support.count where j != excluded {
            let s = similarity(query, support: j)
            if model.support.malicious[j] {
                maliciousSum += s; maliciousCount += 1
            } else {
                benignSum += s; benignCount += 1; benignMax = max(benignMax, s)
            }
        }
        let benignMean = benignCount > 0 ? benignSum / Float(benignCount) : 0
        switch method {
        case .benignMean: return 1 - benignMean
        case .benignMax: return 1 - benignMax
        case .contrast:
            let maliciousMean = maliciousCount > 0 ? maliciousSum / Float(maliciousCount) : 0
            return (1 + maliciousMean - benignMean) / 2
        }
    }

    /// Scores of already-scaled rows (count x F).
    public func scores(scaledRows: [Float], count: Int) throws -> [Float] {
        let f = model.support.featureCount
        guard scaledRows.count == count * f else {
            throw SiameseError.invalidData("scores: \(scaledRows.count) values for \(count) rows of \(f) features")
        }
        var out: [Float] = []
        out.reserveCapacity(count)
        var start = 0
        while start < count {
            let n = min(batchSize, count - start)
            var images = [Float](repeating: 0, count: n * FlowImage.pixelCount)
            for i in 0..<n {
                let img = FlowImage.render(scaledRows[(start + i) * f ..< (start + i + 1) * f])
                images.replaceSubrange(i * FlowImage.pixelCount ..< (i + 1) * FlowImage.pixelCount, with: img)
            }
            let embeddings = try network.embed(images: images, count: n)
            embeddings.withUnsafeBufferPointer { e in
                for i in 0..<n { out.append(score(e.baseAddress! + i * dim)) }
            }
            start += n
        }
        return out
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

    /// Leave-one-out scores of the support flows: each scored against the other supports.
    public func supportScores() -> [Float] {
        supportEmbeddings.withUnsafeBufferPointer { e in
            (0..<model.support.count).map { score(e.baseAddress! + $0 * dim, excluding: $0) }
        }
    }

    /// The decision threshold from the support set only: the F1-maximising cut of the
    /// leave-one-out support scores (see `BinaryMetrics.chooseThreshold`).
    public func chooseThreshold() throws -> Double {
        try BinaryMetrics.chooseThreshold(scores: supportScores(), labels: model.support.malicious, criterion: .f1)
    }

    /// The verdict for a score under the model's threshold.
    public func isMalicious(_ score: Float) -> Bool { Double(score) >= model.threshold }
}
