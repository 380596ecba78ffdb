/// Geometry of a stride-1 "same" convolution, validated once and shared by both backends.
public struct ConvGeometry: Equatable, Sendable {
    public let batch: Int, inChannels: Int, outChannels: Int
    public let height: Int, width: Int, kernel: Int
    /// Zero padding on each side: (kernel - 1) / 2.
    public var pad: Int { (kernel - 1) / 2 }
    /// Rows of the im2col matrix: inChannels * kernel * kernel.
    public var patchSize: Int { inChannels * kernel * kernel }
    public var pixels: Int { height * width }
    /// Multiply-adds times two for one forward pass (the same for each backward).
    public var flops: Double { 2 * Double(batch * outChannels * pixels * patchSize) }

    public init(batch: Int, inChannels: Int, outChannels: Int, height: Int, width: Int, kernel: Int) {
        self.batch = batch; self.inChannels = inChannels; self.outChannels = outChannels
        self.height = height; self.width = width; self.kernel = kernel
    }

    /// Floats one scratch matrix of a convolution chunk may hold (32 MiB): both backends run
    /// im2col + GEMM over chunks of images so their workspaces stay bounded.
    public static let scratchBudget = 8 << 20

    /// Consecutive ranges of images such that both scratch matrices of a chunk, the column
    /// matrix [Ci*K*K, images*HW] and the channels-first one [Co, images*HW], fit the budget.
    public func imageChunks(budget: Int = ConvGeometry.scratchBudget) -> [Range<Int>] {
        let perImage = max(1, max(patchSize, outChannels) * pixels)
        let size = max(1, min(batch, budget / perImage))
        return stride(from: 0, to: batch, by: size).map { $0..<min(batch, $0 + size) }
    }

    /// Checks input [N,Ci,H,W], filter [Co,Ci,K,K] and output [N,Co,H,W].
    public static func check(op: String, input: [Int], filter: [Int], output: [Int]) throws -> ConvGeometry {
        guard input.count == 4, filter.count == 4, output.count == 4 else {
            throw BackendError.shapeMismatch(op: op, detail: "expected 4-D input, filter and output, got \(input), \(filter), \(output)")
        }
        guard filter[2] == filter[3], filter[2] % 2 == 1 else {
            throw BackendError.invalidArgument(op: op, detail: "kernel must be square and odd, got \(filter[2])x\(filter[3])")
        }
        guard filter[1] == input[1], output[0] == input[0], output[1] == filter[0],
              output[2] == input[2], output[3] == input[3] else {
            throw BackendError.shapeMismatch(op: op, detail: "input \(input), filter \(filter), output \(output)")
        }
        return ConvGeometry(batch: input[0], inChannels: input[1], outChannels: filter[0],
                            height: input[2], width: input[3], kernel: filter[2])
    }
}

extension ConvGeometry {
    /// Checks input [N,Ci,H,W], filter [Co,Ci,K,K], bias [Co], pooledOutput [N,Co,ceil(H/2),ceil(W/2)]
    /// and argmax (pooledOutput's shape) of a convolution fused with a 2x2 max-pool.
    static func checkPooled(op: String, input: [Int], filter: [Int], bias: [Int], pooled: [Int],
                            argmax: [Int]?) throws -> (conv: ConvGeometry, pool: PoolGeometry) {
        guard input.count == 4, filter.count == 4 else {
            throw BackendError.shapeMismatch(op: op, detail: "expected 4-D input and filter, got \(input), \(filter)")
        }
        let full = [input[0], filter[0], input[2], input[3]]
        let conv = try check(op: op, input: input, filter: filter, output: full)
        guard bias == [conv.outChannels] else {
            throw BackendError.shapeMismatch(op: op, detail: "bias: expected [\(conv.outChannels)], got \(bias)")
        }
        let pool = try PoolGeometry.check(op: op, input: full, output: pooled)
        if let argmax, argmax != pooled {
            throw BackendError.shapeMismatch(op: op, detail: "argmax: expected \(pooled) (the pooled output's shape), got \(argmax)")
        }
        return (conv, pool)
    }
}

/// Geometry of a 2x2 stride-2 max-pool with ceil ("same") output size.
public struct PoolGeometry: Equatable, Sendable {
    public let planes: Int, height: Int, width: Int
    public var outHeight: Int { (height + 1) / 2 }
    public var outWidth: Int { (width + 1) / 2 }

    public static func outputShape(_ input: [Int]) -> [Int] {
        [input[0], input[1], (input[2] + 1) / 2, (input[3] + 1) / 2]
    }

    public static func check(op: String, input: [Int], output: [Int]) throws -> PoolGeometry {
        guard input.count == 4, output == outputShape(input) else {
            throw BackendError.shapeMismatch(op: op, detail: "input \(input) needs output \(input.count == 4 ? "\(outputShape(input))" : "(4-D input)"), got \(output)")
        }
        return PoolGeometry(planes: input[0] * input[1], height: input[2], width: input[3])
    }
}

/// Sizes of c = op(a) * op(b).
public struct GemmGeometry: Equatable, Sendable {
    public let m: Int, n: Int, k: Int

