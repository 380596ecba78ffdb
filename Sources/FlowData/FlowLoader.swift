import Foundation

/// Reads flow-meter CSV files (any `FlowDialect`) into a `FlowTable`.
///
/// The input is one CSV file or a folder searched recursively for `*.csv`, following symbolic
/// links to files and folders (each folder is visited once, so a link loop ends); paths are
/// sorted, so loads are deterministic. Header names select the columns through the dialect
/// alias table, so column order, spelling and extra columns do not matter. A file's `Label`
/// column gives each row's label (see `FeatureSet.labelColumn`); a file without one, or whose
/// rows say they are unlabelled, takes its label from a `benign/` or `malicious/` folder above it.
public enum FlowLoader {
    /// Scenario ids of the public Kubernetes dataset, used for label-less files under
    /// `malicious/`; other scenario names (and text labels) get ids from 100 up in the order met.
    public static let knownScenarioIDs: [String: Int] = [
        "cve202013379": 1, "reconnaissance": 2, "rce-reverse-shell": 3, "attack-pods": 4,
        "cve201920933": 6, "cve202125741": 8, "cve202223648": 9,
    ]

    /// Loads a file or folder. Throws `FlowDataError` on the first bad input unless
    /// `options.skipBadRows`, in which case bad rows and unreadable files are counted in `table.report`.
    public static func load(_ url: URL, options: FlowLoadOptions = FlowLoadOptions()) throws -> FlowTable {
        guard !options.features.isEmpty else { throw FlowDataError.emptyFeatureList }
        var unlistable: [String] = []
        let files = try csvFiles(at: url, skipUnreadable: options.skipBadRows, unreadable: &unlistable)
        var table = FlowTable(featureNames: options.features, values: [], labels: [], scenarioNames: [],
                              endpoints: options.readEndpoints ? [] : nil, timestamps: options.readEndpoints ? [] : nil)
        table.report.unreadableFiles = unlistable
        var registry = ScenarioRegistry()
        for file in files {
            guard let data = FileManager.default.contents(atPath: file.path) else {
                let error = FlowDataError.io(path: file.path, message: "cannot read the file (\(readFailure(file.path)))")
                guard options.skipBadRows else { throw error }
                table.report.unreadableFiles.append(file.path)
                continue
            }
            table.append(try parse(data, path: file.path, options: options, registry: &registry))
        }
        if table.rowCount == 0 {
            if !table.report.unreadableFiles.isEmpty && table.report.badRowsSkipped == 0 {
                throw FlowDataError.io(path: url.path, message: "no file could be read (\(table.report.unreadableFiles.count) unreadable)")
            }
            throw FlowDataError.noUsableRows(path: url.path, skipped: table.report.badRowsSkipped)
        }
        return table
    }

    /// Parses a file or folder and returns the number of bytes read; for `gpu-train bench`.
    public static func parseBytes(_ url: URL, options: FlowLoadOptions = FlowLoadOptions()) throws -> Int {
        try load(url, options: options).report.bytesRead
    }

    /// The CSV files a load of `url` reads: the file itself, or every `*.csv` below a folder, sorted.
    /// Links are followed; a folder reached twice (a link loop, or two links to one folder) is read
    /// once. A folder that cannot be listed is an error: skipping it would silently drop its flows.
    public static func csvFiles(at url: URL) throws -> [URL] {
        var unreadable: [String] = []
        return try csvFiles(at: url, skipUnreadable: false, unreadable: &unreadable)
    }

