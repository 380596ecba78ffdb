import FlowData
import Foundation

/// How `meterFlows` cuts packets into flows and what it reads.
public struct MeterOptions: Sendable, Equatable {
    /// Seconds after a flow's first packet at which it closes (CICFlowMeter's flow timeout, 120 s).
    public var flowTimeout: Double
    /// Seconds of silence that end an active period and start an idle one (CICFlowMeter's activity
    /// timeout, 5 s). As in the fork that made the shared data, it shapes the Active and Idle
    /// columns only: a quiet flow is not cut in two.
    public var activityTimeout: Double
    /// A libpcap filter expression (tcpdump syntax), applied before metering; nil for none.
    public var bpf: String?
    /// Bytes captured per packet on a live interface (a file keeps its own snaplen).
    public var snaplen: Int32
    /// The value written in the Label column (the fork writes `NeedManualLabel`, which the loaders
    /// read as unlabelled). No comma, quote or line break.
    public var label: String
    /// Seconds of packet time a closed flow's key is remembered (a few dozen bytes) after it closes,
    /// so that a later packet of the same key starts its next flow as the fork would: a TCP
    /// connection keeps its direction and its Total TCP Flow Time runs on, and the Flow ID keeps its
    /// order. The fork remembers forever; a bound keeps memory bounded. 0 forgets at once.
    public var closedKeyMemory: Double

    public init(flowTimeout: Double = 120, activityTimeout: Double = 5, bpf: String? = nil,
                snaplen: Int32 = 65535, label: String = CICFlowMeterCSV.unlabelled, closedKeyMemory: Double = 600) {
        self.flowTimeout = flowTimeout
        self.activityTimeout = activityTimeout
        self.bpf = bpf
        self.snaplen = snaplen
        self.label = label
        self.closedKeyMemory = closedKeyMemory
    }

    /// Throws `FlowMeterError.badOption` for a timeout that is not a positive finite number, a
    /// snaplen outside 1...262144, or a label that would break the CSV.
    public func validate() throws {
        guard flowTimeout.isFinite, flowTimeout > 0, flowTimeout <= 1e9 else {
            throw FlowMeterError.badOption("the flow timeout must be a positive number of seconds (at most 1e9), got \(flowTimeout)")
        }
        guard activityTimeout.isFinite, activityTimeout > 0, activityTimeout <= 1e9 else {
            throw FlowMeterError.badOption("the activity timeout must be a positive number of seconds (at most 1e9), got \(activityTimeout)")
        }
        guard closedKeyMemory.isFinite, closedKeyMemory >= 0, closedKeyMemory <= 1e9 else {
            throw FlowMeterError.badOption("the closed-key memory must be 0 or more seconds (at most 1e9), got \(closedKeyMemory)")
        }
        guard (1...262_144).contains(snaplen) else {
            throw FlowMeterError.badOption("the snaplen must be between 1 and 262144 bytes, got \(snaplen)")
        }
        guard !label.isEmpty, !label.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else {
            throw FlowMeterError.badOption("the label must be non-empty text without a comma, quote or line break")
        }
    }
}

/// Where the packets come from.
public enum PacketInput: Sendable, Equatable {
    /// pcap or pcapng files, metered one after another through one flow table (flows may span files).
    case files([String])
    /// A live interface, for `duration` seconds (nil: until `shouldStop` says so).
    case interface(String, duration: Double?)
}

/// What a metering run read and wrote.
public struct MeterSummary: Sendable, Equatable, CustomStringConvertible {
    /// Packets read (every record of every file, or every packet captured).
    public var packets: Int = 0
    /// Their lengths on the wire, summed.
    public var bytes: Int = 0
    /// Flows written.
    public var flows: Int = 0
    /// Packets that are not IPv4 or IPv6 (ARP, LLDP, ...): not metered.
    public var skipped: Int = 0
    /// IP packets metered as protocol 0 with ports 0, as the fork meters any IPv4 packet that is
    /// not TCP or UDP (ICMP, IGMP, a fragment after the first, ...).
    public var otherProtocol: Int = 0
    /// Packets cut short before the end of their IP, TCP or UDP header (a small snaplen, a damaged
    /// capture): counted and not metered.
    public var truncated: Int = 0
    /// Packets whose headers are impossible (an IPv4 header length under 20 bytes, a TCP data
    /// offset under 5 words): counted and not metered.
    public var malformed: Int = 0
    /// The most flows open at once: what the memory held.
    public var peakOpenFlows: Int = 0
    /// Wall-clock seconds the run took.
    public var seconds: Double = 0
    /// Packets dropped by the kernel during a live capture (libpcap's ps_drop), else 0.
    public var dropped: Int = 0

    public init() {}

    /// Packets per second of wall-clock time.
    public var packetsPerSecond: Double { seconds > 0 ? Double(packets) / seconds : 0 }

    /// One line for a person: counts and rate.
    public var description: String {
        var parts = ["\(packets) packets", "\(flows) flows", String(format: "%.2f s", seconds),
                     String(format: "%.0f packets/s", packetsPerSecond), "peak \(peakOpenFlows) open flows"]
        if skipped > 0 { parts.append("\(skipped) not IP") }
        if otherProtocol > 0 { parts.append("\(otherProtocol) neither TCP nor UDP (protocol 0)") }
        if truncated > 0 { parts.append("\(truncated) truncated") }
        if malformed > 0 { parts.append("\(malformed) malformed") }
        if dropped > 0 { parts.append("\(dropped) dropped by the kernel") }
        return parts.joined(separator: ", ")
    }
}

