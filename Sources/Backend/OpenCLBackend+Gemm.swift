import Foundation

/// GEMM on the device: gemm_registers (kernels/gemm_registers.cl) on CPU devices, gemm_tiled
/// (kernels/gemm_tiled.cl) on GPUs, chosen by the tuning table; gemm_tiled built after
/// kernels/gemm_conv.cl also runs the implicit-GEMM convolutions.
extension OpenCLBackend {
    public func gemm(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool, into c: Tensor,
                     alpha: Float, beta: Float) throws {
        let g = try GemmGeometry.check(a: a.shape, transposeA: transposeA, b: b.shape, transposeB: transposeB, c: c.shape)
        try gemm(transposeA, transposeB, g.m, g.n, g.k, alpha,
                 buffer(a, "gemm"), a.offset, a.shape[1], buffer(b, "gemm"), b.offset, b.shape[1],
                 beta, buffer(c, "gemm"), c.offset, g.n)
    }

    /// c = alpha op(a) op(b) + beta c on raw buffers with element offsets and leading dimensions.
    func gemm(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
              _ a: CLBuffer, _ aOffset: Int, _ lda: Int, _ b: CLBuffer, _ bOffset: Int, _ ldb: Int,
              _ beta: Float, _ c: CLBuffer, _ cOffset: Int, _ ldc: Int) throws {
        if m == 0 || n == 0 { return }
        let transposes = [("TRANS_A", ta ? 1 : 0), ("TRANS_B", tb ? 1 : 0)]
        switch tuning.gemm {
        case .registers:
            if tb {
                try gemmRegisters(transposes, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc,
                                  vectors: 1)
                return
            }
            // 4 rows x 64 columns per register block (4 float16 vectors) measured best on PoCL for
            // every shape here; columns left over past a multiple of 64 go to a 16-column launch.
            let wide = Self.registerColumns * 4, mainN = n / wide * wide
            if mainN > 0 {
                try gemmRegisters(transposes, m, mainN, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc,
                                  vectors: 4)
            }
            if n > mainN {
                try gemmRegisters(transposes, m, n - mainN, k, alpha, a, aOffset, lda, b, bOffset + mainN, ldb,
                                  beta, c, cOffset + mainN, ldc, vectors: 1)
            }
        case .tiled:
            try gemmTiled(TiledProduct(operands: .matrices, m: m, n: n, k: k, transposeA: ta, transposeB: tb),
                          alpha: alpha, beta: beta, a: a, aOffset, lda, b: b, bOffset, ldb, c: c, cOffset, ldc)
        }
    }

    /// Columns per vector in gemm_registers (REG_N).
    static let registerColumns = 16

    /// One launch of gemm_registers: a work-item owns a stripe of columns and `rows` rows of C
    /// (kernels/gemm_registers.cl). Up to 64 rows per work-item let it reuse its B panel from cache; fewer
    /// when that would leave under 64 work-items for the cores. Groups of 8 along N: on PoCL any
    /// explicit group beat the driver's choice, and 8 wastes least on small shapes.
    private func gemmRegisters(_ transposes: [(String, Int)], _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                               _ a: CLBuffer, _ aOffset: Int, _ lda: Int, _ b: CLBuffer, _ bOffset: Int, _ ldb: Int,
                               _ beta: Float, _ c: CLBuffer, _ cOffset: Int, _ ldc: Int, vectors: Int) throws {
        let tb = transposes.contains { $0.0 == "TRANS_B" && $0.1 == 1 }
        // Dot products (B transposed): 2 x 8 per block reads each long row of A for 8 columns, which
        // wins when K is long (conv2's backward filter, 128x576, K 14336: 45 -> 62 GFLOP/s); 4 x 4
        // wins on short K (conv4's, K 1024: 157-189 vs 125). A B panel of BLOCK_K x 64 columns
        // fills L1 (32 KB) at 128.
        let longK = k >= 8192
        let regM = vectors == 1 ? 8 : 4, blockK = vectors == 1 ? 256 : 128
        let dotM = longK ? 2 : 4, dotN = longK ? 8 : 4, group = 8
        let stripe = tb ? dotN : Self.registerColumns * vectors, rowStep = tb ? dotM : regM
        let stripes = (n + stripe - 1) / stripe
        var rows = min(64, (m + rowStep - 1) / rowStep * rowStep)
        while rows > rowStep && stripes * ((m + rows - 1) / rows) < 64 {
            rows = ((rows / 2) + rowStep - 1) / rowStep * rowStep
        }
        let defines = transposes + [("REG_M", regM), ("REG_N", Self.registerColumns), ("REG_NV", vectors),
                                    ("BLOCK_K", blockK), ("DOT_M", dotM), ("DOT_N", dotN)]
        let args: [KernelArgument] = [.int(m), .int(n), .int(k), .float(alpha), .float(beta),
                                      .buffer(a.mem), .int(aOffset), .int(lda), .buffer(b.mem), .int(bOffset), .int(ldb),
                                      .buffer(c.mem), .int(cOffset), .int(ldc), .int(rows)]
        try cl.launch(kernel("gemm_registers", "gemm_registers", defines), args,
                      global: [(stripes + group - 1) / group * group, (m + rows - 1) / rows], local: [group, 1])
    }

