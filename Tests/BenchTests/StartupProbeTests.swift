import Backend
import Bench
import Foundation
import XCTest

/// `gpu-train bench --startup`: the cold run compiles every program the warm run loads (no
/// speed is asserted), and the median.
final class StartupProbeTests: XCTestCase {
    func testMedian() {
        XCTAssertEqual(StartupProbe.median([3, 1, 2]), 2)
        XCTAssertEqual(StartupProbe.median([4, 1, 3, 2]), 2.5)
        XCTAssert(StartupProbe.median([]).isNaN)
    }

    func testWarmRunLoadsEveryProgramTheColdRunCompiles() throws {
        try XCTSkipIf(((try? OpenCLDevices.all()) ?? []).isEmpty, "no OpenCL platform or device (install pocl-opencl-icd); OpenCL tests skipped")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("startup-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let samples = try StartupProbe.measure(device: nil, repeats: 1, cacheFolder: folder)
        XCTAssertEqual(samples.count, 1)
        let s = try XCTUnwrap(samples.first)
        // Convolutions, pooling, GEMMs, elementwise, losses, Adam and distances: a dozen or more programs.
        XCTAssertGreaterThanOrEqual(s.compiled, 10)
        XCTAssertEqual(s.loaded, s.compiled)
        XCTAssert(s.cold > 0 && s.warm > 0)
        let entries = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".clbin") }
        XCTAssertEqual(entries.count, s.compiled)
    }
}
