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

    public init(features: [Float], featureCount: Int, embeddings: [Float]?, dimension: Int) {
        self.features = features
        self.featureCount = featureCount
        self.embeddings = embeddings
        self.dimension = dimension
    }

    public var count: Int { featureCount > 0 ? features.count / featureCount : 0 }

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
