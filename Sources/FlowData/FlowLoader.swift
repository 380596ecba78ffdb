import Foundation

/// Reads flow-meter CSV files (any `FlowDialect`) into a `FlowTable`.
///
/// The input is one CSV file or a folder searched recursively for `*.csv` (and for Zeek and
/// Suricata logs, `*.log`, `*.json`, `*.ndjson` whose first line says so), following symbolic
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
        try load([url], options: options)
    }

    /// Loads several files or folders as one table, in the order given. A file reached twice
    /// (through a link, a hard link, or two of the paths) is read once, by device and inode, and
    /// named in `report.notes`; so is a load where most rows have an exact twin (a copy).
    public static func load(_ urls: [URL], options: FlowLoadOptions = FlowLoadOptions()) throws -> FlowTable {
        guard !options.features.isEmpty else { throw FlowDataError.emptyFeatureList }
        try FeatureSet.checkFeatures(options.features)
        var unlistable: [String] = []
        var files: [(url: URL, id: FileID?)] = []
        for url in urls { files += try listFiles(at: url, skipUnreadable: options.skipBadRows, unreadable: &unlistable) }
        var table = FlowTable(featureNames: options.features, values: [], labels: [], scenarioNames: [],
                              endpoints: options.readEndpoints ? [] : nil, timestamps: options.readEndpoints ? [] : nil)
        table.report.unreadableFiles = unlistable
        var firstPath: [FileID: String] = [:]
        var registry = ScenarioRegistry()
        for (file, id) in files {
            if let id {
                if let first = firstPath[id] {
                    table.report.sameFiles.append("\(file.path) (the same file as \(first))")
                    continue
                }
                firstPath[id] = file.path
            }
            let fd: Int32
            do {
                fd = try openRegularFile(file.path)
            } catch {
                guard options.skipBadRows else { throw error }
                table.report.unreadableFiles.append(file.path)
                continue
            }
            defer { close(fd) }
            var info = stat()
            let size = fstat(fd, &info) == 0 ? Int(info.st_size) : 0
            let records = CSVRecordReader(path: file.path, descriptor: fd, capacity: chunkSize)
            table.append(try parse(records, sizeHint: size, options: options, registry: &registry))
        }
        let name = urls.map(\.path).joined(separator: ", ")
        if table.rowCount == 0 {
            if !table.report.unreadableFiles.isEmpty && table.report.badRowsSkipped == 0 {
                throw FlowDataError.io(path: name, message: "no file could be read (\(table.report.unreadableFiles.count) unreadable)")
            }
            throw FlowDataError.noUsableRows(path: name, skipped: table.report.badRowsSkipped)
        }
        table.report.rowsWithTwin = rowsWithTwin(table)
        return table
    }

    /// How many bytes a load reads at a time.
    static let chunkSize = 4 << 20

    /// Parses a file or folder and returns the number of bytes read; for `gpu-train bench`.
    public static func parseBytes(_ url: URL, options: FlowLoadOptions = FlowLoadOptions()) throws -> Int {
        try load(url, options: options).report.bytesRead
    }

    /// A file's device and inode: the same file under two names has one.
    struct FileID: Hashable {
        let device: UInt64
        let inode: UInt64
        init(_ info: stat) { device = UInt64(info.st_dev); inode = UInt64(info.st_ino) }
    }

    /// Opens `path` for reading when it is a regular file; otherwise says what it is.
    static func openRegularFile(_ path: String) throws -> Int32 {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw FlowDataError.io(path: path, message: "cannot read the file (\(describeStatFailure(path, errno)))")
        }
        let kind = info.st_mode & S_IFMT
        guard kind == S_IFREG else {
            throw FlowDataError.io(path: path, message: "\(describeKind(kind)), not a regular file: give a CSV file or a folder of them")
        }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw FlowDataError.io(path: path, message: "cannot read the file (\(String(cString: strerror(errno))))")
        }
        return fd
    }

    /// What a path that is not a regular file is.
    static func describeKind(_ kind: mode_t) -> String {
        switch kind {
        case S_IFDIR: return "a folder"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "not a file"
        }
    }

    /// Why `stat` failed with `code`: a link loop and a link to nothing are told apart from a missing path.
    static func describeStatFailure(_ path: String, _ code: Int32) -> String {
        if code == ELOOP { return "a symbolic link loop: the link leads back to itself" }
        return String(cString: strerror(code))
    }

    /// How many rows have an exact twin: another row with the same value in every feature. Rows
    /// are compared by a 64-bit hash of their bits (a collision could only add to a warning).
    static func rowsWithTwin(_ table: FlowTable) -> Int {
        let f = table.featureCount, n = table.rowCount
        guard n > 1, f > 0 else { return 0 }
        var hashes = [UInt64](repeating: 0, count: n)
        table.values.withUnsafeBufferPointer { v in
            for r in 0..<n {
                var h: UInt64 = 0xCBF2_9CE4_8422_2325
                for j in 0..<f {
                    let x = v[r * f + j]
                    h = (h ^ UInt64(x == 0 ? 0 : x.bitPattern)) &* 0x100_0000_01B3
                    h ^= h >> 29
                }
                hashes[r] = h
            }
        }
        hashes.sort()
        var twins = 0, run = 1
        for i in 1...n {
            if i < n && hashes[i] == hashes[i - 1] { run += 1; continue }
            if run > 1 { twins += run }
            run = 1
        }
        return twins
    }

    /// The dialect of the first file a load of `urls` reads when it is a Zeek or Suricata log (nil for
    /// CSV, or when nothing can be listed): the dialect whose default features a model trained on it uses.
    public static func logDialect(of urls: [URL]) -> FlowDialect? {
        var unreadable: [String] = []
        for url in urls {
            guard let first = try? listFiles(at: url, skipUnreadable: true, unreadable: &unreadable).first else { continue }
            guard let handle = FileHandle(forReadingAtPath: first.url.path) else { return nil }
            defer { try? handle.close() }
            let head = (try? handle.read(upToCount: 1 << 16)) ?? Data()
            switch NativeFlowLog.sniff(Array(head), complete: true).format {
            case .zeekTSV?, .zeekJSON?: return .zeek
            case .suricata?: return .suricata
            case nil: return nil
            }
        }
        return nil
    }

    /// The CSV files a load of `url` reads: the file itself, or every `*.csv` below a folder, sorted.
    /// Links are followed; a folder reached twice (a link loop, or two links to one folder) is read
    /// once, and so is a file. A folder that cannot be listed is an error: skipping it would
    /// silently drop its flows.
    public static func csvFiles(at url: URL) throws -> [URL] {
        var unreadable: [String] = []
        return try csvFiles(at: url, skipUnreadable: false, unreadable: &unreadable)
    }

    /// `csvFiles(at:)`, recording folders that cannot be listed in `unreadable` instead of failing
    /// when it is given (for `skipBadRows`).
    static func csvFiles(at url: URL, skipUnreadable: Bool, unreadable: inout [String]) throws -> [URL] {
        var seen = Set<FileID>()
        return try listFiles(at: url, skipUnreadable: skipUnreadable, unreadable: &unreadable)
            .filter { $0.id.map { seen.insert($0).inserted } ?? true }.map(\.url)
    }

    /// The files below `url` with their identity (nil for a link to nothing), sorted by path.
    static func listFiles(at url: URL, skipUnreadable: Bool, unreadable: inout [String]) throws -> [(url: URL, id: FileID?)] {
        var info = stat()
        guard stat(url.path, &info) == 0 else {
            let code = errno
            if code == ELOOP {
                throw FlowDataError.io(path: url.path, message: describeStatFailure(url.path, code))
            }
            if lstat(url.path, &info) == 0 {
                throw FlowDataError.io(path: url.path, message: "a link to nothing (\(String(cString: strerror(code))))")
            }
            throw FlowDataError.notFound(path: url.path)
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { return [(url, FileID(info))] }
        var files: [(url: URL, id: FileID?)] = []
        var visited = Set<[UInt64]>()
        try walk(url, info, into: &files, visited: &visited, skipUnreadable: skipUnreadable, unreadable: &unreadable)
        guard !files.isEmpty else {
            if !unreadable.isEmpty {
                throw FlowDataError.io(path: url.path, message: "no folder below could be read (\(unreadable.count) unreadable)")
            }
            throw FlowDataError.noCSVFiles(path: url.path)
        }
        return files.sorted { $0.url.path < $1.url.path }
    }

    private static func walk(_ folder: URL, _ info: stat, into files: inout [(url: URL, id: FileID?)], visited: inout Set<[UInt64]>,
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
                if name.lowercased().hasSuffix(".csv") { files.append((child, nil)) }
                continue
            }
            switch childInfo.st_mode & S_IFMT {
            case S_IFDIR:
                try walk(child, childInfo, into: &files, visited: &visited, skipUnreadable: skipUnreadable, unreadable: &unreadable)
            case S_IFREG where child.pathExtension.lowercased() == "csv": files.append((child, FileID(childInfo)))
            case S_IFREG where NativeFlowLog.fileExtensions.contains(child.pathExtension.lowercased())
                && NativeFlowLog.fileIsLog(child.path):
                files.append((child, FileID(childInfo)))
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
        // Zeek and Suricata name every log alike (conn.log, conn.15:00:00-16:00:00.log, eve.json):
        // such a file is named after its folder (malicious/reconnaissance/conn.log: reconnaissance).
        let stem = name.split(separator: ".").first.map(String.init)?.lowercased() ?? ""
        let folder = url.deletingLastPathComponent().lastPathComponent
        if ["conn", "eve"].contains(stem), !["", "/", "benign", "malicious"].contains(folder.lowercased()) { return folder }
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

    /// Parses one file's bytes (`path` names it in messages and decides its folder label), handed
    /// over `chunk` bytes at a time as a file read would; for tests.
    static func parse(_ data: Data, path: String, options: FlowLoadOptions, registry: inout ScenarioRegistry,
                      chunk: Int = chunkSize) throws -> FlowTable {
        try parse(CSVRecordReader(path: path, data: data, chunk: chunk), sizeHint: data.count, options: options,
                  registry: &registry)
    }

    /// Parses the records of one file (`records.path` names it in messages and decides its folder label).
    static func parse(_ records: CSVRecordReader, sizeHint: Int, options: FlowLoadOptions,
                      registry: inout ScenarioRegistry) throws -> FlowTable {
        let path = records.path
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
        var textNames: [[UInt8]: (id: Int, name: String)] = [:]

        do {
            guard case .names(let headerNames) = try records.readHeader(mayWait: true) else {
                throw FlowDataError.emptyFile(path: path)
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
            let identifiers = readEndpoints || readTimestamps || plan.usesWindows ? idRanges : nil
            // Window context starts afresh in each file: a file is a capture or a period of its own.
            var windows = WindowFeatures()
            // A row without a label takes the folder's, when there is one (ids are given only when used,
            // so that labelled files under malicious/ do not shift the ids of later scenarios).
            func labelFromFolder() -> Int? { folderBenign.map { $0 ? 0 : registry.id(for: scenario) } }
            let fixedLabel = plan.hasLabel ? ColumnPlan.unlabelled : (labelFromFolder() ?? ColumnPlan.unlabelled)
            if !plan.hasLabel && folderBenign == nil && options.requireLabels {
                throw FlowDataError.noLabels(path: path, line: nil, text: nil)
            }
            report.filesByDialect[plan.dialect] = 1
            report.unitNotes = plan.unitNotes
            let estimate = sizeHint / max(1, headerNames.reduce(headerNames.count) { $0 + $1.utf8.count })
            values.reserveCapacity(estimate * f)
            labels.reserveCapacity(estimate)
            var rowBuffer = [Float](repeating: .nan, count: plan.rowWidth)
            var firstUnlabelled: FlowDataError?
            try rowBuffer.withUnsafeMutableBufferPointer { row in
                let out = row.baseAddress!
                reading: while true {
                    let record: CSVRecord
                    switch try records.nextDataRecord(mayWait: true) {
                    case .record(let r): record = r
                    case .tooLong(let line):
                        let error = FlowDataError.recordTooLong(path: path, line: line)
                        guard options.skipBadRows else { throw error }
                        report.recordBadRow(BadRow(path: path, line: line, error: error))
                        continue reading
                    case .waiting, .end: break reading
                    }
                    let base = UnsafePointer(records.buffer)
                    let lineNumber = record.line
                    var label = fixedLabel
                    var text = (0, 0)
                    var problem = plan.parseLine(base, record.start, record.end, into: out, label: &label, labelText: &text,
                                                 outOfRange: &report.valuesOutOfRange, identifiers: identifiers)
                    if record.unclosedQuote { problem = .unclosedQuote }
                    if let problem {
                        let error = records.native?.takeProblem(line: lineNumber)
                            ?? problem.error(plan: plan, path: path, line: lineNumber, bytes: base)
                        guard options.skipBadRows else { throw error }
                        report.recordBadRow(BadRow(path: path, line: lineNumber, error: error))
                        continue
                    }
                    // Every flow that parses is in the stream (as detect's reader sees it), whatever its label.
                    if plan.usesWindows {
                        plan.addWindowFeatures(&windows, row: out, bytes: base, recordStart: record.start, identifiers: idRanges)
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
                            let error = FlowDataError.noLabels(path: path, line: lineNumber,
                                                               text: excerpt(base, text.0, text.1))
                            guard options.skipBadRows else { throw error }
                            if firstUnlabelled == nil { firstUnlabelled = error }
                            report.recordBadRow(BadRow(path: path, line: lineNumber, error: error))
                            continue
                        }
                        name = "unlabelled"
                    } else {
                        name = label == 0 ? "benign" : scenario
                    }
                    values.append(contentsOf: UnsafeMutableBufferPointer(rebasing: row[0..<f]))
                    labels.append(label)
                    names.append(name)
                    if readEndpoints {
                        func field(_ k: Int) -> String {
                            let (a, b) = idRanges[k]
                            return fieldText(base, record.start, a, b).trimmingCharacters(in: .whitespaces)
                        }
                        endpoints?.append("\(field(1))>\(field(3)):\(field(4))")
                    }
                    if options.readEndpoints {
                        var when = Double.nan
                        if readTimestamps {
                            let (a, b) = idRanges[timestampSlot]
                            when = FlowTimestamp.parse(fieldText(base, record.start, a, b)) ?? .nan
                        }
                        timestamps?.append(when)
                    }
                    lines.append(Int32(truncatingIfNeeded: lineNumber))
                }
            }
            try records.checkHasData()
            // A file with no labelled row at all says so, rather than "no usable rows".
            if labels.isEmpty, let firstUnlabelled { throw firstUnlabelled }
        } catch let error as FlowDataError {
            // A file that cannot be read to its end is unreadable; every other problem is its content's.
            if case .io = error, options.skipBadRows {
                report = FlowLoadReport()
                report.unreadableFiles = [path]
                return FlowTable(featureNames: options.features, values: [], labels: [], scenarioNames: [], report: report,
                                 endpoints: options.readEndpoints ? [] : nil, timestamps: options.readEndpoints ? [] : nil)
            }
            throw error
        }
        report.bytesRead = records.bytesRead
        report.eventsSkipped = records.native?.skippedEvents ?? 0
        report.rowsRead = labels.count
        report.rowsByDialect = report.filesByDialect.mapValues { _ in labels.count }
        return FlowTable(featureNames: options.features, values: values, labels: labels, scenarioNames: names,
                         sourceFiles: [path], rowFiles: [Int32](repeating: 0, count: labels.count),
                         rowLines: lines, report: report, endpoints: endpoints, timestamps: timestamps)
    }
}
