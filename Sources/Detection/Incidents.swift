import Siamese
import FlowData
import Foundation

/// Flagged flows grouped into what an operator handles as one alert: the flows from one source to
/// one destination host, each within `window` seconds of the previous one. The services (ports)
/// they reached are listed, so a port scan is one incident rather than one per port.
public struct Incident: Sendable, Equatable {
    /// 1, 2, ... in the order incidents were opened.
    public var number: Int
    public var sourceIP: String
    public var destinationIP: String
    /// Distinct destination ports, in the order first seen.
    public var destinationPorts: [String]
    public var flows: Int
    /// Seconds since 1970 (NaN when the flows had no readable timestamp).
    public var firstSeen: Double
    public var lastSeen: Double
    public var maxScore: Float
    /// The row (input line) of the highest-scoring flow, and the first and last rows.
    public var maxScoreRow: Int
    public var firstRow: Int
    public var lastRow: Int
    /// Feature -> how many of the incident's flows name it among their reasons.
    public var reasonCounts: [String: Int]
    /// The highest-scoring flow's reasons, as detect writes them.
    public var topFlowWhy: String
    /// The highest severity among its flows.
    public var severity: Severity = .low
    /// Whether any of its flows' edges is new to the baseline (nil: unknown for all).
    public var newEdge: Bool?
    /// The pods at either end (`--k8s-pods`), as its first flow had them.
    public var sourceName: KubernetesName?
    public var destinationName: KubernetesName?

    /// The most common reasons, most frequent first (ties by name), at most `top`.
    public func topReasons(_ top: Int = 3) -> [(feature: String, flows: Int)] {
        reasonCounts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(top).map { ($0.key, $0.value) }
    }

    /// A stable id: the source, destination and first time (or first row) hashed, "inc-" + 12 hex digits.
    public var id: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(sourceIP)>\(destinationIP)@\(firstSeen.isFinite ? String(firstSeen) : "row\(firstRow)")#\(number)".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return "inc-" + String(String(hash, radix: 16).suffix(12)).leftPadded(to: 12)
    }

    /// One JSON object (a line of `detect --incidents`, schema v1: `schemas/incident-v1.schema.json`).
    public var jsonLine: String { jsonLine(OutputContext()) }

    public func jsonLine(_ context: OutputContext) -> String {
        func string(_ s: String) -> String { VerdictFormatter.jsonString(s) }
        func time(_ t: Double) -> String { t.isFinite ? string(FlowTimestamp.iso8601(t)) : "null" }
        let reasons = topReasons().map { "{\"feature\":\(string($0.feature)),\"flows\":\($0.flows)}" }.joined(separator: ",")
        // Ports as numbers where they are numbers (they always are in CICFlowMeter exports).
        let ports = destinationPorts.prefix(20).compactMap { UInt32($0.trimmingCharacters(in: .whitespaces)) }.map(String.init)
            .joined(separator: ",")
        return "{\"schema\":\"\(OutputContext.incidentSchema)\",\"incident_id\":\(string(id)),\"src_ip\":\(string(sourceIP)),"
            + "\"dst_ip\":\(string(destinationIP)),"
            + "\"dst_ports\":[\(ports)],\"distinct_dst_ports\":\(destinationPorts.count),\"flows\":\(flows),"
            + "\"first_seen\":\(time(firstSeen)),\"last_seen\":\(time(lastSeen)),"
            + "\"max_score\":\(maxScore.isFinite ? "\(maxScore)" : "null"),\"max_score_row\":\(maxScoreRow),"
            + "\"first_row\":\(firstRow),\"last_row\":\(lastRow),\"severity\":\"\(severity.rawValue)\","
            + "\"new_edge\":\(newEdge.map { $0 ? "true" : "false" } ?? "null"),"
            + "\"threshold\":\(context.threshold.isFinite ? "\(context.threshold)" : "null"),"
            + "\"model_id\":\(context.modelID.isEmpty ? "null" : string(context.modelID)),"
            + "\"src_k8s\":\(sourceName?.json ?? "null"),\"dst_k8s\":\(destinationName?.json ?? "null"),"
            + "\"top_reasons\":[\(reasons)],\"top_flow_why\":\(string(topFlowWhy))}\n"
    }
}

/// Groups flagged flows into incidents as they arrive (in time order, as flow meters write them).
/// An incident is closed when `window` seconds pass, by the flows' own timestamps, without a flow of
/// its group; flows without a readable timestamp join their group's open incident.
public struct IncidentGrouper: Sendable {
    /// Seconds of quiet that close an incident unless told otherwise: five minutes.
    public static let defaultWindow = 300.0
    public let window: Double
    /// Open incidents by "source>destination".
    var open: [String: Incident] = [:]
    var opened = 0
    /// The latest timestamp seen, which closes incidents that have been quiet for `window`.
    var clock = -Double.infinity
    /// Flagged flows added.
    public private(set) var flows = 0

