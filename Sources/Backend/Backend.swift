/// The mean loss of a batch and how many of its pairs were classified correctly.
///
/// Loss ops compute both in one pass so that a training step downloads two scalars.
public struct LossResult: Equatable, Sendable {
    public var loss: Float
    public var correct: Int
    public init(loss: Float, correct: Int) {
        self.loss = loss
        self.correct = correct
    }
}

/// Adam hyperparameters (Kingma and Ba 2015), bias-corrected.
public struct AdamHyperparameters: Equatable, Sendable, Codable {
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    /// Keras's defaults except the learning rate, which the original work set to 1e-4.
    public init(learningRate: Float = 1e-4, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }
}

/// Every heavy operation of the Siamese network, on device-resident `Tensor`s.
///
/// Shapes: images and feature maps are NCHW; conv filters are [Cout, Cin, K, K] with odd K,
/// stride 1 and zero "same" padding; matrices are [rows, columns], row-major. Gradient
/// writers take `accumulate`: false overwrites the gradient, true adds to it.
/// Ops are enqueued in order; `download` returns after all earlier ops have finished.
public protocol Backend: AnyObject {
    /// Short name: "cpu" or "opencl".
    var name: String { get }
    /// The device in words (BLAS library and threads, or OpenCL device name).
    var deviceDescription: String { get }

    // MARK: Memory

    /// A new tensor of `shape`, filled with zeros.
    func makeTensor(_ shape: [Int]) throws -> Tensor
    /// Copies `values` (exactly `tensor.count` of them) into `tensor`.
    func upload(_ values: [Float], to tensor: Tensor) throws
    /// Waits for pending work on `tensor` and returns its values.
    func download(_ tensor: Tensor) throws -> [Float]
    /// Sets every element to `value`.
    func fill(_ tensor: Tensor, with value: Float) throws
    /// Copies `source` into `destination` (same element count) on the device.
    func copy(_ source: Tensor, to destination: Tensor) throws
    /// Waits until every enqueued op has finished.
    func synchronize() throws

    // MARK: Convolution

    /// output = conv(input, filter) + bias, then ReLU if `relu`. input [N,Ci,H,W], filter
    /// [Co,Ci,K,K], bias [Co], output [N,Co,H,W].
    func conv2dForward(input: Tensor, filter: Tensor, bias: Tensor, output: Tensor, relu: Bool) throws
    /// conv2dForward with `relu: true`, then maxPoolForward, as one op: pooledOutput
    /// [N,Co,ceil(H/2),ceil(W/2)] and argmax as maxPoolForward would write them from the ReLU
    /// output, which is never stored at full resolution. argmax nil (inference) skips the winners'
    /// positions. Training needs no more than this: the ReLU gradient is masked at the pooled
    /// resolution and maxPoolBackward routes through argmax.
    func conv2dBiasReLUMaxPoolForward(input: Tensor, filter: Tensor, bias: Tensor, pooledOutput: Tensor,
                                      argmax: Tensor?) throws
    /// Gradient of the loss with respect to the convolution's input.
    func conv2dBackwardInput(outputGradient: Tensor, filter: Tensor, inputGradient: Tensor,
                             accumulate: Bool) throws
    /// Gradient with respect to the filter.
    func conv2dBackwardFilter(input: Tensor, outputGradient: Tensor, filterGradient: Tensor,
                              accumulate: Bool) throws
    /// Gradient with respect to the bias: sums of outputGradient over N, H and W per channel.
    func conv2dBackwardBias(outputGradient: Tensor, biasGradient: Tensor, accumulate: Bool) throws

    // MARK: Pooling

    /// Max-pool 2x2, stride 2, "same" (ceil) padding: output [N,C,ceil(H/2),ceil(W/2)].
    /// `argmax` (output's shape) records the winner's position in its window, 0...3 row-major;
    /// cells outside the input never win.
    func maxPoolForward(input: Tensor, output: Tensor, argmax: Tensor) throws
    /// Routes each output gradient to its window's winner; inputGradient is overwritten.
    func maxPoolBackward(outputGradient: Tensor, argmax: Tensor, inputGradient: Tensor) throws

    // MARK: Dense

