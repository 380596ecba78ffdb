@testable import Backend
import Foundation
import XCTest

/// `tune-gemm --json` output laid over the tuning table: parsing, matching, the errors, and a
/// backend that picks the overlay's entry for its device.
final class OpenCLTuningOverlayTests: XCTestCase {
    /// A tune-gemm document, trimmed to what the overlay reads plus a field it ignores.
    func document(device: String, vendor: String, base: String = "GPU", best: String? = "64x64x16/4x4") -> String {
        let bestJSON = best.map { "\"\($0)\"" } ?? "null"
        return """
            {"device": "\(device)", "vendor": "\(vendor)", "openCL": "OpenCL 3.0", "base": "\(base)", "repeats": 3,
             "measurements": [], "bestOverall": \(bestJSON)}
            """
    }

    func overlay(_ json: String, path: String = "tune.json") throws -> OpenCLTuningOverlay {
        try OpenCLTuningOverlay(data: Data(json.utf8), path: path)
    }

    func testEntryForTheMatchingDeviceTakesTheBestTileFirst() throws {
        let o = try overlay(document(device: "Radeon Test 7", vendor: "ACME Devices"))
        // Name and vendor match ignoring case and surrounding spaces; anything else does not.
        let t = try XCTUnwrap(o.tuning(device: " radeon test 7", vendor: "acme devices "))
        let best = OpenCLTuning.Tile(m: 64, n: 64, k: 16, itemM: 4, itemN: 4)
        // The best tile, then the GPU entry's own without the duplicate.
        XCTAssertEqual(t.tiles, [best, OpenCLTuning.Tile(m: 128, n: 128), OpenCLTuning.Tile(m: 128, n: 64)])
        XCTAssertEqual(t.gemm, .tiled)
        XCTAssertEqual(t.convolution, .implicitGemm)
        XCTAssertEqual(t.biasReductionGroup, 64)  // the rest from the base entry, GPU
        XCTAssertEqual(t.adamPerItem, 1)
        XCTAssert(t.entry.contains("Radeon Test 7") && t.entry.contains("tune.json"), t.entry)
        XCTAssertNil(o.tuning(device: "Radeon Test 70", vendor: "ACME Devices"))
        XCTAssertNil(o.tuning(device: "Radeon Test 7", vendor: "Other"))
    }

    func testAListHoldsSeveralDevices() throws {
        let o = try overlay("[" + document(device: "A", vendor: "V", best: "32x32x8/4x4") + "," +
                            document(device: "B", vendor: "V", base: "GPU/NVIDIA", best: "128x128x8/8x8p0") + "]")
        XCTAssertEqual(o.entries.map(\.device), ["A", "B"])
        XCTAssertEqual(o.tuning(device: "A", vendor: "V")?.tiles.first, OpenCLTuning.Tile(m: 32, n: 32, k: 8, itemM: 4, itemN: 4))
        let b = try XCTUnwrap(o.tuning(device: "B", vendor: "V"))
        XCTAssertEqual(b.tiles.first, OpenCLTuning.Tile(m: 128, n: 128, k: 8, itemM: 8, itemN: 8, padding: 0))
        XCTAssertEqual(b.tiles.count, 4)  // 128x128 without padding is not a duplicate of the GPU entry's first
    }

