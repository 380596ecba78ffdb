import FlowData

extension SiameseNetwork {
    /// The embeddings of transformed flow rows (count x featureCount, row-major): each row rendered
    /// as its 32x32 image (`FlowImage.render`) and embedded in batches. What a bank holds for a
    /// Siamese model, whether its flows come from training or from `update`.
    public func embed(scaledRows rows: [Float], featureCount f: Int, batch: Int = 256) throws -> [Float] {
        let count = f > 0 ? rows.count / f : 0
        var e: [Float] = []
        e.reserveCapacity(count * config.embedding)
        for start in stride(from: 0, to: count, by: batch) {
            let n = min(batch, count - start)
            var images: [Float] = []
            images.reserveCapacity(n * FlowImage.pixelCount)
            for i in start..<(start + n) { images += FlowImage.render(rows[i * f ..< (i + 1) * f]) }
            e += try embed(images: images, count: n)
        }
        return e
    }
}
