@testable import Backend
import CKernels
import TestSupport
import XCTest

/// The CPU's fast nearest-neighbour search (GEMM-form candidates re-checked directly) against the
/// direct scan, its oracle: the same rows and the same distances, bit for bit, at every
/// instruction-set level, with and without the clip; and the queries it cannot prove (far from
/// every row, beyond the clip, huge values) scanned directly.
final class NeighborFastPathTests: XCTestCase {
    let levels: [(Int32, String)] = [(Int32(GT_ISA_PORTABLE), "portable"), (Int32(GT_ISA_AVX2), "AVX2"), (Int32(GT_ISA_AVX512), "AVX-512")]

    /// Rows around `clusters` centres (normal values, as the quantile transform gives) at `spread`.
    func clustered(_ count: Int, dim: Int, centres: [Float], spread: Float, _ rng: inout SeededGenerator) -> [Float] {
        let clusters = centres.count / dim
        return (0..<count).flatMap { _ -> [Float] in
            let c = Int(rng.next() % UInt64(clusters))
            return (0..<dim).map { centres[c * dim + $0] + spread * rng.normal() }
        }
    }

    /// Runs the fast search at `isa` and the direct scan on the same tensors; asserts identical
    /// outputs and returns the fast search's counts.
    @discardableResult
    func compare(queries q: [Float], bank: [Float], dim: Int, k: Int, clip: Float, isa: Int32, candidates: Int? = nil,
                 _ label: String, file: StaticString = #filePath, line: UInt = #line) throws -> (NeighborSearchCounts, [Float], [Float]) {
        let fast = CPUBackend(convolution: .direct, isa: isa), oracle = CPUBackend(neighborSearch: .direct)
        let nq = q.count / dim, n = bank.count / dim
        let tq = try fast.makeTensor([nq, dim]), tb = try fast.makeTensor([n, dim])
        try fast.upload(q, to: tq)
        try fast.upload(bank, to: tb)
        let d = try fast.makeTensor([nq, k]), ix = try fast.makeTensor([nq, k])
        let d0 = try fast.makeTensor([nq, k]), ix0 = try fast.makeTensor([nq, k])
        let counts = try fast.nearestNeighborsFast(queries: tq, bank: tb, k: k, clip: clip, distances: d, indices: ix, candidates: candidates)
        try oracle.nearestNeighbors(queries: tq, bank: tb, k: k, clip: clip, distances: d0, indices: ix0)
        let got = try fast.download(d), gotRows = try fast.download(ix)
        let want = try fast.download(d0), wantRows = try fast.download(ix0)
        var mismatches = 0
        for i in 0..<nq * k where got[i].bitPattern != want[i].bitPattern || gotRows[i] != wantRows[i] {
            if mismatches < 3 {
                XCTFail("\(label): query \(i / k) rank \(i % k): fast (\(gotRows[i]), \(got[i])), direct (\(wantRows[i]), \(want[i]))",
                        file: file, line: line)
            }
            mismatches += 1
        }
        XCTAssertEqual(mismatches, 0, "\(label): mismatching results", file: file, line: line)
        XCTAssertEqual(counts.queries, nq, file: file, line: line)
        return (counts, got, gotRows)
    }

    func testClusteredQueriesAreProvedAndMatchTheDirectScan() throws {
        var rng = SeededGenerator(seed: 21)
        let dim = 19
        let centres = (0..<50 * dim).map { _ in rng.normal() }
        // 2000 rows: 63 tiles of 32 with a partial last one; 301 queries: a superblock of 256 and a
        // partial register block after it.
        let bank = clustered(2000, dim: dim, centres: centres, spread: 0.05, &rng)
        let queries = clustered(301, dim: dim, centres: centres, spread: 0.05, &rng)
        for (isa, name) in levels {
            for (clip, k) in [(Float(1), 1), (.infinity, 3), (1, 20)] {
                let (counts, _, _) = try compare(queries: queries, bank: bank, dim: dim, k: k, clip: clip, isa: isa, "\(name) clip \(clip) k \(k)")
                // Every query lies within the spread of a centre with ~40 rows: the clipped distance
                // to its k nearest is about 2 * 19 * 0.05^2 = 0.1, far below clip^2 = 1, and the
                // candidates' GEMM-form bound has room to spare: all are proved.
                XCTAssertEqual(counts.certified, 301, "\(name) clip \(clip) k \(k)")
            }
        }
    }

