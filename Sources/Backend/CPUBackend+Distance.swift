import CKernels
import Foundation

/// Sorted list of the k smallest (distance, index) pairs seen so far; ties keep the lower index.
struct NearestList {
    var distances: [Float]
    var indices: [Int]

    init(k: Int) {
        distances = [Float](repeating: .infinity, count: k)
        indices = [Int](repeating: Int.max, count: k)
    }

    /// Inserts a candidate if it beats the current k-th entry (bank rows arrive in increasing
    /// index order, so an equal distance never displaces an earlier row).
    @inline(__always)
    mutating func offer(_ d: Float, _ index: Int) {
        let k = distances.count
        guard d < distances[k - 1] || (d == distances[k - 1] && index < indices[k - 1]) else { return }
        var i = k - 1
        while i > 0 && (distances[i - 1] > d || (distances[i - 1] == d && indices[i - 1] > index)) {
            distances[i] = distances[i - 1]
            indices[i] = indices[i - 1]
            i -= 1
        }
        distances[i] = d
        indices[i] = index
    }
}

extension CPUBackend {
    /// Bank rows per chunk: the distances of a query block to one chunk stay in cache.
    static let neighborBankChunk = 2048
    /// Query rows per block handed to one thread.
    static let neighborQueryBlock = 64

    public func nearestNeighbors(queries: Tensor, bank: Tensor, k: Int, clip: Float, distances: Tensor, indices: Tensor) throws {
        let op = "nearestNeighbors"
        let g = try NeighborGeometry.check(op: op, queries: queries.shape, bank: bank.shape, k: k,
                                           distances: distances.shape, indices: indices.shape)
        try NeighborGeometry.check(op: op, clip: clip)
        let q = try pointer(queries, op), b = try pointer(bank, op)
        let outD = try pointer(distances, op), outI = try pointer(indices, op)
        let dim = g.dimension, n = g.bankRows
        let chunk = Self.neighborBankChunk, block = Self.neighborQueryBlock
        let blocks = (g.queries + block - 1) / block
        let scratchPerBlock = block * min(chunk, n)
        // A few MiB at most, so a fresh allocation per call costs nothing next to the arithmetic.
        let scratchStorage = try CPUStorage(count: scratchPerBlock * min(blocks, Parallel.workers))
        let scratch = scratchStorage.pointer
        do {
            // One block of queries per task; each task owns its slice of the scratch matrix.
            let tasks = min(blocks, Parallel.workers)
            DispatchQueue.concurrentPerform(iterations: tasks) { task in
                let dots = scratch + task * scratchPerBlock
                var qb = task
                while qb < blocks {
                    let q0 = qb * block, rows = min(block, g.queries - q0)
                    var lists = (0..<rows).map { _ in NearestList(k: k) }
                    var c0 = 0
                    while c0 < n {
                        let cols = min(chunk, n - c0)
                        // Squared distances [cols, rows], summed directly and the same way for every pair.
                        gt_squared_distances(b + c0 * dim, cols, q + q0 * dim, rows, dim, clip, dots)
                        for c in 0..<cols {
                            let line = dots + c * rows
                            for i in 0..<rows { lists[i].offer(line[i], c0 + c) }
                        }
                        c0 += cols
                    }
                    for i in 0..<rows {
                        for j in 0..<k {
                            outD[(q0 + i) * k + j] = lists[i].distances[j].squareRoot()
                            outI[(q0 + i) * k + j] = Float(lists[i].indices[j])
                        }
                    }
                    qb += tasks
                }
            }
        }
        withExtendedLifetime(scratchStorage) {}
    }
}
