@testable import Backend
import XCTest

/// The per-device tuning table, and every GPU variant of kernels/gemm_tiled.cl (gemm_tiled with each
/// tile, split-K, the implicit-GEMM convolutions) forced on whatever OpenCL device there is
/// (PoCL's CPU device in CI) and compared with the CPU oracle, shape by shape around the tiles.
final class OpenCLTiledTests: XCTestCase {
    // MARK: The table

    func testTableChoosesByTypeVendorAndName() {
        let table = OpenCLTuningTable.standard
        XCTAssertEqual(table.select(type: "CPU", vendor: "GenuineIntel", name: "pthread-skylake").entry, "CPU")
        XCTAssertEqual(table.select(type: "GPU", vendor: "NVIDIA Corporation", name: "NVIDIA H100 80GB HBM3").entry, "GPU/NVIDIA")
        XCTAssertEqual(table.select(type: "GPU", vendor: "Advanced Micro Devices, Inc.", name: "gfx1100").entry, "GPU")
        XCTAssertEqual(table.select(type: "accelerator", vendor: "x", name: "y").entry, "accelerator")
        XCTAssertEqual(table.select(type: "other", vendor: "x", name: "y").entry, "other")

        // A device level under a vendor, with the vendor's default for other names.
        var custom = table
        custom.types[1].vendors[0].devices = [.init(namePattern: "h100", tuning: OpenCLTuning.gpu.named("GPU/NVIDIA/H100"))]
        XCTAssertEqual(custom.select(type: "GPU", vendor: "NVIDIA Corporation", name: "NVIDIA H100 PCIe").entry, "GPU/NVIDIA/H100")
        XCTAssertEqual(custom.select(type: "GPU", vendor: "NVIDIA Corporation", name: "NVIDIA A100").entry, "GPU/NVIDIA")
        XCTAssertEqual(custom.entry(named: "gpu/nvidia/h100")?.entry, "GPU/NVIDIA/H100")
        XCTAssertNil(custom.entry(named: "no such entry"))
    }

    /// PoCL keeps exactly the variants it had before the table (nothing may get slower there).
    func testCPUEntryIsTheRegisterPath() {
        let cpu = OpenCLTuningTable.standard.select(type: "CPU", vendor: "AuthenticAMD", name: "pthread-haswell")
        XCTAssertEqual(cpu.gemm, .registers)
        XCTAssertEqual(cpu.convolution, .im2col)
        XCTAssertEqual(cpu.biasReductionGroup, 1)
        XCTAssertEqual(cpu.adamPerItem, 16)
    }

    /// Every entry is one kernels/gemm_tiled.cl accepts, within NVIDIA's 48 KB of local memory.
    func testEveryEntryIsValid() {
        for entry in OpenCLTuningTable.standard.entries {
            XCTAssertNil(entry.problem, entry.entry)
            for tile in entry.tiles {
                XCTAssertLessThanOrEqual(tile.localMemoryBytes, 48 * 1024, "\(entry.entry) \(tile)")
                XCTAssertLessThanOrEqual(tile.workItems, 256, "\(entry.entry) \(tile)")
            }
        }
        XCTAssertEqual(OpenCLTuning.gpu.tiles.first, OpenCLTuning.Tile(m: 128, n: 128, k: 8, itemM: 8, itemN: 8))
        XCTAssertNotNil(OpenCLTuning.Tile(m: 64, n: 64, k: 8, itemM: 4, itemN: 4).problem, "256 items, 128 float4s")
        XCTAssertNotNil(OpenCLTuning.Tile(m: 256, n: 256, k: 16).problem, "local memory over 48 KB")
        XCTAssertNotNil(OpenCLTuning.Tile(m: 128, n: 128, itemM: 6).problem, "not a multiple of 4")
    }

    func testEnvironmentForcesAnEntry() throws {
        _ = try openCLOrSkip()
        let forced = try OpenCLBackend(environment: [OpenCLTuningTable.overrideVariable: "gpu"])
        XCTAssertEqual(forced.tuning.entry, "GPU")
        XCTAssert(forced.deviceDescription.contains("tuning GPU"), forced.deviceDescription)
        XCTAssertThrowsError(try OpenCLBackend(environment: [OpenCLTuningTable.overrideVariable: "TPU"])) { error in
            guard case BackendError.invalidArgument(_, let detail) = error else { return XCTFail("\(error)") }
            XCTAssert(detail.contains("GPU/NVIDIA") && detail.contains("TPU"), detail)
        }
        var broken = OpenCLTuning.gpu
        broken.tiles = [OpenCLTuning.Tile(m: 256, n: 256, k: 16)]
        XCTAssertThrowsError(try OpenCLBackend(tuning: broken))
    }

