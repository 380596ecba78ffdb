import Backend
import Siamese

/// How a detector turns search vectors (the encoder's embeddings, or the transformed features
/// with no encoder) into scores: one protocol for both recipes, so `Detector` has no branch on
/// the recipe. `nearest` names each flow's reference for explanations (a bank entry), or -1.
public protocol FlowScorer: AnyObject {
    func scores(queries: Tensor, count: Int) throws -> (scores: [Float], nearest: [Int])
}

extension BankScorer: FlowScorer {
    public func scores(queries: Tensor, count: Int) throws -> (scores: [Float], nearest: [Int]) {
        try scores(queryTensor: queries, count: count)
    }
}

/// The seed recipe's score (the original work): the similarity of a query q to a support s is the
/// model's own notion of "same class": BCE models sigmoid(head(|e_q - e_s|)), contrastive models
/// max(0, 1 - ||e_q - e_s|| / margin); `ScoreMethod` combines these into a score in [0, 1].
public final class SupportScorer: FlowScorer {
    let embeddings: [Float]
    let malicious: [Bool]
    let config: ModelConfig
    let method: ScoreMethod
    let headWeights: [Float]
    let headBias: Float
    let backend: Backend
    var dim: Int { config.embedding }

    public init(embeddings: [Float], malicious: [Bool], config: ModelConfig, method: ScoreMethod, headWeights: [Float],
                headBias: Float, backend: Backend) {
        self.embeddings = embeddings
        self.malicious = malicious
        self.config = config
        self.method = method
        self.headWeights = headWeights
        self.headBias = headBias
        self.backend = backend
    }

    /// Similarity of embedding `q` (dim floats at `query`) to support `j`, in [0, 1].
    @inline(__always)
    func similarity(_ query: UnsafePointer<Float>, support j: Int) -> Float {
        embeddings.withUnsafeBufferPointer { s in
            guard let base = s.baseAddress else { return 0 }
            let row = base + j * dim
            switch config.loss {
            case .bce:
                var z = headBias
                headWeights.withUnsafeBufferPointer { w in
                    for k in 0..<dim { z += w[k] * abs(query[k] - row[k]) }
                }
                return sigmoid(z)
            case .contrastive:
                var sq: Float = 0
                for k in 0..<dim { let d = query[k] - row[k]; sq += d * d }
                return max(0, 1 - sq.squareRoot() / config.margin)
            }
        }
    }

    /// Combines similarities into a score, skipping support `excluded` (for leave-one-out).
    func score(_ query: UnsafePointer<Float>, excluding excluded: Int = -1) -> Float {
        var benignSum: Float = 0, benignMax: Float = 0, benignCount = 0
        var maliciousSum: Float = 0, maliciousCount = 0
        for j in malicious.indices where j != excluded {
            let s = similarity(query, support: j)
            if malicious[j] {
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


    public func scores(queries: Tensor, count n: Int) throws -> (scores: [Float], nearest: [Int]) {
        let e = try backend.download(queries)
        guard e.count == n * dim else { throw SiameseError.invalidData("scores: \(e.count) values for \(n) embeddings of \(dim)") }
        return e.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return ([], []) }
            return ((0..<n).map { score(base + $0 * dim) }, [Int](repeating: -1, count: n))
        }
    }

    /// Leave-one-out scores of the supports: each scored against the other supports.
    public func leaveOneOutScores() -> [Float] {
        embeddings.withUnsafeBufferPointer { e in
            guard let base = e.baseAddress else { return [] }
            return malicious.indices.map { score(base + $0 * dim, excluding: $0) }
        }
    }
}
