import Foundation

/// The OpenCL C sources of kernels/*.cl, embedded in the binary.
///
/// `GPU_TRAIN_KERNELS_DIR` may name a folder of .cl files that override the embedded ones
/// file by file, so that kernels can be edited and rerun without rebuilding.
public enum KernelSources {
    /// The environment variable naming a folder of .cl files that override the embedded ones.
    public static let overrideVariable = "GPU_TRAIN_KERNELS_DIR"

    /// Kernel files (without ".cl"): one per op family, GEMM in three (register-blocked, tiled,
    /// and the tiled kernel's convolution operand modes), and the fused convolution + pool.
    public static let families = ["conv", "distance", "elementwise", "fused", "gemm_conv", "gemm_registers", "gemm_tiled",
                                  "loss", "optimizer", "pool"]

    /// The source of family `name` ("gemm_tiled" for kernels/gemm_tiled.cl) and where it came from
    /// ("embedded" or the override file's path); nil if there is no such family.
    public static func source(named name: String,
                              environment: [String: String] = ProcessInfo.processInfo.environment)
        -> (text: String, origin: String)? {
        if let dir = environment[overrideVariable], !dir.isEmpty {
            let path = URL(fileURLWithPath: dir).appendingPathComponent("\(name).cl").path
            if let text = try? String(contentsOfFile: path, encoding: .utf8) { return (text, path) }
        }
        return embedded[name].map { ($0, "embedded") }
    }
}
