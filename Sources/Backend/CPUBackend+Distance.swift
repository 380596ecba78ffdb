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

/// How the CPU backend's `nearestNeighbors` finds the nearest rows. Both give the same rows and
/// distances, bit for bit.
public enum CPUNeighborSearch: String, Sendable, CaseIterable {
    /// Every (query, row) pair summed directly (`gt_squared_distances`): the oracle.
    case direct
    /// GEMM-form candidates (|b|^2/2 - q.b from register-blocked tiles of a packed bank, a running
    /// top list per query) re-checked in the direct form, with a proof that no other row is nearer
    /// (`gt_nn_search`); the queries it cannot prove are scanned directly over the packed bank, with
    /// the oracle's arithmetic vectorised across rows (`gt_nn_scan`). The default.
    case gemm

    public static let variable = "GPU_TRAIN_CPU_NEIGHBORS"

    /// `GPU_TRAIN_CPU_NEIGHBORS=direct` or `gemm`; gemm when unset or unrecognised (commands refuse
    /// an unrecognised value first: `environmentError`).
    public static var fromEnvironment: CPUNeighborSearch {
        ProcessInfo.processInfo.environment[variable].flatMap { CPUNeighborSearch(rawValue: $0.lowercased()) } ?? .gemm
    }

    /// The error an unrecognised value of the variable is, or nil when it is unset or valid.
    public static var environmentError: BackendError? {
        guard let value = ProcessInfo.processInfo.environment[variable], CPUNeighborSearch(rawValue: value.lowercased()) == nil else { return nil }
        return .invalidArgument(op: variable, detail: "'\(value)' is not " + allCases.map(\.rawValue).joined(separator: " or ")
                                + " (the CPU backend's nearest-neighbour search)")
    }
}

/// What a fast search did: how many queries it proved from its candidates, how many it scanned directly.
public struct NeighborSearchCounts: Sendable, Equatable {
    public var queries: Int
    /// Queries answered from their GEMM-form candidates (the rest were scanned directly).
    public var certified: Int
    public var scannedDirectly: Int { queries - certified }
}

extension CPUBackend {
    /// Bank rows per chunk: the distances of a query block to one chunk stay in cache.
    static let neighborBankChunk = 2048
    /// Query rows per block handed to one thread.
    static let neighborQueryBlock = 64
    /// Queries per thread's share of a fast search, at least.
    static let neighborFastMinimumQueries = 256
    /// The widest rows the fast search takes: its tiles (32 rows x the whole row) and query blocks
    /// are sized for transformed features (tens of values), and its proof's margin grows with the
    /// width; an encoder's embeddings (4096 wide) keep the direct scan.
    public static let neighborFastMaximumDimension = 128

    /// Candidates the fast search keeps per query for k results: some more than k, so that the
    /// last candidate's GEMM-form distance, which bounds every other row's from below, clears the
    /// k-th nearest by a margin for most queries.
    public static func neighborCandidates(k: Int) -> Int { max(16, k + 8) }

    public func nearestNeighbors(queries: Tensor, bank: Tensor, k: Int, clip: Float, distances: Tensor, indices: Tensor) throws {
        switch neighborSearch {
        case .direct: try nearestNeighborsDirect(queries: queries, bank: bank, k: k, clip: clip, distances: distances, indices: indices)
        case .gemm: _ = try nearestNeighborsFast(queries: queries, bank: bank, k: k, clip: clip, distances: distances, indices: indices)
        }
    }

    /// The oracle: every pair's distance summed directly.
    public func nearestNeighborsDirect(queries: Tensor, bank: Tensor, k: Int, clip: Float, distances: Tensor, indices: Tensor) throws {
        let op = "nearestNeighbors"
        let g = try NeighborGeometry.check(op: op, queries: queries.shape, bank: bank.shape, k: k,
                                           distances: distances.shape, indices: indices.shape)
        try NeighborGeometry.check(op: op, clip: clip)
        try directSearch(queries: try readPointer(queries, op), count: g.queries, bank: try readPointer(bank, op), rows: g.bankRows,
                         dimension: g.dimension, k: k, clip: clip, distances: try pointer(distances, op), indices: try pointer(indices, op))
    }