    /// `csvFiles(at:)`, recording folders that cannot be listed in `unreadable` instead of failing
    /// when it is given (for `skipBadRows`).
    static func csvFiles(at url: URL, skipUnreadable: Bool, unreadable: inout [String]) throws -> [URL] {
        var info = stat()
        guard stat(url.path, &info) == 0 else {
            if lstat(url.path, &info) == 0 {
                throw FlowDataError.io(path: url.path, message: "a link to nothing (\(String(cString: strerror(errno))))")
            }
            throw FlowDataError.notFound(path: url.path)
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { return [url] }
        var files: [URL] = []
        var visited = Set<[UInt64]>()
        try walk(url, info, into: &files, visited: &visited, skipUnreadable: skipUnreadable, unreadable: &unreadable)
        guard !files.isEmpty else {
            if !unreadable.isEmpty {
                throw FlowDataError.io(path: url.path, message: "no folder below could be read (\(unreadable.count) unreadable)")
            }
            throw FlowDataError.noCSVFiles(path: url.path)
        }
        return files.sorted { $0.path < $1.path }
    }

    private static func walk(_ folder: URL, _ info: stat, into files: inout [URL], visited: inout Set<[UInt64]>,
                             skipUnreadable: Bool, unreadable: inout [String]) throws {
        guard visited.insert([UInt64(info.st_dev), UInt64(info.st_ino)]).inserted else { return }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        } catch {
            let error = FlowDataError.io(path: folder.path, message: "cannot list the folder (\(readFailure(folder.path)))")
            guard skipUnreadable else { throw error }
            unreadable.append(folder.path + "/")
            return
        }
        for name in names.sorted() {
            let child = folder.appendingPathComponent(name)
            var childInfo = stat()
            if stat(child.path, &childInfo) != 0 {
                // A dangling link named *.csv is a file the user meant to give us; say so when it is read.
                if name.lowercased().hasSuffix(".csv") { files.append(child) }
                continue
            }
            switch childInfo.st_mode & S_IFMT {
            case S_IFDIR:
                try walk(child, childInfo, into: &files, visited: &visited, skipUnreadable: skipUnreadable, unreadable: &unreadable)
            case S_IFREG where child.pathExtension.lowercased() == "csv": files.append(child)
            default: continue
            }
        }
    }

