import Foundation

/// Max pooling (kernels/pool.cl).
extension OpenCLBackend {
    public func maxPoolForward(input: Tensor, output: Tensor, argmax: Tensor) throws {
        let op = "maxPoolForward"
        let g = try PoolGeometry.check(op: op, input: input.shape, output: output.shape)
        try Check.shape(op, argmax, output.shape, "argmax")
        try cl.launch(kernel("pool", "maxpool_forward"),
                      arguments(input, op) + arguments(output, op) + arguments(argmax, op) +
                      [.int(g.planes), .int(g.height), .int(g.width)], global: [g.planes * g.outHeight])
    }

    public func maxPoolBackward(outputGradient: Tensor, argmax: Tensor, inputGradient: Tensor) throws {
        let op = "maxPoolBackward"
        let g = try PoolGeometry.check(op: op, input: inputGradient.shape, output: outputGradient.shape)
        try Check.shape(op, argmax, outputGradient.shape, "argmax")
        try cl.launch(kernel("pool", "maxpool_backward"),
                      arguments(outputGradient, op) + arguments(argmax, op) + arguments(inputGradient, op) +
                      [.int(g.planes), .int(g.height), .int(g.width)], global: [g.planes * g.outHeight])
    }
}
