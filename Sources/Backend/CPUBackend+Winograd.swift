import CBLAS
import CKernels
import Dispatch

// Winograd F(2x2, 3x3) on the CPU (Sources/CKernels/winograd.c for the transforms): per chunk of
// images, V = the input tiles transformed, then 16 independent GEMMs M[k] = U[k] V[k] (one per
// point of the 4x4 transform domain, each single-threaded, the 16 spread over the threads), then
// the outputs transformed back with bias, ReLU or accumulation. The input gradient is the same
// on the transposed shape with the filter rotated. Workspaces: V in `columns`, M in
// `transposed`, U in `winogradFilter`; chunks keep V and M within ConvGeometry.scratchBudget.
extension CPUBackend {
    /// Below this many input or output channels the GEMMs are too thin for Winograd to pay.
    static let winogradMinimumChannels = 8

    /// The C shape when the Winograd path takes `g`, else nil.
    func winogradShape(_ g: ConvGeometry) -> gt_conv_shape? {
        guard convolution == .winograd, g.kernel == 3, min(g.inChannels, g.outChannels) >= Self.winogradMinimumChannels,
              let shape = directShape(g, reduction: .max), gt_winograd_supported(shape) != 0 else { return nil }
        return shape
    }

    /// y (or dx) = the Winograd convolution of `input` with the filters already in `u`.
    private func winograd(_ shape: gt_conv_shape, batch: Int, u: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                          relu: Bool, accumulate: Bool, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) throws {
        let ci = Int(shape.in_channels), co = Int(shape.out_channels)
        let tiles = Int(gt_winograd_tiles(shape)), pixels = Int(shape.height) * Int(shape.width)
        let perImage = 16 * max(ci, co) * tiles
        let chunk = max(1, min(batch, ConvGeometry.scratchBudget / perImage))
        for start in stride(from: 0, to: batch, by: chunk) {
            let images = min(chunk, batch - start), columns = images * tiles
            let v = try self.columns.pointer(count: 16 * ci * columns)
            let m = try transposed.pointer(count: 16 * co * columns)
            let x = input + start * ci * pixels, y = output + start * co * pixels
            Parallel.forEachChunk(images, minimumChunk: 1) { range in
                gt_winograd_input(shape, x, Int32(images), Int32(range.lowerBound), Int32(range.upperBound), v)
            }
            DispatchQueue.concurrentPerform(iterations: 16) { k in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(co), Int32(columns), Int32(ci), 1,
                            u + k * co * ci, Int32(ci), v + k * ci * columns, Int32(columns), 0, m + k * co * columns,
                            Int32(columns))
            }
            Parallel.forEachChunk(images, minimumChunk: 1) { range in
                gt_winograd_output(shape, m, Int32(images), Int32(range.lowerBound), Int32(range.upperBound), bias,
                                   relu ? 1 : 0, accumulate ? 1 : 0, y)
            }
        }
    }

    /// conv2dForward through Winograd; false when the shape is not taken.
    func winogradConv2dForward(_ g: ConvGeometry, input: UnsafePointer<Float>, filter: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, relu: Bool) throws -> Bool {
        guard let shape = winogradShape(g) else { return false }
        let u = try winogradFilter.pointer(count: 16 * g.inChannels * g.outChannels)
        gt_winograd_filter(shape, filter, 0, u)
        try winograd(shape, batch: g.batch, u: u, bias: bias, relu: relu, accumulate: false, input: input, output: output)
        return true
    }

    /// conv2dBackwardInput through Winograd (the transposed, rotated filter); false when not taken.
    func winogradConv2dBackwardInput(_ g: ConvGeometry, outputGradient: UnsafePointer<Float>, filter: UnsafePointer<Float>,
                                     inputGradient: UnsafeMutablePointer<Float>, accumulate: Bool) throws -> Bool {
        guard let shape = winogradShape(g) else { return false }
        let u = try winogradFilter.pointer(count: 16 * g.inChannels * g.outChannels)
        gt_winograd_filter(shape, filter, 1, u)
        try winograd(gt_conv_transposed_shape(shape), batch: g.batch, u: u, bias: nil, relu: false, accumulate: accumulate,
                     input: outputGradient, output: inputGradient)
        return true
    }
}
