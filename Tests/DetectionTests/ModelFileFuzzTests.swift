import Backend
import FlowData
import Foundation
import Reporting
import Detection
import Siamese
import XCTest

/// Seeded mutation fuzzing of the model loader (issue 13): bit flips, truncations, inserted and
/// deleted bytes, huge numbers and giant fields in the header, a wrong header length. Every case
/// must end in a thrown error that names the file, or in a model that loads; a crash or a hang
/// fails the whole run. Models that load are also run through the detector, which may throw
/// but must not crash. The seed and case are printed with each failure so it can be replayed.
final class ModelFileFuzzTests: XCTestCase {
    static let path = "fuzz.safetensors"
    static let cases = 5000

    /// A tiny but complete model (every layer, Adam moments for two tensors, support set,
    /// scaler, history), built without training so the fuzz run spends its time on mutations.
    static func tinyModelBytes() throws -> Data { try tinyModel().encoded() }

    static func tinyModel() -> TrainedModel {
        let config = ModelConfig(imageSide: 32, channels: [2, 2, 2, 2], kernels: [5, 3, 3, 3], embedding: 4,
                                 loss: .bce, margin: 1)
        var rng = SeededGenerator(seed: 13)
        var tensors: [String: NamedTensor] = [:]
        for (name, shape) in config.parameterShapes {
            let n = shape.reduce(1, *)
            tensors[name] = NamedTensor(name: name, shape: shape, values: (0..<n).map { _ in rng.uniform(-0.5, 0.5) })
        }
        for name in ["embed.weight", "head.bias"] {
            let t = tensors[name]!
            tensors["adam.m." + name] = NamedTensor(name: "adam.m." + name, shape: t.shape, values: t.values.map { $0 / 10 })
            tensors["adam.v." + name] = NamedTensor(name: "adam.v." + name, shape: t.shape, values: t.values.map { $0 * $0 })
        }
        let features = ["Flow Duration", "Total Fwd Packets", "Flow Bytes/s"]
        let scaler = Scaler(featureNames: features, transform: .log, fillValues: [0.5, 1, 2], means: [0.5, 1, 2],
                            stds: [1, 2, 0.25])
        let support = SupportSet(features: (0..<9).map { _ in rng.normal() }, malicious: [false, false, true],
                                 scenarios: ["benign", "benign", "reconnaissance"], featureCount: 3)
        var options = TrainingOptions()
        options.epochs = 2
        let history = [EpochRecord(epoch: 1, loss: 0.7, accuracy: 0.5, valLoss: 0.69, valAccuracy: 0.5, seconds: 0.1),
                       EpochRecord(epoch: 2, loss: 0.6, accuracy: 0.75, valLoss: 0.65, valAccuracy: 0.5, seconds: 0.1)]
        return TrainedModel(config: config, options: options, scaler: scaler, support: support, threshold: 0.5,
                            history: history, epochsCompleted: 2, adamStep: 4, tensors: tensors, timings: ["train": 0.2])
    }

    /// Numbers that overflow something: Int, Int64, UInt64, Float, Double, or are just wrong.
    static let hugeNumbers = ["4611686018427387904", "9223372036854775807", "9223372036854775808",
                              "18446744073709551616", "-9223372036854775808", "1e309", "-1", "0", "3.5e38",
                              "99999999999999999999999999999999", "2147483648", "NaN", "1.5"]

    enum Mutation: CaseIterable { case flipBits, truncate, insert, delete, hugeNumber, giantField, headerLength, swapRange }