    public init(window: Double = IncidentGrouper.defaultWindow) {
        self.window = window
    }

    /// Adds one flagged flow; returns the incidents this closes (quiet for longer than `window`).
    public mutating func add(source: String, destination: String, port: String, time: Double, score: Float,
                             reasons: [String], why: String, row: Int, severity: Severity = .low, newEdge: Bool? = nil,
                             names: (KubernetesName?, KubernetesName?) = (nil, nil)) -> [Incident] {
        flows += 1
        var closed: [Incident] = []
        let key = source + ">" + destination
        if time.isFinite {
            clock = max(clock, time)
            if let current = open[key], current.lastSeen.isFinite, time - current.lastSeen > window {
                closed.append(current)
                open[key] = nil
            }
        }
        if var incident = open[key] {
            incident.flows += 1
            if !incident.destinationPorts.contains(port) { incident.destinationPorts.append(port) }
            if time.isFinite {
                incident.firstSeen = incident.firstSeen.isFinite ? min(incident.firstSeen, time) : time
                incident.lastSeen = incident.lastSeen.isFinite ? max(incident.lastSeen, time) : time
            }
            if score > incident.maxScore || !incident.maxScore.isFinite {
                incident.maxScore = score; incident.maxScoreRow = row; incident.topFlowWhy = why
            }
            incident.firstRow = min(incident.firstRow, row)
            incident.lastRow = max(incident.lastRow, row)
            for r in reasons { incident.reasonCounts[r, default: 0] += 1 }
            if severity.rank > incident.severity.rank { incident.severity = severity }
            if let newEdge { incident.newEdge = (incident.newEdge ?? false) || newEdge }
            open[key] = incident
        } else {
            opened += 1
            var counts: [String: Int] = [:]
            for r in reasons { counts[r, default: 0] += 1 }
            open[key] = Incident(number: opened, sourceIP: source, destinationIP: destination, destinationPorts: [port], flows: 1,
                                 firstSeen: time, lastSeen: time, maxScore: score, maxScoreRow: row, firstRow: row, lastRow: row,
                                 reasonCounts: counts, topFlowWhy: why, severity: severity, newEdge: newEdge,
                                 sourceName: names.0, destinationName: names.1)
        }
        return closed + closeQuiet(except: key)
    }

    /// Incidents quiet for longer than `window` at the latest time seen, removed from the open set.
    mutating func closeQuiet(except key: String) -> [Incident] {
        guard clock.isFinite else { return [] }
        let quiet = open.filter { $0.key != key && $0.value.lastSeen.isFinite && clock - $0.value.lastSeen > window }
        for k in quiet.keys { open[k] = nil }
        return quiet.values.sorted { $0.number < $1.number }
    }

    /// Closes and returns every open incident, in the order they were opened.
    public mutating func finish() -> [Incident] {
        let all = open.values.sorted { $0.number < $1.number }
        open = [:]
        return all
    }

    /// Incidents opened so far.
    public var incidentsOpened: Int { opened }

    /// Groups a whole set of flagged flows at once (for evaluation): each element is (endpoint
    /// "source>destination:port" as `FlowTable.endpoints` holds it, time, score, row).
    public static func group(_ flagged: [(endpoint: String, time: Double, score: Float, row: Int)], window: Double = IncidentGrouper.defaultWindow) -> [Incident] {
        var grouper = IncidentGrouper(window: window)
        var out: [Incident] = []
        let ordered = flagged.enumerated().sorted {
            let (a, b) = ($0.element.time, $1.element.time)
            return a.isFinite && b.isFinite && a != b ? a < b : $0.offset < $1.offset
        }
        for (_, f) in ordered {
            let (source, destination, port) = Self.split(endpoint: f.endpoint)
            out += grouper.add(source: source, destination: destination, port: port, time: f.time, score: f.score,
                               reasons: [], why: "", row: f.row)
        }
        return out + grouper.finish()
    }

    /// "source>destination:port" -> its three parts (IPv6 destinations keep their colons).
    public static func split(endpoint: String) -> (String, String, String) {
        let parts = endpoint.split(separator: ">", maxSplits: 1).map(String.init)
        let source = parts.first ?? ""
        let rest = parts.count > 1 ? parts[1] : ""
        guard let colon = rest.lastIndex(of: ":") else { return (source, rest, "") }
        return (source, String(rest[..<colon]), String(rest[rest.index(after: colon)...]))
    }
}

extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
