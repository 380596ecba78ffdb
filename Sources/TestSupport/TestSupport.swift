// Tolerance, Comparison and compare() live in Backend (Tolerance.swift) so that
// `gpu-train verify` and the tests share one helper; re-exported here for tests.
@_exported import Backend
import Foundation

/// Deterministic random arrays for tests.
public struct TestRandom {
    public var generator: SeededGenerator
    public init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    public mutating func uniform(_ count: Int, _ low: Float = -1, _ high: Float = 1) -> [Float] {
        (0..<count).map { _ in generator.uniform(low, high) }
    }

    public mutating func labels(_ count: Int) -> [Float] {
        (0..<count).map { _ in Float(generator.next() & 1) }
    }
}

/// Where the shared dataset is: ../shared/data/kubernetes-dataset beside the package root, or nil.
public func sharedDatasetURL() -> URL? {
    let root = packageRoot()
    let url = root.deletingLastPathComponent().appendingPathComponent("shared/data/kubernetes-dataset")
    return FileManager.default.fileExists(atPath: url.path) ? url : nil
}

/// The package root, found from this source file's location.
public func packageRoot(file: StaticString = #filePath) -> URL {
    URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// Uploads `values` into a new tensor of `shape` on `backend`.
public func makeTensor(_ backend: Backend, _ shape: [Int], _ values: [Float]) throws -> Tensor {
    let t = try backend.makeTensor(shape)
    try backend.upload(values, to: t)
    return t
}

/// The OpenCL backend on the default device, or nil (with the reason) when there is none.
public func openCLBackend() -> (Backend?, String) {
    do { return (try OpenCLBackend(), "") } catch { return (nil, "\(error)") }
}
