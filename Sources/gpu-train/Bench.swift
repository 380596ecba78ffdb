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

    func validate() throws {
        // Fewer than 5 samples make a median that one slow sample can move; --quick figures mean nothing anyway.
        let least = quick ? 1 : 5
        guard repeats >= least else { throw ValidationError("--repeats must be at least \(least)\(quick ? "" : " (fewer only with --quick)")") }
    }

    func run() throws {
        try CPUISA.checkEnvironment()
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
}