    func testUniformRandomDataMatchesTheDirectScan() throws {
        var rng = SeededGenerator(seed: 5)
        // Uniform values in few dimensions: neighbours are close and well separated in rank.
        for (dim, clip) in [(3, Float.infinity), (4, 0.5), (33, .infinity)] {
            let bank = (0..<1000 * dim).map { _ in rng.uniform(-1, 1) }, queries = (0..<77 * dim).map { _ in rng.uniform(-1, 1) }
            for (isa, name) in levels {
                let (counts, _, _) = try compare(queries: queries, bank: bank, dim: dim, k: 2, clip: clip, isa: isa, "\(name) D\(dim) clip \(clip)")
                if dim <= 4 { XCTAssertGreaterThan(counts.certified, 60, "\(name) D\(dim): most queries should be proved") }
            }
        }
    }

    func testDuplicatesAndTiesKeepTheLowerRowFirst() throws {
        // Integer features: every sum is exact. Rows 7, 300 and 611 are the same vector; the query
        // equals it, so the three tie at distance 0 and come in row order; the rest of the bank is
        // at least 1 away (integers elsewhere differ in some feature).
        let dim = 6, n = 800
        var bank = (0..<n * dim).map { Float(($0 * 7919) % 13) - 6 }
        let twin: [Float] = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
        for r in [7, 300, 611] { bank.replaceSubrange(r * dim ..< (r + 1) * dim, with: twin) }
        for (isa, name) in levels {
            for clip in [Float.infinity, 1] {
                let (counts, d, rows) = try compare(queries: twin, bank: bank, dim: dim, k: 3, clip: clip, isa: isa, "\(name) clip \(clip)")
                XCTAssertEqual(rows, [7, 300, 611], "\(name)")
                XCTAssertEqual(d, [0, 0, 0], "\(name)")
                XCTAssertEqual(counts.certified, 1, "\(name): the 4th nearest is >= 0.5 away, the ties are proved")
            }
        }
        // With k = 2 the third twin ties the second at the cut: still the lower rows.
        let (_, _, rows) = try compare(queries: twin, bank: bank, dim: dim, k: 2, clip: 1, isa: Int32(GT_ISA_AVX512), "k 2")
        XCTAssertEqual(rows, [7, 300])
    }

    func testFarQueriesAreScannedDirectly() throws {
        var rng = SeededGenerator(seed: 9)
        let dim = 19
        let bank = (0..<500 * dim).map { _ in rng.normal() }
        // 50 in every feature: every clipped coordinate adds exactly 1 against every row, so all 500
        // rows tie at 19 (distance sqrt(19)) and the lowest rows win; 19 >= clip^2 = 1, so no
        // candidate list can prove it: the direct scan answers.
        let far = [Float](repeating: 50, count: 3 * dim)
        for (isa, name) in levels {
            let (counts, d, rows) = try compare(queries: far, bank: bank, dim: dim, k: 2, clip: 1, isa: isa, "\(name) far clipped")
            XCTAssertEqual(counts.certified, 0, name)
            XCTAssertEqual(rows, [0, 1, 0, 1, 0, 1], name)
            XCTAssertEqual(d, [Float](repeating: Float(19).squareRoot(), count: 6), name)
            // Unclipped, the far query's nearest rows are proved by the GEMM form as usual.
            try compare(queries: far, bank: bank, dim: dim, k: 2, clip: .infinity, isa: isa, "\(name) far unclipped")
        }
    }

