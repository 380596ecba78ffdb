import CBLAS
import CKernels
import Foundation

/// Host memory of a CPU tensor, 64-byte aligned, with its write generation.
final class CPUStorage {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    /// Bumped (atomically) each time an op takes a writable pointer to this memory
    /// (`CPUBackend.pointer`), before it writes: a cache of something computed from the contents
    /// (the packed bank of the neighbour search) is current while the generation it saw is.
    private let generationCounter: UnsafeMutablePointer<UInt64>

    init(count: Int) throws {
        guard let raw = aligned_alloc_or_nil(bytes: max(count, 1) * MemoryLayout<Float>.stride) else {
            throw BackendError.outOfMemory(requestedBytes: count * 4, availableBytes: Int(ProcessInfo.processInfo.physicalMemory),
                                           detail: "host allocation for a CPU tensor")
        }
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
        self.count = count
        generationCounter = .allocate(capacity: 1)
        generationCounter.initialize(to: 0)
    }

    deinit {
        free(pointer)
        generationCounter.deallocate()
    }

    var generation: UInt64 { gt_counter_load(generationCounter) }

    /// The memory, for an op that may write it: bumps the generation first.
    func writablePointer() -> UnsafeMutablePointer<Float> {
        _ = gt_counter_increment(generationCounter)
        return pointer
    }
}

private func aligned_alloc_or_nil(bytes: Int) -> UnsafeMutableRawPointer? {
    var raw: UnsafeMutableRawPointer?
    guard posix_memalign(&raw, 64, bytes) == 0 else { return nil }
    return raw
}

/// A grow-only scratch buffer: allocated when a larger shape is first seen, then reused,
/// so that a steady-state training step allocates nothing.
final class Workspace {
    private var storage: CPUStorage?

    func pointer(count: Int) throws -> UnsafeMutablePointer<Float> {
        if let s = storage, s.count >= count { return s.pointer }
        storage = nil
        let s = try CPUStorage(count: count)
        storage = s
        return s.pointer
    }
}

/// The CPU backend: direct convolutions in C (im2col + OpenBLAS SGEMM as their oracle), OpenBLAS
/// for dense layers, Swift loops for the rest. It is also the oracle that the OpenCL backend is
/// tested against.
public final class CPUBackend: Backend {
    public let name = "cpu"

    let columns = Workspace()
    let transposed = Workspace()
    /// Winograd-transformed filters (CPUBackend+Winograd.swift).
    let winogradFilter = Workspace()
    /// How convolutions run (CPUBackend+DirectConv.swift); the instruction-set level of the C kernels.
    public let convolution: CPUConvolution
    let convolutionISA: Int32
    /// How `nearestNeighbors` searches (CPUBackend+Distance.swift).
    public let neighborSearch: CPUNeighborSearch
    /// The fast search's last packed bank, reused while that bank is unchanged.
    let neighborBanks = NeighborBankCache()
    /// Shapes whose reduction (Ci*K*K, or Co*K*K for the input gradient) is shorter go to im2col.
    let directMinimumReduction: Int
    /// Layers with fewer input or output channels skip Winograd (CPUBackend+Winograd.swift).
    let winogradMinimumChannels: Int

    /// OpenBLAS runs single-threaded inside each call and gpu-train splits every large GEMM
    /// across its own threads. OpenBLAS's own pool spins for a while after each call (up to
    /// 2^28 cycles by default), and on a small machine those spinning threads took the cores
    /// that the next op (Adam, im2col, ReLU) needed: a batch-5 training step ran 40% slower.
    public init(convolution: CPUConvolution = .fromEnvironment, neighborSearch: CPUNeighborSearch = .fromEnvironment) {
        Self.configureBLAS
        CPUISA.warnIfInvalid
        self.convolution = convolution
        self.neighborSearch = neighborSearch
        convolutionISA = CPUConvolution.bestISA
        directMinimumReduction = CPUConvolution.directMinimumReduction
        winogradMinimumChannels = Self.defaultWinogradMinimumChannels
    }

    /// A backend whose direct and Winograd convolutions (and fast nearest-neighbour search) run at
    /// instruction-set level `isa` for every shape they can take (tests of each level, including
    /// the shapes the default sends to im2col or, for their few channels, to the direct kernels).
    init(convolution: CPUConvolution, isa: Int32, neighborSearch: CPUNeighborSearch = .gemm) {
        Self.configureBLAS
        self.convolution = convolution
        self.neighborSearch = neighborSearch
        convolutionISA = isa
        directMinimumReduction = 0
        winogradMinimumChannels = 1
    }

    private static let configureBLAS: Void = { openblas_set_num_threads(1) }()

    /// OpenBLAS's build configuration and how gpu-train threads it.
    public static var blasDescription: String {
        blasDescription(config: String(cString: openblas_get_config()), core: String(cString: openblas_get_corename()),
                        workers: Parallel.workers)
    }

    /// `openblas_get_config()` already starts with "OpenBLAS" and its version; the name is added
    /// only to a configuration string that lacks it.
    static func blasDescription(config: String, core: String, workers: Int) -> String {
        let named = config.hasPrefix("OpenBLAS") ? config : "OpenBLAS \(config)"
        return "\(named) (core \(core)), single-threaded calls split over \(workers) threads"
    }

    public var deviceDescription: String {
        let isa = CPUConvolution.isaName(convolutionISA)
        let conv: String
        switch convolution {
        case .winograd: conv = "Winograd F(2x2, 3x3) and direct (\(isa))"
        case .direct: conv = "direct (\(isa))"
        case .im2col: conv = "im2col + SGEMM"
        }
        return "host CPU, convolutions \(conv), C kernels \(CPUISA.description), \(Self.blasDescription)"
    }

