@testable import Backend
import TestSupport
import XCTest

/// The nearest-neighbour op: the CPU oracle against a brute-force search in Double, and the
/// OpenCL backend against the CPU through the shared conformance cases.
final class NearestNeighborTests: XCTestCase {
    /// Brute force: every distance in Double, sorted by (distance, index).
    func bruteForce(_ q: [Float], _ bank: [Float], dim: Int, k: Int) -> [[(Double, Int)]] {
        let queries = q.count / dim, rows = bank.count / dim
        var out: [[(Double, Int)]] = []
        for i in 0..<queries {
            var all: [(Double, Int)] = []
            for r in 0..<rows {
                var s = 0.0
                for j in 0..<dim {
                    let x = Double(q[i * dim + j]) - Double(bank[r * dim + j])
                    s += x * x
                }
                all.append((s.squareRoot(), r))
            }
            all.sort { (a: (Double, Int), b: (Double, Int)) -> Bool in a.0 != b.0 ? a.0 < b.0 : a.1 < b.1 }
            out.append(Array(all.prefix(k)))
        }
        return out
    }

    func testCPUMatchesBruteForce() throws {
        let backend = CPUBackend()
        var rng = SeededGenerator(seed: 7)
        // 3000 rows cross the CPU's 2048-row bank chunk; 70 queries cross its 64-query block.
        for (queries, rows, dim, k) in [(1, 1, 3, 1), (70, 3000, 19, 4), (9, 50, 4096, 50)] {
            let q = (0..<queries * dim).map { _ in rng.uniform(-2, 2) }
            let b = (0..<rows * dim).map { _ in rng.uniform(-2, 2) }
            let tq = try backend.makeTensor([queries, dim]), tb = try backend.makeTensor([rows, dim])
            try backend.upload(q, to: tq)
            try backend.upload(b, to: tb)
            let d = try backend.makeTensor([queries, k]), ix = try backend.makeTensor([queries, k])
            try backend.nearestNeighbors(queries: tq, bank: tb, k: k, distances: d, indices: ix)
            let got = try backend.download(d), gotIndex = try backend.download(ix)
            let want = bruteForce(q, b, dim: dim, k: k)
            for i in 0..<queries {
                for j in 0..<k {
                    let (dist, index) = want[i][j]
                    // GEMM-form distances lose a little to cancellation: |q|^2 + |b|^2 is ~dim.
                    XCTAssertEqual(Double(got[i * k + j]), dist, accuracy: 2e-3 + 1e-4 * dist, "query \(i) rank \(j) Q\(queries) N\(rows) D\(dim)")
                    let r = Int(gotIndex[i * k + j])
                    var s = 0.0
                    for c in 0..<dim { let x = Double(q[i * dim + c]) - Double(b[r * dim + c]); s += x * x }
                    XCTAssertEqual(s.squareRoot(), dist, accuracy: 2e-3 + 1e-4 * dist, "row \(r) returned at rank \(j) is not that near")
                    if j > 0 { XCTAssertLessThanOrEqual(got[i * k + j - 1], got[i * k + j], "not sorted") }
                }
            }
        }
    }

    func testSelfMatchAndTies() throws {
        let backend = CPUBackend()
        // Rows 0 and 2 are identical: a query equal to them finds both at distance 0, lower index first.
        let bank: [Float] = [1, 1, 5, 5, 1, 1, 9, 0]
        let tb = try backend.makeTensor([4, 2]), tq = try backend.makeTensor([1, 2])
        try backend.upload(bank, to: tb)
        try backend.upload([1, 1], to: tq)
        let d = try backend.makeTensor([1, 3]), ix = try backend.makeTensor([1, 3])
        try backend.nearestNeighbors(queries: tq, bank: tb, k: 3, distances: d, indices: ix)
        XCTAssertEqual(try backend.download(ix), [0, 2, 1])
        XCTAssertEqual(try backend.download(d)[0...1], [0, 0])
        XCTAssertEqual(try backend.download(d)[2], (32 as Float).squareRoot(), accuracy: 1e-5)
    }

    /// A flow's distances must not depend on the batch it is scored in (or its place in it).
    func testResultsDoNotDependOnTheBatch() throws {
        let backend = CPUBackend()
        var rng = SeededGenerator(seed: 11)
        let dim = 19, rows = 300, queries = 100
        let q = (0..<queries * dim).map { _ in rng.uniform(-3, 3) }, b = (0..<rows * dim).map { _ in rng.uniform(-3, 3) }
        let tb = try backend.makeTensor([rows, dim])
        try backend.upload(b, to: tb)
        func search(_ values: [Float]) throws -> [Float] {
            let n = values.count / dim
            let tq = try backend.makeTensor([n, dim])
            try backend.upload(values, to: tq)
            let d = try backend.makeTensor([n, 2]), ix = try backend.makeTensor([n, 2])
            try backend.nearestNeighbors(queries: tq, bank: tb, k: 2, distances: d, indices: ix)
            return try backend.download(d)
        }
        let all = try search(q)
        for i in [0, 63, 64, 70, 99] {
            XCTAssertEqual(try search(Array(q[i * dim ..< (i + 1) * dim])), Array(all[i * 2 ..< i * 2 + 2]), "query \(i)")
        }
        XCTAssertEqual(try search(Array(q[(70 * dim)...])), Array(all[(70 * 2)...]))
    }

    func testBadArguments() throws {
        let backend = CPUBackend()
        let q = try backend.makeTensor([2, 3]), b = try backend.makeTensor([4, 3]), wrongDim = try backend.makeTensor([4, 2])
        let d = try backend.makeTensor([2, 5]), ix = try backend.makeTensor([2, 5])
        XCTAssertThrowsError(try backend.nearestNeighbors(queries: q, bank: b, k: 5, distances: d, indices: ix)) {
            XCTAssert("\($0)".contains("k must be"), "\($0)")
        }
        let d1 = try backend.makeTensor([2, 1]), i1 = try backend.makeTensor([2, 1])
        XCTAssertThrowsError(try backend.nearestNeighbors(queries: q, bank: wrongDim, k: 1, distances: d1, indices: i1))
    }

    func testOpenCLConformance() throws {
        checkConformance(OpConformance.cases().filter { $0.op == "nearestNeighbors" }, candidate: try openCLOrSkip(),
                         label: "default style")
    }
}