    public static func check(a: [Int], transposeA: Bool, b: [Int], transposeB: Bool, c: [Int]) throws -> GemmGeometry {
        guard a.count == 2, b.count == 2, c.count == 2 else {
            throw BackendError.shapeMismatch(op: "gemm", detail: "expected matrices, got \(a), \(b), \(c)")
        }
        let (m, ka) = transposeA ? (a[1], a[0]) : (a[0], a[1])
        let (kb, n) = transposeB ? (b[1], b[0]) : (b[0], b[1])
        guard ka == kb, c[0] == m, c[1] == n else {
            throw BackendError.shapeMismatch(op: "gemm", detail: "op(a) \(m)x\(ka), op(b) \(kb)x\(n), c \(c[0])x\(c[1])")
        }
        return GemmGeometry(m: m, n: n, k: ka)
    }
}

enum Check {
    static func sameCount(_ op: String, _ tensors: Tensor...) throws {
        guard let first = tensors.first else { return }
        for t in tensors where t.count != first.count {
            throw BackendError.shapeMismatch(op: op, detail: tensors.map { "\($0.shape)" }.joined(separator: ", "))
        }
    }

    static func shape(_ op: String, _ tensor: Tensor, _ expected: [Int], _ what: String) throws {
        guard tensor.shape == expected else {
            throw BackendError.shapeMismatch(op: op, detail: "\(what) must be \(expected), got \(tensor.shape)")
        }
    }

    /// Checks a bias-style [N] vector against matrix [M,N]; returns (M, N).
    static func rowsAndColumns(_ op: String, matrix: Tensor, vector: Tensor) throws -> (Int, Int) {
        guard matrix.shape.count == 2, vector.count == matrix.shape[1] else {
            throw BackendError.shapeMismatch(op: op, detail: "matrix \(matrix.shape), vector \(vector.shape)")
        }
        return (matrix.shape[0], matrix.shape[1])
    }

    /// Checks embeddings a, b [B,D] and labels [B]; returns (B, D).
    static func pairs(_ op: String, _ a: Tensor, _ b: Tensor, labels: Tensor, _ more: Tensor...) throws -> (Int, Int) {
        guard a.shape.count == 2, b.shape == a.shape, labels.count == a.shape[0],
              more.allSatisfy({ $0.shape == a.shape }) else {
            throw BackendError.shapeMismatch(op: op, detail: "a \(a.shape), b \(b.shape), labels \(labels.shape)" +
                                             more.map { ", \($0.shape)" }.joined())
        }
        return (a.shape[0], a.shape[1])
    }
}

/// Geometry of a nearest-neighbour search: Q queries and N bank rows of D values, k results.
public struct NeighborGeometry: Equatable, Sendable {
    public let queries: Int, bankRows: Int, dimension: Int, k: Int
    /// The largest k the op supports (results are kept in registers on a device).
    public static let maxK = 64
    /// Bank rows past which indices stop being exact in a Float.
    public static let maxBankRows = 1 << 24

    /// A distance clip is a positive number or +infinity (no clip).
    public static func check(op: String, clip: Float) throws {
        guard clip > 0, !clip.isNaN else {
            throw BackendError.invalidArgument(op: op, detail: "clip must be positive or infinite, got \(clip)")
        }
    }

    public static func check(op: String, queries: [Int], bank: [Int], k: Int, distances: [Int], indices: [Int]) throws -> NeighborGeometry {
        guard queries.count == 2, bank.count == 2, queries[1] == bank[1] else {
            throw BackendError.shapeMismatch(op: op, detail: "queries \(queries) and bank \(bank) must be [Q,D] and [N,D]")
        }
        guard k >= 1, k <= maxK, k <= bank[0] else {
            throw BackendError.invalidArgument(op: op, detail: "k must be in 1...min(\(bank[0]) bank rows, \(maxK)), got \(k)")
        }
        guard bank[0] <= maxBankRows else {
            throw BackendError.invalidArgument(op: op, detail: "at most \(maxBankRows) bank rows, got \(bank[0])")
        }
        guard distances == [queries[0], k], indices == [queries[0], k] else {
            throw BackendError.shapeMismatch(op: op, detail: "distances \(distances) and indices \(indices) must be [\(queries[0]), \(k)]")
        }
        return NeighborGeometry(queries: queries[0], bankRows: bank[0], dimension: bank[1], k: k)
    }
}

/// Element and byte counts of tensor shapes that come from options or files, computed with
/// overflow-checked arithmetic: a wrapped product would allocate too little and write past it.
public enum TensorSize {
    /// The most elements one tensor may hold: the OpenCL kernels index with 32-bit `int`, and
    /// one limit for both backends keeps a model that trains on the CPU loadable on a GPU.
    public static let maxElements = Int(Int32.max)

    /// The product of `shape`, or nil when it overflows Int. Dimensions must be non-negative.
    public static func product(_ shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            n = p
        }
        return n
    }

    /// The element count of a tensor of `shape` named `what` (an option, a layer, a file's
    /// tensor): every dimension positive, the product at most `maxElements`.
    public static func elements(_ shape: [Int], _ what: String) throws -> Int {
        guard shape.allSatisfy({ $0 > 0 }) else {
            throw BackendError.invalidArgument(op: what, detail: "every dimension must be positive, got \(shape)")
        }
        guard let n = product(shape), n <= maxElements else {
            throw BackendError.invalidArgument(op: what, detail: "a tensor of shape \(shape) has " +
                (product(shape).map { "\($0) elements" } ?? "more elements than an Int can count") +
                "; at most \(maxElements) (2^31 - 1) are supported")
        }
        return n
    }
}
