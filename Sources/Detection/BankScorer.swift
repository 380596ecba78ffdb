import Siamese
import Backend

/// The baseline recipe's score: the distance from a flow's search vector (its transformed
/// features, or its embedding) to the k-th nearest entry of a memory bank, through
/// `Backend.nearestNeighbors` with the bank kept on the device.
///
/// The distance clips each feature's difference at `clip` (`Backend.nearestNeighbors`), so a
/// feature that drifted between periods adds at most clip^2. Comparing a flow only with baseline
/// flows of its own service was tried and changed almost nothing (the nearest neighbour is nearly
/// always of the same service already; docs/RESULTS.md), so every flow is compared with the whole bank.
public final class BankScorer {
    public let backend: Backend
    public let k: Int
    public let dimension: Int
    public let count: Int
    /// Per-coordinate clip of the distance (+infinity: Euclidean).
    public let clip: Float
    let bank: Tensor

    /// `vectors`: the bank's search vectors, count x dimension.
    public init(backend: Backend, vectors: [Float], dimension: Int, k: Int, clip: Float = .infinity) throws {
        guard dimension > 0, vectors.count % dimension == 0, vectors.count / dimension > 0 else {
            throw SiameseError.invalidData("the memory bank is empty or its vectors are not rows of \(dimension)")
        }
        self.backend = backend
        self.k = k
        self.dimension = dimension
        self.count = vectors.count / dimension
        self.clip = clip
        guard count >= k else {
            throw SiameseError.invalidData("the memory bank has \(count) flows; k = \(k) needs at least \(k)")
        }
        bank = try backend.makeTensor([count, dimension])
        try backend.upload(vectors, to: bank)
    }

    /// The k-th nearest distance of each of `n` query vectors already on the device, and the
    /// index of its nearest bank entry (for explanations).
    public func scores(queryTensor: Tensor, count n: Int) throws -> (scores: [Float], nearest: [Int]) {
        let d = try backend.makeTensor([n, k]), ix = try backend.makeTensor([n, k])
        try backend.nearestNeighbors(queries: queryTensor, bank: bank, k: k, clip: clip, distances: d, indices: ix)
        let dist = try backend.download(d), idx = try backend.download(ix)
        return ((0..<n).map { dist[$0 * k + k - 1] }, (0..<n).map { Int(idx[$0 * k]) })
    }

    /// The same for query vectors on the host (n x dimension).
    public func scores(queries: [Float], count n: Int) throws -> (scores: [Float], nearest: [Int]) {
        guard queries.count == n * dimension else {
            throw SiameseError.invalidData("scores: \(queries.count) values for \(n) queries of \(dimension)")
        }
        let q = try backend.makeTensor([n, dimension])
        try backend.upload(queries, to: q)
        return try scores(queryTensor: q, count: n)
    }
}
