import Backend

/// One trainable tensor with, in a training network, its gradient and Adam moments, all on
/// the backend. An inference-only network keeps just the values (a quarter of the memory).
public final class Parameter {
    public let name: String
    public let value: Tensor
    private let state: (gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor)?

    init(name: String, shape: [Int], backend: Backend, training: Bool) throws {
        self.name = name
        value = try backend.makeTensor(shape)
        state = training ? (try backend.makeTensor(shape), try backend.makeTensor(shape), try backend.makeTensor(shape)) : nil
    }

    private func training() throws -> (gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor) {
        guard let state else {
            throw SiameseError.invalidConfiguration("\(name): this network was built for inference only (no gradients)")
        }
        return state
    }

    public func gradient() throws -> Tensor { try training().gradient }
    public func firstMoment() throws -> Tensor { try training().firstMoment }
    public func secondMoment() throws -> Tensor { try training().secondMoment }
    public var hasTrainingState: Bool { state != nil }
}

/// One convolution layer of the encoder: its parameters and whether a 2x2 max-pool follows.
struct ConvLayer {
    let weight: Parameter
    let bias: Parameter
    let pooled: Bool
}

/// A dense layer: weight [in, out] and bias [out].
struct DenseLayer {
    let weight: Parameter
    let bias: Parameter
}

/// Activations and gradients for one batch size, allocated once and reused every step.
final class Activations {
    /// The max-pool after a conv layer: its output, the winners' positions (training only), the gradient.
    struct Pool {
        let output: Tensor, argmax: Tensor?, gradient: Tensor
    }

    /// One conv layer: either its ReLU output, or (a pooled layer, whose convolution, ReLU and
    /// pool run as one op) its pool; and the gradient at the convolution's output.
    enum Result {
        case output(Tensor)
        case pool(Pool)
    }

    struct Conv {
        let result: Result
        let gradient: Tensor
        var pool: Pool? {
            if case .pool(let p) = result { return p }
            return nil
        }
        /// What the next layer reads: the pooled output, or the ReLU output itself.
        var next: Tensor {
            switch result {
            case .output(let t): return t
            case .pool(let p): return p.output
            }
        }
        /// Where the next layer's input gradient goes.
        var nextGradient: Tensor { pool?.gradient ?? gradient }
    }

    let images: Int
    let input: Tensor
    var conv: [Conv] = []
    let embedding: Tensor, embeddingGradient: Tensor
    // Head (BCE) and loss buffers, for images / 2 pairs.
    let difference: Tensor, differenceGradient: Tensor
    let logits: Tensor, logitsGradient: Tensor, labels: Tensor

    /// Gradient buffers are made only for `training`; inference needs the forward ones alone.
    init(config: ModelConfig, images: Int, backend: Backend, training: Bool) throws {
        self.images = images
        let gradientShape = { (shape: [Int]) throws -> Tensor in try backend.makeTensor(training ? shape : [1]) }
        let side = config.imageSide
        input = try backend.makeTensor([images, 1, side, side])
        let sides = config.layerSides
        for (i, c) in config.channels.enumerated() {
            let s = sides[i]
            let result: Result
            if i < config.channels.count - 1 {
                // The full-resolution ReLU output is never stored: the fused op writes the pool.
                let p = (s + 1) / 2
                result = .pool(Pool(output: try backend.makeTensor([images, c, p, p]),
                                    argmax: training ? try backend.makeTensor([images, c, p, p]) : nil,
                                    gradient: try gradientShape([images, c, p, p])))
            } else {
                result = .output(try backend.makeTensor([images, c, s, s]))
            }
            conv.append(Conv(result: result, gradient: try gradientShape([images, c, s, s])))
        }
        embedding = try backend.makeTensor([images, config.embedding])
        embeddingGradient = try gradientShape([images, config.embedding])
        let pairs = max(images / 2, 1)
        difference = try gradientShape([pairs, config.embedding])
        differenceGradient = try gradientShape([pairs, config.embedding])
        logits = try gradientShape([pairs, 1])
        logitsGradient = try gradientShape([pairs, 1])
        labels = try gradientShape([pairs])
    }
}

