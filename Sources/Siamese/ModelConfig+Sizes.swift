import Backend

/// Sizes of a network computed with overflow-checked arithmetic. A configuration comes from
/// options or from a model file, so any product of its numbers may be absurd: each tensor the
/// network would allocate is checked against the backends' limit before anything is built.
extension ModelConfig {
    /// Elements of each layer's activation for one image: input, then every conv output (the
    /// largest buffers), the pooled maps and the embedding. Throws naming the layer that
    /// cannot be built.
    public func activationSizesPerImage() throws -> [(name: String, elements: Int)] {
        var sizes: [(String, Int)] = [("input", try TensorSize.elements([1, imageSide, imageSide], "input image"))]
        for (i, (c, s)) in zip(channels, layerSides).enumerated() {
            sizes.append(("conv\(i + 1) output", try TensorSize.elements([c, s, s], "conv\(i + 1) output")))
        }
        sizes.append(("embedding", try TensorSize.elements([embedding], "embedding")))
        return sizes
    }

    /// Throws unless every parameter and every per-image activation fits one tensor. Called by
    /// `validate()`, so both options and model files are checked.
    public func checkSizes() throws {
        // Activations first: they bound the image side and the last feature map, which
        // `parameterShapes` multiplies without checks (embed.weight is [flattened, embedding]).
        do { _ = try activationSizesPerImage() } catch {
            throw SiameseError.invalidConfiguration("\(error) (channels \(channels), image side \(imageSide))")
        }
        for (name, shape) in parameterShapes {
            do { _ = try TensorSize.elements(shape, name) } catch {
                throw SiameseError.invalidConfiguration("\(error) (channels \(channels), kernels \(kernels), embedding \(embedding))")
            }
        }
    }

    /// The most pairs one training batch may hold: a batch of P pairs runs 2P images through
    /// the encoder, and the largest activation of all of them must fit one tensor.
    public func maxPairsPerBatch() throws -> Int {
        let largest = try activationSizesPerImage().map(\.elements).max() ?? 1
        return max(1, TensorSize.maxElements / 2 / max(largest, 1))
    }
}
