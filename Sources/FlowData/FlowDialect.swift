/// The naming schemes (and units) of the flow meters people run, and the one alias table that
/// maps each of them onto the canonical feature names of `FeatureSet`.
///
/// The canonical names and units are those of the CICFlowMeter build that wrote the Kubernetes
/// dataset (the current Java CICFlowMeter): times in microseconds, lengths in payload bytes.
public enum FlowDialect: String, Codable, Sendable, CaseIterable, Hashable {
    /// The current Java CICFlowMeter, as in the Kubernetes dataset (`Total Fwd Packet`,
    /// `FWD Init Win Bytes`, `Label` = `NeedManualLabel` when it converts a capture).
    case cicflowmeter = "cicflowmeter"
    /// CICFlowMeter-V3, as in CIC-IDS2017 (`Total Fwd Packets`, `Init_Win_bytes_forward`,
    /// most names with a leading space; labels `BENIGN`, `DDoS`, ...).
    case cicflowmeterV3 = "cicflowmeter-v3"
    /// CICFlowMeter-V4, as in CSE-CIC-IDS2018 (`Tot Fwd Pkts`, `Init Fwd Win Byts`; labels
    /// `Benign`, `Infilteration`, ... or `No Label`).
    case cicflowmeterV4 = "cicflowmeter-v4"
    /// The Python `cicflowmeter` package (snake_case: `tot_fwd_pkts`; no Flow ID, no Label;
    /// durations in seconds, packet lengths as whole frames).
    case pythonCICFlowMeter = "python-cicflowmeter"
    /// Zeek `conn.log` (TSV with `#fields`, or JSON lines), transcoded by `NativeFlowLog` into
    /// Zeek's own features (`duration`, `orig_bytes`, ..., one-hot `conn_state_*`).
    case zeek = "zeek"
    /// Suricata `eve.json` flow events, transcoded by `NativeFlowLog` into Suricata's own features
    /// (`age`, `pkts_toserver`, ..., one-hot `state_*`, `tcp_*` flag bits).
    case suricata = "suricata"

    /// A name for messages.
    public var displayName: String {
        switch self {
        case .cicflowmeter: return "CICFlowMeter (current Java release, as in the Kubernetes dataset)"
        case .cicflowmeterV3: return "CICFlowMeter-V3 (CIC-IDS2017)"
        case .cicflowmeterV4: return "CICFlowMeter-V4 (CSE-CIC-IDS2018)"
        case .pythonCICFlowMeter: return "Python cicflowmeter"
        case .zeek: return "Zeek conn.log"
        case .suricata: return "Suricata eve.json flow events"
        }
    }

    /// The features `train` uses for this dialect's flows when `--features` is not given; nil for
    /// the CICFlowMeter dialects, which share the canonical names and leave the choice to the recipe.
    /// Zeek and Suricata measure other things than CICFlowMeter, so they have feature sets of their own.
    public var defaultFeatures: [String]? {
        switch self {
        case .zeek: return NativeFlowLog.zeekFeatures
        case .suricata: return NativeFlowLog.suricataFeatures
        default: return nil
        }
    }

    /// The warning to print when a model trained on flows of `trained` scores flows of `scoring`;
    /// nil when they agree or the model does not say (models written before dialects were recorded).
    public static func mismatchWarning(trained: FlowDialect?, scoring: FlowDialect) -> String? {
        guard let trained, trained != scoring else { return nil }
        return "warning: the model was trained on \(trained.displayName) flows and is scoring \(scoring.displayName) "
            + "flows; the columns are mapped, but flow meters measure differently (see the README's table of dialects), "
            + "so scores may shift: train on a baseline from the same flow meter"
    }

    /// Python cicflowmeter writes no version, and its releases share one header: the times are
    /// read as the seconds of 0.3 and later, which this says (once per load) so that a user of
    /// 0.2.0 or 0.1.x, whose times are microseconds, is not misled.
    public static let pythonVersionWarning = "warning: python-cicflowmeter files do not say which version wrote them; "
        + "times are read as seconds (versions 0.3 to 0.5); files from 0.2.0 or 0.1.x hold microseconds and would be "
        + "scaled a million times too large"