    /// The fast search (`CPUNeighborSearch.gemm`), with what it did. `candidates` defaults to
    /// `neighborCandidates(k:)`; banks shorter than 4 x candidates, and rows wider than
    /// `neighborFastMaximumDimension`, are scanned directly (by the oracle).
    @discardableResult
    public func nearestNeighborsFast(queries: Tensor, bank: Tensor, k: Int, clip: Float, distances: Tensor, indices: Tensor,
                                     candidates: Int? = nil) throws -> NeighborSearchCounts {
        let op = "nearestNeighbors"
        let g = try NeighborGeometry.check(op: op, queries: queries.shape, bank: bank.shape, k: k,
                                           distances: distances.shape, indices: indices.shape)
        try NeighborGeometry.check(op: op, clip: clip)
        let cand = candidates ?? Self.neighborCandidates(k: k)
        guard cand >= k else {
            throw BackendError.invalidArgument(op: op, detail: "\(cand) candidates cannot hold k = \(k) results")
        }
        // The bank's generation before any pointer is taken: an output that shares the bank's memory
        // bumps it after, so the packed bank cached below is never taken for the changed bank.
        let bankStorage = try storage(bank, op), generation = bankStorage.generation
        let q = try readPointer(queries, op), b = try readPointer(bank, op)
        let outD = try pointer(distances, op), outI = try pointer(indices, op)
        let dim = g.dimension, n = g.bankRows, nq = g.queries
        guard n >= 4 * cand, dim <= Self.neighborFastMaximumDimension else {
            try directSearch(queries: q, count: nq, bank: b, rows: n, dimension: dim, k: k, clip: clip, distances: outD, indices: outI)
            return NeighborSearchCounts(queries: nq, certified: 0)
        }
        let packedBank = try neighborBanks.packed(storage: bankStorage, generation: generation, offset: bank.offset, bank: b,
                                                  rows: n, dimension: dim)
        let packed = packedBank.packed, halfNorms = packedBank.halfNorms, order = packedBank.order
        let keys = packedBank.keys, direction = packedBank.direction, maxNorm = packedBank.maxNorm
        let squared = try CPUStorage(count: nq * k)
        var rows = [Int32](repeating: -1, count: nq * k), certified = [UInt8](repeating: 0, count: nq)
        let chunks = Parallel.chunkCount(nq, minimumChunk: Self.neighborFastMinimumQueries)
        var proved = [Int](repeating: 0, count: chunks)
        let isa = convolutionISA
        rows.withUnsafeMutableBufferPointer { rowsBuffer in
            certified.withUnsafeMutableBufferPointer { certifiedBuffer in
                proved.withUnsafeMutableBufferPointer { provedBuffer in
                    let rowsOut = rowsBuffer.baseAddress!, certifiedOut = certifiedBuffer.baseAddress!, provedOut = provedBuffer.baseAddress!
                    Parallel.forEachChunkIndexed(nq, minimumChunk: Self.neighborFastMinimumQueries) { chunk, range in
                        let first = range.lowerBound
                        provedOut[chunk] = gt_nn_search(isa, packed, halfNorms, order, keys, direction, maxNorm, n, b,
                                                        q + first * dim, range.count, dim, k, cand, clip,
                                                        squared.pointer + first * k, rowsOut + first * k, certifiedOut + first)
                    }
                }
            }
        }
        guard proved.allSatisfy({ $0 >= 0 }) else {
            throw BackendError.outOfMemory(requestedBytes: 2 * 256 * cand * 4, availableBytes: Int(ProcessInfo.processInfo.physicalMemory),
                                           detail: "scratch of the fast nearest-neighbour search")
        }
        var rest: [Int] = []
        for i in 0..<nq {
            if certified[i] != 0 {
                for j in 0..<k {
                    outD[i * k + j] = squared.pointer[i * k + j].squareRoot()
                    outI[i * k + j] = Float(rows[i * k + j])
                }
            } else {
                rest.append(i)
            }
        }
        if !rest.isEmpty {
            // The queries the candidates could not settle (anomalies, mostly), scanned directly over
            // the packed bank (gt_nn_scan: the oracle's values, vectorised across rows), and the few
            // that scan leaves (non-finite distances, the portable level) by the oracle itself.
            let m = rest.count
            let gathered = try CPUStorage(count: m * dim)
            for (slot, i) in rest.enumerated() { (gathered.pointer + slot * dim).update(from: q + i * dim, count: dim) }
            let scanned = try CPUStorage(count: m * k)
            var scannedRows = [Int32](repeating: -1, count: m * k), found = [UInt8](repeating: 0, count: m)
            scannedRows.withUnsafeMutableBufferPointer { rowsBuffer in
                found.withUnsafeMutableBufferPointer { foundBuffer in
                    let rowsOut = rowsBuffer.baseAddress!, foundOut = foundBuffer.baseAddress!
                    Parallel.forEachChunkIndexed(m, minimumChunk: 4) { _, range in
                        let first = range.lowerBound
                        _ = gt_nn_scan(isa, packed, order, n, gathered.pointer + first * dim, range.count, dim, k, clip,
                                       scanned.pointer + first * k, rowsOut + first * k, foundOut + first)
                    }
                }
            }
            var left: [Int] = []
            for (slot, i) in rest.enumerated() {
                guard found[slot] != 0 else { left.append(slot); continue }
                for j in 0..<k {
                    outD[i * k + j] = scanned.pointer[slot * k + j].squareRoot()
                    outI[i * k + j] = Float(scannedRows[slot * k + j])
                }
            }
            if !left.isEmpty {
                let again = try CPUStorage(count: left.count * dim)
                for (at, slot) in left.enumerated() { (again.pointer + at * dim).update(from: gathered.pointer + slot * dim, count: dim) }
                let restD = try CPUStorage(count: left.count * k), restI = try CPUStorage(count: left.count * k)
                try directSearch(queries: again.pointer, count: left.count, bank: b, rows: n, dimension: dim, k: k, clip: clip,
                                 distances: restD.pointer, indices: restI.pointer)
                for (at, slot) in left.enumerated() {
                    let i = rest[slot]
                    (outD + i * k).update(from: restD.pointer + at * k, count: k)
                    (outI + i * k).update(from: restI.pointer + at * k, count: k)
                }
            }
        }
        withExtendedLifetime(packedBank) {}
        return NeighborSearchCounts(queries: nq, certified: nq - rest.count)
    }

