import Foundation
import Kernels

/// The OpenCL backend: every op is a kernel from kernels/*.cl on one in-order queue.
///
/// Tensors are device buffers; a view's `offset` is passed to every kernel. Only `upload`,
/// `download` and the two scalars of a loss cross to the host. Kernels are built once per
/// (source, -D defines) and cached for the life of the backend.
public final class OpenCLBackend: Backend {
    public let name = "opencl"
    /// The device this backend runs on.
    public let device: OpenCLDeviceInfo
    /// The kernel variants and -D values for the device: from `OpenCLTuningTable.standard`,
    /// the entry `GPU_TRAIN_OPENCL_TUNING` names, or given at init.
    public let tuning: OpenCLTuning

    let cl: CLDevice
    private var sources: [String: String] = [:]
    private var kernels: [String: CLKernel] = [:]
    var columnsWorkspace: CLBuffer?
    var transposedWorkspace: CLBuffer?
    private var splitWorkspace: CLBuffer?
    private var tapTables: [TapTable: CLBuffer] = [:]
    private let lossResult: CLBuffer

    /// Opens the device `selector` names (an index from `OpenCLDevices.all()` or a
    /// case-insensitive substring of its name; nil: first GPU, else accelerator, else CPU).
    /// `tuning` overrides the table's choice for the device (so do `environment`'s
    /// `GPU_TRAIN_OPENCL_TUNING`, naming a table entry). `profiling` records an event per
    /// kernel and copy so that `takeProfiledSeconds()` can report device time (benchmarks only).
    public init(device selector: String? = nil, tuning: OpenCLTuning? = nil, profiling: Bool = false,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        device = try OpenCLDevices.select(selector)
        let table = OpenCLTuningTable.standard
        if let tuning {
            self.tuning = tuning
        } else if let forced = environment[OpenCLTuningTable.overrideVariable], !forced.isEmpty {
            guard let entry = table.entry(named: forced) else {
                throw BackendError.invalidArgument(
                    op: "OpenCLBackend", detail: "\(OpenCLTuningTable.overrideVariable)=\(forced) names no tuning entry; " +
                        "entries: \(table.entries.map(\.entry).joined(separator: ", "))")
            }
            self.tuning = entry
        } else {
            self.tuning = table.select(for: device)
        }
        if let problem = self.tuning.problem { throw BackendError.invalidArgument(op: "OpenCLBackend", detail: problem) }
        cl = try CLDevice(device, profiling: profiling)
        lossResult = try cl.buffer(bytes: 16)
    }

    public var deviceDescription: String {
        "\(device.name) (\(device.platformName), \(device.type), \(device.computeUnits) compute units, \(tuning))"
    }

    // MARK: Kernels and buffers

    /// The kernel `name` of family `family` built with `defines`; built once, then cached.
    func kernel(_ family: String, _ name: String, _ defines: [(String, Int)] = []) throws -> CLKernel {
        let options = (["-cl-std=CL1.2"] + defines.map { "-D\($0.0)=\($0.1)" }).joined(separator: " ")
        let key = "\(family)|\(options)|\(name)"
        if let k = kernels[key] { return k }
        let source: String
        if let s = sources[family] { source = s } else {
            guard let s = KernelSources.source(named: family)?.text else {
                throw BackendError.buildFailed(program: family, device: device.name, log: "no kernel source named \(family).cl")
            }
            sources[family] = s
            source = s
        }
        let k = try cl.program(source: source, options: options, label: "\(family).cl").kernel(name)
        kernels[key] = k
        return k
    }

    @inline(__always)
    func buffer(_ tensor: Tensor, _ op: String) throws -> CLBuffer {
        guard let b = tensor.storage as? CLBuffer, b.context == cl.context else {
            throw BackendError.foreignTensor(op: op, backend: name)
        }
        return b
    }

    /// A buffer argument and its element offset: the pair every kernel takes per tensor.
    @inline(__always)
    func arguments(_ tensor: Tensor, _ op: String) throws -> [KernelArgument] {
        [.buffer(try buffer(tensor, op).mem), .int(tensor.offset)]
    }

    func workspace(_ slot: inout CLBuffer?, floats: Int) throws -> CLBuffer {
        if let b = slot, b.bytes >= floats * 4 { return b }
        slot = nil
        let b = try cl.buffer(bytes: floats * 4)
        slot = b
        return b
    }

    // MARK: Memory

