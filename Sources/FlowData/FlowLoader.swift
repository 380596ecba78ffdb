import Foundation

/// Reads CICFlowMeter CSV files into a `FlowTable`.
///
/// The input is one CSV file or a folder searched recursively for `*.csv` (paths sorted, so
/// loads are deterministic). Header names select the columns, so column order and extra
/// columns do not matter. A file's `Label` column gives each row's label (0 benign, else the
/// scenario id); a file without one must sit under a `benign/` or `malicious/` folder.
public enum FlowLoader {
    /// Scenario ids of the public Kubernetes dataset, used for label-less files under
    /// `malicious/`; other scenario names get ids from 100 up in the order met.
    public static let knownScenarioIDs: [String: Int] = [
        "cve202013379": 1, "reconnaissance": 2, "rce-reverse-shell": 3, "attack-pods": 4,
        "cve201920933": 6, "cve202125741": 8, "cve202223648": 9,
    ]

    /// Loads a file or folder. Throws `FlowDataError` on the first bad input unless
    /// `options.skipBadRows`, in which case bad rows are counted in `table.report`.
    public static func load(_ url: URL, options: FlowLoadOptions = FlowLoadOptions()) throws -> FlowTable {
        guard !options.features.isEmpty else { throw FlowDataError.emptyFeatureList }
        let files = try csvFiles(at: url)
        var table = FlowTable(featureNames: options.features, values: [], labels: [], scenarioNames: [])
        var assignedIDs = knownScenarioIDs
        for file in files {
            let part = try loadFile(file, options: options, assignedIDs: &assignedIDs)
            table.append(part)
        }
        if table.rowCount == 0 {
            throw FlowDataError.noUsableRows(path: url.path, skipped: table.report.badRowsSkipped)
        }
        return table
    }

    /// Parses a file or folder and returns the number of bytes read; for `gpu-train bench`.
    public static func parseBytes(_ url: URL, options: FlowLoadOptions = FlowLoadOptions()) throws -> Int {
        try load(url, options: options).report.bytesRead
    }

