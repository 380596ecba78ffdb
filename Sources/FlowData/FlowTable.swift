/// Where a skipped row was and why it was skipped.
public struct BadRow: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var line: Int
    /// The full error the row would have raised in strict mode.
    public var error: FlowDataError

    public var description: String { error.description }
}

/// What a load read: files, rows, bytes, and the rows it skipped.
public struct FlowLoadReport: Sendable, Equatable {
    /// How many first skipped rows `firstBadRows` keeps.
    public static let keptBadRows = 5

    public var filesRead: Int = 0
    public var rowsRead: Int = 0
    public var bytesRead: Int = 0
    /// Rows skipped under `skipBadRows` (always 0 in strict mode).
    public var badRowsSkipped: Int = 0
    /// The first `keptBadRows` skipped rows.
    public var firstBadRows: [BadRow] = []
    /// Rows read per dialect of the files they came from.
    public var rowsByDialect: [FlowDialect: Int] = [:]
    /// Files read per dialect.
    public var filesByDialect: [FlowDialect: Int] = [:]
    /// Unit conversions made and measurements without an exact conversion, each said once.
    public var unitNotes: [String] = []
    /// Finite values beyond Float's range, stored as missing (see `NumberParser`).
    public var valuesOutOfRange: Int = 0
    /// Suricata events other than `flow` (alerts, dns, http, stats, ...), skipped.
    public var eventsSkipped: Int = 0
    /// Files that could not be read, skipped under `skipBadRows` (strict loads fail instead).
    public var unreadableFiles: [String] = []
    /// Files not read because they are a file already read under another name (a link, a hard
    /// link, or two paths to it): "path (the same file as first)".
    public var sameFiles: [String] = []
    /// Rows with an exact twin (another row with the same value in every feature) in the load.
    public var rowsWithTwin: Int = 0

    public init() {}

    /// The dialect most rows were read in (nil before any file is read).
    public var dialect: FlowDialect? {
        rowsByDialect.max { ($0.value, $1.key.rawValue) < ($1.value, $0.key.rawValue) }?.key
            ?? filesByDialect.keys.sorted { $0.rawValue < $1.rawValue }.first
    }

    /// The line that names a dialect, as `notes` says it.
    public static func dialectLine(_ dialect: FlowDialect) -> String {
        "dialect: \(dialect.displayName) [\(dialect.rawValue)]"
    }

    /// The lines a command prints once on stderr about a load: the dialect, unit conversions and
    /// their warnings, values beyond Float's range and unreadable files skipped. Bad rows are in
    /// `badRowSummary`.
    public var notes: [String] {
        var lines: [String] = []
        if !filesByDialect.isEmpty {
            let parts = filesByDialect.sorted { $0.key.rawValue < $1.key.rawValue }.map { d, files in
                "\(d.displayName) [\(d.rawValue)]" + (filesByDialect.count > 1 || files > 1 ? " in \(files) file\(files == 1 ? "" : "s")" : "")
            }
            lines.append("dialect: " + parts.joined(separator: "; "))
        }
        lines += unitNotes
        if valuesOutOfRange > 0 {
            lines.append("warning: \(valuesOutOfRange) value\(valuesOutOfRange == 1 ? "" : "s") beyond Float's range "
                + "(|x| > 3.4e38) read as missing")
        }
        if eventsSkipped > 0 {
            lines.append("skipped \(eventsSkipped) Suricata event\(eventsSkipped == 1 ? "" : "s") other than flow events")
        }
        if !unreadableFiles.isEmpty {
            lines.append("warning: skipped \(unreadableFiles.count) unreadable file\(unreadableFiles.count == 1 ? "" : "s"): "
                + unreadableFiles.prefix(5).joined(separator: ", ") + (unreadableFiles.count > 5 ? ", ..." : ""))
        }
        if !sameFiles.isEmpty {
            lines.append("read once: \(sameFiles.count) file\(sameFiles.count == 1 ? " is" : "s are") the same as a file "
                + "already read (a link, or a second path to it): " + sameFiles.prefix(5).joined(separator: ", ")
                + (sameFiles.count > 5 ? ", ..." : ""))
        }
        if rowsWithTwin * 2 > rowsRead {
            lines.append("warning: \(rowsWithTwin) of \(rowsRead) flows have an exact twin (the same value in every feature): "
                + "is the same input loaded twice (a copy of a file, or overlapping paths)? Twins make the baseline look "
                + "tighter than it is and move the threshold")
        }
        return lines
    }

