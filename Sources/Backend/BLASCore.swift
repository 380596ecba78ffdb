import CBLAS
import Common
import Foundation

/// OpenBLAS picks its kernels per CPU when it loads. OpenBLAS 0.3.21 (Debian 12) does not
/// recognise some newer Xeons and falls back to its generic "Prescott" SSE3 kernels, about
/// three times slower than its AVX-512 ones on the same cores. The choice can only be made
/// through OPENBLAS_CORETYPE before the library loads, so `gpu-train` re-executes itself
/// once with that variable when it finds the fallback on a CPU with AVX-512 or AVX2.
/// An OPENBLAS_CORETYPE already set (by the user or the system) is always left alone;
/// GPU_TRAIN_KEEP_BLAS_CORE=1 turns the adjustment off.
public enum BLASCore {
    /// The kernel set OpenBLAS is using ("SkylakeX", "Haswell", "Prescott", ...).
    public static var current: String { String(cString: openblas_get_corename()) }

    /// The core type to ask for, or nil when OpenBLAS's own choice should stand.
    public static func recommendedCoreType(cpuFlags: Set<String>? = nil) -> String? {
        let env = ProcessInfo.processInfo.environment
        guard env["OPENBLAS_CORETYPE"] == nil, env["GPU_TRAIN_KEEP_BLAS_CORE"] == nil else { return nil }
        guard ["prescott", "katmai", "coppermine", "northwood", "banias", "core2"].contains(current.lowercased()) else { return nil }
        let flags = cpuFlags ?? CPUInfo.flags
        if ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) { return "SkylakeX" }
        if ["avx2", "fma"].allSatisfy(flags.contains) { return "Haswell" }
        return nil
    }

    /// Re-executes this program with OPENBLAS_CORETYPE set when `recommendedCoreType` says so;
    /// returns normally (doing nothing) otherwise or when exec fails.
    public static func reexecIfGeneric() {
        guard let core = recommendedCoreType() else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv("GPU_TRAIN_BLAS_CORE_FROM", current, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // exec failed: carry on with the kernels OpenBLAS chose.
        unsetenv("OPENBLAS_CORETYPE")
    }

    /// A note for `devices` when gpu-train changed the core, else nil.
    public static var adjustmentNote: String? {
        guard let from = ProcessInfo.processInfo.environment["GPU_TRAIN_BLAS_CORE_FROM"] else { return nil }
        return "OpenBLAS fell back to its generic \(from) kernels on this CPU; gpu-train asked for \(current) " +
            "(set OPENBLAS_CORETYPE to choose, or GPU_TRAIN_KEEP_BLAS_CORE=1 to keep OpenBLAS's choice)"
    }
}