    /// The start of the warning that a dialect's packet lengths have no exact conversion.
    static func inexactLengthsPrefix(_ dialect: FlowDialect) -> String { "warning: \(dialect.rawValue) measures packet lengths" }

    /// The notes of a load that are worth saying when a model trained on `trained` flows scores
    /// `scoring` flows: the warning that lengths run larger than a CICFlowMeter model expects is
    /// dropped when the model itself was trained on that dialect (its lengths were as large).
    public static func notes(_ notes: [String], trained: FlowDialect?, scoring: FlowDialect) -> [String] {
        guard let trained, trained == scoring else { return notes }
        return notes.filter { !$0.hasPrefix(inexactLengthsPrefix(scoring)) }
    }

    /// Header names compare equal when they differ only in case, surrounding spaces, or spaces
    /// versus underscores (`" Total Fwd Packets"`, `"total_fwd_packets"`, `"TOTAL FWD PACKETS"`).
    public static func normalize(_ name: String) -> String {
        String(String.UnicodeScalarView(name.lowercased().unicodeScalars.filter { $0 != " " && $0 != "_" && $0 != "\t" }))
    }
}

/// How a dialect's value of a column relates to the canonical unit.
enum UnitRelation: Equatable {
    /// The same unit.
    case same
    /// Multiply by this factor (seconds -> microseconds: 1e6).
    case scale(Float)
    /// Measured differently with no exact conversion (whole frames versus payload bytes).
    case inexact
}

/// One canonical column and its spelling in every dialect (nil: the dialect does not write it).
struct ColumnAlias {
    let canonical: String
    let v3: String?
    let v4: String?
    let python: String?
    /// How the Python cicflowmeter's value relates to the canonical unit (the Java dialects
    /// all share the canonical units).
    let pythonUnit: UnitRelation

    func name(in dialect: FlowDialect) -> String? {
        switch dialect {
        case .cicflowmeter: return canonical
        case .cicflowmeterV3: return v3
        case .cicflowmeterV4: return v4
        case .pythonCICFlowMeter: return python
        case .zeek, .suricata: return nil
        }
    }

    func unit(in dialect: FlowDialect) -> UnitRelation { dialect == .pythonCICFlowMeter ? pythonUnit : .same }
}

/// The alias table. Python cicflowmeter units are those of its 0.3, 0.4 and 0.5 releases (on
/// PyPI; read from their sources): every time (`flow_duration`, `flow_iat_*`, `fwd_iat_*`,
/// `bwd_iat_*`, `active_*`, `idle_*`) is in seconds, all converted (x 1e6); every length is
/// `len(packet)`, the whole frame with its headers, where CICFlowMeter counts payload bytes.
/// 0.2.0 and 0.1.x multiplied every time by 1e6 (microseconds). All of them write the same 75
/// column names in the same order, so the version cannot be told from the header: seconds are
/// assumed, and the unit note says so every time (see `CSVRowParser.unitNotes`).
enum DialectTable {
    static let seconds = UnitRelation.scale(1e6)

