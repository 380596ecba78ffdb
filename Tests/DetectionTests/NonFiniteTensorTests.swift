import Detection
import Backend
import Foundation
@testable import Siamese
import XCTest

/// Divergence caught from the tensors themselves, whatever the loss says, and non-finite models
/// never written.
final class NonFiniteTensorTests: XCTestCase {
    func testNetworkNamesTheFirstNonFiniteWeightOrGradient() throws {
        let cpu = CPUBackend()
        let net = try SiameseNetwork(backend: cpu, config: smallConfig)
        try net.initialize(seed: 3)
        XCTAssertNil(try net.firstNonFiniteTensor())
        let weight = net.parameters[1]
        var values = try cpu.download(weight.value)
        values[values.count - 1] = .nan
        try cpu.upload(values, to: weight.value)
        XCTAssertEqual(try net.firstNonFiniteTensor(), weight.name)
        values[values.count - 1] = 0
        try cpu.upload(values, to: weight.value)
        var gradient = try cpu.download(try net.parameters[2].gradient())
        gradient[0] = -.infinity
        try cpu.upload(gradient, to: try net.parameters[2].gradient())
        XCTAssertEqual(try net.firstNonFiniteTensor(), "the gradient of \(net.parameters[2].name)")
    }

    func testAModelWithNaNIsNeverWritten() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpu-train-nonfinite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("m.safetensors")
        var model = try Trainer(backend: CPUBackend(), config: smallConfig, options: quickOptions(epochs: 1))
            .train(table: syntheticTable(), checkpoint: url)
        let before = try Data(contentsOf: url)
        model.tensors["conv1.weight"]?.values[0] = .nan
        XCTAssertThrowsError(try model.write(to: url)) { error in
            let text = "\(error)"
            XCTAssert(text.contains("conv1.weight") && text.contains("not written") && text.contains(url.path), text)
        }
        XCTAssertEqual(try Data(contentsOf: url), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["m.safetensors"])
    }
}