    public func makeTensor(_ shape: [Int]) throws -> Tensor {
        let t = Tensor(shape: shape, storage: try cl.buffer(bytes: try TensorSize.elements(shape, "makeTensor") * 4))
        try fill(t, with: 0)
        return t
    }

    public func upload(_ values: [Float], to tensor: Tensor) throws {
        guard values.count == tensor.count else {
            throw BackendError.shapeMismatch(op: "upload", detail: "\(values.count) values for a tensor of shape \(tensor.shape)")
        }
        try cl.write(values, to: buffer(tensor, "upload"), offset: tensor.offset)
    }

    public func download(_ tensor: Tensor) throws -> [Float] {
        try cl.read(buffer(tensor, "download"), offset: tensor.offset, count: tensor.count)
    }

    public func fill(_ tensor: Tensor, with value: Float) throws {
        try cl.launch(kernel("elementwise", "fill"),
                      arguments(tensor, "fill") + [.int(tensor.count), .float(value)], global: [tensor.count])
    }

    public func copy(_ source: Tensor, to destination: Tensor) throws {
        try Check.sameCount("copy", source, destination)
        try cl.copy(buffer(source, "copy"), offset: source.offset, to: buffer(destination, "copy"),
                    offset: destination.offset, count: source.count)
    }

    public func synchronize() throws { try cl.finish() }

    /// Whether this backend was made with `profiling: true`.
    public var isProfiling: Bool { cl.profiling }

    /// Waits for the queue and returns the seconds the device spent in kernels and copies
    /// (profiling events, END - START) since the last call; 0 unless made with `profiling: true`.
    public func takeProfiledSeconds() throws -> Double { try cl.takeProfiledSeconds() }

