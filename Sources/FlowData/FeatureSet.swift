import Foundation

/// Named lists of CICFlowMeter columns used as model features.
public enum FeatureSet {
    /// The 27 columns the original work used, in its order, spelled exactly as in the
    /// CICFlowMeter headers of the Kubernetes dataset.
    public static let `default`: [String] = [
        "Flow Duration", "Total Fwd Packet", "Total Bwd packets", "Total Length of Fwd Packet",
        "Total Length of Bwd Packet", "Flow Bytes/s", "Flow Packets/s", "Flow IAT Mean",
        "Flow IAT Std", "Flow IAT Max", "Flow IAT Min", "Fwd IAT Total", "Bwd IAT Total",
        "Packet Length Min", "Packet Length Max", "Packet Length Mean", "Packet Length Std",
        "FWD Init Win Bytes", "Bwd Init Win Bytes", "Active Mean", "Active Std", "Active Max",
        "Active Min", "Idle Mean", "Idle Std", "Idle Max", "Idle Min",
    ]

    /// The columns passed through to `detect` output as text, when present.
    public static let identifierColumns: [String] = [
        "Flow ID", "Src IP", "Src Port", "Dst IP", "Dst Port", "Timestamp", "Protocol",
    ]

    /// The label column: 0 (or `BENIGN`, `Benign`, `benign`) benign; any other number is the
    /// scenario id of a malicious flow and any other text names its attack scenario;
    /// `NeedManualLabel`, `No Label` and the empty value mean unlabelled.
    public static let labelColumn = "Label"

    /// The columns that say which flow this is, where it goes or what it was labelled, rather than
    /// how it behaved: never features (see DESIGN.md). A model that used them would learn the
    /// capture (AUC 1.0 on a Label) and score nothing it had not seen.
    public static let nonFeatureColumns: [String] = identifierColumns + [labelColumn]

    private static let nonFeatureKeys = Set(nonFeatureColumns.map(FlowDialect.normalize))

    /// Throws `notAFeature` naming every name in `names` that is the label or an identifier
    /// column, in any dialect's spelling (`Source IP`, `src_ip`, ` Label`).
    public static func checkFeatures(_ names: [String]) throws {
        let refused = names.filter { name in
            nonFeatureKeys.contains(FlowDialect.normalize(DialectTable.entry(for: name)?.canonical ?? name))
        }
        guard refused.isEmpty else { throw FlowDataError.notAFeature(columns: refused) }
    }

    /// Parses a `--features` argument: the path of a file with one column name per line
    /// (blank lines and lines starting with `#` ignored), or else a comma-separated list.
    public static func parse(_ argument: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        let names: [String]
        if FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory), !isDirectory.boolValue {
            guard let data = FileManager.default.contents(atPath: argument) else {
                throw FlowDataError.io(path: argument, message: "cannot read the feature list")
            }
            names = String(decoding: data, as: UTF8.self)
                .split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
                .map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        } else {
            names = argument.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
        }
        guard !names.isEmpty else { throw FlowDataError.emptyFeatureList }
        try checkFeatures(names)
        return names
    }
}

/// How `FlowLoader` reads flow files.
public struct FlowLoadOptions: Sendable, Equatable {
    /// The feature columns, in the order they take in each row of `FlowTable.values`.
    public var features: [String]
    /// Skip rows with a wrong field count or a non-numeric value, and files that cannot be read,
    /// instead of failing, and count them in `FlowLoadReport`.
    public var skipBadRows: Bool
    /// `FlowLoader` only: fail with `FlowDataError.noLabels` when a file has no labels (train,
    /// evaluate and crossval need them). When false, unlabelled rows load with label
    /// `FlowTable.unlabelled`. `FlowStreamReader` never reads labels.
    public var requireLabels: Bool
    /// `FlowLoader` only: also read each row's endpoints (`FlowTable.endpoints`) for evaluation.
    /// They never become features.
    public var readEndpoints: Bool

    public init(features: [String] = FeatureSet.default, skipBadRows: Bool = false, requireLabels: Bool = true,
                readEndpoints: Bool = false) {
        self.features = features
        self.skipBadRows = skipBadRows
        self.requireLabels = requireLabels
        self.readEndpoints = readEndpoints
    }
}