    // MARK: Memory

    /// A tensor's memory for an op, which may write it (its storage's generation is bumped).
    @inline(__always)
    func pointer(_ tensor: Tensor, _ op: String) throws -> UnsafeMutablePointer<Float> {
        try storage(tensor, op).writablePointer() + tensor.offset
    }

    /// A tensor's memory for an op that only reads it: the generation stays, so caches of its
    /// contents stay valid (the neighbour search's bank and queries).
    @inline(__always)
    func readPointer(_ tensor: Tensor, _ op: String) throws -> UnsafePointer<Float> {
        UnsafePointer(try storage(tensor, op).pointer + tensor.offset)
    }

    @inline(__always)
    func storage(_ tensor: Tensor, _ op: String) throws -> CPUStorage {
        guard let s = tensor.storage as? CPUStorage else { throw BackendError.foreignTensor(op: op, backend: name) }
        return s
    }

    public func makeTensor(_ shape: [Int]) throws -> Tensor {
        let count = try TensorSize.elements(shape, "makeTensor")
        return Tensor(shape: shape, storage: try CPUStorage(count: count))
    }

    public func upload(_ values: [Float], to tensor: Tensor) throws {
        guard values.count == tensor.count else {
            throw BackendError.shapeMismatch(op: "upload", detail: "\(values.count) values for a tensor of shape \(tensor.shape)")
        }
        let p = try pointer(tensor, "upload")
        values.withUnsafeBufferPointer { p.update(from: $0.baseAddress!, count: values.count) }
    }

    public func download(_ tensor: Tensor) throws -> [Float] {
        let p = try readPointer(tensor, "download")
        return Array(UnsafeBufferPointer(start: p, count: tensor.count))
    }

    public func fill(_ tensor: Tensor, with value: Float) throws {
        let p = try pointer(tensor, "fill")
        p.update(repeating: value, count: tensor.count)
    }

    public func copy(_ source: Tensor, to destination: Tensor) throws {
        try Check.sameCount("copy", source, destination)
        let s = try pointer(source, "copy"), d = try pointer(destination, "copy")
        d.update(from: s, count: source.count)
    }

    public func synchronize() throws {}

    // MARK: Dense

    public func gemm(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool, into c: Tensor,
                     alpha: Float, beta: Float) throws {
        let g = try GemmGeometry.check(a: a.shape, transposeA: transposeA, b: b.shape, transposeB: transposeB, c: c.shape)
        let pa = try pointer(a, "gemm"), pb = try pointer(b, "gemm"), pc = try pointer(c, "gemm")
        sgemm(transposeA, transposeB, g.m, g.n, g.k, alpha, pa, a.shape[1], pb, b.shape[1], beta, pc, g.n)
    }

    /// Row-major SGEMM through OpenBLAS; c = alpha op(a) op(b) + beta c with explicit leading dimensions.
    @inline(__always)
    func sgemm(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
               _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
               _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            // BLAS leaves C untouched when k == 0 only if beta == 1; make it explicit.
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        let call = { (m: Int, n: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>) in
            cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        }
        let workers = Parallel.workers
        // Small products are not worth a thread hand-off.
        guard workers > 1, m * n * k >= 1 << 18, max(m, n) >= 2 * Self.gemmSplitAlignment else {
            call(m, n, a, b, c)
            return
        }
        // Split the larger of M and N into one block per thread (multiples of 16 so that every
        // block keeps whole SIMD panels); each block is an independent row-major SGEMM.
        let splitColumns = n >= m
        let extent = splitColumns ? n : m
        let align = Self.gemmSplitAlignment
        let block = ((extent + workers - 1) / workers + align - 1) / align * align
        let blocks = (extent + block - 1) / block
        DispatchQueue.concurrentPerform(iterations: blocks) { index in
            let start = index * block, size = min(block, extent - start)
            guard size > 0 else { return }
            if splitColumns {
                // Columns start..<start+size of op(b) and of c.
                call(m, size, a, tb ? b + start * ldb : b + start, c + start)
            } else {
                // Rows start..<start+size of op(a) and of c.
                call(size, n, ta ? a + start : a + start * lda, b, c + start * ldc)
            }
        }
    }

    static let gemmSplitAlignment = 16

    public func addBias(_ bias: Tensor, to matrix: Tensor, activation: Activation) throws {
        let (rows, cols) = try Check.rowsAndColumns("addBias", matrix: matrix, vector: bias)
        let x = try pointer(matrix, "addBias"), b = try pointer(bias, "addBias")
        Parallel.forEachChunk(rows, minimumChunk: max(1, (1 << 14) / max(cols, 1))) { range in
            for i in range {
                let row = x + i * cols
                switch activation {
                case .none: for j in 0..<cols { row[j] += b[j] }
                case .relu: for j in 0..<cols { row[j] = max(row[j] + b[j], 0) }
                case .sigmoid: for j in 0..<cols { row[j] = sigmoid(row[j] + b[j]) }
                }
            }
        }
    }

    public func biasGradient(outputGradient: Tensor, biasGradient: Tensor, accumulate: Bool) throws {
        let (rows, cols) = try Check.rowsAndColumns("biasGradient", matrix: outputGradient, vector: biasGradient)
        let g = try pointer(outputGradient, "biasGradient"), db = try pointer(biasGradient, "biasGradient")
        if !accumulate { db.update(repeating: 0, count: cols) }
        for i in 0..<rows {
            let row = g + i * cols
            for j in 0..<cols { db[j] += row[j] }
        }
    }
}
