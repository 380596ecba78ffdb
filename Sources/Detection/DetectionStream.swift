import Siamese
import Common
import FlowData
import Foundation

/// The verdict on one flow, as `detect` writes it.
public struct FlowVerdict: Sendable, Equatable {
    /// The flow's line in its input file (the header is line 1), so output rows line up with
    /// input rows even when rows are skipped or the input has no identifier columns.
    public var row: Int
    /// The input's identifier columns (empty where the input lacks one).
    public var identifiers: FlowIdentifiers
    public var score: Float
    public var malicious: Bool
    /// Why the detector decided so, in a few words (empty until the detector explains verdicts).
    public var why: String
    /// The same reasons as (feature, signed difference in transformed units), for JSON.
    public var reasons: [FlowReason]
    /// How far past the threshold the score is (`Severity.of`).
    public var severity: Severity
    /// Whether the flow's edge (source address to destination address and port) is absent from
    /// the baseline; nil when the model or the input cannot say.
    public var newEdge: Bool?
    /// The pods at either end (`--k8s-pods`); nil where the address is no pod's or no list was given.
    public var sourceName: KubernetesName?
    public var destinationName: KubernetesName?

    public init(row: Int, identifiers: FlowIdentifiers, score: Float, malicious: Bool, why: String = "",
                reasons: [FlowReason] = [], severity: Severity? = nil, newEdge: Bool? = nil) {
        self.row = row
        self.identifiers = identifiers
        self.score = score
        self.malicious = malicious
        self.why = why
        self.reasons = reasons
        self.severity = severity ?? (malicious ? .low : .info)
        self.newEdge = newEdge
    }

    public var verdict: String { malicious ? "malicious" : "benign" }
}

/// One feature that makes a flow unusual: its signed difference from the nearest normal flow, in
/// transformed units (baseline standard deviations for the quantile transform).
public struct FlowReason: Sendable, Equatable {
    public var feature: String
    public var deviation: Float

    public init(feature: String, deviation: Float) {
        self.feature = feature
        self.deviation = deviation
    }
}

/// How urgent a verdict is: `info` for a benign verdict; for a malicious one, how far its score is
/// past the threshold (`low` below 1.5 times the threshold, `medium` below 2 times, `high` from
/// there). A flow far from everything normal comes first in a queue; the ratio needs no tuning
/// per site because the threshold itself is calibrated per site.
public enum Severity: String, Sendable, CaseIterable, Codable {
    case info, low, medium, high

    public static func of(score: Float, threshold: Double) -> Severity {
        guard Double(score) >= threshold else { return .info }
        guard score.isFinite, threshold > 0 else { return .high }
        let ratio = Double(score) / threshold
        return ratio >= 2 ? .high : (ratio >= 1.5 ? .medium : .low)
    }

    /// Orders severities: info < low < medium < high.
    public var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
}

/// What every line of detect's output says about where it came from (schema v1).
public struct OutputContext: Sendable {
    /// "sha256:" and the first 16 hex digits of the model file's SHA-256.
    public var modelID: String
    public var threshold: Double

    public init(modelID: String = "", threshold: Double = .nan) {
        self.modelID = modelID
        self.threshold = threshold
    }

    /// The model id of a model file's bytes.
    public static func modelID(of data: Data) -> String {
        "sha256:" + String(SHA256.hex(data).prefix(16))
    }

    public static let flowSchema = "gpu-train.flow/v1"
    public static let incidentSchema = "gpu-train.incident/v1"
}

/// The output formats of `detect`.
public enum DetectionFormat: String, CaseIterable, Sendable {
    /// A header line, then one row per flow.
    case csv
    /// One JSON object per line and flow, with the same fields (snake_case keys), for log shippers.
    case jsonl
}

/// Writes `FlowVerdict`s as CSV rows or JSON lines.
///
/// CSV: `row`, the identifier columns the input has (`FeatureSet.identifierColumns`), `score`,
/// `verdict`, `why`, `severity`, `new_edge` (`true`, `false` or empty).
///
/// JSON lines follow schema v1 (`schemas/flow-v1.schema.json`): every key on every line, `null`
/// where unknown; ports and the protocol as numbers; `timestamp` in ISO 8601 UTC (the input's text
/// in `timestamp_text`); `score`, `threshold`, `verdict`, `severity`, `why`, `reasons`,
/// `model_id`, `new_edge`, and `schema` = "gpu-train.flow/v1".
public struct VerdictFormatter: Sendable {
    public let format: DetectionFormat
    /// The identifier columns written to CSV, a subset of `FeatureSet.identifierColumns` in its order.
    public let identifierColumns: [String]
    private let identifierIndices: [Int]
    public let context: OutputContext
    /// Whether CSV rows carry the Kubernetes names of both ends (with `--k8s-pods`).
    public let kubernetesColumns: Bool