    static let columns: [ColumnAlias] = [
        ColumnAlias(canonical: "Flow Duration", v3: "Flow Duration", v4: "Flow Duration", python: "flow_duration", pythonUnit: seconds),
        ColumnAlias(canonical: "Total Fwd Packet", v3: "Total Fwd Packets", v4: "Tot Fwd Pkts", python: "tot_fwd_pkts", pythonUnit: .same),
        ColumnAlias(canonical: "Total Bwd packets", v3: "Total Backward Packets", v4: "Tot Bwd Pkts", python: "tot_bwd_pkts", pythonUnit: .same),
        ColumnAlias(canonical: "Total Length of Fwd Packet", v3: "Total Length of Fwd Packets", v4: "TotLen Fwd Pkts",
                    python: "totlen_fwd_pkts", pythonUnit: .inexact),
        ColumnAlias(canonical: "Total Length of Bwd Packet", v3: "Total Length of Bwd Packets", v4: "TotLen Bwd Pkts",
                    python: "totlen_bwd_pkts", pythonUnit: .inexact),
        ColumnAlias(canonical: "Flow Bytes/s", v3: "Flow Bytes/s", v4: "Flow Byts/s", python: "flow_byts_s", pythonUnit: .inexact),
        ColumnAlias(canonical: "Flow Packets/s", v3: "Flow Packets/s", v4: "Flow Pkts/s", python: "flow_pkts_s", pythonUnit: .same),
        ColumnAlias(canonical: "Flow IAT Mean", v3: "Flow IAT Mean", v4: "Flow IAT Mean", python: "flow_iat_mean", pythonUnit: seconds),
        ColumnAlias(canonical: "Flow IAT Std", v3: "Flow IAT Std", v4: "Flow IAT Std", python: "flow_iat_std", pythonUnit: seconds),
        ColumnAlias(canonical: "Flow IAT Max", v3: "Flow IAT Max", v4: "Flow IAT Max", python: "flow_iat_max", pythonUnit: seconds),
        ColumnAlias(canonical: "Flow IAT Min", v3: "Flow IAT Min", v4: "Flow IAT Min", python: "flow_iat_min", pythonUnit: seconds),
        ColumnAlias(canonical: "Fwd IAT Total", v3: "Fwd IAT Total", v4: "Fwd IAT Tot", python: "fwd_iat_tot", pythonUnit: seconds),
        ColumnAlias(canonical: "Bwd IAT Total", v3: "Bwd IAT Total", v4: "Bwd IAT Tot", python: "bwd_iat_tot", pythonUnit: seconds),
        ColumnAlias(canonical: "Fwd IAT Mean", v3: "Fwd IAT Mean", v4: "Fwd IAT Mean", python: "fwd_iat_mean", pythonUnit: seconds),
        ColumnAlias(canonical: "Fwd IAT Std", v3: "Fwd IAT Std", v4: "Fwd IAT Std", python: "fwd_iat_std", pythonUnit: seconds),
        ColumnAlias(canonical: "Fwd IAT Max", v3: "Fwd IAT Max", v4: "Fwd IAT Max", python: "fwd_iat_max", pythonUnit: seconds),
        ColumnAlias(canonical: "Fwd IAT Min", v3: "Fwd IAT Min", v4: "Fwd IAT Min", python: "fwd_iat_min", pythonUnit: seconds),
        ColumnAlias(canonical: "Bwd IAT Mean", v3: "Bwd IAT Mean", v4: "Bwd IAT Mean", python: "bwd_iat_mean", pythonUnit: seconds),
        ColumnAlias(canonical: "Bwd IAT Std", v3: "Bwd IAT Std", v4: "Bwd IAT Std", python: "bwd_iat_std", pythonUnit: seconds),
        ColumnAlias(canonical: "Bwd IAT Max", v3: "Bwd IAT Max", v4: "Bwd IAT Max", python: "bwd_iat_max", pythonUnit: seconds),
        ColumnAlias(canonical: "Bwd IAT Min", v3: "Bwd IAT Min", v4: "Bwd IAT Min", python: "bwd_iat_min", pythonUnit: seconds),
        ColumnAlias(canonical: "Packet Length Min", v3: "Min Packet Length", v4: "Pkt Len Min", python: "pkt_len_min", pythonUnit: .inexact),
        ColumnAlias(canonical: "Packet Length Max", v3: "Max Packet Length", v4: "Pkt Len Max", python: "pkt_len_max", pythonUnit: .inexact),
        ColumnAlias(canonical: "Packet Length Mean", v3: "Packet Length Mean", v4: "Pkt Len Mean", python: "pkt_len_mean", pythonUnit: .inexact),
        ColumnAlias(canonical: "Packet Length Std", v3: "Packet Length Std", v4: "Pkt Len Std", python: "pkt_len_std", pythonUnit: .inexact),
        ColumnAlias(canonical: "FWD Init Win Bytes", v3: "Init_Win_bytes_forward", v4: "Init Fwd Win Byts",
                    python: "init_fwd_win_byts", pythonUnit: .same),
        ColumnAlias(canonical: "Bwd Init Win Bytes", v3: "Init_Win_bytes_backward", v4: "Init Bwd Win Byts",
                    python: "init_bwd_win_byts", pythonUnit: .same),
        ColumnAlias(canonical: "Active Mean", v3: "Active Mean", v4: "Active Mean", python: "active_mean", pythonUnit: seconds),
        ColumnAlias(canonical: "Active Std", v3: "Active Std", v4: "Active Std", python: "active_std", pythonUnit: seconds),
        ColumnAlias(canonical: "Active Max", v3: "Active Max", v4: "Active Max", python: "active_max", pythonUnit: seconds),
        ColumnAlias(canonical: "Active Min", v3: "Active Min", v4: "Active Min", python: "active_min", pythonUnit: seconds),
        ColumnAlias(canonical: "Idle Mean", v3: "Idle Mean", v4: "Idle Mean", python: "idle_mean", pythonUnit: seconds),
        ColumnAlias(canonical: "Idle Std", v3: "Idle Std", v4: "Idle Std", python: "idle_std", pythonUnit: seconds),
        ColumnAlias(canonical: "Idle Max", v3: "Idle Max", v4: "Idle Max", python: "idle_max", pythonUnit: seconds),
        ColumnAlias(canonical: "Idle Min", v3: "Idle Min", v4: "Idle Min", python: "idle_min", pythonUnit: seconds),
        // Identifiers (passed through to detect's output, never features) and the label.
        ColumnAlias(canonical: "Flow ID", v3: "Flow ID", v4: "Flow ID", python: nil, pythonUnit: .same),
        ColumnAlias(canonical: "Src IP", v3: "Source IP", v4: "Src IP", python: "src_ip", pythonUnit: .same),
        ColumnAlias(canonical: "Src Port", v3: "Source Port", v4: "Src Port", python: "src_port", pythonUnit: .same),
        ColumnAlias(canonical: "Dst IP", v3: "Destination IP", v4: "Dst IP", python: "dst_ip", pythonUnit: .same),
        ColumnAlias(canonical: "Dst Port", v3: "Destination Port", v4: "Dst Port", python: "dst_port", pythonUnit: .same),
        ColumnAlias(canonical: "Timestamp", v3: "Timestamp", v4: "Timestamp", python: "timestamp", pythonUnit: .same),
        ColumnAlias(canonical: "Protocol", v3: "Protocol", v4: "Protocol", python: "protocol", pythonUnit: .same),
        ColumnAlias(canonical: "Label", v3: "Label", v4: "Label", python: nil, pythonUnit: .same),
    ]

