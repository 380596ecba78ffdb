import Backend
@testable import Siamese
import TestSupport
import XCTest

/// Inference in batches of any size: the embeddings do not depend on the batch, and a stream of
/// batch sizes keeps one workspace per power of two.
final class InferenceBatchTests: XCTestCase {
    let config = ModelConfig(imageSide: 8, channels: [4, 8, 8, 8], kernels: [5, 3, 3, 3], embedding: 16, loss: .bce, margin: 1)

    func testSizeClassesArePowersOfTwo() {
        XCTAssertEqual([1, 2, 3, 4, 5, 8, 9, 255, 256, 257].map(SiameseNetwork.inferenceImages(for:)),
                       [1, 2, 4, 4, 8, 8, 16, 256, 256, 512])
    }

    /// Also with layers wide enough for the CPU's default Winograd path (conv3: 32 -> 32 on 2x2),
    /// whose thread split changes with the batch (output channels for 1 to 3 images).
    let wide = ModelConfig(imageSide: 8, channels: [4, 32, 32, 32], kernels: [5, 3, 3, 3], embedding: 16, loss: .bce, margin: 1)

    func testEmbeddingsDoNotDependOnTheBatch() throws {
        try embeddingsDoNotDependOnTheBatch(config)
        try embeddingsDoNotDependOnTheBatch(wide)
    }

    func embeddingsDoNotDependOnTheBatch(_ config: ModelConfig) throws {
        let backend = CPUBackend()
        let network = try SiameseNetwork(backend: backend, config: config, training: false)
        try network.initialize(seed: 4)
        var r = TestRandom(seed: 11)
        let pixels = config.imageSide * config.imageSide, count = 11
        let images = r.uniform(count * pixels, 0, 1)
        // One image at a time (workspaces of 1), then every batch size from 2 to 11.
        let single = try (0..<count).flatMap { i in
            try network.embed(images: Array(images[i * pixels ..< (i + 1) * pixels]), count: 1)
        }
        for n in 2...count {
            let batch = try network.embed(images: Array(images[0 ..< n * pixels]), count: n)
            XCTAssertEqual(batch, Array(single[0 ..< n * config.embedding]), "batch of \(n)")
        }
        // Sizes 1...11 fall in the classes 1, 2, 4, 8 and 16.
        XCTAssertEqual(network.workspaceCount, 5)
        let tensor = try network.embedOnDevice(images: Array(images[0 ..< 3 * pixels]), count: 3)
        XCTAssertEqual(tensor.shape, [3, config.embedding])
    }
}