    func testBadFilesSayWhichFileAndWhatIsWrong() throws {
        let cases: [(String, String)] = [
            ("{\"device\": ", "not JSON"),
            ("42", "not an object"),
            ("[]", "an empty list"),
            ("{\"vendor\": \"V\", \"base\": \"GPU\", \"bestOverall\": \"32x32x8/4x4\"}", "has no \"device\""),
            ("{\"device\": 3, \"vendor\": \"V\", \"base\": \"GPU\", \"bestOverall\": \"32x32x8/4x4\"}", "\"device\" must be a non-empty string"),
            (document(device: "D", vendor: "V", best: nil), "no variant ran every shape"),
            (document(device: "D", vendor: "V", best: "128x128/8x8"), "is not a tile"),
            (document(device: "D", vendor: "V", best: "128x128x8/8x6"), "multiples of 4"),
            (document(device: "D", vendor: "V", base: "TPU"), "base \"TPU\" names no tuning entry"),
            ("[" + document(device: "D", vendor: "V") + "," + document(device: "d", vendor: "v") + "]", "entry 1: a second entry for d"),
        ]
        for (json, phrase) in cases {
            XCTAssertThrowsError(try overlay(json, path: "/tmp/sweep.json"), phrase) { error in
                let text = "\(error)"
                XCTAssert(text.hasPrefix("tuning file: /tmp/sweep.json: "), text)
                XCTAssert(text.contains(phrase), "\(text) should say \(phrase)")
            }
        }
        XCTAssertThrowsError(try OpenCLTuningOverlay(contentsOf: "/nonexistent/tune.json")) { error in
            XCTAssert("\(error)".contains("/nonexistent/tune.json: cannot read it"), "\(error)")
        }
    }

    /// On the test machine's OpenCL device (PoCL here): an overlay entry for it wins over the
    /// table, GPU_TRAIN_OPENCL_TUNING wins over the overlay, an entry for another device changes
    /// nothing, and the overlay's tile computes the same GEMM as the CPU oracle.
    func testBackendUsesTheOverlayEntryForItsDevice() throws {
        _ = try openCLOrSkip()
        let info = try OpenCLDevices.select(nil)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("overlay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let mine = folder.appendingPathComponent("mine.json"), other = folder.appendingPathComponent("other.json")
        try document(device: info.name, vendor: info.vendor, best: "32x32x8/4x4").write(to: mine, atomically: true, encoding: .utf8)
        try document(device: info.name + " 2", vendor: info.vendor).write(to: other, atomically: true, encoding: .utf8)
        let variable = OpenCLTuningOverlay.fileVariable

        let tuned = try OpenCLBackend(environment: [variable: mine.path])
        XCTAssertEqual(tuned.tuning.tiles.first, OpenCLTuning.Tile(m: 32, n: 32, k: 8, itemM: 4, itemN: 4))
        XCTAssertEqual(tuned.tuning.gemm, .tiled)
        let given = try OpenCLBackend(overlay: try OpenCLTuningOverlay(contentsOf: mine.path), environment: [:])
        XCTAssertEqual(given.tuning.entry, tuned.tuning.entry)
        let forced = try OpenCLBackend(environment: [variable: mine.path, OpenCLTuningTable.overrideVariable: "CPU"])
        XCTAssertEqual(forced.tuning, OpenCLTuning.cpu)
        let unmatched = try OpenCLBackend(environment: [variable: other.path])
        XCTAssertEqual(unmatched.tuning, OpenCLTuningTable.standard.select(for: info))
        XCTAssertThrowsError(try OpenCLBackend(environment: [variable: folder.appendingPathComponent("none.json").path]))

        var rng = SeededGenerator(seed: 3)
        let a = (0..<(33 * 17)).map { _ in rng.uniform(-1, 1) }, b = (0..<(17 * 65)).map { _ in rng.uniform(-1, 1) }
        var results: [[Float]] = []
        for backend in [tuned as Backend, CPUBackend()] {
            let ta = try backend.makeTensor([33, 17]), tb = try backend.makeTensor([17, 65]), tc = try backend.makeTensor([33, 65])
            try backend.upload(a, to: ta)
            try backend.upload(b, to: tb)
            try backend.gemm(ta, transposeA: false, tb, transposeB: false, into: tc, alpha: 1, beta: 0)
            results.append(try backend.download(tc))
        }
        let comparison = compare(results[0], results[1], Tolerance(absolute: 1e-5, relative: 1e-5))
        XCTAssert(comparison.passed, "\(comparison)")
    }
}