    /// The CSV files a load of `url` reads: the file itself, or every `*.csv` below a folder, sorted.
    public static func csvFiles(at url: URL) throws -> [URL] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw FlowDataError.notFound(path: url.path)
        }
        guard isDirectory.boolValue else { return [url] }
        guard let enumerator = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.isRegularFileKey]) else {
            throw FlowDataError.io(path: url.path, message: "cannot list the folder")
        }
        var files: [URL] = []
        for case let file as URL in enumerator where file.pathExtension.lowercased() == "csv" {
            if (try? file.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true { files.append(file) }
        }
        guard !files.isEmpty else { throw FlowDataError.noCSVFiles(path: url.path) }
        return files.sorted { $0.path < $1.path }
    }

    /// The scenario name of a file: its name up to the first `_`
    /// (`reconnaissance_20230319T1704.pcap_Flow.csv` -> `reconnaissance`).
    public static func scenarioName(ofFile url: URL) -> String {
        let name = url.lastPathComponent
        if let i = name.firstIndex(of: "_") { return String(name[..<i]) }
        return url.deletingPathExtension().lastPathComponent
    }

    /// Whether the nearest `benign` or `malicious` folder above `url` says benign (true),
    /// malicious (false), or neither (nil).
    static func folderSaysBenign(_ url: URL) -> Bool? {
        for component in url.deletingLastPathComponent().pathComponents.reversed() {
            switch component.lowercased() {
            case "benign": return true
            case "malicious": return false
            default: continue
            }
        }
        return nil
    }

    static func loadFile(_ url: URL, options: FlowLoadOptions, assignedIDs: inout [String: Int]) throws -> FlowTable {
        let path = url.path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FlowDataError.io(path: path, message: "cannot read the file")
        }
        let folderBenign = folderSaysBenign(url)
        let scenario = scenarioName(ofFile: url)
        let f = options.features.count
        var values: [Float] = []
        var labels: [Int] = []
        var lines: [Int32] = []
        var report = FlowLoadReport()
        report.filesRead = 1
        report.bytesRead = data.count

        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let count = raw.count
            guard count > 0, let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
                throw FlowDataError.emptyFile(path: path)
            }
            if looksBinary(base, count) { throw FlowDataError.notCSV(path: path, reason: "binary data in the first bytes") }
            var scanner = LineScanner(base: base, count: count)
            // The header: line 1 (leading blank lines are tolerated).
            var header: (start: Int, end: Int)?
            while let line = scanner.next() {
                if !isBlank(base, line.start, line.end) { header = (line.start, line.end); break }
            }
            guard var h = header else { throw FlowDataError.emptyFile(path: path) }
            if h.end - h.start >= 3 && base[h.start] == 0xEF && base[h.start + 1] == 0xBB && base[h.start + 2] == 0xBF {
                h.start += 3
            }
            let names = splitFields(base, h.start, h.end)
            guard names.count > 1 else {
                throw FlowDataError.notCSV(path: path, reason: "the header line has no commas")
            }
            let plan = try ColumnPlan(header: names, features: options.features,
                                      requireLabel: folderBenign == nil, wantIdentifiers: false, path: path)
            let fixedLabel: Int
            if plan.hasLabel {
                fixedLabel = 0
            } else if folderBenign == true {
                fixedLabel = 0
            } else {
                if let id = assignedIDs[scenario] { fixedLabel = id } else {
                    let id = max(100, (assignedIDs.values.max() ?? 0) + 1)
                    assignedIDs[scenario] = id
                    fixedLabel = id
                }
            }
            let estimate = count / max(1, h.end - h.start + 1)
            values.reserveCapacity(estimate * f)
            labels.reserveCapacity(estimate)
            var rowBuffer = [Float](repeating: .nan, count: f)
            var dataRows = 0
            try rowBuffer.withUnsafeMutableBufferPointer { row in
                let out = row.baseAddress!
                while let line = scanner.next() {
                    if isBlank(base, line.start, line.end) { continue }
                    dataRows += 1
                    var label = fixedLabel
                    if let problem = plan.parseLine(base, line.start, line.end, into: out, label: &label, identifiers: nil) {
                        let error = problem.error(plan: plan, path: path, line: scanner.lineNumber, bytes: base)
                        guard options.skipBadRows else { throw error }
                        report.recordBadRow(BadRow(path: path, line: scanner.lineNumber, error: error))
                        continue
                    }
                    values.append(contentsOf: row)
                    labels.append(label)
                    lines.append(Int32(truncatingIfNeeded: scanner.lineNumber))
                }
            }
            if dataRows == 0 { throw FlowDataError.headerOnly(path: path) }
        }
        report.rowsRead = labels.count
        let names = labels.map { $0 == 0 ? "benign" : scenario }
        return FlowTable(featureNames: options.features, values: values, labels: labels, scenarioNames: names,
                         sourceFiles: [path], rowFiles: [Int32](repeating: 0, count: labels.count),
                         rowLines: lines, report: report)
    }
}

/// Yields the lines of a byte buffer (without the newline or a trailing CR), counting them from 1.
struct LineScanner {
    let base: UnsafePointer<UInt8>
    let count: Int
    var position = 0
    /// The 1-based number of the line last returned.
    var lineNumber = 0

    init(base: UnsafePointer<UInt8>, count: Int) {
        self.base = base
        self.count = count
    }

    @inline(__always)
    mutating func next() -> (start: Int, end: Int)? {
        guard position < count else { return nil }
        let start = position
        var end: Int
        if let hit = memchr(base + start, 0x0A, count - start) {
            end = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            position = end + 1
        } else {
            end = count
            position = count
        }
        lineNumber += 1
        if end > start && base[end - 1] == 0x0D { end -= 1 }
        return (start, end)
    }
}

@inline(__always)
func isBlank(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
    var i = start
    while i < end {
        let b = p[i]
        if b != 0x20 && b != 0x09 && b != 0x0D { return false }
        i += 1
    }
    return true
}