    func testLargeMagnitudesFallBackOrStayExact() throws {
        var rng = SeededGenerator(seed: 13)
        let dim = 19
        // Rows near 1e4 in every feature: |q|^2 + |b|^2 ~ 4e9, so the GEMM form's rounding (~1e4)
        // swamps neighbour gaps of ~1: the margin must refuse to prove them.
        let base = (0..<dim).map { _ in 1e4 + rng.uniform(-1, 1) }
        let bank = (0..<600).flatMap { _ in base.map { $0 + rng.uniform(-2, 2) } }
        let queries = (0..<40).flatMap { _ in base.map { $0 + rng.uniform(-2, 2) } }
        for (isa, name) in levels {
            for clip in [Float.infinity, 1] {
                let (counts, _, _) = try compare(queries: queries, bank: bank, dim: dim, k: 1, clip: clip, isa: isa, "\(name) clip \(clip)")
                XCTAssertEqual(counts.certified, 0, "\(name) clip \(clip): nothing is provable at this magnitude")
            }
        }
        // One row with a huge norm among ordinary ones: the bound uses the largest norm, so it
        // costs proofs, never correctness.
        var mixed = (0..<600 * dim).map { _ in rng.normal() }
        mixed.replaceSubrange(0..<dim, with: [Float](repeating: 3e4, count: dim))
        let ordinary = (0..<40 * dim).map { _ in rng.normal() }
        for (isa, name) in levels {
            try compare(queries: ordinary, bank: mixed, dim: dim, k: 1, clip: .infinity, isa: isa, "\(name) one huge row")
        }
    }

    /// gt_nn_scan on its own: every query's k results equal the oracle's, bit for bit, for
    /// dimensions below, at and around the oracle's 8-lane blocks, with and without the clip.
    func testPackedScanGivesTheOraclesValues() throws {
        var rng = SeededGenerator(seed: 29)
        let oracle = CPUBackend(neighborSearch: .direct)
        for dim in [1, 7, 8, 9, 19, 33] {
            let n = 150, nq = 70, k = 3
            let bank = (0..<n * dim).map { _ in rng.normal() }, queries = (0..<nq * dim).map { _ in rng.normal() }
            let padded = gt_nn_packed_rows(n)
            var packed = [Float](repeating: 0, count: padded * dim), half = [Float](repeating: 0, count: padded)
            var order = [Int32](repeating: 0, count: padded), keys = [Float](repeating: 0, count: padded)
            var direction = [Float](repeating: 0, count: dim)
            _ = gt_nn_pack_bank(bank, n, dim, &packed, &half, &order, &keys, &direction)
            // The packed rows are a permutation of the bank's, in ascending key order.
            XCTAssertEqual(Set(order.prefix(n)), Set(0..<Int32(n)), "D\(dim)")
            XCTAssertEqual(Array(order.suffix(padded - n)), [Int32](repeating: -1, count: padded - n))
            XCTAssertEqual(keys.prefix(n).sorted(), Array(keys.prefix(n)), "D\(dim)")
            let tq = try oracle.makeTensor([nq, dim]), tb = try oracle.makeTensor([n, dim])
            try oracle.upload(queries, to: tq)
            try oracle.upload(bank, to: tb)
            for clip in [Float(0.7), .infinity] {
                let d = try oracle.makeTensor([nq, k]), ix = try oracle.makeTensor([nq, k])
                try oracle.nearestNeighbors(queries: tq, bank: tb, k: k, clip: clip, distances: d, indices: ix)
                let want = try oracle.download(d), wantRows = try oracle.download(ix)
                for (isa, name) in levels.dropFirst() {
                    var sq = [Float](repeating: 0, count: nq * k), rows = [Int32](repeating: 0, count: nq * k)
                    var found = [UInt8](repeating: 0, count: nq)
                    let done = gt_nn_scan(isa, packed, order, n, queries, nq, dim, k, clip, &sq, &rows, &found)
                    // A level the CPU (or GPU_TRAIN_CPU_ISA) does not allow runs as the next one down:
                    // with no AVX2 at all, the portable level leaves every query to the caller.
                    guard gt_isa_supported(Int32(GT_ISA_AVX2)) != 0 else { XCTAssertEqual(done, 0, name); continue }
                    XCTAssertEqual(done, nq, "\(name) D\(dim) clip \(clip)")
                    XCTAssertEqual(sq.map { $0.squareRoot().bitPattern }, want.map(\.bitPattern), "\(name) D\(dim) clip \(clip)")
                    XCTAssertEqual(rows.map(Float.init), wantRows, "\(name) D\(dim) clip \(clip)")
                }
                // The portable level leaves every query to the caller's own scan.
                var sq = [Float](repeating: 0, count: nq * k), rows = [Int32](repeating: 0, count: nq * k)
                var found = [UInt8](repeating: 1, count: nq)
                XCTAssertEqual(gt_nn_scan(Int32(GT_ISA_PORTABLE), packed, order, n, queries, nq, dim, k, clip, &sq, &rows, &found), 0)
                XCTAssertEqual(found, [UInt8](repeating: 0, count: nq))
            }
        }
    }

