import ArgumentParser
import Backend
import Common
import FlowData
import FlowMeter
import Foundation
import Operations
import Detection
import Siamese

extension DetectionFormat: ExpressibleByArgument {}

/// `gpu-train detect`: streams flows of any size, or a live flow export, through a model.
struct Detect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score flows from a CSV file, stdin, pcap files or a live interface and write one verdict per flow (row, identifiers, score, verdict, why).",
        discussion: """
            Reads any CICFlowMeter dialect (see the README); labels are never needed and never cause a flow \
            to be dropped. With --follow, keeps reading a file a live flow meter appends to (surviving \
            truncation and rotation) until SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 or SIGUSR2, then prints a \
            summary line. Without --follow those signals remove the temporary output and exit 128 + signal.
            With --pcap or --interface, gpu-train's own flow meter turns packets into flows (the current \
            CICFlowMeter dialect, as `gpu-train flows` writes them) and each flow is scored as it closes; \
            the first of those signals stops the meter, the flows still open are closed and scored, and \
            the summary is printed.
            """)

    @Option(help: "Model file written by `gpu-train train`.") var model: String
    @Option(help: "Flow CSV file (any CICFlowMeter dialect), or - for standard input.") var input: String?
    @Option(help: ArgumentHelp("Packet capture (pcap or pcapng) to meter into flows and score, repeatable (read in the order given).", valueName: "file"))
    var pcap: [String] = []
    @Option(help: "Network interface to capture live and score flows from as they close (needs root or CAP_NET_RAW).")
    var interface: String?
    @Option(help: "With --pcap or --interface: a BPF filter, as tcpdump takes it (for example \"tcp or udp\").") var bpf: String?
    @Option(parsing: .unconditional, help: "With --interface: stop after this many seconds (default: until SIGINT or SIGTERM).")
    var duration: Double?
    @Option(help: "Output file, or - for standard output. Never the input file.") var output = "-"
    @Option(help: "Output format: csv (a header, then one row per flow) or jsonl (one JSON object per flow).")
    var format: DetectionFormat = .csv
    @Flag(help: "Write only the flows judged malicious.") var onlyAlerts = false
    @Flag(help: "Keep reading the input as a flow meter appends to it (like tail -F) until SIGINT or SIGTERM.")
    var follow = false
    @Option(parsing: .unconditional, help: "With --follow: seconds between looks for new rows.") var pollInterval = 0.2
    @Flag(help: "Stop at the first bad row instead of skipping it.") var strict = false
    @Option(parsing: .unconditional, help: "Flows per batch through the backend.") var batchSize = 256
    @Option(help: "Also write incidents as JSON lines to this file: flagged flows grouped by source and destination host, each within --incident-window of the last, with count, first and last seen, highest score and top reasons. With --follow each incident is written as it closes.")
    var incidents: String?
    @Option(parsing: .unconditional, help: "Seconds of quiet (by the flows' timestamps) that close an incident.") var incidentWindow = IncidentGrouper.defaultWindow
    @Option(name: .customLong("k8s-pods"), help: "The JSON of `kubectl get pods -A -o json`: names both ends of every flow and incident by namespace, pod and owning workload (re-read when the file changes). Names never enter the score.")
    var k8sPods: String?
    @Option(help: "Serve Prometheus metrics on http://HOST:PORT/metrics while detect runs (for example 127.0.0.1:9464; an IPv6 address in brackets).")
    var metricsListen: String?
    @Option(help: ArgumentHelp("Also send alerts to this output, repeatable: file:PATH, stdout, syslog+udp://HOST:PORT, syslog+tcp://HOST:PORT (RFC 5424) or http://HOST:PORT/PATH (a JSON POST), each optionally ending in #incidents (the default), #flows or #both.", valueName: "output"))
    var alertsTo: [String] = []
    @Option(parsing: .unconditional, help: "Alerts queued per output before new ones are dropped (and counted): scoring never waits for a slow receiver.")
    var alertsQueue = 1000
    @OptionGroup var backendOptions: BackendOptions

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard pollInterval > 0, pollInterval <= 60 else { throw ValidationError("--poll-interval must be in (0, 60] seconds") }
        guard incidentWindow.isFinite, incidentWindow > 0 else { throw ValidationError("--incident-window must be a positive number of seconds") }
        if let incidents, incidents == "-" || incidents == output {
            throw ValidationError("--incidents needs a file of its own (not - and not the --output file)")
        }
        let sources = (input == nil ? 0 : 1) + (pcap.isEmpty ? 0 : 1) + (interface == nil ? 0 : 1)
        guard sources == 1 else {
            throw ValidationError(sources == 0 ? "give the flows to score: --input FILE (or -), --pcap FILE or --interface IF"
                                  : "--input, --pcap and --interface are alternatives: give one of them")
        }
        if follow && input == nil { throw ValidationError("--follow reads a growing flow file (--input); --pcap and --interface stream already") }
        if bpf != nil && input != nil { throw ValidationError("--bpf filters packets: it goes with --pcap or --interface") }
        if let duration {
            guard interface != nil else { throw ValidationError("--duration goes with --interface (a live capture)") }
            guard duration.isFinite, duration > 0, duration <= 366 * 86_400 else {
                throw ValidationError("--duration must be a positive number of seconds (at most a year), got \(duration)")
            }
        }
        if follow && input == "-" {
            throw ValidationError("--follow reads a file; a pipe is followed already (tail -F FILE | gpu-train detect --input - ...)")
        }
    }

    func run() throws {
        // Before anything is created, opened or loaded.
        try refuseOverwritingInputs()
        if let input, PacketCaptures.isCapture(input) {
            throw ValidationError("\(input) is a packet capture, not flows: give it as --pcap \(input) (gpu-train meters it and scores each flow as it closes)")
        }
        let backend = try backendOptions.make()
        // The detector keeps what scoring needs; the file's weights are not held twice.
        let detector = try Detector(model: try TrainedModel.read(URL(fileURLWithPath: model), optimizerState: false),
                                    backend: backend, batchSize: batchSize)
        let names = try k8sPods.map { path -> KubernetesDirectory in
            let directory = try KubernetesDirectory(path: path)
            Console.note("kubernetes: \(directory.count) pod addresses from \(path)")
            return directory
        }
        if detector.model.edges != nil && detector.model.edgeKeys == .workload && names == nil {
            Console.note("note: this model keeps its baseline's edges by workload; without --k8s-pods new_edge stays null")
        }
        // Every output line names the model by its file's hash (schema v1's model_id).
        let context = OutputContext(modelID: (try? Data(contentsOf: URL(fileURLWithPath: model))).map(OutputContext.modelID(of:)) ?? "",
                                    threshold: detector.model.threshold)
        let destinations = try alertsTo.map { try AlertDestination(parsing: $0) }
        if destinations.contains(where: { $0.target == .stdout }) && output == "-" {
            throw ValidationError("--alerts-to stdout needs --output FILE: the verdicts already go to standard output")
        }
        guard (1...1_000_000).contains(alertsQueue) else { throw ValidationError("--alerts-queue must be between 1 and 1000000, got \(alertsQueue)") }
        let dispatcher = destinations.isEmpty ? nil : try AlertDispatcher(destinations: destinations, queueCapacity: alertsQueue)
        defer { dispatcher?.finish(timeout: 5) }
        let metrics = metricsListen.map { _ in DetectMetrics(model: detector.model, modelID: context.modelID) }
        metrics?.alerts = dispatcher
        let metricsServer = try metricsListen.flatMap { listen -> MetricsServer? in
            guard let metrics else { return nil }
            let server = try MetricsServer(listen: listen, metrics: metrics)
            try server.start()
            Console.note("metrics: http://\(listen)/metrics")
            return server
        }
        defer { metricsServer?.stop() }
        // Signal handlers go in before anything they must clean up exists (see StopSignals).
        // Packets (--pcap, --interface) stream: the first signal stops the meter and the flows still
        // open are scored, as --follow stops. Live capture writes its outputs as it goes.
        let metering = input == nil
        let direct = follow || interface != nil
        StopSignals.install(command: "gpu-train detect", graceful: follow || metering)
        let followOptions = follow ? FollowOptions(pollInterval: pollInterval, shouldStop: { StopSignals.received != 0 },
                                                   onRestart: { Console.note($0) },
                                                   trainedDialect: Self.trainedDialect(detector.model)) : nil
        let options = FlowLoadOptions(features: detector.model.scaler.featureNames, skipBadRows: !strict,
                                      requireLabels: false)
        let meter = try metering ? MeterPipe(interface.map { .interface($0, duration: duration) } ?? .files(pcap),
                                             options: MeterOptions(bpf: bpf), shouldStop: { StopSignals.received != 0 }) : nil
        let reader: FlowStreamReader
        do {
            if let meter {
                let name = interface.map { "<flow meter on \($0)>" } ?? "<flow meter: \(pcap.joined(separator: ", "))>"
                reader = try FlowStreamReader(descriptor: meter.readDescriptor, name: name, ownsDescriptor: true,
                                              options: options, batchSize: 1024)
            } else {
                reader = try FlowStreamReader(path: input ?? "-", options: options, batchSize: follow ? 1024 : 4096,
                                              follow: followOptions)
            }
        } catch {
            // A meter that failed (a bad capture, no permission) wrote no header: its error is the one to tell.
            throw meter?.failure() ?? error
        }
        for note in FlowDialect.notes(reader.notes, trained: Self.trainedDialect(detector.model), scoring: reader.dialect) {
            Console.note(note)
        }
        if let warning = FlowDialect.mismatchWarning(trained: Self.trainedDialect(detector.model), scoring: reader.dialect) {
            Console.note(warning)
        }
        // In the normal mode a signal removes the temporary output: the old output stays intact.
        let sink = try OutputSink(path: output, direct: direct, willCreateTemporary: { StopSignals.removeOnSignal($0) })
        // Incidents: with --follow (or live capture) written as each closes; otherwise gathered and
        // written whole at the end.
        let incidentSink = try incidents.flatMap { direct ? try OutputSink(path: $0, direct: true) : nil }
        var incidentLines = ""
        let alertsIncidents = destinations.contains { $0.events != .flows }
        let incidentOptions = incidents != nil || alertsIncidents ? DetectionStream.IncidentOptions(window: incidentWindow) { incident in
            let line = incident.jsonLine(context)
            dispatcher?.post(.incidents, json: line, severity: incident.severity)
            guard incidents != nil else { return }
            if let incidentSink { try incidentSink.write(line) } else { incidentLines += line }
        } : nil
        // Progress: on a terminal a line rewritten in place; elsewhere (a log) only once a run has
        // gone on for 10 s, so a short run prints one summary, not a progress line beside it.
        let started = Date()
        var lastReport = Date.distantPast
        let summary: DetectionStream.Summary
        var meterSummary: MeterSummary?
        do {
            summary = try DetectionStream.run(detector: detector, reader: reader, format: format, onlyAlerts: onlyAlerts,
                                              context: context, names: names, incidents: incidentOptions, driftGuard: DriftGuard(model: detector.model, path: model),
                                              warn: { Console.endStatus(); Console.note($0) },
                                              observe: { metrics?.observe($0) },
                                              alert: dispatcher.map { d in { verdict, json in d.post(.flows, json: json, severity: verdict.severity) } },
                                              write: { try sink.write($0) }) { s in
                guard Date().timeIntervalSince(lastReport) > 0.5, Console.isTerminal || Date().timeIntervalSince(started) >= 10
                else { return }
                lastReport = Date()
                Console.status(String(format: "%d flows, %d malicious, %d skipped, %.0f flows/s",
                                      s.flows, s.malicious, s.skipped, s.flowsPerSecond))
            }
            // The meter's own error (a capture truncated midway, say) fails the run: nothing is committed.
            meterSummary = try meter?.finish()
            try sink.commit()
            try incidentSink?.commit()
            if let incidents, !direct { try AtomicFile.write(incidentLines, to: URL(fileURLWithPath: incidents)) }
        } catch {
            sink.abandon()
            incidentSink?.abandon()
            // A capture that failed midway ended the reader's input: the meter's error says why.
            throw meter?.failure() ?? error
        }
        StopSignals.removeOnSignal(nil)
        if let dispatcher {
            // What is still queued gets a few seconds to go out; the counts say what did.
            dispatcher.finish(timeout: 5)
            for (destination, c) in dispatcher.counts {
                Console.note("alerts to \(destination): \(c.sent) sent, \(c.dropped) dropped (queue full), \(c.failed) failed after retries")
            }
        }
        Console.endStatus()
        let received = StopSignals.received
        let stopped = received == 0 ? "" : "stopped by \(StopSignals.name(received)): "
        // Under --follow the wall time is mostly waiting for rows; the busy rate is what it sustains.
        if let m = meterSummary {
            Console.note(String(format: "flow meter: %d packets -> %d flows in %.2f s", m.packets, m.flows, m.seconds))
        }
        let rate = follow || metering ? String(format: "%.0f flows/s while scoring (%.2f s busy)", summary.busyFlowsPerSecond, summary.busySeconds)
            : String(format: "%.0f flows/s", summary.flowsPerSecond)
        Console.note(stopped + String(format: "scored %d flows (%d malicious, %d written) in %.2f s: %@; skipped %d bad rows",
                                      summary.flows, summary.malicious, summary.written, summary.seconds, rate, summary.skipped))
        if let incidents {
            Console.note("incidents: \(summary.incidents) from \(summary.malicious) flagged flows (flows from one source to one "
                         + "destination host within \(Int(incidentWindow)) s of each other), written to \(incidents)")
        }
        if !reader.report.badRowSummary.isEmpty { Console.note(reader.report.badRowSummary) }
        if reader.report.valuesOutOfRange > 0, let line = reader.notes.first(where: { $0.contains("beyond Float's range") }) {
            Console.note(line)
        }
        // Known only at the end: how many Suricata events were not flows.
        if reader.report.eventsSkipped > 0, let line = reader.notes.first(where: { $0.contains("Suricata event") }) {
            Console.note(line)
        }
    }

    /// The dialect the model was trained on, when its file records one (issue 11 stores it in the
    /// model's metadata; models without it are never warned about).
    static func trainedDialect(_ model: TrainedModel) -> FlowDialect? { model.dialect }
}

