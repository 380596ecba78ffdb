// The per-op table: every op of the default network at the training batch.
import Backend
import Foundation
import Siamese

extension Benchmark {

    static func opTable(_ network: SiameseNetwork, settings: BenchmarkSettings,
                        progress: (String) -> Void) throws -> [OpBenchmark] {
        let backend = network.backend, config = network.config
        let n = 2 * settings.opPairs
        var rng = SeededGenerator(seed: 3)
        func random(_ shape: [Int]) throws -> Tensor {
            let t = try backend.makeTensor(shape)
            try backend.upload((0..<t.count).map { _ in rng.uniform(-1, 1) }, to: t)
            return t
        }
        var rows: [OpBenchmark] = []
        func measure(_ op: String, _ layer: String, _ shape: String, flops: Double?, bytes: Double?,
                     _ body: () throws -> Void) throws {
            let t = try time(repeats: settings.repeats, minimumSeconds: settings.minimumSampleSeconds,
                             backend: backend, body)
            let seconds = t.wall.median
            rows.append(OpBenchmark(op: op, layer: layer, shape: shape,
                                    ms: seconds * 1e3, msMin: t.wall.min * 1e3, msMax: t.wall.max * 1e3,
                                    deviceMs: t.device.map { $0.median * 1e3 }, deviceMsMin: t.device.map { $0.min * 1e3 },
                                    deviceMsMax: t.device.map { $0.max * 1e3 },
                                    gflops: flops.map { $0 / seconds / 1e9 }, gbPerS: bytes.map { $0 / seconds / 1e9 }, percentOfPeak: nil))
        }

        let sides = config.layerSides
        var inC = 1
        var layerInput = try random([n, 1, config.imageSide, config.imageSide])
        var lastOutput = layerInput
        for (i, (c, k)) in zip(config.channels, config.kernels).enumerated() {
            let s = sides[i], name = "conv\(i + 1)"
            progress("\(backend.name): per-op table, \(name)")
            guard let w = network.parameter("\(name).weight"), let b = network.parameter("\(name).bias") else {
                throw SiameseError.invalidConfiguration("no parameters for \(name)")
            }
            let g = ConvGeometry(batch: n, inChannels: inC, outChannels: c, height: s, width: s, kernel: k)
            let shape = "N\(n) \(inC)->\(c) \(s)x\(s) k\(k)"
            // On the CPU backend, say which path each pass took (direct, winograd or im2col).
            let paths = (backend as? CPUBackend)?.convolutionPaths(g)
            func tagged(_ path: String?) -> String { path.map { shape + " [\($0)]" } ?? shape }
            let output = try backend.makeTensor([n, c, s, s])
            let outputGradient = try random([n, c, s, s])
            let inputGradient = try backend.makeTensor(layerInput.shape)
            let input = layerInput
            let elements = Double(output.count)
            try measure("conv_forward+bias+relu", name, tagged(paths?.forward), flops: g.flops, bytes: nil) {
                try backend.conv2dForward(input: input, filter: w.value, bias: b.value, output: output, relu: true)
            }
            let scratch = try backend.makeTensor(output.shape)
            try measure("relu_backward", name, "N\(n) \(c)x\(s)x\(s)", flops: nil, bytes: 3 * 4 * elements) {
                try backend.reluBackward(output: output, outputGradient: outputGradient, inputGradient: scratch)
            }
            if i > 0 {
                try measure("conv_backward_input", name, tagged(paths?.inputGradient), flops: g.flops, bytes: nil) {
                    try backend.conv2dBackwardInput(outputGradient: outputGradient, filter: w.value,
                                                    inputGradient: inputGradient, accumulate: false)
                }
            }
            try measure("conv_backward_filter", name, tagged(paths?.filterGradient), flops: g.flops, bytes: nil) {
                try backend.conv2dBackwardFilter(input: input, outputGradient: outputGradient,
                                                 filterGradient: try w.gradient(), accumulate: false)
            }
            try measure("conv_backward_bias", name, "N\(n) \(c)x\(s)x\(s)", flops: elements, bytes: nil) {
                try backend.conv2dBackwardBias(outputGradient: outputGradient, biasGradient: try b.gradient(), accumulate: false)
            }
            lastOutput = output
            if i < config.channels.count - 1 {
                let poolShape = PoolGeometry.outputShape(output.shape)
                let pooled = try backend.makeTensor(poolShape), argmax = try backend.makeTensor(poolShape)
                let pooledGradient = try random(poolShape)
                let pool = "pool\(i + 1)", pshape = "N\(n) \(c)x\(s)x\(s)->\(poolShape[2])x\(poolShape[3])"
                let small = Double(pooled.count)
                // The fused op the network runs for this layer: with the winners (training) and without (inference).
                let poolPath = (backend as? CPUBackend)?.convolutionPoolPath(g)
                try measure("conv_forward+bias+relu+pool", name, tagged(poolPath), flops: g.flops, bytes: nil) {
                    try backend.conv2dBiasReLUMaxPoolForward(input: input, filter: w.value, bias: b.value,
                                                             pooledOutput: pooled, argmax: argmax)
                }
                try measure("conv_forward+bias+relu+pool inference", name, tagged(poolPath), flops: g.flops, bytes: nil) {
                    try backend.conv2dBiasReLUMaxPoolForward(input: input, filter: w.value, bias: b.value,
                                                             pooledOutput: pooled, argmax: nil)
                }
                try backend.conv2dForward(input: input, filter: w.value, bias: b.value, output: output, relu: true)
                try measure("pool_forward", pool, pshape, flops: nil, bytes: 4 * (elements + 2 * small)) {
                    try backend.maxPoolForward(input: output, output: pooled, argmax: argmax)
                }
                try measure("pool_backward", pool, pshape, flops: nil, bytes: 4 * (elements + 2 * small)) {
                    try backend.maxPoolBackward(outputGradient: pooledGradient, argmax: argmax, inputGradient: scratch)
                }
                layerInput = pooled
            }
            inC = c
        }

        progress("\(backend.name): per-op table, dense and Adam")
        guard let embed = network.parameter("embed.weight"), let embedBias = network.parameter("embed.bias") else {
            throw SiameseError.invalidConfiguration("no embed parameters")
        }
        let flat = try lastOutput.reshaped([n, config.flattened])
        let m = n, kIn = config.flattened, out = config.embedding
        let denseFlops = 2 * Double(m) * Double(kIn) * Double(out)
        let embedding = try backend.makeTensor([m, out]), embeddingGradient = try random([m, out])
        let flatGradient = try backend.makeTensor([m, kIn])
        let dshape = "\(m)x\(kIn) * \(kIn)x\(out)"
        try measure("dense_forward+bias+sigmoid", "embed", dshape, flops: denseFlops, bytes: nil) {
            try backend.gemm(flat, transposeA: false, embed.value, transposeB: false, into: embedding, alpha: 1, beta: 0)
            try backend.addBias(embedBias.value, to: embedding, activation: .sigmoid)
        }
        try measure("dense_backward_input", "embed", "\(m)x\(out) * (\(kIn)x\(out))^T", flops: denseFlops, bytes: nil) {
            try backend.gemm(embeddingGradient, transposeA: false, embed.value, transposeB: true, into: flatGradient,
                             alpha: 1, beta: 0)
        }
        try measure("dense_backward_weight", "embed", "(\(m)x\(kIn))^T * \(m)x\(out)", flops: denseFlops, bytes: nil) {
            try backend.gemm(flat, transposeA: true, embeddingGradient, transposeB: false, into: try embed.gradient(),
                             alpha: 1, beta: 0)
        }
        // Adam reads parameter, gradient and both moments and writes three of them: 7 floats per element.
        let parameterCount = network.parameters.reduce(0) { $0 + $1.value.count }
        let hyper = AdamHyperparameters()
        var step = 0
        try measure("adam", "all (\(network.parameters.count) tensors)", "\(parameterCount) parameters",
                    flops: nil, bytes: 7 * 4 * Double(parameterCount)) {
            step += 1
            for p in network.parameters {
                try backend.adamUpdate(parameter: p.value, gradient: try p.gradient(), firstMoment: try p.firstMoment(),
                                       secondMoment: try p.secondMoment(), hyperparameters: hyper, step: step)
            }
        }
        return rows
    }

    /// FLOPs of the encoder's forward pass for one image (convs and the embedding GEMM).
    public static func forwardFlopsPerImage(_ config: ModelConfig) -> Double {
        var flops = 0.0, inC = 1
        for (i, (c, k)) in zip(config.channels, config.kernels).enumerated() {
            let s = config.layerSides[i]
            flops += 2 * Double(c * inC * k * k * s * s)
            inC = c
        }
        return flops + 2 * Double(config.flattened * config.embedding)
    }

}