    // MARK: gemm_tiled (GPU GEMM and implicit-GEMM convolutions, kernels/gemm_tiled.cl, kernels/gemm_conv.cl)

    /// What gemm_tiled multiplies (its OPERANDS define).
    enum TiledOperands: Int {
        case matrices = 0, convForward = 1, convBackwardInput = 2, convBackwardFilter = 3
    }

    /// One product for gemm_tiled: C[M,N] = op(A)[M,K] x op(B)[K,N], or a convolution's.
    struct TiledProduct {
        var operands: TiledOperands
        var m: Int, n: Int, k: Int
        var transposeA = false, transposeB = false
        var relu = false
        var height = 1, width = 1
    }

    /// How one product runs on gemm_tiled: the tile and how K is split.
    public struct TiledPlan: Equatable, Sendable, CustomStringConvertible {
        public let tile: OpenCLTuning.Tile
        /// Slices of K (1: no split), each `depthPerSplit` deep (a multiple of the tile's K).
        public let splits: Int
        public let depthPerSplit: Int
        public var description: String { "\(tile)" + (splits > 1 ? " split \(splits)x\(depthPerSplit)" : "") }
    }

    /// Largest partial-sum workspace split-K may use, in floats (128 MB).
    static let splitWorkspaceLimit = 32 << 20

    /// The tile and split for an M x N x K product: of the tuning's tiles whose grid has at
    /// least the target number of work-groups (2 per compute unit unless the tuning sets it),
    /// the one with the least padding, else the smallest; then, if that grid is still short of
    /// the target and K is deep, as many slices of K as fill it (at least `minimumDepth` each).
    public func tiledPlan(m: Int, n: Int, k: Int, allowSplit: Bool = true) -> TiledPlan {
        let rule = tuning.splitK
        let target = max(1, rule.targetGroups ?? rule.groupsPerComputeUnit * device.computeUnits)
        func groups(_ t: OpenCLTuning.Tile) -> Int { ((m + t.m - 1) / t.m) * ((n + t.n - 1) / t.n) }
        // Of the tiles that fill the device, the one that computes the fewest padding cells (a
        // 128-row tile on a 10-row product wastes 92%); ties go to the larger, earlier tile.
        func padded(_ t: OpenCLTuning.Tile) -> Int { ((m + t.m - 1) / t.m * t.m) * ((n + t.n - 1) / t.n * t.n) }
        let filling = tuning.tiles.filter { groups($0) >= target }
        let tile = filling.min { padded($0) < padded($1) } ?? tuning.tiles.last ?? OpenCLTuning.gpu.tiles[0]
        let grid = groups(tile)
        var splits = 1
        if allowSplit, grid < target, k >= 2 * rule.minimumDepth {
            splits = min(rule.maximumSplits, (target + grid - 1) / grid, k / rule.minimumDepth,
                         max(1, Self.splitWorkspaceLimit / max(1, m * n)))
        }
        let depth = ((k + splits - 1) / splits + tile.k - 1) / tile.k * tile.k
        splits = depth > 0 ? (k + depth - 1) / depth : 1
        return TiledPlan(tile: tile, splits: max(1, splits), depthPerSplit: max(depth, tile.k))
    }

