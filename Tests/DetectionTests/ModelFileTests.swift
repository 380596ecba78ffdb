import Backend
import FlowData
import Foundation
import Detection
import Siamese
import TestSupport
import XCTest

final class ModelFileTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpu-train-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func trained() throws -> TrainedModel {
        try Trainer(backend: CPUBackend(), config: smallConfig, options: quickOptions(epochs: 2)).train(table: syntheticTable())
    }

    func testWrittenAndReadBackScoresIdentically() throws {
        let model = try trained()
        let url = dir.appendingPathComponent("m.safetensors")
        try model.write(to: url)
        let back = try TrainedModel.read(url)
        XCTAssertEqual(back.config, model.config)
        XCTAssertEqual(back.scaler, model.scaler)
        XCTAssertEqual(back.threshold, model.threshold)
        XCTAssertEqual(back.history, model.history)
        XCTAssertEqual(back.adamStep, model.adamStep)
        let table = syntheticTable(seed: 99)
        let s1 = try Detector(model: model, backend: CPUBackend()).scores(table)
        let s2 = try Detector(model: back, backend: CPUBackend()).scores(table)
        XCTAssertEqual(s1.map(\.bitPattern), s2.map(\.bitPattern))
    }

    func testResumeContinuesTheRun() throws {
        let table = syntheticTable()
        let url = dir.appendingPathComponent("r.safetensors")
        let first = try Trainer(backend: CPUBackend(), config: smallConfig, options: quickOptions(epochs: 2))
            .train(table: table, checkpoint: url)
        var more = first.options
        more.epochs = 4
        let resumed = try Trainer(backend: CPUBackend(), config: smallConfig, options: more)
            .train(table: table, resume: try TrainedModel.read(url), checkpoint: url)
        XCTAssertEqual(resumed.history.map(\.epoch), [1, 2, 3, 4])
        // Resuming reproduces an uninterrupted 4-epoch run bit for bit.
        let straight = try Trainer(backend: CPUBackend(), config: smallConfig, options: more).train(table: table)
        XCTAssertEqual(resumed.history.map { $0.loss.bitPattern }, straight.history.map { $0.loss.bitPattern })
    }

    func testBadFilesSayWhatIsWrong() throws {
        let url = dir.appendingPathComponent("m.safetensors")
        try trained().write(to: url)
        let good = try Data(contentsOf: url)
        func message(_ data: Data) -> String {
            let bad = dir.appendingPathComponent("bad.safetensors")
            try? data.write(to: bad)
            do { _ = try TrainedModel.read(bad); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(Data()).contains("the file is empty"), message(Data()))
        XCTAssertTrue(message(good.prefix(good.count - 100)).contains("truncated"), message(good.prefix(good.count - 100)))
        XCTAssertTrue(message(good.prefix(20)).contains("truncated"), message(good.prefix(20)))
        XCTAssertTrue(message(Data("hello, this is not a model file at all".utf8)).contains("not plausible"))
        // A valid safetensors file from elsewhere.
        let foreign = try SafeTensors.encode([NamedTensor(name: "w", shape: [2], values: [1, 2])], metadata: [:])
        XCTAssertTrue(message(foreign).contains("foreign"), message(foreign))
        // Corrupt one byte of the JSON header.
        var corrupt = good
        corrupt[10] = 0x7B
        corrupt[11] = 0x7B
        XCTAssertTrue(message(corrupt).contains("not a JSON object") || message(corrupt).contains("malformed"), message(corrupt))
    }

    func testSafeTensorsRoundTripAndLayout() throws {
        let data = try SafeTensors.encode([NamedTensor(name: "a", shape: [2, 2], values: [1, 2, 3, 4]),
                                           NamedTensor(name: "b", shape: [1], values: [-1])], metadata: ["k": "v"])
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(headerLength % 8, 0)
        XCTAssertEqual(data.count, 8 + headerLength + 20)
        let file = try SafeTensors.decode(data, path: "mem")
        XCTAssertEqual(file.tensors["a"]?.values, [1, 2, 3, 4])
        XCTAssertEqual(file.tensors["b"]?.shape, [1])
        XCTAssertEqual(file.metadata["k"], "v")
    }

    func testAtomicWriteLeavesNoTemporaryFiles() throws {
        let url = dir.appendingPathComponent("x.bin")
        try AtomicFile.write(Data([1, 2, 3]), to: url)
        try AtomicFile.write(Data([4]), to: url)
        XCTAssertEqual(try Data(contentsOf: url), Data([4]))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["x.bin"])
        // A folder that does not exist: a clear error, nothing written.
        XCTAssertThrowsError(try AtomicFile.write(Data([1]), to: URL(fileURLWithPath: "/proc/no-such-folder/x.bin")))
    }
}
