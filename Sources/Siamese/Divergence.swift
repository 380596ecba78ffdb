import Foundation

// Divergence is caught from the tensors, not only from the loss: a ReLU that maps NaN to 0 (the
// C kernels' epilogues do, as max(x, 0) does in SIMD) can hide NaN weights behind a finite loss,
// so a run could go on and write a checkpoint that its own loader refuses.

extension SiameseNetwork {
    /// The first parameter, gradient or Adam moment holding NaN or an infinity, as "conv1.weight"
    /// or "the gradient of conv1.weight"; nil when all are finite. Downloads each tensor once: call
    /// it once per epoch, never per step.
    public func firstNonFiniteTensor() throws -> String? {
        for p in parameters {
            if try !backend.download(p.value).allSatisfy(\.isFinite) { return p.name }
        }
        guard training else { return nil }
        for p in parameters {
            for (what, tensor) in [("the gradient of", try p.gradient()), ("the Adam first moment of", try p.firstMoment()),
                                   ("the Adam second moment of", try p.secondMoment())] {
                if try !backend.download(tensor).allSatisfy(\.isFinite) { return "\(what) \(p.name)" }
            }
        }
        return nil
    }
}