    func testPlanFillsTheDeviceAndSplitsThinProducts() throws {
        var tuning = OpenCLTuning.gpu
        tuning.splitK.targetGroups = 64
        let backend = try openCLOrSkip(tuning: tuning)
        let big = backend.tiledPlan(m: 4096, n: 4096, k: 4096)
        XCTAssertEqual(big.tile, tuning.tiles[0])
        XCTAssertEqual(big.splits, 1)
        // A thin M fills the device with any tile: the one that wastes least.
        XCTAssertEqual(backend.tiledPlan(m: 10, n: 8192, k: 512).tile, tuning.tiles[2])
        XCTAssertEqual(backend.tiledPlan(m: 128, n: 8192, k: 512).tile, tuning.tiles[0])
        // 256 x 256 has 4 groups of 128x128, 8 of 128x64, 16 of 64x64: the smallest, then split.
        let thin = backend.tiledPlan(m: 64, n: 64, k: 100_000)
        XCTAssertEqual(thin.tile, tuning.tiles[2])
        XCTAssertGreaterThan(thin.splits, 1)
        XCTAssertEqual(thin.depthPerSplit % thin.tile.k, 0)
        XCTAssertGreaterThanOrEqual(thin.splits * thin.depthPerSplit, 100_000)
        XCTAssertLessThan((thin.splits - 1) * thin.depthPerSplit, 100_000, "no empty slice")
        XCTAssertEqual(backend.tiledPlan(m: 64, n: 64, k: 100_000, allowSplit: false).splits, 1)
        XCTAssertEqual(backend.tiledPlan(m: 64, n: 64, k: 300).splits, 1, "too shallow to split")
    }

    // MARK: GEMM, each tile forced