    public init(format: DetectionFormat, identifierColumns: [String], context: OutputContext = OutputContext(),
                kubernetesColumns: Bool = false) {
        self.format = format
        self.identifierColumns = FeatureSet.identifierColumns.filter(identifierColumns.contains)
        self.identifierIndices = self.identifierColumns.compactMap { FeatureSet.identifierColumns.firstIndex(of: $0) }
        self.context = context
        self.kubernetesColumns = kubernetesColumns
    }

    static let kubernetesFieldNames = ["src_namespace", "src_pod", "src_workload", "dst_namespace", "dst_pod", "dst_workload"]

    /// The field names in order (CSV header names).
    public var fieldNames: [String] {
        ["row"] + identifierColumns + ["score", "verdict", "why", "severity", "new_edge"] + (kubernetesColumns ? Self.kubernetesFieldNames : [])
    }

    /// The JSON key of a field: lowercase, spaces as underscores (`Src IP` -> `src_ip`).
    public static func jsonKey(_ field: String) -> String {
        field.lowercased().replacingOccurrences(of: " ", with: "_")
    }

    /// The text before the first flow: the CSV header line, nothing for JSON lines.
    public var header: String {
        format == .csv ? fieldNames.map(Self.csvField).joined(separator: ",") + "\n" : ""
    }

    /// One flow's line, with its newline.
    public func line(_ v: FlowVerdict) -> String {
        let ids = v.identifiers.values
        // The shortest text that reads back as the same Float, so scores can be re-checked exactly.
        let score = "\(v.score)"
        switch format {
        case .csv:
            var s = "\(v.row),"
            // Identifiers come from the input: a leading = + - @ is neutralised (CSVText).
            for k in identifierIndices { s += CSVText.textField(ids[k]); s += "," }
            s += score + "," + v.verdict + "," + CSVText.textField(v.why) + "," + v.severity.rawValue + ","
                + (v.newEdge.map { $0 ? "true" : "false" } ?? "")
            if kubernetesColumns {
                for name in [v.sourceName, v.destinationName] {
                    s += "," + [name?.namespace, name?.pod, name.map { "\($0.workloadKind)/\($0.workload)" }]
                        .map { CSVText.textField($0 ?? "") }.joined(separator: ",")
                }
            }
            return s + "\n"
        case .jsonl:
            let id = v.identifiers
            func text(_ t: String) -> String { t.isEmpty ? "null" : Self.jsonString(t) }
            func number(_ t: String) -> String {
                let trimmed = t.trimmingCharacters(in: .whitespaces)
                return UInt32(trimmed).map(String.init) ?? "null"
            }
            let time = FlowTimestamp.parse(id.timestamp)
            var s = "{\"schema\":\"\(OutputContext.flowSchema)\",\"row\":\(v.row)"
            s += ",\"flow_id\":" + text(id.flowID) + ",\"src_ip\":" + text(id.sourceIP) + ",\"src_port\":" + number(id.sourcePort)
            s += ",\"dst_ip\":" + text(id.destinationIP) + ",\"dst_port\":" + number(id.destinationPort)
            s += ",\"protocol\":" + number(id.protocolNumber)
            s += ",\"timestamp\":" + (time.map { Self.jsonString(FlowTimestamp.iso8601($0)) } ?? "null")
            s += ",\"timestamp_text\":" + text(id.timestamp)
            s += ",\"score\":" + (v.score.isFinite ? score : "null")
            s += ",\"threshold\":" + (context.threshold.isFinite ? "\(context.threshold)" : "null")
            s += ",\"verdict\":\"" + v.verdict + "\",\"severity\":\"" + v.severity.rawValue + "\""
            s += ",\"why\":" + Self.jsonString(v.why) + ",\"reasons\":["
            s += v.reasons.map { "{\"feature\":" + Self.jsonString($0.feature) + ",\"deviation\":" + ($0.deviation.isFinite ? "\($0.deviation)" : "null") + "}" }
                .joined(separator: ",")
            s += "],\"model_id\":" + text(context.modelID)
            s += ",\"new_edge\":" + (v.newEdge.map { $0 ? "true" : "false" } ?? "null")
            s += ",\"src_k8s\":" + (v.sourceName?.json ?? "null") + ",\"dst_k8s\":" + (v.destinationName?.json ?? "null") + "}\n"
            return s
        }
    }

