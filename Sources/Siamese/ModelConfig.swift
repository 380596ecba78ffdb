import Backend

/// Which loss trains the network.
public enum LossKind: String, Codable, Sendable, CaseIterable {
    /// Binary cross-entropy on the head's sigmoid output (label 1 = same class).
    case bce
    /// Contrastive loss with a margin on the Euclidean distance between embeddings.
    case contrastive
}

/// The architecture: encoder Conv(c1, 5x5) - Pool - Conv(c2, 3x3) - Pool - Conv(c3, 3x3) - Pool -
/// Conv(c4, 3x3) - Flatten - Dense(embedding, sigmoid); head Dense(1, sigmoid) on |e1 - e2|.
public struct ModelConfig: Codable, Equatable, Sendable {
    public var imageSide: Int
    public var channels: [Int]
    public var kernels: [Int]
    public var embedding: Int
    public var loss: LossKind
    /// Contrastive margin (unused by BCE).
    public var margin: Float

    /// The network of the original work.
    public static let `default` = ModelConfig(imageSide: 32, channels: [64, 128, 128, 256], kernels: [5, 3, 3, 3],
                                              embedding: 4096, loss: .bce, margin: 1.0)

    public init(imageSide: Int, channels: [Int], kernels: [Int], embedding: Int, loss: LossKind, margin: Float) {
        self.imageSide = imageSide
        self.channels = channels
        self.kernels = kernels
        self.embedding = embedding
        self.loss = loss
        self.margin = margin
    }

    /// Spatial side of each conv layer's input: pooled (ceil) after every layer but the last.
    public var layerSides: [Int] {
        var sides: [Int] = []
        var s = imageSide
        for i in 0..<channels.count {
            sides.append(s)
            if i < channels.count - 1 { s = (s + 1) / 2 }
        }
        return sides
    }

    /// Length of the flattened last feature map.
    public var flattened: Int {
        let s = layerSides.last ?? imageSide
        return (channels.last ?? 1) * s * s
    }

    /// Every parameter's name and shape, in a fixed order. Dense weights are [in, out].
    public var parameterShapes: [(name: String, shape: [Int])] {
        var out: [(String, [Int])] = []
        var inC = 1
        for (i, (c, k)) in zip(channels, kernels).enumerated() {
            out.append(("conv\(i + 1).weight", [c, inC, k, k]))
            out.append(("conv\(i + 1).bias", [c]))
            inC = c
        }
        out.append(("embed.weight", [flattened, embedding]))
        out.append(("embed.bias", [embedding]))
        if loss == .bce {
            out.append(("head.weight", [embedding, 1]))
            out.append(("head.bias", [1]))
        }
        return out
    }

    public var parameterCount: Int { parameterShapes.reduce(0) { $0 + $1.shape.reduce(1, *) } }

    /// Checks that the configuration describes a network this code can build.
    public func validate() throws {
        guard imageSide > 0, !channels.isEmpty, channels.count == kernels.count, embedding > 0,
              channels.allSatisfy({ $0 > 0 }), kernels.allSatisfy({ $0 > 0 && $0 % 2 == 1 }) else {
            throw SiameseError.invalidConfiguration("channels \(channels), kernels \(kernels) (odd), embedding \(embedding), image side \(imageSide)")
        }
        guard margin > 0 || loss == .bce else {
            throw SiameseError.invalidConfiguration("contrastive margin must be positive, got \(margin)")
        }
        try checkSizes()
    }

    /// FLOPs of one training step per pair (forward, both backwards; conv1 needs no input gradient).
    public var trainingFlopsPerPair: Double {
        var flops = 0.0
        var inC = 1
        for (i, (c, k)) in zip(channels, kernels).enumerated() {
            let s = layerSides[i]
            let f = 2.0 * Double(c * inC * k * k * s * s)
            flops += f * (i == 0 ? 2 : 3)
            inC = c
        }
        flops += 3 * 2.0 * Double(flattened * embedding)
        return 2 * flops
    }
}