    /// Adds another report's counts to this one.
    mutating func merge(_ other: FlowLoadReport) {
        filesRead += other.filesRead
        rowsRead += other.rowsRead
        bytesRead += other.bytesRead
        for row in other.firstBadRows where firstBadRows.count < Self.keptBadRows { firstBadRows.append(row) }
        badRowsSkipped += other.badRowsSkipped
        rowsByDialect.merge(other.rowsByDialect, uniquingKeysWith: +)
        filesByDialect.merge(other.filesByDialect, uniquingKeysWith: +)
        for note in other.unitNotes where !unitNotes.contains(note) { unitNotes.append(note) }
        valuesOutOfRange += other.valuesOutOfRange
        eventsSkipped += other.eventsSkipped
        unreadableFiles += other.unreadableFiles
        sameFiles += other.sameFiles
        rowsWithTwin += other.rowsWithTwin
    }

    mutating func recordBadRow(_ row: BadRow) {
        badRowsSkipped += 1
        if firstBadRows.count < Self.keptBadRows { firstBadRows.append(row) }
    }

    /// One line for stderr, plus one line per kept bad row; empty when nothing was skipped.
    public var badRowSummary: String {
        guard badRowsSkipped > 0 else { return "" }
        var s = "skipped \(badRowsSkipped) bad row\(badRowsSkipped == 1 ? "" : "s"); first:"
        for row in firstBadRows { s += "\n  \(row.error)" }
        return s
    }
}

/// Flow records as a dense row-major matrix of feature values plus per-row labels, in canonical
/// names and units whatever dialect the files were written in.
///
/// Missing values (`Infinity`, `-Infinity`, `NaN`, empty fields) are stored as `Float.nan`;
/// `Scaler` fills them with the training mean.
public struct FlowTable: Sendable {
    /// The feature columns, in the order of each row of `values`.
    public var featureNames: [String]
    /// rowCount x featureCount, row-major.
    public var values: [Float]
    /// Per row: 0 benign, `FlowTable.unlabelled` for a row without a label (only loads that do not
    /// require labels keep such rows), otherwise the scenario id (the `Label` column, or an id given
    /// to a text label or a file under `malicious/`).
    public var labels: [Int]
    /// Per row: "benign" for label 0, "unlabelled", or the scenario name (a text label, else the
    /// source file name up to its first `_`).
    public var scenarioNames: [String]
    /// The files read, in load order.
    public var sourceFiles: [String]
    /// Per row: index into `sourceFiles`.
    public var rowFiles: [Int32]
    /// Per row: 1-based line number in its file (the header is line 1).
    public var rowLines: [Int32]
    /// Counts and skipped rows.
    public var report: FlowLoadReport
    /// Per row, when the load was asked for them (`FlowLoadOptions.readEndpoints`) and every file
    /// has the Src IP, Dst IP and Dst Port columns: `source>destination:port`. For evaluation only
    /// (which attack flows talk to endpoints the baseline never saw); never a feature, because
    /// addresses identify a capture rather than a behaviour.
    public var endpoints: [String]?
    /// Per row, loaded with the endpoints: the flow's start time in seconds since 1970
    /// (`FlowTimestamp`), NaN where a file has no readable Timestamp. Orders flows into periods
    /// and incidents into windows; never a feature.
    public var timestamps: [Double]?

