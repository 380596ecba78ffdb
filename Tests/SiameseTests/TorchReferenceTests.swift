import Backend
import Foundation
import Siamese
import TestSupport
import XCTest

/// The trainer's forward loss and every gradient against a PyTorch reference
/// (tools/torch_fixture.py, computed in float64 and stored as float32), on both backends.
final class TorchReferenceTests: XCTestCase {
    static let fixture = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent()
        .appendingPathComponent("Fixtures/torch_reference.safetensors")

    /// float32 forward and backward through 4 convolutions and a dense layer against a float64
    /// reference: relative errors ~1e-6 per op compound to ~1e-5; abs 1e-5 covers gradients that
    /// are near zero (dead ReLU regions, tiny biases).
    let tolerance = Tolerance(absolute: 1e-5, relative: 2e-3)

    func check(_ backend: Backend, loss: LossKind) throws {
        let file = try SafeTensors.read(Self.fixture)
        func tensor(_ name: String) throws -> NamedTensor {
            guard let t = file.tensors[name] else { throw SiameseError.invalidData("fixture has no \(name)") }
            return t
        }
        var config = ModelConfig(imageSide: 32, channels: [4, 8, 8, 16], kernels: [5, 3, 3, 3], embedding: 32,
                                 loss: loss, margin: Float(file.metadata["margin"] ?? "1") ?? 1)
        config.loss = loss
        let network = try SiameseNetwork(backend: backend, config: config)
        try network.importTensors { file.tensors[$0]?.values }
        let result = try network.gradients(left: try tensor("input.left").values, right: try tensor("input.right").values,
                                           labels: try tensor("input.labels").values)
        let prefix = loss == .bce ? "bce" : "contrastive"
        let expectedLoss = try tensor("\(prefix).loss").values[0]
        XCTAssertEqual(result.loss, expectedLoss, accuracy: 1e-5 * max(1, abs(expectedLoss)), "\(backend.name) \(prefix) loss")
        for p in network.parameters {
            let expected = try tensor("\(prefix).grad.\(p.name)")
            XCTAssertEqual(expected.shape, try p.gradient().shape, p.name)
            let c = compare(try backend.download(try p.gradient()), expected.values, tolerance)
            XCTAssert(c.passed, "\(backend.name) \(prefix) d\(p.name): \(c)")
        }
    }

    func testCPUMatchesPyTorch() throws {
        try check(CPUBackend(), loss: .bce)
        try check(CPUBackend(), loss: .contrastive)
    }

    func testOpenCLMatchesPyTorch() throws {
        let (cl, why) = openCLBackend()
        guard let cl else { throw XCTSkip("no OpenCL device: \(why)") }
        try check(cl, loss: .bce)
        try check(cl, loss: .contrastive)
    }
}