    /// The alias entry that `name` (in any dialect's spelling, normalized) belongs to.
    static let byNormalizedName: [String: Int] = {
        var map: [String: Int] = [:]
        for (k, c) in columns.enumerated() {
            for d in FlowDialect.allCases {
                if let n = c.name(in: d) { map[FlowDialect.normalize(n)] = map[FlowDialect.normalize(n)] ?? k }
            }
        }
        return map
    }()

    static func entry(for name: String) -> ColumnAlias? {
        byNormalizedName[FlowDialect.normalize(name)].map { columns[$0] }
    }

    /// The dialect whose spellings a header uses. Exact spellings (after trimming spaces) decide;
    /// names that only match after normalizing break ties; a snake_case header with no better
    /// evidence is the Python package's. A header that matches nothing known is taken as canonical.
    static func detect(header: [String]) -> FlowDialect {
        if let native = NativeFlowLog.dialect(ofHeader: header) { return native }
        let trimmed = Set(header.map { $0.trimmingCharacters(in: .whitespaces) })
        let normalized = Set(header.map(FlowDialect.normalize))
        let snakeCase = header.count > 1 && header.allSatisfy { !$0.trimmingCharacters(in: .whitespaces).contains(" ") }
            && header.contains { $0.contains("_") }
        var best = FlowDialect.cicflowmeter
        var bestScore = (-1, -1, -1)
        for d in FlowDialect.allCases where d.defaultFeatures == nil {
            // Only names that tell dialects apart count as evidence: exact spellings no other dialect
            // uses, and normalized names that not every dialect shares (V4 and Python agree once normalized).
            var exact = 0, loose = 0
            for c in columns {
                guard let n = c.name(in: d) else { continue }
                let others = FlowDialect.allCases.filter { $0 != d && $0.defaultFeatures == nil }.map { c.name(in: $0) }
                if !others.contains(n), trimmed.contains(n) { exact += 1 }
                let key = FlowDialect.normalize(n)
                let sharedByAll = others.allSatisfy { $0.map(FlowDialect.normalize) == key }
                if !sharedByAll, normalized.contains(key) { loose += 1 }
            }
            let style = (d == .pythonCICFlowMeter) == snakeCase ? 1 : 0
            let score = (exact, loose, style)
            if score > bestScore { best = d; bestScore = score }
        }
        return bestScore.0 == 0 && bestScore.1 == 0 && !snakeCase ? .cicflowmeter : best
    }
}

