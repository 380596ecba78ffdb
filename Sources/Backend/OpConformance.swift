/// One op check: run `op` on a shape with seeded random inputs on two backends and compare.
public struct ConformanceCase: Sendable {
    /// The Backend requirement checked ("conv2dForward", "gemm NT", ...).
    public let op: String
    /// The shapes in words ("N5 Ci3 Co65 7x7 k3").
    public let shape: String
    public let tolerance: Tolerance
    /// Inputs are drawn from SeededGenerator(seed), so both backends see the same values.
    public let seed: UInt64
    /// Runs the op on a backend and returns every output it wrote (and loss scalars), flattened.
    let body: @Sendable (Backend, inout SeededGenerator) throws -> [Float]

    /// The outputs of the op on `backend`.
    public func outputs(on backend: Backend) throws -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return try body(backend, &rng)
    }

    /// Runs the case on both backends and compares `candidate` against `reference`.
    public func check(candidate: Backend, reference: Backend) throws -> Comparison {
        compare(try outputs(on: candidate), try outputs(on: reference), tolerance)
    }
}

/// The op checks shared by the conformance tests and `gpu-train verify`.
///
/// Shapes cover batch 1, 5 and 32; channels 1, 3, 64, 65 and 128; spatial sizes 1 to 33;
/// GEMM sizes one below, at and above the CPU-device register blocks (8x16) and the 64-wide
/// tiles (the GPU kernel's tiles have their own tests in OpenCLTiledTests). Half of the cases run on row views with a padding row
/// on each side, and outputs are read back with their padding, so that a kernel that
/// ignores a tensor's offset or writes outside its view fails.
public enum OpConformance {
    // Tolerances, and why:
    // - Exact (0): max-pool values and argmax, ReLU, |a - b| and their backwards, routing and
    //   copies: no arithmetic that could round differently.
    // - Sums of `terms` products of inputs in [-1, 1] (GEMM, convolutions, bias sums): the
    //   backends add in different orders (OpenBLAS blocks vs. one accumulator per output), so
    //   results differ by rounding that grows with the number of terms: about eps*sqrt(terms)
    //   typically and at most eps*terms; 3e-7 per term (2.5 eps) covers the worst case on
    //   top of a 1e-4 relative allowance for large values.
    // - exp/log/sqrt/division (sigmoid, BCE, contrastive, Adam): OpenCL 1.2 allows up to 3-4
    //   ulp for these without -cl-fp32-correctly-rounded-divide-sqrt, glibc is within 1 ulp:
    //   1e-5 relative plus a small absolute term for values near zero.
    // - Loss scalars: the CPU sums in Double, the device in float over a tree: 1e-5 relative.
    static let exact = Tolerance(absolute: 0, relative: 0)
    static let transcendental = Tolerance(absolute: 1e-6, relative: 1e-5)
    static func sums(_ terms: Int) -> Tolerance {
        Tolerance(absolute: 1e-5 + 3e-7 * Float(terms), relative: 1e-4)
    }

    /// Every case, in a stable order; seeds differ per case.
    /// The exact (double, clipped) distance from each query to each row `indices` returned (NaN for
    /// an index that is not a bank row), so that near-ties may come back in either order.
    static func exactNeighborDistances(_ b: Backend, queries: Tensor, bank: Tensor, indices: Tensor, k: Int,
                                       clip: Float) throws -> [Float] {
        let qv = try b.download(queries), bv = try b.download(bank), iv = try b.download(indices)
        let n = bank.shape[0], d = bank.shape[1]
        return iv.enumerated().map { position, index in
            guard index >= 0, index < Float(n), index == index.rounded() else { return .nan }
            let row = Int(index), query = position / k
            var s = 0.0
            for j in 0..<d { let x = min(abs(Double(qv[query * d + j]) - Double(bv[row * d + j])), Double(clip)); s += x * x }
            return Float(s.squareRoot())
        }
    }

