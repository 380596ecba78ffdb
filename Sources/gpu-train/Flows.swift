import ArgumentParser
import Common
import FlowMeter
import Foundation

/// `gpu-train flows`: packets (pcap and pcapng files, or a live interface) to CICFlowMeter flows.
struct Flows: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Meter packets into bidirectional flows: pcap/pcapng files or a live interface to a CICFlowMeter CSV.",
        discussion: """
        Writes the CICFlowMeter dialect of the shared Kubernetes data (87 columns, Label last), with the
        flow key, direction and timeouts of the CICFlowMeter fork that made it (GintsEngelen/CICFlowMeter):
        a flow closes 120 s after its first packet, or when a SYN follows its TCP teardown (FIN both ways
        and the last ACK, or a RST); the 5 s activity timeout splits Active from Idle time, not flows.
        Times are microseconds; Label is NeedManualLabel unless --label says otherwise. Every file,
        train, evaluate and detect read the output unchanged.

        Reads Ethernet (802.1Q and QinQ tags), Linux cooked (SLL, SLL2), raw IP and BSD loopback, IPv4
        and IPv6 (extension headers skipped). TCP and UDP are metered by ports; any other IP packet
        (ICMP, ...) as protocol 0 with ports 0, as the fork does. Packets that are not IP, cut short or
        malformed are counted in the summary on standard error, never metered.

        A live capture (--interface) needs root or the CAP_NET_RAW capability. It runs for --duration
        seconds, or until SIGINT or SIGTERM: then every open flow is written and the output completed.
        Interrupting a file run leaves no output (an old one stays intact).
        """)

    @Option(name: .long, parsing: .upToNextOption, help: "pcap or pcapng files, read in order through one flow table (- for standard input).")
    var pcap: [String] = []

    @Option(name: .long, help: "A network interface to capture from live (needs root or CAP_NET_RAW).")
    var interface: String?

    @Option(name: .long, parsing: .unconditional, help: "With --interface: stop after this many seconds.")
    var duration: Double?

    @Option(name: .long, help: "A libpcap filter expression (tcpdump syntax), e.g. 'tcp or udp'.")
    var bpf: String?

    @Option(name: .long, help: "Output CSV file, or - for standard output. Never an input.")
    var out: String

    @Option(name: .long, parsing: .unconditional, help: "Seconds after a flow's first packet at which it closes.")
    var flowTimeout: Double = 120

    @Option(name: .long, parsing: .unconditional, help: "Seconds of silence that end an active period (the Active and Idle columns).")
    var activityTimeout: Double = 5

    @Option(name: .long, parsing: .unconditional, help: "With --interface: bytes captured per packet (1...262144).")
    var snaplen: Int32 = 65535

    @Option(name: .long, help: "The value of the Label column (no comma, quote or line break).")
    var label: String = CICFlowMeterCSV.unlabelled

    var meterOptions: MeterOptions {
        MeterOptions(flowTimeout: flowTimeout, activityTimeout: activityTimeout, bpf: bpf, snaplen: snaplen, label: label)
    }

    func validate() throws {
        guard pcap.isEmpty != (interface == nil) else {
            throw ValidationError("give either --pcap FILE... or --interface NAME (exactly one)")
        }
        if let duration {
            guard interface != nil else { throw ValidationError("--duration applies to --interface only") }
            guard duration.isFinite, duration > 0, duration <= 31_536_000 else {
                throw ValidationError("--duration must be a number of seconds above 0 (at most a year), got \(duration)")
            }
        }
        if interface == nil, snaplen != 65535 {
            throw ValidationError("--snaplen applies to --interface only (a file keeps its own)")
        }
        do { try meterOptions.validate() } catch let error as FlowMeterError {
            throw ValidationError(error.description.replacingOccurrences(of: "the flow timeout", with: "--flow-timeout")
                .replacingOccurrences(of: "the activity timeout", with: "--activity-timeout")
                .replacingOccurrences(of: "the snaplen", with: "--snaplen")
                .replacingOccurrences(of: "the label", with: "--label"))
        }
    }

    func run() throws {
        try refuseOverwritingInputs()
        let live = interface != nil
        // Signal handlers go in before the temporary output exists (see StopSignals).
        StopSignals.install(command: "gpu-train flows", graceful: live)
        let input: PacketInput = interface.map { .interface($0, duration: duration) } ?? .files(pcap)
        let sink = try OutputSink(path: out, willCreateTemporary: { StopSignals.removeOnSignal($0) })
        var buffer = ""
        buffer.reserveCapacity(1 << 17)
        var writeError: Error?
        let started = Date()
        let summary: MeterSummary
        do {
            summary = try meterFlows(input, options: meterOptions, shouldStop: { StopSignals.received != 0 },
                                     progress: { s in
                // A live capture's flows reach the output within about a second.
                if live, !buffer.isEmpty, writeError == nil {
                    do { try sink.write(buffer) } catch { writeError = error }
                    buffer.removeAll(keepingCapacity: true)
                }
                guard Console.isTerminal || Date().timeIntervalSince(started) >= 10 else { return }
                Console.status(String(format: "%d packets, %d flows written, %d open, %.0f packets/s",
                                      s.packets, s.flows, s.peakOpenFlows, s.packetsPerSecond))
            }, emit: { line in
                if let writeError { throw writeError }
                buffer += line
                buffer += "\n"
                if buffer.utf8.count >= 1 << 16 {
                    try sink.write(buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            })
            if let writeError { throw writeError }
            if !buffer.isEmpty { try sink.write(buffer) }
            try sink.commit()
        } catch {
            sink.abandon()
            StopSignals.removeOnSignal(nil)
            Console.endStatus()
            throw error
        }
        StopSignals.removeOnSignal(nil)
        Console.endStatus()
        let received = StopSignals.received
        let stopped = received == 0 ? "" : "stopped by \(StopSignals.name(received)): "
        let destination = out == "-" ? "standard output" : out
        Console.note(stopped + "metered \(summary.description); wrote \(summary.flows) flows to \(destination)")
    }
}