import Foundation

extension FlowDialect {
    /// The 87 columns of the current CICFlowMeter dialect, as in the shared Kubernetes data
    /// (GintsEngelen/CICFlowMeter as of April 2022: `Total TCP Flow Time` before `Label`): what
    /// `synth` writes and what gpu-train's own flow meter writes.
    public static let cicflowmeterHeader: [String] = [
        "Flow ID", "Src IP", "Src Port", "Dst IP", "Dst Port", "Protocol", "Timestamp", "Flow Duration",
        "Total Fwd Packet", "Total Bwd packets", "Total Length of Fwd Packet", "Total Length of Bwd Packet",
        "Fwd Packet Length Max", "Fwd Packet Length Min", "Fwd Packet Length Mean", "Fwd Packet Length Std",
        "Bwd Packet Length Max", "Bwd Packet Length Min", "Bwd Packet Length Mean", "Bwd Packet Length Std",
        "Flow Bytes/s", "Flow Packets/s", "Flow IAT Mean", "Flow IAT Std", "Flow IAT Max", "Flow IAT Min",
        "Fwd IAT Total", "Fwd IAT Mean", "Fwd IAT Std", "Fwd IAT Max", "Fwd IAT Min", "Bwd IAT Total",
        "Bwd IAT Mean", "Bwd IAT Std", "Bwd IAT Max", "Bwd IAT Min", "Fwd PSH Flags", "Bwd PSH Flags",
        "Fwd URG Flags", "Bwd URG Flags", "Fwd RST Flags", "Bwd RST Flags", "Fwd Header Length",
        "Bwd Header Length", "Fwd Packets/s", "Bwd Packets/s", "Packet Length Min", "Packet Length Max",
        "Packet Length Mean", "Packet Length Std", "Packet Length Variance", "FIN Flag Count", "SYN Flag Count",
        "RST Flag Count", "PSH Flag Count", "ACK Flag Count", "URG Flag Count", "CWR Flag Count", "ECE Flag Count",
        "Down/Up Ratio", "Average Packet Size", "Fwd Segment Size Avg", "Bwd Segment Size Avg",
        "Fwd Bytes/Bulk Avg", "Fwd Packet/Bulk Avg", "Fwd Bulk Rate Avg", "Bwd Bytes/Bulk Avg",
        "Bwd Packet/Bulk Avg", "Bwd Bulk Rate Avg", "Subflow Fwd Packets", "Subflow Fwd Bytes",
        "Subflow Bwd Packets", "Subflow Bwd Bytes", "FWD Init Win Bytes", "Bwd Init Win Bytes",
        "Fwd Act Data Pkts", "Fwd Seg Size Min", "Active Mean", "Active Std", "Active Max", "Active Min",
        "Idle Mean", "Idle Std", "Idle Max", "Idle Min", "Total TCP Flow Time", "Label",
    ]
}