    func testNaNQueriesGiveTheOraclesResults() throws {
        var rng = SeededGenerator(seed: 31)
        let dim = 19
        let bank = (0..<400 * dim).map { _ in rng.normal() }
        var queries = (0..<6 * dim).map { _ in rng.normal() }
        queries[2 * dim + 4] = .nan
        for (isa, name) in levels {
            // Clipped, a NaN difference counts as the clip (as fminf does); unclipped, every distance
            // of that query is NaN, none is ever kept, and the oracle's own scan answers for it.
            for clip in [Float(1), .infinity] {
                let (counts, _, _) = try compare(queries: queries, bank: bank, dim: dim, k: 2, clip: clip, isa: isa, "\(name) NaN clip \(clip)")
                XCTAssertLessThanOrEqual(counts.certified, 5, "\(name): the NaN query is never proved")
            }
        }
    }

    func testNonFiniteValuesAreScannedDirectly() throws {
        var rng = SeededGenerator(seed: 17)
        let dim = 8
        var bank = (0..<300 * dim).map { _ in rng.normal() }
        bank[5 * dim + 2] = .infinity
        let queries = (0..<10 * dim).map { _ in rng.normal() }
        let (counts, _, _) = try compare(queries: queries, bank: bank, dim: dim, k: 1, clip: 1, isa: Int32(GT_ISA_AVX512), "inf row")
        XCTAssertEqual(counts.certified, 0, "a bank row that is not finite leaves no bound")
    }

    func testFewestCandidatesAndSmallBanks() throws {
        var rng = SeededGenerator(seed: 3)
        let dim = 19
        let centres = (0..<10 * dim).map { _ in rng.normal() }
        let bank = clustered(700, dim: dim, centres: centres, spread: 0.05, &rng)
        let queries = clustered(90, dim: dim, centres: centres, spread: 0.05, &rng)
        // candidates = k: the bound rests on the k-th candidate itself.
        for (isa, name) in levels {
            try compare(queries: queries, bank: bank, dim: dim, k: 4, clip: 1, isa: isa, candidates: 4, "\(name) 4 candidates")
        }
        // A bank shorter than 4 x candidates goes straight to the direct scan.
        let (counts, _, _) = try compare(queries: queries, bank: Array(bank.prefix(50 * dim)), dim: dim, k: 1, clip: 1,
                                         isa: Int32(GT_ISA_AVX512), "short bank")
        XCTAssertEqual(counts.certified, 0)
        // Rows wider than the fast search's tiles are meant for (an encoder's embeddings) too.
        let wide = CPUBackend.neighborFastMaximumDimension + 1
        let (wideCounts, _, _) = try compare(queries: (0..<3 * wide).map { _ in rng.normal() }, bank: (0..<300 * wide).map { _ in rng.normal() },
                                             dim: wide, k: 1, clip: .infinity, isa: Int32(GT_ISA_AVX512), "wide rows")
        XCTAssertEqual(wideCounts.certified, 0)
        let backend = CPUBackend()
        let tq = try backend.makeTensor([2, 3]), tb = try backend.makeTensor([100, 3])
        let d = try backend.makeTensor([2, 5]), ix = try backend.makeTensor([2, 5])
        XCTAssertThrowsError(try backend.nearestNeighborsFast(queries: tq, bank: tb, k: 5, clip: 1, distances: d, indices: ix, candidates: 4)) {
            XCTAssert("\($0)".contains("4 candidates cannot hold k = 5"), "\($0)")
        }
    }