/// Standard output, a file written through a temporary file and renamed when complete (see
/// `AtomicOutput`: devices and FIFOs are written in place, symbolic links written through), or
/// (with `direct`, for --follow) the file itself, appended to and flushed batch by batch.
final class OutputSink: @unchecked Sendable {
    /// Written with write(2), so a failure (a full disk) is reported with the system's reason.
    private let fileDescriptor: Int32
    /// The path in messages.
    private let name: String
    private let output: AtomicOutput?
    private let lock = NSLock()
    private var finished = false
    /// Folders made for the output (removed again by `abandon` when empty).
    private var createdFolders: [URL] = []

    /// `willCreateTemporary` hears the temporary file's path just before it is created.
    init(path: String, direct: Bool = false, willCreateTemporary: (String) -> Void = { _ in }) throws {
        name = path == "-" ? "standard output" : path
        if path == "-" {
            fileDescriptor = STDOUT_FILENO
            output = nil
            return
        }
        let url = URL(fileURLWithPath: path)
        let created = try OutputFolder.create(for: url)
        if direct {
            let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                OutputFolder.removeEmpty(created)
                throw FlowDataError.io(path: path, message: "cannot create the output (\(String(cString: strerror(errno)))); is the folder there and writable?")
            }
            fileDescriptor = fd
            output = nil
        } else {
            do {
                let made = try AtomicOutput(url, willCreateTemporary: willCreateTemporary)
                fileDescriptor = made.fileDescriptor
                output = made
            } catch {
                OutputFolder.removeEmpty(created)
                throw error
            }
        }
        createdFolders = created
    }

    /// The --follow file is this sink's own descriptor (an AtomicOutput closes its own).
    deinit { if output == nil && fileDescriptor != STDOUT_FILENO { _ = close(fileDescriptor) } }

    /// Writes at once (nothing is buffered), so a follower of the output sees every batch.
    func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { bytes in
            guard var p = bytes.baseAddress else { return }
            var left = bytes.count
            while left > 0 {
                let n = Glibc.write(fileDescriptor, p, left)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FileError(path: name, message: "cannot write: \(String(cString: strerror(errno)))")
                }
                p += n
                left -= n
            }
        }
    }

    /// Renames the temporary file into place.
    func commit() throws {
        try lock.withLock {
            guard !finished else { return }
            finished = true
            try output?.commit()
        }
    }

    /// Removes the temporary file (safe to call from a signal handler's queue, and more than once).
    func abandon() {
        lock.withLock {
            guard !finished else { return }
            finished = true
            output?.abandon()
            OutputFolder.removeEmpty(createdFolders)
        }
    }
}