    /// Quotes a CSV field when it needs it (RFC 4180).
    public static func csvField(_ s: String) -> String { CSVText.quoted(s) }

    /// A JSON string literal.
    public static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// The warning `detect` gives once when it flags far more than the model was calibrated to: the
/// traffic has drifted from the baseline, or the model was trained at another site.
public struct DriftGuard: Sendable {
    /// Flows scored before the guard judges (fewer say too little).
    public var minimumFlows = 1000
    /// How many times the calibrated rate counts as far more.
    public var factor = 3.0
    /// The share of normal traffic the model expects to flag (its calibration's, else its --fpr).
    public var expectedRate: Double
    /// The model file, named in the advice.
    public var modelPath: String
    public private(set) var warned = false

    public init(expectedRate: Double, modelPath: String = "MODEL", minimumFlows: Int = 1000, factor: Double = 3) {
        self.expectedRate = expectedRate
        self.modelPath = modelPath
        self.minimumFlows = minimumFlows
        self.factor = factor
    }

    public init(model: TrainedModel, path: String) {
        self.init(expectedRate: model.calibration?.flaggedRate ?? model.options.fpr, modelPath: path)
    }

    /// The warning, the first time `flagged` of `flows` is more than `factor` times the expected rate.
    public mutating func check(flows: Int, flagged: Int) -> String? {
        guard !warned, flows >= minimumFlows, flows > 0 else { return nil }
        let rate = Double(flagged) / Double(flows)
        guard rate > factor * max(expectedRate, 1e-6) else { return nil }
        warned = true
        return String(format: "warning: %.1f%% of the first %d flows were flagged, %.0f times the %.1f%% this model was calibrated to flag on "
                      + "normal traffic of another period. The traffic has drifted from the baseline, the model was trained at "
                      + "another site, or a large attack (a scan, a flood) is under way: look at the incidents first. If they are normal "
                      + "traffic, add recent normal traffic as a new period "
                      + "(gpu-train update --model %@ --baseline RECENT.csv --out NEW.safetensors), or train on this site's own "
                      + "baseline (README: Operating it).",
                      rate * 100, flows, rate / max(expectedRate, 1e-6), expectedRate * 100, modelPath)
    }
}

/// Streams flows through a detector and writes one verdict per flow.
public enum DetectionStream {
    /// Incidents while streaming: flagged flows grouped (`IncidentGrouper`), each handed to
    /// `emit` as it closes and the rest at the end.
    public struct IncidentOptions {
        public var window: Double
        public var emit: (Incident) throws -> Void
        public init(window: Double = IncidentGrouper.defaultWindow, emit: @escaping (Incident) throws -> Void) {
            self.window = window
            self.emit = emit
        }
    }

    /// One scored batch, for metrics: its scores and verdicts, the time it took, and the stream's
    /// running totals of skipped rows and incidents.
    public struct BatchObservation: Sendable {
        public var scores: [Float]
        public var flagged: [Bool]
        public var seconds: Double
        public var badRowsSkipped: Int
        public var incidentsOpened: Int

        public init(scores: [Float], flagged: [Bool], seconds: Double, badRowsSkipped: Int, incidentsOpened: Int) {
            self.scores = scores
            self.flagged = flagged
            self.seconds = seconds
            self.badRowsSkipped = badRowsSkipped
            self.incidentsOpened = incidentsOpened
        }
    }

    public struct Summary: Sendable {
        public var flows = 0
        public var malicious = 0
        /// Incidents opened (with incident grouping).
        public var incidents = 0
        /// Verdicts written (all flows, or only the malicious ones with `onlyAlerts`).
        public var written = 0
        public var skipped = 0
        public var seconds = 0.0
        /// Time spent scoring and writing, without the waits for new rows under `follow`.
        public var busySeconds = 0.0
        public var flowsPerSecond: Double { seconds > 0 ? Double(flows) / seconds : 0 }
        /// Flows per second of busy time: what the detector sustains when rows keep coming.
        public var busyFlowsPerSecond: Double { busySeconds > 0 ? Double(flows) / busySeconds : 0 }
    }

