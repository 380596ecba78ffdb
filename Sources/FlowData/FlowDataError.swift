import Common
/// Everything that can go wrong between a flow export on disk and a table of features.
///
/// Every message names the file, and where it applies the 1-based line (the header is line 1)
/// and the column, so a person can open the file at the right place.
public enum FlowDataError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The path given does not exist.
    case notFound(path: String)
    /// A folder with no `*.csv` file anywhere below it.
    case noCSVFiles(path: String)
    /// A file with no bytes (or only blank lines).
    case emptyFile(path: String)
    /// A file with a header line and no data rows.
    case headerOnly(path: String)
    /// A file that is not comma-separated text (binary data, or a header with a single field).
    case notCSV(path: String, reason: String)
    /// Required columns absent from the header; every one is named, with the dialect the header was read as.
    case missingColumns(path: String, columns: [String], dialect: FlowDialect)
    /// Window features asked for (a model trained with `--window-features on`) but the file lacks
    /// the columns they are computed from: the identifiers that group flows, or the packet and
    /// byte counts.
    case windowFeaturesNeedColumns(path: String, columns: [String], dialect: FlowDialect)
    /// Labels needed (train, evaluate, crossval) but the file has none: no Label column (and no
    /// benign/ or malicious/ folder above it), or a Label that says the flow is unlabelled.
    /// `line` and `text` name the first unlabelled row when there is a Label column.
    case noLabels(path: String, line: Int?, text: String?)
    /// A value in a required column that is not a number.
    case nonNumeric(path: String, line: Int, column: String, text: String)
    /// A label that is not a non-negative integer.
    case badLabel(path: String, line: Int, text: String)
    /// A row whose field count differs from the header's.
    case wrongFieldCount(path: String, line: Int, expected: Int, found: Int)
    /// Every data row was skipped as bad.
    case noUsableRows(path: String, skipped: Int)
    /// An empty `--features` list.
    case emptyFeatureList
    /// A table whose columns differ from the scaler's.
    case featureMismatch(expected: [String], found: [String])
    /// A file that could not be read or written.
    case io(path: String, message: String)
    /// Feature names that are the label or an identifier column (`FeatureSet.nonFeatureColumns`).
    case notAFeature(columns: [String])
    /// A header that names a column the load uses twice (1-based column positions).
    case duplicateColumn(path: String, name: String, first: Int, second: Int)
    /// A feature with no value (all missing) in every baseline row the scaler is fitted on.
    case featureAllMissing(feature: String, rows: Int)
    /// A record longer than `CSVRecordReader.maxRecordBytes` (1 MiB), starting on `line`.
    case recordTooLong(path: String, line: Int)
    /// The input ends inside a quoted field that starts in the record on `line`.
    case unclosedQuote(path: String, line: Int)
    /// A Zeek or Suricata log line that cannot be read (not JSON, no #fields before it, ...).
    case badRecord(path: String, line: Int, reason: String)
    /// A Zeek or Suricata log with no flow in it (only comments, or only other Suricata events).
    case noFlowRecords(path: String, reason: String)

    /// The message, with any control character of a quoted path, label or value escaped (TerminalText).
    public var description: String { TerminalText.escaped(message) }

    private var message: String {
        switch self {
        case .notFound(let path):
            return "\(path): no such file or folder"
        case .noCSVFiles(let path):
            return "\(path): no *.csv files (nor Zeek or Suricata logs) in this folder or below it"
        case .emptyFile(let path):
            return "\(path): empty file (expected a CSV header line and data rows)"
        case .headerOnly(let path):
            return "\(path): header only, no data rows"
        case .notCSV(let path, let reason):
            return "\(path): not a CSV file (\(reason))"
        case .missingColumns(let path, let columns, let dialect):
            return "\(path): missing required columns: \(columns.joined(separator: ", ")) "
                + "(the header was read as \(dialect.displayName); see the README's table of dialects)"
        case .windowFeaturesNeedColumns(let path, let columns, let dialect):
            return "\(path): window features (--window-features on) are computed per source and destination service from "
                + "columns this file lacks: \(columns.joined(separator: ", ")) (the header was read as \(dialect.displayName)); "
                + "give flows with these columns, or train with --window-features off"
        case .noLabels(let path, let line, let text):
            let what = line.map { "line \($0) has no label ('\(text ?? "")')" } ?? "no Label column"
            return "\(path): \(what); this command needs labelled flows: give every row a Label (0 or BENIGN for benign "
                + "traffic, a scenario id or attack name otherwise) or put the file under a benign/ or malicious/ folder "
                + "(detect needs no labels)"
        case .nonNumeric(let path, let line, let column, let text):
            return "\(path):\(line): column '\(column)': non-numeric value '\(text)'"
        case .badLabel(let path, let line, let text):
            return "\(path):\(line): column 'Label': expected a non-negative integer or a text label, found '\(text)'"
        case .wrongFieldCount(let path, let line, let expected, let found):
            return "\(path):\(line): expected \(expected) fields as in the header, found \(found)"
        case .noUsableRows(let path, let skipped):
            return "\(path): no usable rows (\(skipped) bad rows skipped)"
        case .emptyFeatureList:
            return "the feature list is empty"
        case .featureMismatch(let expected, let found):
            return "feature columns differ from the scaler's: expected [\(expected.joined(separator: ", "))], found [\(found.joined(separator: ", "))]"
        case .io(let path, let message):
            return "\(path): \(message)"
        case .notAFeature(let columns):
            let list = columns.joined(separator: ", ")
            return "\(list) cannot be \(columns.count == 1 ? "a feature" : "features"): the label and the identifier columns "
                + "(\(FeatureSet.nonFeatureColumns.joined(separator: ", "))) say which flow it is or what it was labelled, not "
                + "how it behaved, so a model would learn the capture instead of the traffic; leave them out of --features"
        case .duplicateColumn(let path, let name, let first, let second):
            return "\(path): the header names the column '\(name)' twice (columns \(first) and \(second)); which one holds "
                + "the values is a guess: rename or remove one of them"
        case .featureAllMissing(let feature, let rows) where WindowFeatures.isWindowFeature(feature):
            let scale = WindowFeatures.timeScales.first { feature.hasSuffix(" \(Int($0))s") }.map { Int($0) } ?? 60
            return "window feature '\(feature)' is missing in all \(rows) baseline flows: it is known only once a file has been "
                + "watched for \(scale) s, from flows with a readable Timestamp, and no baseline file has that; give a longer "
                + "baseline with readable timestamps (README: flow records), or train with --window-features off"
        case .featureAllMissing(let feature, let rows):
            return "feature '\(feature)' is missing (empty, NaN or Infinity) in all \(rows) baseline flows, so it cannot be "
                + "scaled and would flag almost every flow that has it; train with --features without '\(feature)'"
        case .recordTooLong(let path, let line):
            return "\(path):\(line): a record longer than 1 MiB (a line that never ends, or a quote that is never closed)"
        case .unclosedQuote(let path, let line):
            return "\(path):\(line): a quoted field is never closed (the file ends inside its quotes)"
        case .badRecord(let path, let line, let reason):
            return "\(path):\(line): \(reason)"
        case .noFlowRecords(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}

#if canImport(Foundation)
import Foundation
extension FlowDataError: LocalizedError {
    public var errorDescription: String? { description }
}
#endif
