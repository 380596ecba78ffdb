import Foundation

/// Logistic function, written so that neither branch overflows. The CPU backend's activations
/// and the detector's head both use it, so host-side scores match the CPU backend exactly.
@inline(__always)
public func sigmoid(_ x: Float) -> Float {
    if x >= 0 { return 1 / (1 + expf(-x)) }
    let e = expf(x)
    return e / (1 + e)
}