    /// c = alpha * op(a) * op(b) + beta * c, op(x) = x or its transpose. c is [M,N];
    /// a is [M,K] ([K,M] if transposed); b is [K,N] ([N,K] if transposed).
    func gemm(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool, into c: Tensor,
              alpha: Float, beta: Float) throws
    /// Adds bias [N] to every row of matrix [M,N], with optional fused activation.
    func addBias(_ bias: Tensor, to matrix: Tensor, activation: Activation) throws
    /// biasGradient[j] (+)= sum over rows i of outputGradient[i, j].
    func biasGradient(outputGradient: Tensor, biasGradient: Tensor, accumulate: Bool) throws

    // MARK: Elementwise

    func reluForward(_ input: Tensor, output: Tensor) throws
    /// inputGradient = outputGradient where output > 0, else 0.
    func reluBackward(output: Tensor, outputGradient: Tensor, inputGradient: Tensor) throws
    func sigmoidForward(_ input: Tensor, output: Tensor) throws
    /// inputGradient = outputGradient * output * (1 - output).
    func sigmoidBackward(output: Tensor, outputGradient: Tensor, inputGradient: Tensor) throws
    /// output = |a - b| elementwise.
    func absDifference(_ a: Tensor, _ b: Tensor, output: Tensor) throws
    /// gradientA = outputGradient * sign(a - b), gradientB = -gradientA (sign(0) = 0).
    func absDifferenceBackward(_ a: Tensor, _ b: Tensor, outputGradient: Tensor,
                               gradientA: Tensor, gradientB: Tensor) throws

    // MARK: Losses

    /// Binary cross-entropy of sigmoid(logits) against labels (1 = same class), fused with the
    /// sigmoid for stability: mean over the batch of max(z,0) - z*y + log(1 + exp(-|z|)).
    /// Writes d(mean loss)/d(logits); counts predictions (z > 0) equal to the label.
    func binaryCrossEntropyWithLogits(logits: Tensor, labels: Tensor, logitsGradient: Tensor) throws -> LossResult
    /// Contrastive loss (Hadsell, Chopra, LeCun 2006) on d = ||a - b||: mean over pairs of
    /// y*d^2/2 + (1-y)*max(0, margin - d)^2/2 with y = 1 for similar pairs. a, b are [B,D].
    /// Writes both gradients; a pair counts as correct when (d < margin/2) == (y == 1).
    func contrastiveLoss(_ a: Tensor, _ b: Tensor, labels: Tensor, margin: Float,
                         gradientA: Tensor, gradientB: Tensor) throws -> LossResult

    // MARK: Nearest neighbours

    /// For each query row, the `k` nearest bank rows by Euclidean distance, nearest first.
    /// queries [Q,D], bank [N,D], distances and indices [Q,k] with 1 <= k <= min(N, 64); indices
    /// are bank row numbers stored as Float (exact below 2^24 rows). Equal distances keep the lower
    /// bank index first. The CPU returns the direct sum of (q - b)^2, computed the same way for every
    /// pair, so a query's result never depends on its batch (its fast search finds candidates by
    /// the GEMM form and proves them in the direct form, or scans directly: the same results); a
    /// device may use |q|^2 + |b|^2 - 2 q.b (one GEMM per bank chunk), which agrees up to that form's
    /// cancellation, about eps (|q|^2 + |b|^2) in d^2.
    ///
    /// With a finite `clip` > 0 the distance is sqrt(sum_j min(|q_j - b_j|, clip)^2): no single
    /// coordinate adds more than clip^2, so one feature that drifted between periods cannot make a
    /// normal flow far from everything (the baseline recipe's default). Every backend sums it
    /// directly; `clip = .infinity` is the Euclidean distance.
    func nearestNeighbors(queries: Tensor, bank: Tensor, k: Int, clip: Float, distances: Tensor, indices: Tensor) throws

    // MARK: Optimizer

    /// One bias-corrected Adam step in place; `step` counts from 1.
    func adamUpdate(parameter: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor,
                    hyperparameters: AdamHyperparameters, step: Int) throws
}

/// Activation fused into `addBias`.
public enum Activation: String, Sendable, Codable {
    case none, relu, sigmoid
}

extension Backend {
    /// `nearestNeighbors` by the Euclidean distance.
    public func nearestNeighbors(queries: Tensor, bank: Tensor, k: Int, distances: Tensor, indices: Tensor) throws {
        try nearestNeighbors(queries: queries, bank: bank, k: k, clip: .infinity, distances: distances, indices: indices)
    }
}
