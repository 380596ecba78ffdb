import CKernels
import Foundation

/// The instruction-set level of the C kernels (Sources/CKernels): the best the CPU runs, or a
/// lower one forced with `GPU_TRAIN_CPU_ISA=avx512|avx2|portable`, so that a machine with
/// AVX-512 can also test the AVX2 and portable paths. The variable is read once per process.
public enum CPUISA {
    public static let variable = "GPU_TRAIN_CPU_ISA"
    static let accepted = "avx512, avx2 or portable"

    /// The level every kernel runs at (GT_ISA_*).
    public static var selected: Int32 { gt_best_isa() }
    /// The highest level the hardware runs, whatever the variable says.
    public static var hardware: Int32 { gt_hardware_isa() }

    /// The error an unrecognised value of the variable is, or nil when it is unset or valid.
    public static var environmentError: BackendError? {
        guard gt_isa_limit() < 0 else { return nil }
        let value = ProcessInfo.processInfo.environment[variable] ?? ""
        return .invalidArgument(op: variable, detail: "'\(value)' is not \(accepted) (the C kernels' instruction set)")
    }

    /// Throws when the variable holds an unrecognised value (commands refuse to run with it).
    public static func checkEnvironment() throws {
        if let error = environmentError { throw error }
    }

    /// Says once on stderr that the variable is not understood (for library users and tests,
    /// which make backends without going through a command).
    static let warnIfInvalid: Void = {
        if let error = environmentError {
            FileHandle.standardError.write(Data("gpu-train: warning: \(error); the C kernels use \(CPUConvolution.isaName(selected))\n".utf8))
        }
    }()

    /// "AVX2+FMA (forced by GPU_TRAIN_CPU_ISA=avx2; the CPU runs AVX-512)" when forced lower, else the level's name.
    public static var description: String {
        let name = CPUConvolution.isaName(selected)
        guard selected < hardware else { return name }
        let value = ProcessInfo.processInfo.environment[variable] ?? ""
        return "\(name) (forced by \(variable)=\(value); the CPU runs \(CPUConvolution.isaName(hardware)))"
    }
}
