import Foundation

/// The Adam step, one launch over a parameter tensor and its moments (kernels/optimizer.cl).
extension OpenCLBackend {
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
