import ArgumentParser
import Backend
import Bench
import FlowData
import Foundation
import Siamese

/// `gpu-train bench`: per-op and end-to-end speed of the backends on the default network.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time every op of the default network, training steps, inference and CSV parsing on each backend.")

    enum Choice: String, ExpressibleByArgument, CaseIterable {
        /// The CPU backend, then OpenCL when a device exists.
        case all, cpu, opencl
    }

    @Option(help: "Backend: cpu, opencl, or all (cpu, then opencl when an OpenCL device exists).")
    var backend: Choice = .all

    @Option(help: "OpenCL device: an index from `gpu-train devices` or a case-insensitive substring of its name.")
    var device: String?

    @Option(help: "Write the results as JSON to this file (medians, plus spread and detail keys).")
    var json: String?

    @Option(help: "Timed samples per measurement, after one warm-up (at least 5; with --quick, at least 1).")
    var repeats: Int = 5

    @Flag(help: "Tiny network and data (for tests; the figures mean nothing).")
    var quick = false

    @Flag(help: "Instead: OpenCL start-up (open the backend, build every kernel family once) with the kernel cache off and warm, in --repeats interleaved pairs. Set POCL_KERNEL_CACHE=0 (PoCL) or CUDA_CACHE_DISABLE=1 (NVIDIA) to keep the driver's own cache out of the cold runs.")
    var startup = false

    func validate() throws {
        // Fewer than 5 samples make a median that one slow sample can move; --quick figures mean nothing anyway.
        let least = quick ? 1 : 5
        guard repeats >= least else { throw ValidationError("--repeats must be at least \(least)\(quick ? "" : " (fewer only with --quick)")") }
    }

    func run() throws {
        try CPUISA.checkEnvironment()
        if startup { return try runStartup() }
        let settings = quick ? BenchmarkSettings.quick(repeats: repeats) : BenchmarkSettings.standard(repeats: repeats)
        var backends: [Backend] = []
        if backend != .opencl { backends.append(CPUBackend()) }
        switch backend {
        case .opencl:
            backends.append(try OpenCLBackend(device: device, profiling: true))
        case .all:
            if (try? OpenCLDevices.all())?.isEmpty == false || device != nil {
                backends.append(try OpenCLBackend(device: device, profiling: true))
            } else {
                Console.note("no OpenCL device: benchmarking the CPU backend only")
            }
        case .cpu:
            break
        }
        for b in backends { Console.note("backend: \(b.name) on \(b.deviceDescription)") }
        if let warning = MachineInfo.loadWarning(oneMinuteLoad: MachineInfo.oneMinuteLoad,
                                                 cores: ProcessInfo.processInfo.activeProcessorCount) {
            Console.note(warning)
        }
        let started = Date()
        let report = try Benchmark.report(backends: backends, settings: settings) { message in
            Console.note(String(format: "[%5.0f s] ", Date().timeIntervalSince(started)) + message)
        }
        print(report.text, terminator: "")
        if let json {
            try AtomicFile.write(report.json(), to: URL(fileURLWithPath: json))
            Console.note("wrote \(json)")
        }
    }

    /// `--startup`: cold and warm start-up times of the OpenCL backend, and their medians.
    func runStartup() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gpu-train-startup-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let info = try OpenCLDevices.select(device)
        Console.note("startup: \(info.name); cache off vs warm (in \(folder.path)), \(repeats) pairs")
        if let warning = MachineInfo.loadWarning(oneMinuteLoad: MachineInfo.oneMinuteLoad,
                                                 cores: ProcessInfo.processInfo.activeProcessorCount) {
            Console.note(warning)
        }
        let samples = try StartupProbe.measure(device: String(info.index), repeats: repeats, cacheFolder: folder)
        for (i, s) in samples.enumerated() {
            print(String(format: "pair %d: cold %.3f s (%d programs compiled), warm %.3f s (%d loaded)",
                         i + 1, s.cold, s.compiled, s.warm, s.loaded))
        }
        let cold = StartupProbe.median(samples.map(\.cold)), warm = StartupProbe.median(samples.map(\.warm))
        print(String(format: "median: cold %.3f s, warm %.3f s, saved %.3f s (%.0f%%) on %@", cold, warm, cold - warm,
                     100 * (cold - warm) / cold, info.name))
    }
}