/// The Siamese network on a `Backend`: the shared encoder, the head, the losses and Adam.
///
/// A batch of B pairs runs as one batch of 2B images through the encoder: rows 0..<B are the
/// left images and rows B..<2B the right ones, so the shared weights see one big GEMM per layer.
public final class SiameseNetwork {
    public let backend: Backend
    public let config: ModelConfig
    /// False for an inference-only network: no gradients, no Adam state, forward buffers only.
    public let training: Bool
    public private(set) var parameters: [Parameter] = []
    /// Adam steps taken so far (the bias correction's t).
    public var step = 0
    private var byName: [String: Parameter] = [:]
    private var workspaces: [Int: Activations] = [:]
    /// The encoder's conv layers in order, its dense embedding and (BCE) the head.
    let convLayers: [ConvLayer]
    let embed: DenseLayer
    let head: DenseLayer?

    public init(backend: Backend, config: ModelConfig, training: Bool = true) throws {
        try config.validate()
        self.backend = backend
        self.config = config
        self.training = training
        var made: [Parameter] = []
        var byName: [String: Parameter] = [:]
        for (name, shape) in config.parameterShapes {
            let p = try Parameter(name: name, shape: shape, backend: backend, training: training)
            made.append(p)
            byName[name] = p
        }
        func lookup(_ name: String) throws -> Parameter {
            guard let p = byName[name] else { throw SiameseError.invalidConfiguration("no parameter \(name)") }
            return p
        }
        convLayers = try (0..<config.channels.count).map { i in
            ConvLayer(weight: try lookup("conv\(i + 1).weight"), bias: try lookup("conv\(i + 1).bias"),
                      pooled: i < config.channels.count - 1)
        }
        embed = DenseLayer(weight: try lookup("embed.weight"), bias: try lookup("embed.bias"))
        head = config.loss == .bce ? DenseLayer(weight: try lookup("head.weight"), bias: try lookup("head.bias")) : nil
        parameters = made
        self.byName = byName
    }

    public func parameter(_ name: String) -> Parameter? { byName[name] }

    /// Glorot-uniform weights and zero biases, as Keras initialises Conv2D and Dense, from `seed`.
    public func initialize(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        for p in parameters {
            let shape = p.value.shape
            if p.name.hasSuffix(".bias") {
                try backend.fill(p.value, with: 0)
            } else {
                let (fanIn, fanOut): (Int, Int)
                if shape.count == 4 {
                    let receptive = shape[2] * shape[3]
                    (fanIn, fanOut) = (shape[1] * receptive, shape[0] * receptive)
                } else {
                    (fanIn, fanOut) = (shape[0], shape[1])
                }
                let limit = (6 / Float(fanIn + fanOut)).squareRoot()
                try backend.upload((0..<p.value.count).map { _ in rng.uniform(-limit, limit) }, to: p.value)
            }
            if p.hasTrainingState {
                try backend.fill(try p.firstMoment(), with: 0)
                try backend.fill(try p.secondMoment(), with: 0)
            }
        }
        step = 0
    }

    func workspace(images: Int) throws -> Activations {
        if let w = workspaces[images] { return w }
        let w = try Activations(config: config, images: images, backend: backend, training: training)
        workspaces[images] = w
        return w
    }

    /// Frees the per-batch-size activations (for example after training, before scoring).
    public func releaseWorkspaces() { workspaces.removeAll() }

    // MARK: Forward

