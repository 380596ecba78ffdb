/// Nearest neighbours on the device: row norms (kernels/distance.cl), one GEMM per bank chunk
/// (kernels/gemm_registers.cl or gemm_tiled.cl) and a per-query top-k merge (kernels/distance.cl);
/// nothing visits the host.
extension OpenCLBackend {
    /// Dot products kept per chunk: queries x bank rows at most this many floats (64 MiB).
    static let neighborScratchFloats = 1 << 24
    /// Query x bank pairs per launch of the clipped kernel.
    static let clippedChunkPairs = 1 << 26

    public func nearestNeighbors(queries: Tensor, bank: Tensor, k: Int, clip: Float, distances: Tensor, indices: Tensor) throws {
        let op = "nearestNeighbors"
        let g = try NeighborGeometry.check(op: op, queries: queries.shape, bank: bank.shape, k: k,
                                           distances: distances.shape, indices: indices.shape)
        try NeighborGeometry.check(op: op, clip: clip)
        var capacity = 1
        while capacity < k { capacity *= 2 }
        if clip.isFinite {
            // The clipped distance has no GEMM form: summed directly, one work-item per query,
            // over bank chunks short enough for a GPU's watchdog.
            let direct = try kernel("distance", "clipped_topk", [("MAX_K", capacity)])
            let chunk = max(1, Self.clippedChunkPairs / max(g.queries, 1))
            var start = 0
            while start < g.bankRows {
                let cols = min(chunk, g.bankRows - start)
                try cl.launch(direct, arguments(queries, op) + arguments(bank, op) +
                              [.int(g.queries), .int(g.dimension), .int(start), .int(cols), .float(clip), .int(k),
                               .int(start == 0 ? 1 : 0), .int(start + cols >= g.bankRows ? 1 : 0)] +
                              arguments(distances, op) + arguments(indices, op),
                              global: [g.queries])
                start += cols
            }
            return
        }
        let chunk = min(g.bankRows, max(256, Self.neighborScratchFloats / g.queries))
        let queryNorms = try makeTensor([g.queries]), bankNorms = try makeTensor([g.bankRows])
        let dots = try makeTensor([g.queries, chunk])
        let norms = try kernel("distance", "row_norms")
        try cl.launch(norms, arguments(queries, op) + [.int(g.queries), .int(g.dimension)] + [.buffer(buffer(queryNorms, op).mem)],
                      global: [g.queries])
        try cl.launch(norms, arguments(bank, op) + [.int(g.bankRows), .int(g.dimension)] + [.buffer(buffer(bankNorms, op).mem)],
                      global: [g.bankRows])
        let merge = try kernel("distance", "topk_merge", [("MAX_K", capacity)])
        var start = 0
        while start < g.bankRows {
            let cols = min(chunk, g.bankRows - start)
            let view = try dots.reshaped([g.queries * chunk]).rows(0..<(g.queries * cols)).reshaped([g.queries, cols])
            try gemm(queries, transposeA: false, try bank.rows(start..<(start + cols)), transposeB: true, into: view,
                     alpha: 1, beta: 0)
            try cl.launch(merge, [.buffer(buffer(dots, op).mem), .int(cols), .int(start),
                                  .buffer(buffer(queryNorms, op).mem), .buffer(buffer(bankNorms, op).mem),
                                  .int(g.queries), .int(k), .int(start == 0 ? 1 : 0),
                                  .int(start + cols >= g.bankRows ? 1 : 0)] +
                                 arguments(distances, op) + arguments(indices, op),
                          global: [g.queries])
            start += cols
        }
    }
}