    public init(featureNames: [String], values: [Float], labels: [Int], scenarioNames: [String],
                sourceFiles: [String] = [], rowFiles: [Int32]? = nil, rowLines: [Int32]? = nil,
                report: FlowLoadReport = FlowLoadReport(), endpoints: [String]? = nil, timestamps: [Double]? = nil) {
        precondition(featureNames.isEmpty ? values.isEmpty : values.count == labels.count * featureNames.count,
                     "values must hold labels.count x featureNames.count floats")
        precondition(scenarioNames.count == labels.count, "one scenario name per row")
        precondition(endpoints.map { $0.count == labels.count } ?? true, "one endpoint per row")
        precondition(timestamps.map { $0.count == labels.count } ?? true, "one timestamp per row")
        self.featureNames = featureNames
        self.values = values
        self.labels = labels
        self.scenarioNames = scenarioNames
        self.sourceFiles = sourceFiles
        self.rowFiles = rowFiles ?? [Int32](repeating: -1, count: labels.count)
        self.rowLines = rowLines ?? [Int32](repeating: 0, count: labels.count)
        self.report = report
        self.endpoints = endpoints
        self.timestamps = timestamps
    }

    /// The label of a row without one.
    public static let unlabelled = -1

    /// The dialect the flows were read in (the one with the most rows), for the model to record.
    public var dialect: FlowDialect? { report.dialect }

    public var rowCount: Int { labels.count }
    public var featureCount: Int { featureNames.count }

    /// The raw feature values of one row.
    public func row(_ index: Int) -> ArraySlice<Float> {
        values[index * featureCount ..< (index + 1) * featureCount]
    }

    public func value(row: Int, feature: Int) -> Float { values[row * featureCount + feature] }

    public func isMalicious(_ row: Int) -> Bool { labels[row] > 0 }

    /// Indices of the rows for which `predicate(index)` is true, in order.
    public func rows(where predicate: (Int) -> Bool) -> [Int] {
        (0..<rowCount).filter(predicate)
    }

    public var benignRows: [Int] { rows { labels[$0] == 0 } }
    public var maliciousRows: [Int] { rows { labels[$0] > 0 } }
    public var unlabelledRows: [Int] { rows { labels[$0] == Self.unlabelled } }

    /// Distinct scenario names, "benign" first, then the malicious ones sorted.
    public var scenarios: [String] {
        let names = Set(scenarioNames)
        return (names.contains("benign") ? ["benign"] : []) + names.subtracting(["benign"]).sorted()
    }

    /// Rows per scenario name.
    public var scenarioCounts: [String: Int] {
        scenarioNames.reduce(into: [:]) { $0[$1, default: 0] += 1 }
    }

    /// A table of the given rows, in the given order (indices may repeat).
    public func subset(_ indices: [Int]) -> FlowTable {
        let f = featureCount
        var v = [Float](); v.reserveCapacity(indices.count * f)
        for i in indices { v.append(contentsOf: values[i * f ..< (i + 1) * f]) }
        return FlowTable(featureNames: featureNames, values: v, labels: indices.map { labels[$0] },
                         scenarioNames: indices.map { scenarioNames[$0] }, sourceFiles: sourceFiles,
                         rowFiles: indices.map { rowFiles[$0] }, rowLines: indices.map { rowLines[$0] },
                         report: report, endpoints: endpoints.map { e in indices.map { e[$0] } },
                         timestamps: timestamps.map { t in indices.map { t[$0] } })
    }

    /// "file:line" of a row, for messages.
    public func location(ofRow index: Int) -> String {
        let file = rowFiles[index]
        let name = file >= 0 && Int(file) < sourceFiles.count ? sourceFiles[Int(file)] : "<memory>"
        return "\(name):\(rowLines[index])"
    }

    /// Appends another table's rows; both must have the same features. The endpoints stay only
    /// when both tables have them.
    public mutating func append(_ other: FlowTable) {
        precondition(other.featureNames == featureNames, "appending a table with other features")
        if let mine = endpoints, let theirs = other.endpoints { endpoints = mine + theirs } else { endpoints = nil }
        if let mine = timestamps, let theirs = other.timestamps { timestamps = mine + theirs } else { timestamps = nil }
        let offset = Int32(sourceFiles.count)
        sourceFiles += other.sourceFiles
        values += other.values
        labels += other.labels
        scenarioNames += other.scenarioNames
        rowFiles += other.rowFiles.map { $0 >= 0 ? $0 + offset : $0 }
        rowLines += other.rowLines
        report.merge(other.report)
    }
}