    /// Runs the encoder over the first `count` images of `ws.input` (all of them when nil); leaves
    /// their embeddings in the first rows of `ws.embedding`. `winners`: record the pools' winning
    /// positions, which only a backward pass reads (and only a training network has room for).
    func encode(_ ws: Activations, winners: Bool, count: Int? = nil) throws {
        let n = count ?? ws.images
        func rows(_ t: Tensor) throws -> Tensor { n == ws.images ? t : try t.rows(0..<n) }
        var x = try rows(ws.input)
        for (layer, a) in zip(convLayers, ws.conv) {
            switch a.result {
            case .output(let output):
                let out = try rows(output)
                try backend.conv2dForward(input: x, filter: layer.weight.value, bias: layer.bias.value, output: out, relu: true)
                x = out
            case .pool(let pool):
                let pooled = try rows(pool.output)
                try backend.conv2dBiasReLUMaxPoolForward(input: x, filter: layer.weight.value, bias: layer.bias.value,
                                                         pooledOutput: pooled, argmax: winners ? try pool.argmax.map(rows) : nil)
                x = pooled
            }
        }
        let flat = try x.reshaped([n, config.flattened]), embedding = try rows(ws.embedding)
        try backend.gemm(flat, transposeA: false, embed.weight.value, transposeB: false, into: embedding, alpha: 1, beta: 0)
        try backend.addBias(embed.bias.value, to: embedding, activation: .sigmoid)
    }

    /// Loss and its gradient with respect to the embeddings, for B pairs whose embeddings are in ws.
    /// Without `gradients` (validation) the head's backward pass is skipped; the contrastive
    /// loss op writes its gradients as part of the same pass either way.
    func lossAndEmbeddingGradient(_ ws: Activations, pairs: Int, gradients: Bool = true) throws -> LossResult {
        let left = try ws.embedding.rows(0..<pairs), right = try ws.embedding.rows(pairs..<2 * pairs)
        let labels = try ws.labels.rows(0..<pairs)
        let gradLeft = try ws.embeddingGradient.rows(0..<pairs), gradRight = try ws.embeddingGradient.rows(pairs..<2 * pairs)
        switch config.loss {
        case .contrastive:
            return try backend.contrastiveLoss(left, right, labels: labels, margin: config.margin,
                                               gradientA: gradLeft, gradientB: gradRight)
        case .bce:
            let diff = try ws.difference.rows(0..<pairs), logits = try ws.logits.rows(0..<pairs)
            let dLogits = try ws.logitsGradient.rows(0..<pairs), dDiff = try ws.differenceGradient.rows(0..<pairs)
            guard let headLayer = head else { throw SiameseError.invalidConfiguration("a BCE network needs its head") }
            let head = headLayer.weight, headBias = headLayer.bias
            try backend.absDifference(left, right, output: diff)
            try backend.gemm(diff, transposeA: false, head.value, transposeB: false, into: logits, alpha: 1, beta: 0)
            try backend.addBias(headBias.value, to: logits, activation: .none)
            let result = try backend.binaryCrossEntropyWithLogits(logits: try logits.reshaped([pairs]), labels: labels,
                                                                  logitsGradient: try dLogits.reshaped([pairs]))
            guard gradients else { return result }
            try backend.gemm(diff, transposeA: true, dLogits, transposeB: false, into: try head.gradient(), alpha: 1, beta: 0)
            try backend.biasGradient(outputGradient: dLogits, biasGradient: try headBias.gradient(), accumulate: false)
            try backend.gemm(dLogits, transposeA: false, head.value, transposeB: true, into: dDiff, alpha: 1, beta: 0)
            try backend.absDifferenceBackward(left, right, outputGradient: dDiff, gradientA: gradLeft, gradientB: gradRight)
            return result
        }
    }

    // MARK: Backward