    public static func cases() -> [ConformanceCase] {
        var all: [ConformanceCase] = []
        var seed: UInt64 = 1000
        func add(_ op: String, _ shape: String, _ tolerance: Tolerance,
                 _ body: @escaping @Sendable (Backend, inout SeededGenerator) throws -> [Float]) {
            seed += 1
            all.append(ConformanceCase(op: op, shape: shape, tolerance: tolerance, seed: seed, body: body))
        }

        // Convolution: (N, Ci, Co, H, W, K). The first and the last two mirror the default network.
        let convs: [(Int, Int, Int, Int, Int, Int)] = [
            (1, 1, 64, 32, 32, 5), (5, 3, 65, 7, 7, 3), (2, 64, 128, 16, 16, 3), (32, 128, 3, 1, 1, 3),
            (5, 65, 1, 15, 15, 3), (1, 3, 64, 33, 31, 3), (32, 1, 3, 8, 8, 5), (1, 128, 128, 2, 2, 3),
            (5, 3, 3, 3, 3, 5), (1, 1, 1, 31, 33, 1), (32, 64, 128, 8, 8, 3), (2, 128, 256, 4, 4, 3),
        ]
        for (index, c) in convs.enumerated() {
            let (n, ci, co, h, w, k) = c
            let views = index % 2 == 1, flag = index % 2 == 0
            let shape = "N\(n) Ci\(ci) Co\(co) \(h)x\(w) k\(k)" + (views ? " view" : "")
            let x = [n, ci, h, w], f = [co, ci, k, k], y = [n, co, h, w]
            add("conv2dForward" + (flag ? "+relu" : ""), shape, sums(ci * k * k)) { b, r in
                var io = CaseIO(b, views: views)
                let input = try io.input(x, &r), filter = try io.input(f, &r), bias = try io.input([co], &r)
                let output = try io.output(y, &r)
                try b.conv2dForward(input: input, filter: filter, bias: bias, output: output, relu: flag)
                return try io.results()
            }
            add("conv2dBackwardInput" + (flag ? "" : " accumulate"), shape, sums(co * k * k + 1)) { b, r in
                var io = CaseIO(b, views: views)
                let dy = try io.input(y, &r), filter = try io.input(f, &r), dx = try io.output(x, &r)
                try b.conv2dBackwardInput(outputGradient: dy, filter: filter, inputGradient: dx, accumulate: !flag)
                return try io.results()
            }
            add("conv2dBackwardFilter" + (flag ? " accumulate" : ""), shape, sums(n * h * w + 1)) { b, r in
                var io = CaseIO(b, views: views)
                let input = try io.input(x, &r), dy = try io.input(y, &r), dw = try io.output(f, &r)
                try b.conv2dBackwardFilter(input: input, outputGradient: dy, filterGradient: dw, accumulate: flag)
                return try io.results()
            }
            add("conv2dBackwardBias" + (flag ? "" : " accumulate"), shape, sums(n * h * w + 1)) { b, r in
                var io = CaseIO(b, views: views)
                let dy = try io.input(y, &r), db = try io.output([co], &r)
                try b.conv2dBackwardBias(outputGradient: dy, biasGradient: db, accumulate: !flag)
                return try io.results()
            }
        }

        // Convolution + bias + ReLU + 2x2 max-pool (N, Ci, Co, H, W, K): the pooled network layers,
        // odd sizes (edge windows of one or two cells), a 1x1 image, a one-pixel-wide column.
        // Small integers make every sum exact on every backend, so the pooled values and the
        // winners (ties included: ReLU makes many zeros) must agree exactly. With real-valued
        // inputs the sums round differently per backend and near-ties may pick different winners,
        // so the second set compares the pooled values within the sums' tolerance and, for the
        // winners, the backend's own conv2dForward(relu) value at each winner's position.
        let pooledConvs: [(Int, Int, Int, Int, Int, Int)] = [
            (1, 1, 64, 32, 32, 5), (5, 3, 65, 7, 7, 3), (2, 64, 128, 16, 16, 3), (4, 128, 128, 8, 8, 3),
            (3, 17, 33, 5, 9, 3), (2, 3, 5, 1, 1, 3), (2, 9, 7, 6, 1, 1), (1, 65, 31, 3, 4, 3),
        ]
        for (index, c) in pooledConvs.enumerated() {
            let (n, ci, co, h, w, k) = c
            let views = index % 2 == 1
            let shape = "N\(n) Ci\(ci) Co\(co) \(h)x\(w) k\(k)" + (views ? " view" : "")
            let x = [n, ci, h, w], f = [co, ci, k, k], full = [n, co, h, w], p = PoolGeometry.outputShape(full)
            for withArgmax in [true, false] {
                add("conv2dBiasReLUMaxPoolForward" + (withArgmax ? "" : " inference") + " integers", shape, exact) { b, r in
                    var io = CaseIO(b, views: views)
                    let input = try io.integers(x, &r, range: -3...3), filter = try io.integers(f, &r, range: -2...2)
                    let bias = try io.integers([co], &r, range: -4...4)
                    let pooled = try io.output(p, &r), argmax = withArgmax ? try io.output(p, &r) : nil
                    try b.conv2dBiasReLUMaxPoolForward(input: input, filter: filter, bias: bias, pooledOutput: pooled, argmax: argmax)
                    return try io.results()
                }
            }
            add("conv2dBiasReLUMaxPoolForward", shape, sums(ci * k * k + 1)) { b, r in
                var io = CaseIO(b, views: views)
                let input = try io.input(x, &r), filter = try io.input(f, &r), bias = try io.input([co], &r)
                let pooled = try io.output(p, &r), argmax = try io.scratch(p)
                try b.conv2dBiasReLUMaxPoolForward(input: input, filter: filter, bias: bias, pooledOutput: pooled, argmax: argmax)
                let relu = try io.scratch(full)
                try b.conv2dForward(input: input, filter: filter, bias: bias, output: relu, relu: true)
                let values = try b.download(relu), winners = try b.download(argmax)
                let (oh, ow) = (p[2], p[3])
                let atWinners: [Float] = winners.enumerated().map { position, cell in
                    let plane = position / (oh * ow), oy = position / ow % oh, ox = position % ow
                    guard cell >= 0, cell <= 3, cell == cell.rounded() else { return .nan }
                    let y = 2 * oy + Int(cell) / 2, x = 2 * ox + Int(cell) % 2
                    guard y < h, x < w else { return .nan }
                    return values[(plane * h + y) * w + x]
                }
                return try io.results() + atWinners
            }
        }

        // Max-pool 2x2 stride 2 with ceil padding: (N, C, H, W), odd and even sizes.
        let pools: [(Int, Int, Int, Int)] = [(1, 1, 1, 1), (5, 3, 7, 7), (32, 64, 16, 16), (2, 65, 33, 33),
                                             (5, 128, 2, 2), (1, 3, 15, 8), (1, 1, 31, 32), (32, 3, 3, 3),
                                             (32, 128, 33, 33)]
        for (index, p) in pools.enumerated() {
            let (n, c, h, w) = p
            let views = index % 2 == 0
            let shape = "N\(n) C\(c) \(h)x\(w)" + (views ? " view" : "")
            let x = [n, c, h, w], y = PoolGeometry.outputShape(x)
            add("maxPoolForward", shape, exact) { b, r in
                var io = CaseIO(b, views: views)
                let input = try io.input(x, &r), output = try io.output(y, &r), argmax = try io.output(y, &r)
                try b.maxPoolForward(input: input, output: output, argmax: argmax)
                return try io.results()
            }
            add("maxPoolBackward", shape, exact) { b, r in
                var io = CaseIO(b, views: views)
                let input = try io.input(x, &r), output = try io.scratch(y), argmax = try io.output(y, &r)
                let dy = try io.input(y, &r), dx = try io.output(x, &r)
                try b.maxPoolForward(input: input, output: output, argmax: argmax)
                try b.maxPoolBackward(outputGradient: dy, argmax: argmax, inputGradient: dx)
                return try io.results()
            }
        }

        // GEMM: (M, N, K, transposeA, transposeB, alpha, beta) around 8x16 blocks and 64-wide tiles.
        let gemms: [(Int, Int, Int, Bool, Bool, Float, Float)] = [
            (1, 1, 1, false, false, 1, 0),
            (7, 15, 15, false, false, 1, 0), (7, 15, 15, true, false, 1, 0),
            (7, 15, 15, false, true, 1, 0), (7, 15, 15, true, true, 1, 0),
            (9, 17, 17, false, false, 1, 1), (9, 17, 17, true, false, 0.5, 1),
            (9, 17, 17, false, true, 1, -1), (9, 17, 17, true, true, 2, 0.5),
            (8, 16, 16, false, false, 1, 0), (64, 64, 64, true, true, 1, 0),
            (63, 63, 63, false, true, 1, 0), (65, 65, 65, true, false, 1, 0.25),
            (63, 65, 15, false, false, 1, 0), (65, 63, 17, false, false, -1, 1),
            (31, 33, 129, false, false, 0.5, 0), (33, 31, 1, false, false, 1, 1),
            (128, 130, 127, false, false, 1.5, -0.5), (10, 1025, 513, false, false, 1, 0),
            (10, 1025, 513, false, true, 1, 0), (513, 1025, 10, true, false, 1, 1),
        ]
        for (index, g) in gemms.enumerated() {
            let (m, n, k, ta, tb, alpha, beta) = g
            let views = index % 2 == 1
            let mode = (ta ? "T" : "N") + (tb ? "T" : "N")
            let shape = "M\(m) N\(n) K\(k) alpha \(alpha) beta \(beta)" + (views ? " view" : "")
            add("gemm \(mode)", shape, sums(k + 1)) { b, r in
                var io = CaseIO(b, views: views)
                let a = try io.input(ta ? [k, m] : [m, k], &r), bm = try io.input(tb ? [n, k] : [k, n], &r)
                let c = try io.output([m, n], &r)
                try b.gemm(a, transposeA: ta, bm, transposeB: tb, into: c, alpha: alpha, beta: beta)
                return try io.results()
            }
        }

        // Dense bias and its gradient.
        for (index, (rows, cols)) in [(1, 1), (5, 65), (32, 129), (10, 4096)].enumerated() {
            let views = index % 2 == 1
            let shape = "\(rows)x\(cols)" + (views ? " view" : "")
            for activation in [Activation.none, .relu, .sigmoid] {
                add("addBias \(activation.rawValue)", shape, activation == .sigmoid ? transcendental : sums(1)) { b, r in
                    var io = CaseIO(b, views: views)
                    let bias = try io.input([cols], &r), x = try io.output([rows, cols], &r)
                    try b.addBias(bias, to: x, activation: activation)
                    return try io.results()
                }
            }
            for accumulate in [false, true] {
                add("biasGradient" + (accumulate ? " accumulate" : ""), shape, sums(rows + 1)) { b, r in
                    var io = CaseIO(b, views: views)
                    let g = try io.input([rows, cols], &r), db = try io.output([cols], &r)
                    try b.biasGradient(outputGradient: g, biasGradient: db, accumulate: accumulate)
                    return try io.results()
                }
            }
        }

        // Elementwise ops.
        for (index, shape) in [[1], [33], [5, 65], [32, 1025]].enumerated() {
            let views = index % 2 == 1
            let name = shape.map(String.init).joined(separator: "x") + (views ? " view" : "")
            add("reluForward", name, exact) { b, r in
                var io = CaseIO(b, views: views)
                let x = try io.input(shape, &r), y = try io.output(shape, &r)
                try b.reluForward(x, output: y)
                return try io.results()
            }
            add("reluBackward", name, exact) { b, r in
                var io = CaseIO(b, views: views)
                let x = try io.input(shape, &r), y = try io.scratch(shape), dy = try io.input(shape, &r)
                let dx = try io.output(shape, &r)
                try b.reluForward(x, output: y)
                try b.reluBackward(output: y, outputGradient: dy, inputGradient: dx)
                return try io.results()
            }
            add("sigmoidForward", name, transcendental) { b, r in
                var io = CaseIO(b, views: views)
                let x = try io.input(shape, &r, scale: 8), y = try io.output(shape, &r)
                try b.sigmoidForward(x, output: y)
                return try io.results()
            }
            add("sigmoidBackward", name, transcendental) { b, r in
                var io = CaseIO(b, views: views)
                let y = try io.input(shape, &r, low: 0), dy = try io.input(shape, &r), dx = try io.output(shape, &r)
                try b.sigmoidBackward(output: y, outputGradient: dy, inputGradient: dx)
                return try io.results()
            }
            add("absDifference", name, exact) { b, r in
                var io = CaseIO(b, views: views)
                let a = try io.input(shape, &r), c = try io.input(shape, &r), y = try io.output(shape, &r)
                try b.absDifference(a, c, output: y)
                return try io.results()
            }
            add("absDifferenceBackward", name, exact) { b, r in
                var io = CaseIO(b, views: views)
                let a = try io.input(shape, &r), c = try io.input(shape, &r), g = try io.input(shape, &r)
                let ga = try io.output(shape, &r), gb = try io.output(shape, &r)
                try b.absDifferenceBackward(a, c, outputGradient: g, gradientA: ga, gradientB: gb)
                return try io.results()
            }
        }

        // Losses: batch 1, 5, 32 and one larger; embeddings as the two halves of a [2B, D] tensor.
        for batch in [1, 5, 32, 100] {
            add("binaryCrossEntropyWithLogits", "B\(batch)", transcendental) { b, r in
                var io = CaseIO(b, views: batch % 2 == 1)
                let z = try io.input([batch], &r, scale: 6), y = try io.labels([batch], &r)
                let dz = try io.output([batch], &r)
                let result = try b.binaryCrossEntropyWithLogits(logits: z, labels: y, logitsGradient: dz)
                return try io.results() + [result.loss, Float(result.correct)]
            }
        }
        for (batch, dim) in [(1, 1), (5, 64), (32, 65), (32, 128), (7, 4096)] {
            // Margin near the mean distance of uniform embeddings, so both hinge branches occur.
            let margin = 0.8 * Float(dim).squareRoot()
            add("contrastiveLoss", "B\(batch) D\(dim) margin \(margin) halves", transcendental) { b, r in
                var io = CaseIO(b, views: true)
                let both = try io.input([2 * batch, dim], &r), labels = try io.labels([batch], &r)
                let ga = try io.output([batch, dim], &r), gb = try io.output([batch, dim], &r)
                let result = try b.contrastiveLoss(try both.rows(0..<batch), try both.rows(batch..<2 * batch),
                                                   labels: labels, margin: margin, gradientA: ga, gradientB: gb)
                return try io.results() + [result.loss, Float(result.correct)]
            }
        }

        // Nearest neighbours (Q, N, D, k): k = 1 and k = N, one bank row, a query block and a bank
        // chunk boundary crossed (4096 queries x 5000 rows needs two chunks on either backend).
        // Distances are compared directly; for the indices, the exact distance to the row that was
        // returned is compared, so that two rows at nearly the same distance may come in either order.
        for (q, n, d, k) in [(1, 1, 1, 1), (5, 33, 19, 1), (65, 64, 19, 64), (257, 1000, 27, 5), (4096, 5000, 8, 3)] {
            add("nearestNeighbors", "Q\(q) N\(n) D\(d) k\(k)", sums(3 * d)) { b, r in
                var io = CaseIO(b, views: q > 1)
                let queries = try io.input([q, d], &r), bank = try io.input([n, d], &r)
                let distances = try io.output([q, k], &r), indices = try io.scratch([q, k])
                try b.nearestNeighbors(queries: queries, bank: bank, k: k, distances: distances, indices: indices)
                let qv = try b.download(queries), bv = try b.download(bank), iv = try b.download(indices)
                let exact: [Float] = iv.enumerated().map { position, index in
                    guard index >= 0, index < Float(n), index == index.rounded() else { return .nan }
                    let row = Int(index), query = position / k
                    var s = 0.0
                    for j in 0..<d { let x = Double(qv[query * d + j]) - Double(bv[row * d + j]); s += x * x }
                    return Float(s.squareRoot())
                }
                return try io.results() + exact
            }
        }
        // The clipped distance (summed directly on every backend): clips that bind some coordinates
        // and not others, k from 1 to N, a bank longer than one launch chunk of the device.
        for (q, n, d, k, clip) in [(1, 1, 1, 1, Float(0.5)), (7, 33, 19, 1, 1), (65, 64, 19, 64, 0.25), (300, 1200, 27, 5, 1.5)] {
            add("nearestNeighbors", "clip \(clip) Q\(q) N\(n) D\(d) k\(k)", sums(3 * d)) { b, r in
                var io = CaseIO(b, views: q > 1)
                let queries = try io.input([q, d], &r), bank = try io.input([n, d], &r)
                let distances = try io.output([q, k], &r), indices = try io.scratch([q, k])
                try b.nearestNeighbors(queries: queries, bank: bank, k: k, clip: clip, distances: distances, indices: indices)
                let exact = try exactNeighborDistances(b, queries: queries, bank: bank, indices: indices, k: k, clip: clip)
                return try io.results() + exact
            }
        }
        // Clustered rows, as transformed flows are (near-duplicates around a few centres), with one
        // query in eight far from every centre: the CPU's fast search proves most queries from its
        // GEMM-form candidates and scans the far ones directly; both must give the direct results.
        for (q, n, d, k, clip) in [(300, 2000, 19, 1, Float(1)), (129, 1500, 19, 3, .infinity), (70, 700, 5, 8, 0.5)] {
            // A device's unclipped search takes |q|^2 + |b|^2 - 2 q.b (Backend.nearestNeighbors): about
            // 40 * 2^-23 * a few in d^2 here, over 2d ~ 0.2 for these near neighbours: ~1e-4 in d.
            let tolerance = clip.isFinite ? sums(3 * d) : Tolerance(absolute: 3e-4, relative: 1e-4)
            add("nearestNeighbors", "clustered clip \(clip) Q\(q) N\(n) D\(d) k\(k)", tolerance) { b, r in
                let centres = (0..<24 * d).map { _ in r.normal() }
                func rows(_ count: Int, farEvery: Int) -> [Float] {
                    (0..<count).flatMap { row -> [Float] in
                        let c = Int(r.next() % 24), far: Float = row % farEvery == farEvery - 1 ? 3 : 0.03
                        return (0..<d).map { centres[c * d + $0] + far * r.normal() }
                    }
                }
                let queries = try b.makeTensor([q, d]), bank = try b.makeTensor([n, d])
                try b.upload(rows(q, farEvery: 8), to: queries)
                try b.upload(rows(n, farEvery: n + 1), to: bank)
                let distances = try b.makeTensor([q, k]), indices = try b.makeTensor([q, k])
                try b.nearestNeighbors(queries: queries, bank: bank, k: k, clip: clip, distances: distances, indices: indices)
                // As above: the exact distance to each returned row, so near-ties may come in either order.
                let exact = try exactNeighborDistances(b, queries: queries, bank: bank, indices: indices, k: k, clip: clip)
                return try b.download(distances) + exact
            }
        }
        // Ties: small integers make every dot product exact, so duplicate rows tie exactly and
        // both backends must return the same indices (the lower row first).
        add("nearestNeighbors", "ties Q17 N40 D4 k6", transcendental) { b, _ in
            let queries = try b.makeTensor([17, 4]), bank = try b.makeTensor([40, 4])
            try b.upload((0..<68).map { Float($0 % 3) }, to: queries)
            try b.upload((0..<160).map { Float(($0 / 4) % 5 + $0 % 2) }, to: bank)
            let distances = try b.makeTensor([17, 6]), indices = try b.makeTensor([17, 6])
            try b.nearestNeighbors(queries: queries, bank: bank, k: 6, distances: distances, indices: indices)
            return try b.download(distances) + b.download(indices)
        }

        // Adam: lengths that are not multiples of the per-work-item count; first and a later step.
        for (count, step) in [(1, 1), (1000, 1), (65537, 10)] {
            add("adamUpdate", "\(count) params step \(step)", transcendental) { b, r in
                var io = CaseIO(b, views: count > 1)
                let p = try io.output([count], &r), g = try io.input([count], &r)
                let m = try io.output([count], &r, scale: 0.1), v = try io.output([count], &r, low: 0, scale: 0.01)
                try b.adamUpdate(parameter: p, gradient: g, firstMoment: m, secondMoment: v,
                                 hyperparameters: AdamHyperparameters(learningRate: 1e-3), step: step)
                return try io.results()
            }
        }
        return all
    }
}