    /// Applies one seeded mutation to `original`; returns the bytes and a description.
    static func mutate(_ original: [UInt8], _ rng: inout SeededGenerator) -> ([UInt8], String) {
        var bytes = original
        func index(_ n: Int) -> Int { n <= 0 ? 0 : Int(rng.next() % UInt64(n)) }
        let headerLength = Int(original[0]) | Int(original[1]) << 8 | Int(original[2]) << 16
        let headerRange = 8..<(8 + headerLength)
        /// Replaces `range` of the header and rewrites the length prefix so the new JSON is parsed.
        func replaceInHeader(_ range: Range<Int>, with new: [UInt8]) {
            bytes.replaceSubrange(range, with: new)
            var length = UInt64(headerLength - range.count + new.count).littleEndian
            withUnsafeBytes(of: &length) { bytes.replaceSubrange(0..<8, with: $0) }
        }
        let mutation = Mutation.allCases[index(Mutation.allCases.count)]
        switch mutation {
        case .flipBits:
            let flips = 1 + index(4)
            // Half the flips land in the header, where they change meaning, half anywhere.
            for _ in 0..<flips {
                let at = index(2) == 0 ? headerRange.lowerBound + index(headerLength) : index(bytes.count)
                bytes[at] ^= 1 << UInt8(index(8))
            }
            return (bytes, "flip \(flips) bits")
        case .truncate:
            let length = index(bytes.count)
            return (Array(bytes.prefix(length)), "truncate to \(length)")
        case .insert:
            let at = index(bytes.count + 1), count = 1 + index(16)
            bytes.insert(contentsOf: (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
            return (bytes, "insert \(count) bytes at \(at)")
        case .delete:
            let at = index(bytes.count), count = min(1 + index(16), bytes.count - at)
            bytes.removeSubrange(at..<(at + count))
            return (bytes, "delete \(count) bytes at \(at)")
        case .hugeNumber:
            // Replace one run of digits in the header (a shape, an offset, a metadata value).
            var runs: [Range<Int>] = []
            var i = headerRange.lowerBound
            while i < headerRange.upperBound {
                if (48...57).contains(bytes[i]) {
                    let start = i
                    while i < headerRange.upperBound, (48...57).contains(bytes[i]) { i += 1 }
                    runs.append(start..<i)
                } else { i += 1 }
            }
            guard !runs.isEmpty else { return (bytes, "no digits") }
            let run = runs[index(runs.count)], number = hugeNumbers[index(hugeNumbers.count)]
            replaceInHeader(run, with: Array(number.utf8))
            return (bytes, "number at \(run.lowerBound) -> \(number)")
        case .giantField:
            // A long run inside a string value or between tokens: a giant name, shape or metadata field.
            let at = headerRange.lowerBound + 1 + index(headerLength - 1)
            let unit = [Array("9".utf8), Array("a".utf8), Array("[".utf8), Array("\\u0000".utf8), Array(", 1".utf8)][index(5)]
            let repeats = 1 << (6 + index(10))
            var field: [UInt8] = []
            field.reserveCapacity(unit.count * repeats)
            for _ in 0..<repeats { field.append(contentsOf: unit) }
            replaceInHeader(at..<at, with: field)
            return (bytes, "giant field of \(repeats) x \(String(decoding: unit, as: UTF8.self)) at \(at)")
        case .headerLength:
            let values: [UInt64] = [0, 1, 7, UInt64(headerLength - 1), UInt64(headerLength + 1), UInt64(bytes.count),
                                    1 << 40, UInt64.max, UInt64(Int.max), 100 << 20]
            var length = values[index(values.count)].littleEndian
            withUnsafeBytes(of: &length) { bytes.replaceSubrange(0..<8, with: $0) }
            return (bytes, "header length -> \(UInt64(littleEndian: length))")
        case .swapRange:
            // Two slices of the data swapped: offsets still add up, contents do not.
            let a = index(bytes.count - 8), b = index(bytes.count - 8), n = 1 + index(8)
            for k in 0..<n { bytes.swapAt(a + k, b + k) }
            return (bytes, "swap \(n) bytes at \(a) and \(b)")
        }
    }

    func testMutatedModelFilesEndInAClearErrorOrAValidModel() throws {
        let original = Array(try Self.tinyModelBytes())
        // The unmutated file loads and scores: the fuzz starts from a valid model.
        let base = try TrainedModel.decode(try SafeTensors.decode(Data(original), path: Self.path), path: Self.path)
        let backend = CPUBackend()
        let flows: [Float] = [1, 2, 3, 100, 0, -5]
        XCTAssertEqual(try Detector(model: base, backend: backend).scores(rawRows: flows, count: 2).count, 2)

        var rng = SeededGenerator(seed: 0x13F0_22)
        var rejected = 0, loaded = 0, scoringErrors = 0, nanScores = 0
        var reasons: [String: Int] = [:]
        let started = Date()
        for n in 0..<Self.cases {
            let (bytes, what) = Self.mutate(original, &rng)
            let label = "case \(n) (\(what))"
            let model: TrainedModel
            do {
                model = try TrainedModel.decode(try SafeTensors.decode(Data(bytes), path: Self.path), path: Self.path)
            } catch let error as SiameseError {
                let message = "\(error)"
                XCTAssertTrue(message.hasPrefix("\(Self.path): not a usable gpu-train model: "), "\(label): \(message)")
                XCTAssertFalse(message.contains("NSCocoaErrorDomain"), "\(label): \(message)")
                rejected += 1
                // Group by the reason's first words, to see that the checks are spread out.
                let reason = message.dropFirst("\(Self.path): not a usable gpu-train model: ".count)
                reasons[reason.split(separator: " ").prefix(3).joined(separator: " "), default: 0] += 1
                continue
            } catch {
                XCTFail("\(label): an error that is not a SiameseError: \(type(of: error)): \(error)")
                continue
            }
            loaded += 1
            do {
                let scores = try Detector(model: model, backend: backend).scores(rawRows: flows, count: 2)
                XCTAssertEqual(scores.count, 2, label)
                if scores.contains(where: { $0.isNaN }) { nanScores += 1 }
            } catch {
                XCTAssertFalse("\(error)".isEmpty, label)
                scoringErrors += 1
            }
        }
        let seconds = Date().timeIntervalSince(started)
        print(String(format: "model fuzz: %d cases in %.1f s: %d rejected, %d loaded (%d failed to score with an error, " +
                     "%d gave a NaN score)", Self.cases, seconds, rejected, loaded, scoringErrors, nanScores))
        print("model fuzz: rejections by reason: " +
              reasons.sorted { $0.value > $1.value }.prefix(12).map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        // Both outcomes happen, or the mutations are not reaching the checks.
        XCTAssertGreaterThan(rejected, Self.cases / 4)
        XCTAssertGreaterThan(loaded, Self.cases / 20)
    }

    /// The file-reading entry point on disk: truncated copies of a real model file, each a clear error.
    func testEveryTruncationOfAModelFileOnDiskIsAClearError() throws {
        let original = try Self.tinyModelBytes()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpu-train-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("m.safetensors")
        for length in stride(from: 0, to: original.count, by: max(1, original.count / 200)) {
            try original.prefix(length).write(to: url)
            XCTAssertThrowsError(try TrainedModel.read(url), "length \(length)") { error in
                XCTAssertTrue("\(error)".hasPrefix("\(url.path): not a usable gpu-train model: "), "\(length): \(error)")
            }
        }
    }
}
