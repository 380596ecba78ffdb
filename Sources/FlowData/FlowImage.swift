/// Turns a scaled feature row into a 32x32 grayscale image, and images into viewable pixels.
public enum FlowImage {
    public static let side = 32
    public static let pixelCount = side * side

    /// Pixel k (row-major) = scaled[k mod F]: the F values tiled to fill 32x32.
    public static func render(_ scaled: ArraySlice<Float>) -> [Float] {
        precondition(!scaled.isEmpty, "render: no features")
        var image = [Float](repeating: 0, count: pixelCount)
        image.withUnsafeMutableBufferPointer { out in
            scaled.withUnsafeBufferPointer { values in
                tile(values.baseAddress!, values.count, into: out.baseAddress!)
            }
        }
        return image
    }

    public static func render(_ scaled: [Float]) -> [Float] { render(scaled[...]) }

    /// Renders `rows` of a row-major scaled matrix with `featureCount` columns into
    /// `output` (rows.count x 1024 floats), in the order given.
    public static func renderBatch(scaled: UnsafeBufferPointer<Float>, featureCount: Int, rows: [Int],
                                   into output: UnsafeMutableBufferPointer<Float>) {
        precondition(featureCount > 0 && output.count >= rows.count * pixelCount, "renderBatch: buffer sizes")
        for (n, r) in rows.enumerated() {
            precondition((r + 1) * featureCount <= scaled.count, "renderBatch: row \(r) out of range")
            tile(scaled.baseAddress! + r * featureCount, featureCount, into: output.baseAddress! + n * pixelCount)
        }
    }

    /// Renders every row of a row-major scaled matrix: rowCount x 1024 floats.
    public static func renderAll(_ scaled: [Float], featureCount: Int) -> [Float] {
        let rows = scaled.count / featureCount
        var out = [Float](repeating: 0, count: rows * pixelCount)
        scaled.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in
                renderBatch(scaled: s, featureCount: featureCount, rows: Array(0..<rows), into: o)
            }
        }
        return out
    }

    @inline(__always)
    static func tile(_ values: UnsafePointer<Float>, _ f: Int, into out: UnsafeMutablePointer<Float>) {
        var k = 0
        while k < pixelCount {
            let n = min(f, pixelCount - k)
            (out + k).update(from: values, count: n)
            k += n
        }
    }

    /// The gray level of a z-score: z clamped to [-3, 3] and mapped linearly onto 0...255
    /// (z = -3 black, 0 mid-gray 128, +3 white), rounded to nearest. NaN maps to 0.
    @inline(__always)
    public static func gray(_ z: Float) -> UInt8 {
        guard !z.isNaN else { return 0 }
        let c = min(max(z, -3), 3)
        return UInt8(((c + 3) / 6 * 255).rounded())
    }

    /// A 32x32 image as gray bytes, each pixel repeated `factor` x `factor` times.
    public static func grayPixels(_ image: ArraySlice<Float>, factor: Int) -> [UInt8] {
        precondition(image.count == pixelCount && factor >= 1)
        let w = side * factor
        var out = [UInt8](repeating: 0, count: w * w)
        let base = image.startIndex
        for y in 0..<w {
            for x in 0..<w {
                out[y * w + x] = gray(image[base + (y / factor) * side + x / factor])
            }
        }
        return out
    }

    /// Images laid out in rows (each inner array one row of 32x32 images), upscaled by
    /// `factor`, separated by `gap` pixels of mid-gray. Returns width, height and gray bytes.
    public static func montage(_ rows: [[ArraySlice<Float>]], factor: Int, gap: Int = 4) -> (width: Int, height: Int, pixels: [UInt8]) {
        let cell = side * factor
        let columns = max(1, rows.map(\.count).max() ?? 1)
        let width = columns * cell + (columns + 1) * gap
        let height = max(1, rows.count) * cell + (max(1, rows.count) + 1) * gap
        var pixels = [UInt8](repeating: 128, count: width * height)
        for (r, row) in rows.enumerated() {
            for (c, image) in row.enumerated() {
                let tile = grayPixels(image, factor: factor)
                let x0 = gap + c * (cell + gap), y0 = gap + r * (cell + gap)
                for y in 0..<cell {
                    pixels.replaceSubrange((y0 + y) * width + x0 ..< (y0 + y) * width + x0 + cell,
                                           with: tile[y * cell ..< (y + 1) * cell])
                }
            }
        }
        return (width, height, pixels)
    }
}