    /// gemm_tiled with one tile only: every transpose, alpha/beta with beta 0 (C may hold NaN)
    /// and not, M and N one below, at and above the tile and its halves, K not a multiple of 8.
    func testEachTileAroundItsEdges() throws {
        for tile in OpenCLTuning.gpu.tiles {
            var tuning = OpenCLTuning.gpu.named("GPU only \(tile)")
            tuning.tiles = [tile]
            tuning.splitK.maximumSplits = 1
            let backend = try openCLOrSkip(tuning: tuning)
            var shapes: [(Int, Int, Int)] = [(tile.m - 1, tile.n + 1, 7), (tile.m, tile.n, 8), (tile.m + 1, tile.n - 1, 9)]
            shapes += [(1, 1, 1), (tile.m / 2 + 1, 2 * tile.n + 1, 2 * tile.k + 3), (2 * tile.m - 1, 3, 33)]
            var cases: [ConformanceCase] = []
            for (index, shape) in shapes.enumerated() {
                let (ta, tb) = (index % 2 == 1, index % 4 >= 2)
                cases.append(gemmCase(shape, ta, tb, alpha: index == 2 ? -0.5 : 1, beta: index % 3 == 0 ? 0 : 0.75,
                                      views: index % 2 == 0, seed: UInt64(9000 + index)))
            }
            // All four transposes on one awkward shape.
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                cases.append(gemmCase((tile.m + 3, tile.n + 5, 21), ta, tb, alpha: 1.5, beta: 0, views: false, seed: 9100))
            }
            checkConformance(cases, candidate: backend, label: "\(tile)")
        }
    }

    /// Split-K on tall-skinny products: matches the oracle, and bit for bit itself on a rerun
    /// (the reduction adds the slices in a fixed order).
    func testSplitKIsCorrectAndDeterministic() throws {
        var tuning = OpenCLTuning.gpu.named("GPU split")
        tuning.splitK = .init(targetGroups: 64, minimumDepth: 16, maximumSplits: 16)
        let backend = try openCLOrSkip(tuning: tuning)
        let shapes: [(Int, Int, Int, Bool, Bool, Float)] = [
            (5, 65, 1000, false, false, 0), (65, 63, 517, true, false, 1), (10, 129, 300, false, true, -1),
            (64, 25, 2049, true, true, 0.5),
        ]
        var cases: [ConformanceCase] = []
        for (i, s) in shapes.enumerated() {
            XCTAssertGreaterThan(backend.tiledPlan(m: s.0, n: s.1, k: s.2).splits, 1, "\(s)")
            cases.append(gemmCase((s.0, s.1, s.2), s.3, s.4, alpha: 1, beta: s.5, views: i % 2 == 1, seed: UInt64(9200 + i)))
        }
        checkConformance(cases, candidate: backend, label: "split-K")
        for c in cases {
            XCTAssertEqual(try c.outputs(on: backend), try c.outputs(on: backend), "\(c.op) \(c.shape) rerun")
        }
    }

    // MARK: Implicit-GEMM convolutions

    /// Forward (bias, with and without ReLU), backward input (overwrite and accumulate) and
    /// backward filter (split-K, overwrite and accumulate) on odd sizes, batch 1, channels
    /// around the tiles, 1x1/3x3/5x5 kernels, against the oracle.
    func testImplicitGemmConvolutions() throws {
        var tuning = OpenCLTuning.gpu.named("GPU conv")
        tuning.splitK = .init(targetGroups: 16, minimumDepth: 32, maximumSplits: 8)
        let backend = try openCLOrSkip(tuning: tuning)
        // (N, Ci, Co, H, W, K)
        let geometries: [(Int, Int, Int, Int, Int, Int)] = [
            (1, 1, 64, 9, 7, 5), (2, 3, 65, 5, 5, 3), (1, 65, 127, 3, 4, 3), (3, 2, 3, 7, 9, 1), (1, 129, 2, 2, 1, 3),
            (2, 3, 5, 2, 3, 5),  // taps reach past a whole image: columns past N must still read zero
        ]
        var cases: [ConformanceCase] = []
        for (index, g) in geometries.enumerated() {
            let (n, ci, co, h, w, k) = g
            let views = index % 2 == 1, flag = index % 2 == 0
            let shape = "N\(n) Ci\(ci) Co\(co) \(h)x\(w) k\(k)" + (views ? " view" : "")
            let x = [n, ci, h, w], f = [co, ci, k, k], y = [n, co, h, w]
            let seed = UInt64(9300 + 4 * index)
            cases.append(ConformanceCase(op: "conv2dForward" + (flag ? "+relu" : ""), shape: shape,
                                         tolerance: OpConformance.sums(ci * k * k), seed: seed) { b, r in
                var io = CaseIO(b, views: views)
                let input = try io.input(x, &r), filter = try io.input(f, &r), bias = try io.input([co], &r)
                let output = try io.output(y, &r)
                try b.conv2dForward(input: input, filter: filter, bias: bias, output: output, relu: flag)
                return try io.results()
            })
            cases.append(ConformanceCase(op: "conv2dBackwardInput" + (flag ? "" : " accumulate"), shape: shape,
                                         tolerance: OpConformance.sums(co * k * k + 1), seed: seed + 1) { b, r in
                var io = CaseIO(b, views: views)
                let dy = try io.input(y, &r), filter = try io.input(f, &r), dx = try io.output(x, &r)
                try b.conv2dBackwardInput(outputGradient: dy, filter: filter, inputGradient: dx, accumulate: !flag)
                return try io.results()
            })
            cases.append(ConformanceCase(op: "conv2dBackwardFilter" + (flag ? " accumulate" : ""), shape: shape,
                                         tolerance: OpConformance.sums(n * h * w + 1), seed: seed + 2) { b, r in
                var io = CaseIO(b, views: views)
                let input = try io.input(x, &r), dy = try io.input(y, &r), dw = try io.output(f, &r)
                try b.conv2dBackwardFilter(input: input, outputGradient: dy, filterGradient: dw, accumulate: flag)
                return try io.results()
            })
        }
        checkConformance(cases, candidate: backend, label: "implicit GEMM")
        // The suite's own cases run on the GPU entry in ConformanceTests.testOtherTableEntry,
        // and all of them in `GPU_TRAIN_OPENCL_TUNING=GPU gpu-train verify`.
    }

    /// Backward filter over a batch deep enough to split: the slices sum in order.
    func testBackwardFilterSplitIsDeterministic() throws {
        var tuning = OpenCLTuning.gpu.named("GPU conv split")
        tuning.splitK = .init(targetGroups: 32, minimumDepth: 64, maximumSplits: 12)
        let backend = try openCLOrSkip(tuning: tuning)
        XCTAssertGreaterThan(backend.tiledPlan(m: 8, n: 27, k: 4 * 17 * 15).splits, 1)
        let c = ConformanceCase(op: "conv2dBackwardFilter", shape: "N4 Ci3 Co8 17x15 k3", tolerance: OpConformance.sums(4 * 17 * 15 + 1),
                                seed: 9400) { b, r in
            var io = CaseIO(b, views: false)
            let input = try io.input([4, 3, 17, 15], &r), dy = try io.input([4, 8, 17, 15], &r), dw = try io.output([8, 3, 3, 3], &r)
            try b.conv2dBackwardFilter(input: input, outputGradient: dy, filterGradient: dw, accumulate: false)
            return try io.results()
        }
        checkConformance([c], candidate: backend, label: "split backward filter")
        XCTAssertEqual(try c.outputs(on: backend), try c.outputs(on: backend))
    }

    // MARK: Helpers

    private func gemmCase(_ shape: (Int, Int, Int), _ ta: Bool, _ tb: Bool, alpha: Float, beta: Float,
                          views: Bool, seed: UInt64) -> ConformanceCase {
        let (m, n, k) = shape
        let mode = (ta ? "T" : "N") + (tb ? "T" : "N")
        return ConformanceCase(op: "gemm \(mode)", shape: "M\(m) N\(n) K\(k) alpha \(alpha) beta \(beta)" + (views ? " view" : ""),
                               tolerance: OpConformance.sums(k + 1), seed: seed) { b, r in
            var io = CaseIO(b, views: views)
            let a = try io.input(ta ? [k, m] : [m, k], &r), bm = try io.input(tb ? [n, k] : [k, n], &r)
            let c = try io.output([m, n], &r)
            if beta == 0 { try b.fill(c, with: .nan) }  // beta 0 must never read C
            try b.gemm(a, transposeA: ta, bm, transposeB: tb, into: c, alpha: alpha, beta: beta)
            return try io.results()
        }
    }
}