    /// Why `path` cannot be read, from the operating system.
    static func readFailure(_ path: String) -> String {
        let fd = open(path, O_RDONLY)
        if fd >= 0 { close(fd); return "read error" }
        return String(cString: strerror(errno))
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

    /// Ids for scenario names met during one load: the known ids first, then 100 up.
    struct ScenarioRegistry {
        var ids = FlowLoader.knownScenarioIDs

        mutating func id(for name: String) -> Int {
            if let id = ids[name] { return id }
            let id = max(100, (ids.values.max() ?? 0) + 1)
            ids[name] = id
            return id
        }
    }

    /// Parses one file's bytes (`path` names it in messages and decides its folder label).
    static func parse(_ data: Data, path: String, options: FlowLoadOptions,
                      registry: inout ScenarioRegistry) throws -> FlowTable {
        let url = URL(fileURLWithPath: path)
        let folderBenign = folderSaysBenign(url)
        let scenario = scenarioName(ofFile: url)
        let f = options.features.count
        var values: [Float] = []
        var labels: [Int] = []
        var names: [String] = []
        var lines: [Int32] = []
        var endpoints: [String]?
        var timestamps: [Double]?
        var report = FlowLoadReport()
        report.filesRead = 1
        report.bytesRead = data.count
        var textNames: [[UInt8]: (id: Int, name: String)] = [:]

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
            let headerNames = splitFields(base, h.start, h.end)
            guard headerNames.count > 1 else {
                throw FlowDataError.notCSV(path: path, reason: "the header line has no commas")
            }
            let plan = try ColumnPlan(header: headerNames, features: options.features, readLabels: true,
                                      wantIdentifiers: options.readEndpoints, path: path)
            // Src IP, Dst IP and Dst Port, in FeatureSet.identifierColumns' order.
            let endpointSlots = [1, 3, 4]
            let readEndpoints = options.readEndpoints && endpointSlots.allSatisfy { plan.identifierColumns[$0] != nil }
            if readEndpoints { endpoints = [] }
            // Timestamps (slot 5) come with the endpoints' load; NaN where a file has none.
            let timestampSlot = 5
            let readTimestamps = options.readEndpoints && plan.identifierColumns[timestampSlot] != nil
            if options.readEndpoints { timestamps = [] }
            let idRanges = UnsafeMutablePointer<(Int, Int)>.allocate(capacity: FeatureSet.identifierColumns.count)
            idRanges.initialize(repeating: (0, 0), count: FeatureSet.identifierColumns.count)
            defer { idRanges.deallocate() }
            let identifiers = readEndpoints || readTimestamps ? idRanges : nil
            // A row without a label takes the folder's, when there is one (ids are given only when used,
            // so that labelled files under malicious/ do not shift the ids of later scenarios).
            func labelFromFolder() -> Int? { folderBenign.map { $0 ? 0 : registry.id(for: scenario) } }
            let fixedLabel = plan.hasLabel ? ColumnPlan.unlabelled : (labelFromFolder() ?? ColumnPlan.unlabelled)
            if !plan.hasLabel && folderBenign == nil && options.requireLabels {
                throw FlowDataError.noLabels(path: path, line: nil, text: nil)
            }
            report.filesByDialect[plan.dialect] = 1
            report.unitNotes = plan.unitNotes
            let estimate = count / max(1, h.end - h.start + 1)
            values.reserveCapacity(estimate * f)
            labels.reserveCapacity(estimate)
            var rowBuffer = [Float](repeating: .nan, count: f)
            var dataRows = 0
            var firstUnlabelled: FlowDataError?
            try rowBuffer.withUnsafeMutableBufferPointer { row in
                let out = row.baseAddress!
                while let line = scanner.next() {
                    if isBlank(base, line.start, line.end) { continue }
                    dataRows += 1
                    var label = fixedLabel
                    var text = (0, 0)
                    if let problem = plan.parseLine(base, line.start, line.end, into: out, label: &label, labelText: &text,
                                                    outOfRange: &report.valuesOutOfRange, identifiers: identifiers) {
                        let error = problem.error(plan: plan, path: path, line: scanner.lineNumber, bytes: base)
                        guard options.skipBadRows else { throw error }
                        report.recordBadRow(BadRow(path: path, line: scanner.lineNumber, error: error))
                        continue
                    }
                    var name: String
                    if label == ColumnPlan.textLabel {
                        let key = Array(UnsafeBufferPointer(start: base + text.0, count: text.1 - text.0))
                        if let known = textNames[key] {
                            (label, name) = known
                        } else {
                            name = String(decoding: key, as: UTF8.self)
                            label = registry.id(for: name)
                            textNames[key] = (label, name)
                        }
                    } else if label == ColumnPlan.unlabelled, let benign = folderBenign, let fromFolder = labelFromFolder() {
                        label = fromFolder
                        name = benign ? "benign" : scenario
                    } else if label == ColumnPlan.unlabelled {
                        if options.requireLabels {
                            let error = FlowDataError.noLabels(path: path, line: scanner.lineNumber,
                                                               text: excerpt(base, text.0, text.1))
                            guard options.skipBadRows else { throw error }
                            if firstUnlabelled == nil { firstUnlabelled = error }
                            report.recordBadRow(BadRow(path: path, line: scanner.lineNumber, error: error))
                            continue
                        }
                        name = "unlabelled"
                    } else {
                        name = label == 0 ? "benign" : scenario
                    }
                    values.append(contentsOf: row)
                    labels.append(label)
                    names.append(name)
                    if readEndpoints {
                        func field(_ k: Int) -> String {
                            let (a, b) = idRanges[k]
                            return String(decoding: UnsafeBufferPointer(start: base + a, count: b - a), as: UTF8.self)
                                .trimmingCharacters(in: .whitespaces)
                        }
                        endpoints?.append("\(field(1))>\(field(3)):\(field(4))")
                    }
                    if options.readEndpoints {
                        var when = Double.nan
                        if readTimestamps {
                            let (a, b) = idRanges[timestampSlot]
                            when = FlowTimestamp.parse(String(decoding: UnsafeBufferPointer(start: base + a, count: b - a), as: UTF8.self)) ?? .nan
                        }
                        timestamps?.append(when)
                    }
                    lines.append(Int32(truncatingIfNeeded: scanner.lineNumber))
                }
            }
            if dataRows == 0 { throw FlowDataError.headerOnly(path: path) }
            // A file with no labelled row at all says so, rather than "no usable rows".
            if labels.isEmpty, let firstUnlabelled { throw firstUnlabelled }
        }
        report.rowsRead = labels.count
        report.rowsByDialect = report.filesByDialect.mapValues { _ in labels.count }
        return FlowTable(featureNames: options.features, values: values, labels: labels, scenarioNames: names,
                         sourceFiles: [path], rowFiles: [Int32](repeating: 0, count: labels.count),
                         rowLines: lines, report: report, endpoints: endpoints, timestamps: timestamps)
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
