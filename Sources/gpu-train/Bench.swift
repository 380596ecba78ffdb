import ArgumentParser
import Backend
import Bench
import FlowData
import Foundation
import Siamese

/// `gpu-train bench`: per-op and end-to-end speed of the backends on the default network, and the
/// detector's path (nearest-neighbour scoring flows/s, quantile transform rows/s).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time every op of the default network, training steps, inference, CSV parsing and the detector's scoring on each backend.")

    enum Choice: String, ExpressibleByArgument, CaseIterable {
        /// The CPU backend, then OpenCL when a device exists.
        case all, cpu, opencl
    }

    @Option(help: "Backend: cpu, opencl, or all (cpu, then opencl when an OpenCL device exists).")
    var backend: Choice = .all

    @Option(help: "OpenCL device: an index from `gpu-train devices` or a case-insensitive substring of its name.")
    var device: String?

    @Option(help: "What to measure, comma-separated: network (per-op table, training, inference), detector (nearest-neighbour scoring, quantile transform), meter (gpu-train's flow meter, packets/s). Default: all three.")
    var parts: String?

    @Option(help: "With the meter part: time metering this capture (pcap or pcapng) instead of a synthetic one.")
    var meterPcap: String?

    @Option(help: "With the meter part: flows of the synthetic capture, all open at once (default 100000, about 1.1 M packets).")
    var meterFlows: Int?

    @Option(help: "Write the results as JSON to this file (medians, plus spread and detail keys).")
    var json: String?

    @Option(help: "Timed samples per measurement, after one warm-up (at least 5; with --quick, at least 1).")
    var repeats: Int = 5

    @Flag(help: "Tiny network and data (for tests; the figures mean nothing).")
    var quick = false

    @Flag(help: "Measure only the detector's path (nearest-neighbour scoring, quantile transform): --parts detector.")
    var detectorOnly = false

    @Flag(help: "Leave out the detector's path: --parts network,meter.")
    var noDetector = false

    @Option(help: "Bank sizes (flows) for the detector's scoring, comma-separated (default 20000,100000,1000000).")
    var bankSizes: String?

    @Option(help: "Query flows per scoring run, at most (default 100000; large banks use fewer on the slow methods).")
    var detectorQueries: Int?

    @Option(help: "Only write the detector's banks and queries (for --bank-sizes and --detector-queries) as NPY files, with manifest.json, to this folder, for bench/reference/knn_bench.py; measure nothing.")
    var detectorData: String?

    @Flag(help: "Instead: OpenCL start-up (open the backend, build every kernel family once) with the kernel cache off and warm, in --repeats interleaved pairs. Set POCL_KERNEL_CACHE=0 (PoCL) or CUDA_CACHE_DISABLE=1 (NVIDIA) to keep the driver's own cache out of the cold runs.")
    var startup = false

    func validate() throws {
        // Fewer than 5 samples make a median that one slow sample can move; --quick figures mean nothing anyway.
        let least = quick ? 1 : 5
        guard repeats >= least else { throw ValidationError("--repeats must be at least \(least)\(quick ? "" : " (fewer only with --quick)")") }
        guard !(detectorOnly && noDetector) else { throw ValidationError("--detector-only and --no-detector exclude each other") }
        if let detectorQueries, detectorQueries < 1 { throw ValidationError("--detector-queries must be at least 1, got \(detectorQueries)") }
        if let bankSizes {
            do { _ = try DetectorBenchSettings.parseBankSizes(bankSizes) } catch { throw ValidationError("\(error)") }
        }
        if noDetector, bankSizes != nil || detectorQueries != nil || detectorData != nil {
            throw ValidationError("--bank-sizes, --detector-queries and --detector-data need the detector's part (drop --no-detector)")
        }
        let chosen = try chosenParts()
        if !chosen.contains("meter") && (meterPcap != nil || meterFlows != nil) {
            throw ValidationError("--meter-pcap and --meter-flows need the meter part (--parts ...,meter)")
        }
        if let meterFlows, !(1...16_000_000).contains(meterFlows) {
            throw ValidationError("--meter-flows must be between 1 and 16000000, got \(meterFlows)")
        }
        if meterPcap != nil && meterFlows != nil { throw ValidationError("--meter-pcap and --meter-flows exclude each other") }
    }

    static let allParts = ["network", "detector", "meter"]

    /// The parts to measure, from --parts, --detector-only and --no-detector.
    func chosenParts() throws -> Set<String> {
        if let parts {
            guard !detectorOnly && !noDetector else { throw ValidationError("--parts replaces --detector-only and --no-detector: give one of them") }
            let list = parts.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard !list.isEmpty, list.allSatisfy(Self.allParts.contains) else {
                throw ValidationError("--parts takes a comma-separated list of \(Self.allParts.joined(separator: ", ")), got '\(parts)'")
            }
            return Set(list)
        }
        if detectorOnly { return ["detector"] }
        if noDetector { return ["network", "meter"] }
        return Set(Self.allParts)
    }

    /// The detector part's settings from the options.
    func detectorSettings() throws -> DetectorBenchSettings {
        let sizes = try bankSizes.map(DetectorBenchSettings.parseBankSizes)
        if quick {
            let q = DetectorBenchSettings.quick(repeats: repeats)
            return .quick(repeats: repeats, bankSizes: sizes ?? q.bankSizes, queries: detectorQueries ?? q.queries)
        }
        return .standard(repeats: repeats, bankSizes: sizes ?? DetectorBenchSettings.standardBankSizes,
                         queries: detectorQueries ?? 100_000)
    }

    func run() throws {
        try CPUISA.checkEnvironment()
        if let error = CPUNeighborSearch.environmentError { throw error }
        if let detectorData {
            try Benchmark.writeDetectorData(try detectorSettings(), to: URL(fileURLWithPath: detectorData))
            Console.note("wrote the detector's banks, queries and manifest.json to \(detectorData)")
            return
        }
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
        let chosen = try chosenParts()
        let detector = chosen.contains("detector") ? try detectorSettings() : nil
        let meter = chosen.contains("meter") ? (quick ? MeterBenchSettings.quick(repeats: repeats, capture: meterPcap)
            : MeterBenchSettings.standard(repeats: repeats, flows: meterFlows ?? 100_000, capture: meterPcap)) : nil
        let report = try Benchmark.report(backends: backends, settings: settings, network: chosen.contains("network"),
                                          detector: detector, meter: meter) { message in
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