    /// Backpropagates ws.embeddingGradient through the encoder into every parameter gradient.
    func backward(_ ws: Activations) throws {
        // Through the sigmoid, in place.
        try backend.sigmoidBackward(output: ws.embedding, outputGradient: ws.embeddingGradient, inputGradient: ws.embeddingGradient)
        guard let last = ws.conv.last else { return }
        let flat = try last.next.reshaped([ws.images, config.flattened])
        let flatGradient = try last.nextGradient.reshaped([ws.images, config.flattened])
        try backend.gemm(flat, transposeA: true, ws.embeddingGradient, transposeB: false, into: try embed.weight.gradient(),
                         alpha: 1, beta: 0)
        try backend.biasGradient(outputGradient: ws.embeddingGradient, biasGradient: try embed.bias.gradient(), accumulate: false)
        try backend.gemm(ws.embeddingGradient, transposeA: false, embed.weight.value, transposeB: true, into: flatGradient,
                         alpha: 1, beta: 0)
        for i in convLayers.indices.reversed() {
            let layer = convLayers[i], a = ws.conv[i]
            switch a.result {
            case .pool(let pool):
                // Through the fused ReLU at the pooled resolution, a quarter of the work: the
                // gradient reaches only each window's winner, whose ReLU output is the pooled
                // value, so masking by pooled > 0 equals masking the winners by conv > 0.
                guard let argmax = pool.argmax else {
                    throw SiameseError.invalidConfiguration("this network was built for inference only (no pooling winners)")
                }
                try backend.reluBackward(output: pool.output, outputGradient: pool.gradient, inputGradient: pool.gradient)
                try backend.maxPoolBackward(outputGradient: pool.gradient, argmax: argmax, inputGradient: a.gradient)
            case .output(let output):
                // Through the fused ReLU, in place.
                try backend.reluBackward(output: output, outputGradient: a.gradient, inputGradient: a.gradient)
            }
            let input = i == 0 ? ws.input : ws.conv[i - 1].next
            try backend.conv2dBackwardFilter(input: input, outputGradient: a.gradient, filterGradient: try layer.weight.gradient(),
                                             accumulate: false)
            try backend.conv2dBackwardBias(outputGradient: a.gradient, biasGradient: try layer.bias.gradient(), accumulate: false)
            if i > 0 {
                try backend.conv2dBackwardInput(outputGradient: a.gradient, filter: layer.weight.value,
                                                inputGradient: ws.conv[i - 1].nextGradient, accumulate: false)
            }
        }
    }

    // MARK: Steps

    /// Uploads B pairs (left images, right images: B x side^2 each) and labels into a workspace.
    func load(left: [Float], right: [Float], labels: [Float]) throws -> Activations {
        let pairs = labels.count, pixels = config.imageSide * config.imageSide
        guard training else {
            throw SiameseError.invalidConfiguration("this network was built for inference only; it cannot train or compute losses")
        }
        guard pairs > 0, left.count == pairs * pixels, right.count == pairs * pixels else {
            throw SiameseError.invalidData("a batch needs \(pairs) left and right images of \(pixels) pixels")
        }
        let ws = try workspace(images: 2 * pairs)
        try backend.upload(left, to: try ws.input.rows(0..<pairs))
        try backend.upload(right, to: try ws.input.rows(pairs..<2 * pairs))
        try backend.upload(labels, to: try ws.labels.rows(0..<pairs))
        return ws
    }

    /// Forward, loss, backward and one Adam step on a batch of pairs; returns the batch loss.
    public func trainStep(left: [Float], right: [Float], labels: [Float], optimizer: AdamHyperparameters) throws -> LossResult {
        let ws = try load(left: left, right: right, labels: labels)
        try encode(ws, winners: true)
        let result = try lossAndEmbeddingGradient(ws, pairs: labels.count)
        try backward(ws)
        step += 1
        for p in parameters {
            try backend.adamUpdate(parameter: p.value, gradient: try p.gradient(), firstMoment: try p.firstMoment(),
                                   secondMoment: try p.secondMoment(), hyperparameters: optimizer, step: step)
        }
        return result
    }

    /// Forward and loss only (validation); parameters and their gradients are left alone.
    public func evaluate(left: [Float], right: [Float], labels: [Float]) throws -> LossResult {
        let ws = try load(left: left, right: right, labels: labels)
        try encode(ws, winners: false)
        return try lossAndEmbeddingGradient(ws, pairs: labels.count, gradients: false)
    }

