import ArgumentParser
import Backend
import FlowData
import Foundation
import Siamese

extension DetectionFormat: ExpressibleByArgument {}

/// `gpu-train detect`: streams flows of any size, or a live flow export, through a model.
struct Detect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score flows from a CSV file or stdin and write one verdict per flow (row, identifiers, score, verdict, why).",
        discussion: """
            Reads any CICFlowMeter dialect (see the README); labels are never needed and never cause a flow \
            to be dropped. With --follow, keeps reading a file a live flow meter appends to (surviving \
            truncation and rotation) until SIGINT or SIGTERM, then prints a summary line.
            """)

    @Option(help: "Model file written by `gpu-train train`.") var model: String
    @Option(help: "Flow CSV file (any CICFlowMeter dialect), or - for standard input.") var input: String
    @Option(help: "Output file, or - for standard output. Never the input file.") var output = "-"
    @Option(help: "Output format: csv (a header, then one row per flow) or jsonl (one JSON object per flow).")
    var format: DetectionFormat = .csv
    @Flag(help: "Write only the flows judged malicious.") var onlyAlerts = false
    @Flag(help: "Keep reading the input as a flow meter appends to it (like tail -F) until SIGINT or SIGTERM.")
    var follow = false
    @Option(help: "With --follow: seconds between looks for new rows.") var pollInterval = 0.2
    @Flag(help: "Stop at the first bad row instead of skipping it.") var strict = false
    @Option(help: "Flows per batch through the backend.") var batchSize = 256
    @OptionGroup var backendOptions: BackendOptions

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard pollInterval > 0, pollInterval <= 60 else { throw ValidationError("--poll-interval must be in (0, 60] seconds") }
        if follow && input == "-" {
            throw ValidationError("--follow reads a file; a pipe is followed already (tail -F FILE | gpu-train detect --input - ...)")
        }
    }

    func run() throws {
        // Before anything is created, opened or loaded.
        try OutputSink.refuseInputAsOutput(input: input, output: output)
        let backend = try backendOptions.make()
        // The detector keeps what scoring needs; the file's weights are not held twice.
        let detector = try Detector(model: try TrainedModel.read(URL(fileURLWithPath: model), optimizerState: false),
                                    backend: backend, batchSize: batchSize)
        let stop = StopFlag()
        let followOptions = follow ? FollowOptions(pollInterval: pollInterval, shouldStop: { stop.isSet },
                                                   onRestart: { Console.note($0) }) : nil
        // In follow mode a signal only asks the reader to stop, so the summary is printed.
        let watcher = follow ? SignalWatcher { signal in
            if stop.isSet { SignalWatcher.exitNow(signal, message: "gpu-train detect: second signal, stopping at once") }
            stop.set(signal)
        } : nil
        let options = FlowLoadOptions(features: detector.model.scaler.featureNames, skipBadRows: !strict,
                                      requireLabels: false)
        let reader = try FlowStreamReader(path: input, options: options, batchSize: follow ? 1024 : 4096,
                                          follow: followOptions)
        for note in reader.notes { Console.note(note) }
        if let warning = FlowDialect.mismatchWarning(trained: Self.trainedDialect(detector.model), scoring: reader.dialect) {
            Console.note(warning)
        }
        let sink = try OutputSink(path: output, direct: follow)
        // In the normal mode a signal abandons the temporary output: the old output stays intact.
        let abandonOnSignal = follow ? nil : SignalWatcher { signal in
            sink.abandon()
            SignalWatcher.exitNow(signal, message: "gpu-train detect: interrupted; no output written")
        }
        var lastReport = Date.distantPast
        let summary: DetectionStream.Summary
        do {
            summary = try DetectionStream.run(detector: detector, reader: reader, format: format, onlyAlerts: onlyAlerts,
                                              write: { try sink.write($0) }) { s in
                guard Date().timeIntervalSince(lastReport) > 0.5 else { return }
                lastReport = Date()
                Console.status(String(format: "%d flows, %d malicious, %d skipped, %.0f flows/s",
                                      s.flows, s.malicious, s.skipped, s.flowsPerSecond))
            }
            try sink.commit()
        } catch {
            sink.abandon()
            throw error
        }
        withExtendedLifetime(watcher) {}
        withExtendedLifetime(abandonOnSignal) {}
        Console.endStatus()
        let stopped = stop.signal.map { "stopped by \($0 == SIGINT ? "SIGINT" : "SIGTERM"): " } ?? ""
        // Under --follow the wall time is mostly waiting for rows; the busy rate is what it sustains.
        let rate = follow ? String(format: "%.0f flows/s while scoring (%.2f s busy)", summary.busyFlowsPerSecond, summary.busySeconds)
            : String(format: "%.0f flows/s", summary.flowsPerSecond)
        Console.note(stopped + String(format: "scored %d flows (%d malicious, %d written) in %.2f s: %@; skipped %d bad rows",
                                      summary.flows, summary.malicious, summary.written, summary.seconds, rate, summary.skipped))
        if !reader.report.badRowSummary.isEmpty { Console.note(reader.report.badRowSummary) }
        if reader.report.valuesOutOfRange > 0, let line = reader.notes.first(where: { $0.contains("beyond Float's range") }) {
            Console.note(line)
        }
    }

    /// The dialect the model was trained on, when its file records one (issue 11 stores it in the
    /// model's metadata; models without it are never warned about).
    static func trainedDialect(_ model: TrainedModel) -> FlowDialect? { model.dialect }
}

