/// A device-resident tensor: an opaque handle with a shape, owned by the backend that made it.
///
/// Values move to and from the host only through `Backend.upload` and `Backend.download`.
/// A tensor may be a view of rows of another (`rows(_:)`): it shares the parent's storage
/// from `offset` on, so that, for example, the two halves of a 2B batch of embeddings can
/// be fed to an op without a copy.
public final class Tensor: CustomStringConvertible {
    /// Dimensions, outermost first (NCHW for images, [rows, columns] for matrices).
    public let shape: [Int]
    /// Number of elements: the product of `shape`.
    public let count: Int
    /// Element offset of this tensor in its storage (non-zero only for views).
    public let offset: Int
    /// Backend-specific storage (host memory for the CPU backend, a cl_mem for OpenCL).
    public let storage: AnyObject

    public init(shape: [Int], storage: AnyObject, offset: Int = 0) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.storage = storage
        self.offset = offset
    }

    /// A view of rows `range` of the outermost dimension, sharing storage.
    public func rows(_ range: Range<Int>) throws -> Tensor {
        guard let first = shape.first, range.lowerBound >= 0, range.upperBound <= first, !range.isEmpty else {
            throw BackendError.shapeMismatch(op: "rows", detail: "rows \(range) of a tensor of shape \(shape)")
        }
        let rowSize = count / max(first, 1)
        return Tensor(shape: [range.count] + shape.dropFirst(), storage: storage,
                      offset: offset + range.lowerBound * rowSize)
    }

    /// The same storage seen with another shape of the same element count.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        guard TensorSize.product(newShape) == count else {
            throw BackendError.shapeMismatch(op: "reshape", detail: "\(shape) -> \(newShape)")
        }
        return Tensor(shape: newShape, storage: storage, offset: offset)
    }

    public var description: String { "Tensor\(shape)" }
}