/// Makes a case's tensors with random contents, as row views with padding when asked, and
/// reads back every output tensor whole (padding included).
struct CaseIO {
    let backend: Backend
    let views: Bool
    var outputs: [Tensor] = []

    init(_ backend: Backend, views: Bool) {
        self.backend = backend
        self.views = views
    }

    private func make(_ shape: [Int], _ values: (Int) -> [Float]) throws -> (view: Tensor, whole: Tensor) {
        let outer = views ? [shape[0] + 2] + shape.dropFirst() : shape
        let whole = try backend.makeTensor(outer)
        try backend.upload(values(whole.count), to: whole)
        return (views ? try whole.rows(1..<shape[0] + 1) : whole, whole)
    }

    /// A tensor of uniform values in [low*scale, scale) (low defaults to -1).
    mutating func input(_ shape: [Int], _ rng: inout SeededGenerator, low: Float = -1, scale: Float = 1) throws -> Tensor {
        try make(shape) { n in (0..<n).map { _ in rng.uniform(low * scale, scale) } }.view
    }

    /// Like `input`, and read back by `results()`.
    mutating func output(_ shape: [Int], _ rng: inout SeededGenerator, low: Float = -1, scale: Float = 1) throws -> Tensor {
        let t = try make(shape) { n in (0..<n).map { _ in rng.uniform(low * scale, scale) } }
        outputs.append(t.whole)
        return t.view
    }

    /// A tensor of integers drawn uniformly from `range` (sums of their products are exact in fp32).
    mutating func integers(_ shape: [Int], _ rng: inout SeededGenerator, range: ClosedRange<Int>) throws -> Tensor {
        let span = UInt64(range.upperBound - range.lowerBound + 1)
        return try make(shape) { n in (0..<n).map { _ in Float(range.lowerBound + Int(rng.next() % span)) } }.view
    }

    /// Labels 0 or 1.
    mutating func labels(_ shape: [Int], _ rng: inout SeededGenerator) throws -> Tensor {
        try make(shape) { n in (0..<n).map { _ in Float(rng.next() & 1) } }.view
    }

    /// An intermediate tensor that is neither random nor compared.
    func scratch(_ shape: [Int]) throws -> Tensor { try backend.makeTensor(shape) }

    func results() throws -> [Float] { try outputs.flatMap { try backend.download($0) } }
}
