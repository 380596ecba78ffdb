import Backend
import Foundation
import Detection
import Siamese
import XCTest

/// Sizes that come from options or files are computed with overflow checks (issue 13, item 1).
final class SizeOverflowTests: XCTestCase {
    /// A safetensors file with one F32 tensor entry whose shape and offsets are given verbatim.
    func safetensors(shape: String, offsets: String, dataBytes: Int = 0) -> Data {
        var json = Data("{\"w\":{\"dtype\":\"F32\",\"shape\":\(shape),\"data_offsets\":\(offsets)}}".utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        var data = Data()
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(json)
        data.append(Data(count: dataBytes))
        return data
    }

    func decodeError(_ data: Data) -> String {
        do { _ = try SafeTensors.decode(data, path: "m.safetensors"); return "no error" } catch { return "\(error)" }
    }

    func testATensorShapeWhoseSizeOverflowsIsNamedNotReportedAsZeroBytes() {
        // 2^62 x 4 floats x 4 bytes wraps to 0, which the offsets [0, 0] would have matched.
        let m = decodeError(safetensors(shape: "[4611686018427387904, 4]", offsets: "[0, 0]"))
        XCTAssertTrue(m.contains("tensor 'w'") && m.contains("[4611686018427387904, 4]"), m)
        XCTAssertTrue(m.contains("more elements than an Int can count"), m)
        XCTAssertFalse(m.contains("needs 0 bytes"), m)
        // No overflow but beyond what one tensor may hold: the count is given.
        let big = decodeError(safetensors(shape: "[65536, 65536]", offsets: "[0, 0]"))
        XCTAssertTrue(big.contains("4294967296 elements") && big.contains("2147483647"), big)
        // The byte count of a plausible tensor still has to match its offsets.
        let short = decodeError(safetensors(shape: "[2, 2]", offsets: "[0, 8]", dataBytes: 8))
        XCTAssertTrue(short.contains("needs 16 bytes"), short)
    }

    func testEncodingAShapeWhoseSizeOverflowsThrows() {
        XCTAssertThrowsError(try SafeTensors.encode([NamedTensor(name: "w", shape: [1 << 62, 4], values: [])], metadata: [:]))
    }

    func testAbsurdArchitecturesAreRejectedByName() {
        func message(_ edit: (inout ModelConfig) -> Void) -> String {
            var c = ModelConfig.default
            edit(&c)
            do { try c.validate(); return "no error" } catch { return "\(error)" }
        }
        let embedding = message { $0.embedding = 4_611_686_018_427_387_904 }
        XCTAssertTrue(embedding.contains("embedding: a tensor of shape [4611686018427387904]"), embedding)
        XCTAssertTrue(embedding.contains("at most 2147483647"), embedding)
        let channels = message { $0.channels = [4_611_686_018_427_387_904, 1, 1, 1] }
        XCTAssertTrue(channels.contains("conv1 output"), channels)
        let side = message { $0.imageSide = Int.max }
        XCTAssertTrue(side.contains("input image"), side)
        let kernel = message { $0.kernels = [(1 << 40) + 1, 3, 3, 3] }
        XCTAssertTrue(kernel.contains("conv1.weight"), kernel)
        XCTAssertEqual(message { _ in }, "no error")
    }

    func testTheLargestBatchFollowsFromTheLargestActivation() throws {
        // Default network: conv1's output is 64 x 32 x 32 = 65536 floats per image, two images per pair.
        XCTAssertEqual(try ModelConfig.default.maxPairsPerBatch(), Int(Int32.max) / 2 / 65536)
    }

    /// Counters and options read from a model file are carried on by --resume; out of range
    /// they would overflow there (epochs_completed + 1, step += 1, the batch arithmetic).
    func testModelFilesWithAbsurdRunCountersAreRefused() throws {
        func message(_ edit: (inout TrainedModel) -> Void) throws -> String {
            var model = ModelFileFuzzTests.tinyModel()
            edit(&model)
            let file = try SafeTensors.decode(try model.encoded(), path: "m.safetensors")
            do { _ = try TrainedModel.decode(file, path: "m.safetensors"); return "no error" } catch { return "\(error)" }
        }
        XCTAssertEqual(try message { _ in }, "no error")
        let batch = try message { $0.options.batchSize = Int.max }
        XCTAssertTrue(batch.contains("batch size of \(Int.max) pairs"), batch)
        let epochs = try message { $0.options.epochs = Int.max }
        XCTAssertTrue(epochs.contains("\(Int.max) epochs"), epochs)
        let completed = try message { $0.epochsCompleted = Int.max }
        XCTAssertTrue(completed.contains("metadata 'epochs_completed' is \(Int.max)"), completed)
        let step = try message { $0.adamStep = Int.max }
        XCTAssertTrue(step.contains("metadata 'adam_step' is \(Int.max)"), step)
        let negative = try message { $0.adamStep = -1 }
        XCTAssertTrue(negative.contains("metadata 'adam_step' is -1"), negative)
        let lr = try message { $0.options.learningRate = -1 }
        XCTAssertTrue(lr.contains("metadata 'options' is not valid") && lr.contains("--lr"), lr)
    }

    func testAModelPathThatIsAFolderSaysSo() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gpu-train-folder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        XCTAssertThrowsError(try TrainedModel.read(folder)) { error in
            XCTAssertTrue("\(error)".contains("it is a folder, not a model file"), "\(error)")
            XCTAssertFalse("\(error)".contains("NSCocoaErrorDomain"), "\(error)")
        }
    }
}