    /// Reads every batch of `reader`, scores it and hands the formatted text to `write` batch by
    /// batch, so memory stays flat however long the input and, under `follow`, each batch is out as
    /// soon as it is scored. The header goes out with the first batch (or at the end), so a failure
    /// on the first rows leaves nothing half-written. `onlyAlerts` writes malicious flows only.
    public static func run(detector: Detector, reader: FlowStreamReader, format: DetectionFormat = .csv,
                           onlyAlerts: Bool = false, context: OutputContext = OutputContext(), names: KubernetesDirectory? = nil,
                           incidents: IncidentOptions? = nil, driftGuard: DriftGuard? = nil,
                           warn: (String) -> Void = { _ in }, observe: (BatchObservation) -> Void = { _ in },
                           alert: ((FlowVerdict, String) -> Void)? = nil,
                           write: (String) throws -> Void,
                           progress: (Summary) -> Void = { _ in }) throws -> Summary {
        let started = Date()
        var grouper = incidents.map { IncidentGrouper(window: $0.window) }
        var driftGuard = driftGuard
        let formatter = VerdictFormatter(format: format, identifierColumns: reader.identifierColumnsPresent, context: context,
                                         kubernetesColumns: names != nil)
        let edges = detector.model.edges
        // Alerts carry the schema v1 JSON line whatever the output format.
        let alertFormatter = VerdictFormatter(format: .jsonl, identifierColumns: FeatureSet.identifierColumns, context: context)
        var headerWritten = false
        var summary = Summary()
        while let batch = try reader.next() {
            let batchStarted = Date()
            let scaled = detector.model.scaler.scale(values: batch.values)
            let (scores, nearest) = try detector.scoresAndNeighbors(scaledRows: scaled, count: batch.rowCount)
            let f = detector.model.scaler.featureCount
            let flags = scores.map(detector.isMalicious)
            var text = headerWritten ? "" : formatter.header
            headerWritten = true
            text.reserveCapacity(text.utf8.count + batch.rowCount * 112)
            for i in 0..<batch.rowCount {
                let bad = flags[i]
                if bad { summary.malicious += 1 }
                if onlyAlerts && !bad { continue }
                let reasons = detector.explanation(scaledRow: scaled[i * f ..< (i + 1) * f], nearest: nearest[i])
                let why = Detector.explanationText(reasons)
                let id = batch.identifiers[i]
                let newEdge = edges.flatMap { known -> Bool? in
                    guard !id.sourceIP.isEmpty, !id.destinationIP.isEmpty, !id.destinationPort.isEmpty else { return nil }
                    // A model keeping edges by workload needs the pod list to say anything.
                    if detector.model.edgeKeys == .workload && names == nil { return nil }
                    return !known.contains(EdgeKeys.key(source: id.sourceIP, destination: id.destinationIP, port: id.destinationPort,
                                                        names: detector.model.edgeKeys == .workload ? names : nil))
                }
                let severity = Severity.of(score: scores[i], threshold: detector.model.threshold)
                var verdict = FlowVerdict(row: batch.lineNumbers[i], identifiers: id, score: scores[i], malicious: bad, why: why,
                                          reasons: reasons.map { FlowReason(feature: $0.feature, deviation: $0.deviation) },
                                          severity: severity, newEdge: newEdge)
                verdict.sourceName = names?.name(of: id.sourceIP)
                verdict.destinationName = names?.name(of: id.destinationIP)
                text += formatter.line(verdict)
                if bad, let alert { alert(verdict, alertFormatter.line(verdict)) }
                summary.written += 1
                if bad, let incidents, grouper != nil {
                    let closed = grouper?.add(source: id.sourceIP, destination: id.destinationIP, port: id.destinationPort,
                                              time: FlowTimestamp.parse(id.timestamp) ?? .nan, score: scores[i],
                                              reasons: reasons.map(\.feature), why: why, row: batch.lineNumbers[i],
                                              severity: severity, newEdge: newEdge,
                                              names: (verdict.sourceName, verdict.destinationName)) ?? []
                    for incident in closed { try incidents.emit(incident) }
                }
            }
            if !text.isEmpty { try write(text) }
            summary.flows += batch.rowCount
            summary.incidents = grouper?.incidentsOpened ?? 0
            observe(BatchObservation(scores: scores, flagged: flags,
                                     seconds: Date().timeIntervalSince(batchStarted), badRowsSkipped: reader.report.badRowsSkipped,
                                     incidentsOpened: summary.incidents))
            if let message = driftGuard?.check(flows: summary.flows, flagged: summary.malicious) { warn(message) }
            summary.busySeconds += Date().timeIntervalSince(batchStarted)
            summary.skipped = reader.report.badRowsSkipped
            summary.seconds = Date().timeIntervalSince(started)
            progress(summary)
        }
        if !headerWritten && !formatter.header.isEmpty { try write(formatter.header) }
        if let incidents, var g = grouper {
            for incident in g.finish() { try incidents.emit(incident) }
            summary.incidents = g.incidentsOpened
        }
        summary.skipped = reader.report.badRowsSkipped
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }
}