/// Set once by a signal handler, read by the follow loop.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int32?

    var isSet: Bool { lock.withLock { value != nil } }
    var signal: Int32? { lock.withLock { value } }
    func set(_ signal: Int32) { lock.withLock { if value == nil { value = signal } } }
}

/// Runs a handler on a background queue when SIGINT or SIGTERM arrives (instead of dying at once).
final class SignalWatcher {
    private var sources: [DispatchSourceSignal] = []

    init(handler: @escaping @Sendable (Int32) -> Void) {
        for signal in [SIGINT, SIGTERM] {
            Foundation.signal(signal, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signal, queue: .global())
            source.setEventHandler { handler(signal) }
            source.resume()
            sources.append(source)
        }
    }

    deinit {
        for source in sources { source.cancel() }
        Foundation.signal(SIGINT, SIG_DFL)
        Foundation.signal(SIGTERM, SIG_DFL)
    }

    /// Says why on stderr and exits with the shell's status for a death by `signal` (128 + n).
    static func exitNow(_ signal: Int32, message: String) -> Never {
        let line = Array((message + "\n").utf8)
        _ = line.withUnsafeBufferPointer { Glibc.write(2, $0.baseAddress, $0.count) }
        _exit(128 + signal)
    }
}

/// Standard output, a file written through a temporary file and renamed when complete, or (with
/// `direct`, for --follow) the file itself, appended to and flushed batch by batch.
final class OutputSink: @unchecked Sendable {
    private let handle: FileHandle
    private let path: String?
    private let temporary: URL?
    private let lock = NSLock()
    private var finished = false
    /// Folders made for the output (removed again by `abandon` when empty).
    private var createdFolders: [URL] = []

    /// Refuses an output that is the input (the same file, also through a symbolic or hard link),
    /// before anything is opened or written.
    static func refuseInputAsOutput(input: String, output: String) throws {
        guard input != "-", output != "-" else { return }
        var inputInfo = stat(), outputInfo = stat()
        guard stat(input, &inputInfo) == 0 else { return }  // the reader says the input is missing
        let same: Bool
        if stat(output, &outputInfo) == 0 {
            same = inputInfo.st_dev == outputInfo.st_dev && inputInfo.st_ino == outputInfo.st_ino
        } else {
            same = URL(fileURLWithPath: output).resolvingSymlinksInPath().path
                == URL(fileURLWithPath: input).resolvingSymlinksInPath().path
        }
        if same { throw FlowDataError.outputIsInput(output: output, input: input) }
    }

    init(path: String, direct: Bool = false) throws {
        if path == "-" {
            handle = .standardOutput
            self.path = nil
            temporary = nil
            return
        }
        let url = URL(fileURLWithPath: path)
        let created = try OutputFolder.create(for: url)
        let target = direct ? url : url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        let fd = open(target.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            OutputFolder.removeEmpty(created)
            throw FlowDataError.io(path: path, message: "cannot create the output (\(String(cString: strerror(errno)))); is the folder there and writable?")
        }
        handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        self.path = path
        temporary = direct ? nil : target
        createdFolders = created
    }

    /// Writes at once (FileHandle does not buffer), so a follower of the output sees every batch.
    func write(_ text: String) throws { try handle.write(contentsOf: Data(text.utf8)) }

    /// Renames the temporary file into place.
    func commit() throws {
        try lock.withLock {
            guard !finished else { return }
            finished = true
            guard let path, let temporary else { return }
            try handle.synchronize()
            guard rename(temporary.path, path) == 0 else {
                let reason = String(cString: strerror(errno))
                try? FileManager.default.removeItem(at: temporary)
                throw FlowDataError.io(path: path, message: "cannot move the output into place: \(reason)")
            }
        }
    }

    /// Removes the temporary file (safe to call from a signal handler's queue, and more than once).
    func abandon() {
        lock.withLock {
            guard !finished else { return }
            finished = true
            if let temporary { unlink(temporary.path) }
            OutputFolder.removeEmpty(createdFolders)
        }
    }
}
