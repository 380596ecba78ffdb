import Foundation

/// Losses: the loss and its gradient in one launch, two scalars back to the host (kernels/loss.cl).
extension OpenCLBackend {
    private static let lossGroup = 64

    /// Reads the two scalars a loss kernel left in `lossResult`.
    private func readLossResult() throws -> LossResult {
        let r = try cl.read(lossResult, offset: 0, count: 2)
        return LossResult(loss: r[0], correct: Int(r[1]))
    }

    public func binaryCrossEntropyWithLogits(logits: Tensor, labels: Tensor, logitsGradient: Tensor) throws -> LossResult {
        let op = "binaryCrossEntropyWithLogits"
        try Check.sameCount(op, logits, labels, logitsGradient)
        try cl.launch(kernel("loss", "bce_with_logits", [("LOSS_WG", Self.lossGroup)]),
                      arguments(logits, op) + arguments(labels, op) + arguments(logitsGradient, op) +
                      [.buffer(lossResult.mem), .int(logits.count)],
                      global: [Self.lossGroup], local: [Self.lossGroup])
        return try readLossResult()
    }

    public func contrastiveLoss(_ a: Tensor, _ b: Tensor, labels: Tensor, margin: Float,
                                gradientA: Tensor, gradientB: Tensor) throws -> LossResult {
        let op = "contrastiveLoss"
        let (rows, dim) = try Check.pairs(op, a, b, labels: labels, gradientA, gradientB)
        try cl.launch(kernel("loss", "contrastive", [("LOSS_WG", Self.lossGroup)]),
                      arguments(a, op) + arguments(b, op) + arguments(labels, op) + arguments(gradientA, op) +
                      arguments(gradientB, op) + [.buffer(lossResult.mem), .int(rows), .int(dim), .float(margin)],
                      global: [Self.lossGroup], local: [Self.lossGroup])
        return try readLossResult()
    }
}