    /// The packed bank is reused while the bank tensor is unchanged, and never after it changed:
    /// an upload, an op writing it (fill, copy), the same memory at another offset (a view), a
    /// fresh tensor, or an output of the search sharing its memory.
    func testPackedBankCacheIsReusedOnlyForAnUnchangedBank() throws {
        var rng = SeededGenerator(seed: 41)
        let dim = 19, n = 600, nq = 40
        let fast = CPUBackend(convolution: .direct, isa: Int32(GT_ISA_AVX512)), oracle = CPUBackend(neighborSearch: .direct)
        let first = (0..<n * dim).map { _ in rng.normal() }, second = (0..<n * dim).map { _ in rng.normal() }
        let queryValues = (0..<nq * dim).map { _ in rng.normal() }
        let tq = try fast.makeTensor([nq, dim]), tb = try fast.makeTensor([n, dim])
        try fast.upload(queryValues, to: tq)
        try fast.upload(first, to: tb)
        func check(_ bank: Tensor, _ label: String, line: UInt = #line) throws {
            let rows = bank.shape[0]
            let d = try fast.makeTensor([nq, 2]), ix = try fast.makeTensor([nq, 2])
            let d0 = try fast.makeTensor([nq, 2]), ix0 = try fast.makeTensor([nq, 2])
            try fast.nearestNeighborsFast(queries: tq, bank: bank, k: 2, clip: .infinity, distances: d, indices: ix)
            try oracle.nearestNeighborsDirect(queries: tq, bank: bank, k: 2, clip: .infinity, distances: d0, indices: ix0)
            XCTAssertEqual(try fast.download(d).map(\.bitPattern), try fast.download(d0).map(\.bitPattern), label, line: line)
            XCTAssertEqual(try fast.download(ix), try fast.download(ix0), label, line: line)
            XCTAssertEqual(fast.neighborBanks.cached?.rows, rows, label, line: line)
        }
        try check(tb, "first")
        let packed = fast.neighborBanks.cached
        try check(tb, "again")
        XCTAssert(fast.neighborBanks.cached === packed, "an unchanged bank is packed once")
        try fast.upload(second, to: tb)
        try check(tb, "after an upload")
        XCTAssert(fast.neighborBanks.cached !== packed, "a changed bank is packed again")
        let other = try fast.makeTensor([n, dim])
        try fast.upload(first, to: other)
        try fast.copy(other, to: tb)
        try check(tb, "after a copy into it")
        try check(tb.rows(100..<n), "a view at another offset")
        try check(tb.rows(0..<n - 100), "a view at the same offset, fewer rows")
        try fast.fill(tb, with: 0.5)
        try check(tb, "after a fill")
        try check(other, "another tensor")
        // An output sharing the bank's memory: the search writes it, so the next search repacks.
        let shared = try fast.makeTensor([n + nq * 2, dim])
        try fast.upload(first + [Float](repeating: 0, count: nq * 2 * dim), to: shared)
        let bankView = try shared.rows(0..<n), tail = try shared.rows(n..<n + nq * 2).reshaped([nq, 2 * dim])
        let out = try tail.reshaped([nq * dim, 2]).rows(0..<nq), ix = try fast.makeTensor([nq, 2])
        try fast.nearestNeighborsFast(queries: tq, bank: bankView, k: 2, clip: .infinity, distances: out, indices: ix)
        let before = fast.neighborBanks.cached
        try check(bankView, "after writes to memory shared with an output")
        XCTAssert(fast.neighborBanks.cached !== before, "the search's own outputs changed the bank's memory")
        let repacked = fast.neighborBanks.cached
        try check(bankView, "unchanged since")
        XCTAssert(fast.neighborBanks.cached === repacked)
    }

    /// The shared conformance cases: the default CPU backend (fast search) against the direct scan.
    /// (Less the 4096 x 5000 case, which checks the device's chunking and takes seconds in a debug build.)
    func testConformanceCasesAgainstTheDirectScan() {
        checkConformance(OpConformance.cases().filter { $0.op == "nearestNeighbors" && !$0.shape.contains("Q4096") },
                         candidate: CPUBackend(neighborSearch: .gemm), label: "CPU fast search")
    }
}