    /// Forward, loss and gradients without an optimizer step (for gradient checks against references).
    public func gradients(left: [Float], right: [Float], labels: [Float]) throws -> LossResult {
        let ws = try load(left: left, right: right, labels: labels)
        try encode(ws, winners: true)
        let result = try lossAndEmbeddingGradient(ws, pairs: labels.count)
        try backward(ws)
        return result
    }

    /// Embeddings of `count` images (count x side^2 floats), as count x embedding floats.
    public func embed(images: [Float], count: Int) throws -> [Float] {
        try backend.download(try embedOnDevice(images: images, count: count))
    }

    /// Embeddings of `count` images as a device tensor [count, embedding], with no trip to the
    /// host. The tensor belongs to the network's workspace: it is overwritten by the next call
    /// with a count of the same size class (`inferenceImages(for:)`).
    public func embedOnDevice(images: [Float], count: Int) throws -> Tensor {
        let pixels = config.imageSide * config.imageSide
        guard count > 0, images.count == count * pixels else {
            throw SiameseError.invalidData("embed: \(images.count) floats for \(count) images of \(pixels) pixels")
        }
        let ws = try workspace(images: Self.inferenceImages(for: count))
        let whole = count == ws.images
        try backend.upload(images, to: whole ? ws.input : try ws.input.rows(0..<count))
        try encode(ws, winners: false, count: count)
        return whole ? ws.embedding : try ws.embedding.rows(0..<count)
    }

    /// The workspace size that embeds `count` images: the next power of two, so that a stream of
    /// batches of every size (`detect --follow`) keeps at most one workspace per power of two
    /// instead of one per size (each holds about 144 KB per image for the default network).
    static func inferenceImages(for count: Int) -> Int {
        count <= 1 ? 1 : 1 << (Int.bitWidth - (count - 1).leadingZeroBitCount)
    }

    /// How many per-batch-size workspaces the network holds (tests).
    var workspaceCount: Int { workspaces.count }

    // MARK: Weights

    /// Downloads every parameter (and optionally the Adam moments) by name.
    public func exportTensors(includeOptimizer: Bool) throws -> [(name: String, shape: [Int], values: [Float])] {
        var out: [(String, [Int], [Float])] = []
        for p in parameters { out.append((p.name, p.value.shape, try backend.download(p.value))) }
        if includeOptimizer && training {
            for p in parameters {
                out.append(("adam.m." + p.name, p.value.shape, try backend.download(try p.firstMoment())))
                out.append(("adam.v." + p.name, p.value.shape, try backend.download(try p.secondMoment())))
            }
        }
        return out
    }

    /// Copies values of the parameters (and moments, when present) from named host arrays.
    public func importTensors(_ lookup: (String) -> [Float]?) throws {
        for p in parameters {
            guard let v = lookup(p.name) else { throw SiameseError.invalidData("missing tensor \(p.name)") }
            try backend.upload(v, to: p.value)
            guard p.hasTrainingState else { continue }
            if let m = lookup("adam.m." + p.name), let v = lookup("adam.v." + p.name) {
                try backend.upload(m, to: try p.firstMoment())
                try backend.upload(v, to: try p.secondMoment())
            } else {
                try backend.fill(try p.firstMoment(), with: 0)
                try backend.fill(try p.secondMoment(), with: 0)
            }
        }
    }

    /// A device-side snapshot of the parameter values (for restore-best-weights).
    public func snapshot() throws -> [Tensor] {
        try parameters.map { p in
            let t = try backend.makeTensor(p.value.shape)
            try backend.copy(p.value, to: t)
            return t
        }
    }

    public func restore(_ snapshot: [Tensor]) throws {
        for (p, t) in zip(parameters, snapshot) { try backend.copy(t, to: p.value) }
    }

    /// Copies the current values into an existing snapshot without allocating.
    public func update(snapshot: [Tensor]) throws {
        for (p, t) in zip(parameters, snapshot) { try backend.copy(p.value, to: t) }
    }
}
