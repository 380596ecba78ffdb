/// NumPy `.npy` (format version 1.0) encoding of little-endian float32, int32 and int64 arrays,
/// so Python users can `numpy.load` the converted images and labels.
public enum NPY {
    /// A float32 array of `shape` (C order).
    public static func encode(float32 values: [Float], shape: [Int]) -> [UInt8] {
        precondition(shape.reduce(1, *) == values.count, "NPY: shape \(shape) does not hold \(values.count) values")
        var out = header(descr: "<f4", shape: shape)
        out.reserveCapacity(out.count + values.count * 4)
        for v in values { out += littleEndian(v.bitPattern) }
        return out
    }

    /// An int32 array of `shape`.
    public static func encode(int32 values: [Int32], shape: [Int]) -> [UInt8] {
        precondition(shape.reduce(1, *) == values.count, "NPY: shape \(shape) does not hold \(values.count) values")
        var out = header(descr: "<i4", shape: shape)
        for v in values { out += littleEndian(UInt32(bitPattern: v)) }
        return out
    }

    /// An int64 array of `shape`.
    public static func encode(int64 values: [Int64], shape: [Int]) -> [UInt8] {
        precondition(shape.reduce(1, *) == values.count, "NPY: shape \(shape) does not hold \(values.count) values")
        var out = header(descr: "<i8", shape: shape)
        for v in values {
            let u = UInt64(bitPattern: v)
            out += littleEndian(UInt32(u & 0xFFFF_FFFF)) + littleEndian(UInt32(u >> 32))
        }
        return out
    }

    /// Magic, version 1.0, header length and the dict, padded with spaces and a newline so the
    /// data starts at a multiple of 64 bytes.
    public static func header(descr: String, shape: [Int]) -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let n = dict.utf8.count
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(n & 0xFF), UInt8(n >> 8)] + Array(dict.utf8)
    }

    @inline(__always)
    static func littleEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)]
    }
}