    // MARK: Dense

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
    /// (kernels/gemm.cl). Up to 64 rows per work-item let it reuse its B panel from cache; fewer
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
        try cl.launch(kernel("gemm", "gemm_registers", defines), args,
                      global: [(stripes + group - 1) / group * group, (m + rows - 1) / rows], local: [group, 1])
    }

    // MARK: gemm_tiled (GPU GEMM and implicit-GEMM convolutions, kernels/gemm.cl)

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
        try cl.launch(kernel("gemm", "gemm_tiled", defines), args,
                      global: [(n + tile.n - 1) / tile.n * groupN, (m + tile.m - 1) / tile.m * groupM, plan.splits],
                      local: [groupN, groupM, 1])
        if split {
            try cl.launch(kernel("gemm", "gemm_split_reduce"),
                          [.int(m), .int(n), .int(plan.splits), .float(alpha), .float(beta), .buffer(target.mem),
                           .buffer(c.mem), .int(cOffset), .int(ldc)],
                          global: [n, m])
        }
    }

    /// A convolution's tap table for gemm_tiled (kernels/gemm.cl): int4(channel*H*W + dy*W + dx,
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

    public func addBias(_ bias: Tensor, to matrix: Tensor, activation: Activation) throws {
        let (rows, cols) = try Check.rowsAndColumns("addBias", matrix: matrix, vector: bias)
        let code: Int
        switch activation { case .none: code = 0; case .relu: code = 1; case .sigmoid: code = 2 }
        try cl.launch(kernel("elementwise", "add_bias", [("ACTIVATION", code)]),
                      arguments(matrix, "addBias") + arguments(bias, "addBias") + [.int(rows), .int(cols)],
                      global: [cols, rows])
    }

    public func biasGradient(outputGradient: Tensor, biasGradient: Tensor, accumulate: Bool) throws {
        let op = "biasGradient"
        let (rows, cols) = try Check.rowsAndColumns(op, matrix: outputGradient, vector: biasGradient)
        try cl.launch(kernel("elementwise", "bias_gradient_rows"),
                      arguments(outputGradient, op) + arguments(biasGradient, op) +
                      [.int(rows), .int(cols), .int(accumulate ? 1 : 0)], global: [cols])
    }

    // MARK: Convolution (kernels/conv.cl + GEMM)


    func im2col(_ g: ConvGeometry, _ input: CLBuffer, _ offset: Int, images: Int, into col: CLBuffer) throws {
        try cl.launch(kernel("conv", "im2col"),
                      [.buffer(input.mem), .int(offset), .buffer(col.mem), .int(g.inChannels), .int(g.height),
                       .int(g.width), .int(g.kernel), .int(images)],
                      global: [g.height, images, g.patchSize])
    }

    private func gatherChannels(_ g: ConvGeometry, _ dy: CLBuffer, _ offset: Int, images: Int, into tmp: CLBuffer) throws {
        try cl.launch(kernel("conv", "gather_channels"),
                      [.buffer(dy.mem), .int(offset), .buffer(tmp.mem), .int(g.outChannels), .int(g.pixels), .int(images)],
                      global: [images, g.outChannels])
    }

    public func conv2dForward(input: Tensor, filter: Tensor, bias: Tensor, output: Tensor, relu: Bool) throws {
        let op = "conv2dForward"
        let g = try ConvGeometry.check(op: op, input: input.shape, filter: filter.shape, output: output.shape)
        try Check.shape(op, bias, [g.outChannels], "bias")
        let x = try buffer(input, op), w = try buffer(filter, op), b = try buffer(bias, op), y = try buffer(output, op)
        let hw = g.pixels
        if tuning.convolution == .implicitGemm {
            // C[co, image pixel] = filter[co, p] x im2col(input)[p, image pixel], stored NCHW.
            try gemmTiled(TiledProduct(operands: .convForward, m: g.outChannels, n: g.batch * hw, k: g.patchSize,
                                       relu: relu, height: g.height, width: g.width),
                          alpha: 1, beta: 0, a: w, filter.offset, g.patchSize, b: x, input.offset, g.inChannels * hw,
                          c: y, output.offset, g.outChannels * hw,
                          taps: try tapTable(g, backwardInput: false), bias: b, biasOffset: bias.offset)
            return
        }
        for range in g.imageChunks() {
            let start = range.lowerBound, images = range.count, cols = images * hw
            let col = try workspace(&columnsWorkspace, floats: g.patchSize * cols)
            let tmp = try workspace(&transposedWorkspace, floats: g.outChannels * cols)
            try im2col(g, x, input.offset + start * g.inChannels * hw, images: images, into: col)
            try gemm(false, false, g.outChannels, cols, g.patchSize, 1, w, filter.offset, g.patchSize,
                     col, 0, cols, 0, tmp, 0, cols)
            try cl.launch(kernel("conv", "scatter_bias"),
                          [.buffer(tmp.mem), .buffer(b.mem), .int(bias.offset), .buffer(y.mem),
                           .int(output.offset + start * g.outChannels * hw), .int(g.outChannels), .int(hw),
                           .int(images), .int(relu ? 1 : 0)],
                          global: [images, g.outChannels])
        }
    }

    public func conv2dBackwardInput(outputGradient: Tensor, filter: Tensor, inputGradient: Tensor, accumulate: Bool) throws {
        let op = "conv2dBackwardInput"
        let g = try ConvGeometry.check(op: op, input: inputGradient.shape, filter: filter.shape, output: outputGradient.shape)
        let dy = try buffer(outputGradient, op), w = try buffer(filter, op), dx = try buffer(inputGradient, op)
        let hw = g.pixels
        if tuning.convolution == .implicitGemm {
            // C[ci, image pixel] = filter(ci, (co, tap)) x dy((co, flipped tap), image pixel), stored NCHW.
            try gemmTiled(TiledProduct(operands: .convBackwardInput, m: g.inChannels, n: g.batch * hw,
                                       k: g.outChannels * g.kernel * g.kernel, height: g.height, width: g.width),
                          alpha: 1, beta: accumulate ? 1 : 0, a: w, filter.offset, g.kernel * g.kernel,
                          b: dy, outputGradient.offset, g.outChannels * hw, c: dx, inputGradient.offset, g.inChannels * hw,
                          taps: try tapTable(g, backwardInput: true))
            return
        }
        for range in g.imageChunks() {
            let start = range.lowerBound, images = range.count, cols = images * hw
            let col = try workspace(&columnsWorkspace, floats: g.patchSize * cols)
            let tmp = try workspace(&transposedWorkspace, floats: g.outChannels * cols)
            try gatherChannels(g, dy, outputGradient.offset + start * g.outChannels * hw, images: images, into: tmp)
            try gemm(true, false, g.patchSize, cols, g.outChannels, 1, w, filter.offset, g.patchSize,
                     tmp, 0, cols, 0, col, 0, cols)
            try cl.launch(kernel("conv", "col2im"),
                          [.buffer(col.mem), .buffer(dx.mem), .int(inputGradient.offset + start * g.inChannels * hw),
                           .int(g.inChannels), .int(g.height), .int(g.width), .int(g.kernel), .int(images),
                           .int(accumulate ? 1 : 0)],
                          global: [g.height, images, g.inChannels])
        }
    }

    public func conv2dBackwardFilter(input: Tensor, outputGradient: Tensor, filterGradient: Tensor, accumulate: Bool) throws {
        let op = "conv2dBackwardFilter"
        let g = try ConvGeometry.check(op: op, input: input.shape, filter: filterGradient.shape, output: outputGradient.shape)
        let x = try buffer(input, op), dy = try buffer(outputGradient, op), dw = try buffer(filterGradient, op)
        let hw = g.pixels
        if tuning.convolution == .implicitGemm {
            // C[co, p] = dy[co, image pixel] x im2col(input)[image pixel, p]: K is every pixel of
            // the batch, so the plan splits it (deterministic reduction, no atomics).
            try gemmTiled(TiledProduct(operands: .convBackwardFilter, m: g.outChannels, n: g.patchSize,
                                       k: g.batch * hw, height: g.height, width: g.width),
                          alpha: 1, beta: accumulate ? 1 : 0, a: dy, outputGradient.offset, g.outChannels * hw,
                          b: x, input.offset, g.inChannels * hw, c: dw, filterGradient.offset, g.patchSize,
                          taps: try tapTable(g, backwardInput: false))
            return
        }
        var first = true
        for range in g.imageChunks() {
            let start = range.lowerBound, images = range.count, cols = images * hw
            let col = try workspace(&columnsWorkspace, floats: g.patchSize * cols)
            let tmp = try workspace(&transposedWorkspace, floats: g.outChannels * cols)
            try im2col(g, x, input.offset + start * g.inChannels * hw, images: images, into: col)
            try gatherChannels(g, dy, outputGradient.offset + start * g.outChannels * hw, images: images, into: tmp)
            let beta: Float = (first && !accumulate) ? 0 : 1
            try gemm(false, true, g.outChannels, g.patchSize, cols, 1, tmp, 0, cols, col, 0, cols,
                     beta, dw, filterGradient.offset, g.patchSize)
            first = false
        }
    }

    public func conv2dBackwardBias(outputGradient: Tensor, biasGradient: Tensor, accumulate: Bool) throws {
        let op = "conv2dBackwardBias"
        guard outputGradient.shape.count == 4 else {
            throw BackendError.shapeMismatch(op: op, detail: "outputGradient must be NCHW, got \(outputGradient.shape)")
        }
        let s = outputGradient.shape
        try Check.shape(op, biasGradient, [s[1]], "biasGradient")
        let group = tuning.biasReductionGroup
        try cl.launch(kernel("conv", "bias_gradient_nchw", [("REDUCE_WG", group)]),
                      arguments(outputGradient, op) + arguments(biasGradient, op) +
                      [.int(s[0]), .int(s[1]), .int(s[2] * s[3]), .int(accumulate ? 1 : 0)],
                      global: [s[1] * group], local: group == 1 ? nil : [group])
    }

    // MARK: Pooling (kernels/pool.cl)

    public func maxPoolForward(input: Tensor, output: Tensor, argmax: Tensor) throws {
        let op = "maxPoolForward"
        let g = try PoolGeometry.check(op: op, input: input.shape, output: output.shape)
        try Check.shape(op, argmax, output.shape, "argmax")
        try cl.launch(kernel("pool", "maxpool_forward"),
                      arguments(input, op) + arguments(output, op) + arguments(argmax, op) +
                      [.int(g.planes), .int(g.height), .int(g.width)], global: [g.planes * g.outHeight])
    }

    public func maxPoolBackward(outputGradient: Tensor, argmax: Tensor, inputGradient: Tensor) throws {
        let op = "maxPoolBackward"
        let g = try PoolGeometry.check(op: op, input: inputGradient.shape, output: outputGradient.shape)
        try Check.shape(op, argmax, outputGradient.shape, "argmax")
        try cl.launch(kernel("pool", "maxpool_backward"),
                      arguments(outputGradient, op) + arguments(argmax, op) + arguments(inputGradient, op) +
                      [.int(g.planes), .int(g.height), .int(g.width)], global: [g.planes * g.outHeight])
    }

    // MARK: Elementwise (kernels/elementwise.cl)

    private func elementwise(_ op: String, _ kernelName: String, _ tensors: Tensor...) throws {
        if tensors.contains(where: { $0.count != tensors[0].count }) {  // Check.sameCount's error, for an array
            throw BackendError.shapeMismatch(op: op, detail: tensors.map { "\($0.shape)" }.joined(separator: ", "))
        }
        var args: [KernelArgument] = []
        for t in tensors { args += try arguments(t, op) }
        try cl.launch(kernel("elementwise", kernelName), args + [.int(tensors[0].count)], global: [tensors[0].count])
    }

    public func reluForward(_ input: Tensor, output: Tensor) throws {
        try elementwise("reluForward", "relu_forward", input, output)
    }

    public func reluBackward(output: Tensor, outputGradient: Tensor, inputGradient: Tensor) throws {
        try elementwise("reluBackward", "relu_backward", output, outputGradient, inputGradient)
    }

    public func sigmoidForward(_ input: Tensor, output: Tensor) throws {
        try elementwise("sigmoidForward", "sigmoid_forward", input, output)
    }

    public func sigmoidBackward(output: Tensor, outputGradient: Tensor, inputGradient: Tensor) throws {
        try elementwise("sigmoidBackward", "sigmoid_backward", output, outputGradient, inputGradient)
    }

    public func absDifference(_ a: Tensor, _ b: Tensor, output: Tensor) throws {
        try elementwise("absDifference", "abs_difference", a, b, output)
    }

    public func absDifferenceBackward(_ a: Tensor, _ b: Tensor, outputGradient: Tensor,
                                      gradientA: Tensor, gradientB: Tensor) throws {
        try elementwise("absDifferenceBackward", "abs_difference_backward", a, b, outputGradient, gradientA, gradientB)
    }

    // MARK: Losses (kernels/loss.cl)

    private static let lossGroup = 64

    /// Reads the two scalars a loss kernel left in `lossResult`.
    private func readLossResult() throws -> LossResult {
        let r = try cl.read(lossResult, offset: 0, count: 2)
        return LossResult(loss: r[0], correct: Int(r[1]))
    }

    public func binaryCrossEntropyWithLogits(logits: Tensor, labels: Tensor, logitsGradient: Tensor) throws -> LossResult {
        let op = "binaryCrossEntropyWithLogits"
        try Check.sameCount(op, logits, labels, logitsGradient)
        try cl.launch(kernel("loss", "bce_with_logits", [("LOSS_WG", Self.lossGroup)]),
                      arguments(logits, op) + arguments(labels, op) + arguments(logitsGradient, op) +
                      [.buffer(lossResult.mem), .int(logits.count)],
                      global: [Self.lossGroup], local: [Self.lossGroup])
        return try readLossResult()
    }

    public func contrastiveLoss(_ a: Tensor, _ b: Tensor, labels: Tensor, margin: Float,
                                gradientA: Tensor, gradientB: Tensor) throws -> LossResult {
        let op = "contrastiveLoss"
        let (rows, dim) = try Check.pairs(op, a, b, labels: labels, gradientA, gradientB)
        try cl.launch(kernel("loss", "contrastive", [("LOSS_WG", Self.lossGroup)]),
                      arguments(a, op) + arguments(b, op) + arguments(labels, op) + arguments(gradientA, op) +
                      arguments(gradientB, op) + [.buffer(lossResult.mem), .int(rows), .int(dim), .float(margin)],
                      global: [Self.lossGroup], local: [Self.lossGroup])
        return try readLossResult()
    }

    // MARK: Optimizer (kernels/optimizer.cl)

    public func adamUpdate(parameter: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor,
                           hyperparameters h: AdamHyperparameters, step: Int) throws {
        let op = "adamUpdate"
        try Check.sameCount(op, parameter, gradient, firstMoment, secondMoment)
        guard step >= 1 else { throw BackendError.invalidArgument(op: op, detail: "step counts from 1, got \(step)") }
        let c = AdamCoefficients(h, step: step)
        let perItem = tuning.adamPerItem
        try cl.launch(kernel("optimizer", "adam", [("ADAM_PER_ITEM", perItem)]),
                      arguments(parameter, op) + arguments(gradient, op) + arguments(firstMoment, op) +
                      arguments(secondMoment, op) +
                      [.int(parameter.count), .float(c.beta1), .float(c.beta2), .float(c.oneMinusBeta1),
                       .float(c.oneMinusBeta2), .float(c.stepSize), .float(c.epsilon)],
                      global: [(parameter.count + perItem - 1) / perItem])
    }
}