    /// The direct scan of `count` queries against `rows` bank rows (row-major, `dimension` wide).
    func directSearch(queries q: UnsafePointer<Float>, count: Int, bank b: UnsafePointer<Float>, rows n: Int, dimension dim: Int,
                      k: Int, clip: Float, distances outD: UnsafeMutablePointer<Float>,
                      indices outI: UnsafeMutablePointer<Float>) throws {
        let chunk = Self.neighborBankChunk, block = Self.neighborQueryBlock
        let blocks = (count + block - 1) / block
        let scratchPerBlock = block * min(chunk, n)
        // A few MiB at most, so a fresh allocation per call costs nothing next to the arithmetic.
        let scratchStorage = try CPUStorage(count: scratchPerBlock * min(blocks, Parallel.workers))
        let scratch = scratchStorage.pointer
        // One block of queries per task; each task owns its slice of the scratch matrix.
        let tasks = min(blocks, Parallel.workers)
        DispatchQueue.concurrentPerform(iterations: tasks) { task in
            let dots = scratch + task * scratchPerBlock
            var qb = task
            while qb < blocks {
                let q0 = qb * block, rows = min(block, count - q0)
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
        withExtendedLifetime(scratchStorage) {}
    }
}

/// A bank packed for the fast search (`gt_nn_pack_bank`: tiles in the order of the rows' keys, half
/// norms, the order, the keys and their axis), owned here.
final class PackedNeighborBank {
    let rows: Int, dimension: Int
    let packed: UnsafeMutablePointer<Float>, halfNorms: UnsafeMutablePointer<Float>, keys: UnsafeMutablePointer<Float>
    let direction: UnsafeMutablePointer<Float>
    let order: UnsafeMutablePointer<Int32>
    let maxNorm: Float
    /// The memory (thrown out-of-memory errors, as tensors have).
    private let storages: [CPUStorage]

    init(bank: UnsafePointer<Float>, rows: Int, dimension: Int) throws {
        let padded = gt_nn_packed_rows(rows)
        self.rows = rows
        self.dimension = dimension
        storages = [try CPUStorage(count: padded * dimension), try CPUStorage(count: padded), try CPUStorage(count: padded),
                    try CPUStorage(count: dimension), try CPUStorage(count: padded)]
        packed = storages[0].pointer
        halfNorms = storages[1].pointer
        keys = storages[2].pointer
        direction = storages[3].pointer
        order = UnsafeMutableRawPointer(storages[4].pointer).bindMemory(to: Int32.self, capacity: padded)
        maxNorm = gt_nn_pack_bank(bank, rows, dimension, packed, halfNorms, order, keys, direction)
    }
}

/// The last bank the fast search packed, kept while the bank tensor's memory is the same object, at
/// the same offset and shape, and unchanged: its storage's write generation is the one seen when it
/// was packed (every write through the backend bumps it first). Packing orders the bank (6 ms for
/// 100k rows of 19 on one core, 90 ms for 1M), which a stream of small query batches against one
/// bank (`detect --follow`, calibration) would otherwise pay per call. One entry: the packed copy (about
/// the bank's size) lives until another bank replaces it or the backend goes.
final class NeighborBankCache: @unchecked Sendable {
    private let lock = NSLock()
    private weak var storage: CPUStorage?
    private var generation: UInt64 = 0, offset = 0
    private var bank: PackedNeighborBank?

    func packed(storage: CPUStorage, generation: UInt64, offset: Int, bank values: UnsafePointer<Float>, rows: Int,
                dimension: Int) throws -> PackedNeighborBank {
        lock.lock()
        if let cached = bank, self.storage === storage, self.generation == generation, self.offset == offset,
           cached.rows == rows, cached.dimension == dimension {
            lock.unlock()
            return cached
        }
        lock.unlock()
        let fresh = try PackedNeighborBank(bank: values, rows: rows, dimension: dimension)
        lock.lock()
        self.storage = storage
        self.generation = generation
        self.offset = offset
        bank = fresh
        lock.unlock()
        return fresh
    }

    /// The packed bank held now (tests).
    var cached: PackedNeighborBank? {
        lock.lock()
        defer { lock.unlock() }
        return bank
    }
}