/// A clear reason why packets could not be metered, naming the file or interface.
public enum FlowMeterError: Error, CustomStringConvertible, Equatable {
    case fileNotFound(path: String)
    case notReadable(path: String, reason: String)
    case emptyFile(path: String)
    case notAPcap(path: String, detail: String)
    case truncatedFile(path: String, detail: String)
    case zeroSnaplen(path: String)
    case unknownLinkType(source: String, linkType: Int32, name: String)
    case interfaceNotFound(name: String, detail: String)
    case permissionDenied(interface: String, detail: String)
    case badFilter(filter: String, message: String)
    case captureFailed(source: String, message: String)
    case badOption(String)

    public var description: String {
        switch self {
        case .fileNotFound(let path): return "\(path): no such file"
        case .notReadable(let path, let reason): return "\(path): cannot be read: \(reason)"
        case .emptyFile(let path): return "\(path): the file is empty, not a pcap or pcapng capture"
        case .notAPcap(let path, let detail):
            return "\(path): not a pcap or pcapng capture (\(detail))"
        case .truncatedFile(let path, let detail): return "\(path): the capture is truncated: \(detail)"
        case .zeroSnaplen(let path):
            return "\(path): the pcap header gives a snaplen of 0 bytes, so no packet can hold a byte: a damaged header"
        case .unknownLinkType(let source, let linkType, let name):
            return "\(source): link type \(linkType) (\(name)) is not one the flow meter reads; it reads Ethernet (with VLAN tags), Linux cooked SLL and SLL2, raw IP and BSD loopback"
        case .interfaceNotFound(let name, let detail): return "interface \(name): no such interface (\(detail))"
        case .permissionDenied(let interface, let detail):
            return "interface \(interface): live capture needs root or the CAP_NET_RAW capability (for example: sudo setcap cap_net_raw,cap_net_admin=eip $(which gpu-train)) (\(detail))"
        case .badFilter(let filter, let message): return "bad BPF filter '\(filter)': \(message)"
        case .captureFailed(let source, let message): return "\(source): \(message)"
        case .badOption(let message): return message
        }
    }
}

/// The CSV the meter writes: the CICFlowMeter dialect of the shared data (GintsEngelen/CICFlowMeter
/// as of April 2022: 87 columns, `Total TCP Flow Time` before `Label`).
public enum CICFlowMeterCSV {
    /// The header, column by column, spelled as in the shared data.
    public static var header: [String] { FlowDialect.cicflowmeterHeader }

    /// The header as one CSV line (no line break).
    public static var headerLine: String { header.joined(separator: ",") }

    /// What the fork writes in the Label column.
    public static let unlabelled = "NeedManualLabel"
}

/// Meters the input and calls `emit` with each CSV line: the header first (once the first capture
/// or the interface is open: nothing is emitted for an input that cannot be read), then one line per flow
/// as it closes, each WITHOUT a trailing line break. A flow closes when its flow timeout passes (by
/// packet time; on a quiet live interface by the wall clock), when a SYN arrives after its TCP
/// teardown, or when the input ends or `shouldStop` returns true (then every open flow is written,
/// oldest first).
///
/// `shouldStop` is polled at least every 200 ms, even when no packet arrives. `progress`, when
/// given, hears the running totals about once a second. Files are read in the order given through
/// one flow table.
public func meterFlows(_ input: PacketInput, options: MeterOptions = MeterOptions(),
                       shouldStop: @escaping @Sendable () -> Bool = { false },
                       progress: ((MeterSummary) -> Void)? = nil,
                       emit: (String) throws -> Void) throws -> MeterSummary {
    try options.validate()
    let start = DispatchTime.now().uptimeNanoseconds
    var meter = Meter(options: options)
    // The header goes out once the first source is open, so a capture that cannot be read (or an
    // interface that cannot be opened) fails before anything is emitted: a reader of the lines
    // then sees no header, and the meter's error is the one to tell.
    var headerEmitted = false
    func header() throws {
        guard !headerEmitted else { return }
        headerEmitted = true
        try emit(CICFlowMeterCSV.headerLine)
    }
    do {
        switch input {
        case .files(let paths):
            guard !paths.isEmpty else { throw FlowMeterError.badOption("no capture file given") }
            for path in paths {
                let source = try PcapSource(file: path, options: options)
                try header()
                let stopped = try meter.run(source, shouldStop: shouldStop, progress: progress, started: start, emit: emit)
                if stopped { break }
            }
        case .interface(let name, let duration):
            if let duration, !(duration.isFinite && duration > 0) {
                throw FlowMeterError.badOption("the capture duration must be a positive number of seconds, got \(duration)")
            }
            let source = try PcapSource(interface: name, options: options)
            try header()
            let deadline = duration.map { start + UInt64($0 * 1e9) }
            _ = try meter.run(source, shouldStop: shouldStop, progress: progress, started: start,
                              deadline: deadline, emit: emit)
            meter.summary.dropped = source.droppedPackets()
        }
        try meter.flushAll(emit: emit)
    }
    meter.summary.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    return meter.summary
}

/// Meters capture files with the default options, formatting every flow's line but keeping none:
/// the figure `gpu-train bench` reports (packets, flows, seconds in the summary).
public func meterFilesForBenchmark(_ paths: [String], options: MeterOptions = MeterOptions()) throws -> MeterSummary {
    try meterFlows(.files(paths), options: options) { _ in }
}