    /// Runs `product` on gemm_tiled, through a partial-sum workspace and gemm_split_reduce
    /// when the plan splits K. `taps`: the convolution's tap table; `bias`: the forward
    /// convolution's bias.
    func gemmTiled(_ product: TiledProduct, alpha: Float, beta: Float,
                   a: CLBuffer, _ aOffset: Int, _ lda: Int, b: CLBuffer, _ bOffset: Int, _ ldb: Int,
                   c: CLBuffer, _ cOffset: Int, _ ldc: Int,
                   taps: CLBuffer? = nil, bias: CLBuffer? = nil, biasOffset: Int = 0) throws {
        let (m, n, k) = (product.m, product.n, product.k)
        if m == 0 || n == 0 { return }
        let canSplit = product.operands == .matrices || product.operands == .convBackwardFilter
        let plan = tiledPlan(m: m, n: n, k: k, allowSplit: canSplit)
        let tile = plan.tile, split = plan.splits > 1
        let defines = tile.defines + [("OPERANDS", product.operands.rawValue),
                                      ("TRANS_A", product.transposeA ? 1 : 0), ("TRANS_B", product.transposeB ? 1 : 0),
                                      ("RELU", product.relu ? 1 : 0), ("SPLIT_K", split ? 1 : 0)]
        let target = split ? try workspace(&splitWorkspace, floats: plan.splits * m * n) : c
        let unused = lossResult.mem  // taps and bias where the operands read none
        let args: [KernelArgument] = [
            .int(m), .int(n), .int(k), .float(alpha), .float(beta),
            .buffer(a.mem), .int(aOffset), .int(lda), .buffer(b.mem), .int(bOffset), .int(ldb),
            .buffer(target.mem), .int(split ? 0 : cOffset), .int(ldc), .int(plan.depthPerSplit),
            .buffer(taps?.mem ?? unused), .buffer(bias?.mem ?? unused), .int(biasOffset),
            .int(product.height), .int(product.width),
        ]
        let groupN = tile.n / tile.itemN, groupM = tile.m / tile.itemM
        try cl.launch(kernel(product.operands == .matrices ? "gemm_tiled" : "gemm_tiled_conv", "gemm_tiled", defines), args,
                      global: [(n + tile.n - 1) / tile.n * groupN, (m + tile.m - 1) / tile.m * groupM, plan.splits],
                      local: [groupN, groupM, 1])
        if split {
            try cl.launch(kernel("gemm_tiled", "gemm_split_reduce"),
                          [.int(m), .int(n), .int(plan.splits), .float(alpha), .float(beta), .buffer(target.mem),
                           .buffer(c.mem), .int(cOffset), .int(ldc)],
                          global: [n, m])
        }
    }

    /// A convolution's tap table for gemm_tiled (kernels/gemm_conv.cl): int4(channel*H*W + dy*W + dx,
    /// dy, dx, filter offset) per row of the implicit im2col matrix. Forward (and backward
    /// filter): P = Ci*K*K taps (c, ky, kx), moved by (ky - pad, kx - pad). Backward input:
    /// Co*K*K taps (co, ky, kx), moved the other way, with the filter offset of (co, 0, ky, kx).
    struct TapTable: Hashable {
        let inChannels: Int, outChannels: Int, kernel: Int, height: Int, width: Int
        let backwardInput: Bool
    }

    func tapTable(_ g: ConvGeometry, backwardInput: Bool) throws -> CLBuffer {
        let key = TapTable(inChannels: g.inChannels, outChannels: backwardInput ? g.outChannels : 0, kernel: g.kernel,
                           height: g.height, width: g.width, backwardInput: backwardInput)
        if let table = tapTables[key] { return table }
        let area = g.kernel * g.kernel, hw = g.pixels, pad = g.pad
        let rows = backwardInput ? g.outChannels * area : g.patchSize
        var values: [Int32] = []
        values.reserveCapacity(rows * 4)
        for row in 0..<rows {
            let channel = row / area, tap = row % area, ky = tap / g.kernel, kx = tap % g.kernel
            let sign = backwardInput ? -1 : 1
            let dy = sign * (ky - pad), dx = sign * (kx - pad)
            let filterOffset = backwardInput ? channel * g.inChannels * area + tap : 0
            for v in [channel * hw + dy * g.width + dx, dy, dx, filterOffset] {
                guard let v32 = Int32(exactly: v) else {
                    throw BackendError.invalidArgument(op: "convolution", detail: "tap offset \(v) does not fit in 32 bits")
                }
                values.append(v32)
            }
        }
        let table = try cl.buffer(bytes: values.count * 4)
        try cl.write(values, to: table)
        tapTables[key] = table
        return table
    }
}
