import Foundation

/// Bias, activations and |a - b| (kernels/elementwise.cl).
extension OpenCLBackend {
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
}
