import Foundation

/// Adam's per-step constants, computed on the host in Double and shared by both
/// backends' Adam updates. Keras's form:
/// p -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + epsilon).
public struct AdamCoefficients: Sendable {
    public let beta1: Float, beta2: Float, oneMinusBeta1: Float, oneMinusBeta2: Float
    public let stepSize: Float, epsilon: Float

    public init(_ h: AdamHyperparameters, step: Int) {
        let t = Double(step)
        beta1 = h.beta1
        beta2 = h.beta2
        oneMinusBeta1 = 1 - h.beta1
        oneMinusBeta2 = 1 - h.beta2
        stepSize = Float(Double(h.learningRate) * (1 - pow(Double(h.beta2), t)).squareRoot() / (1 - pow(Double(h.beta1), t)))
        epsilon = h.epsilon
    }
}
