import Backend
import Bench
import XCTest

/// The tuning sweep behind `gpu-train tune-gemm`: its candidates, and one tiny run.
final class OpenCLGemmSweepTests: XCTestCase {
    func testCandidatesAreValidDistinctAndStartWithTheTable() {
        let first = OpenCLTuning.gpu.tiles
        let all = OpenCLGemmSweep.candidates(first: first, limit: 60)
        XCTAssertEqual(Array(all.prefix(first.count)), first)
        XCTAssertEqual(Set(all).count, all.count)
        XCTAssertLessThanOrEqual(all.count, 60)
        XCTAssertGreaterThan(all.count, 30)
        for t in all {
            XCTAssertNil(t.problem, "\(t)")
            XCTAssertEqual(OpenCLTuning.Tile(parsing: t.description), t, "\(t) round trip")
        }
        XCTAssertEqual(OpenCLGemmSweep.candidates(first: first, limit: 5).count, 5)
        XCTAssertNil(OpenCLTuning.Tile(parsing: "128x128/8x8"))
        XCTAssertEqual(OpenCLTuning.Tile(parsing: "64x32x16/4x8p0"), OpenCLTuning.Tile(m: 64, n: 32, k: 16, itemM: 4, itemN: 8, padding: 0))
    }

    func testTinySweepTimesEveryShapeAndPicksTheFastest() throws {
        try XCTSkipIf(((try? OpenCLDevices.all()) ?? []).isEmpty, "no OpenCL platform or device (install pocl-opencl-icd); OpenCL tests skipped")
        // A GEMM and a convolution's backward filter (each variant builds a program per shape).
        let conv = OpenCLGemmSweep.Shape.convolution("conv", batch: 2, inChannels: 3, outChannels: 5, height: 5, width: 4, kernel: 3)
        XCTAssertEqual(conv.map(\.kind), [.convForward, .convBackwardInput, .convBackwardFilter])
        let shapes = [OpenCLGemmSweep.Shape.gemm("gemm 33x65x17 TN", m: 33, n: 65, k: 17, transposeA: true), conv[2]]
        let tiles = [OpenCLTuning.Tile(m: 64, n: 64, k: 16, itemM: 4, itemN: 4), OpenCLTuning.Tile(m: 32, n: 32, k: 8, itemM: 4, itemN: 4)]
        let results = try OpenCLGemmSweep.run(device: nil, base: .gpu, variants: tiles, shapes: shapes, repeats: 1)
        XCTAssertEqual(results.count, tiles.count * shapes.count)
        for r in results {
            XCTAssertNil(r.error, "\(r.variant) \(r.shape)")
            XCTAssertGreaterThan(r.seconds ?? 0, 0, "\(r.variant) \(r.shape)")
        }
        let best = OpenCLGemmSweep.best(results)
        XCTAssertEqual(best.perShape.map(\.shape), shapes.map(\.name))
        XCTAssertNotNil(best.overall)
        XCTAssertEqual(shapes[0].flops, 2 * 33 * 65 * 17)
    }
}
