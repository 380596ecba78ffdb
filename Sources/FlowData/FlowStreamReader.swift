import Foundation

/// The identifier columns of one flow, passed through to `detect` output as text
/// (empty when the input lacks the column).
public struct FlowIdentifiers: Sendable, Equatable {
    public var flowID: String
    public var sourceIP: String
    public var sourcePort: String
    public var destinationIP: String
    public var destinationPort: String
    public var timestamp: String

    public init(flowID: String = "", sourceIP: String = "", sourcePort: String = "",
                destinationIP: String = "", destinationPort: String = "", timestamp: String = "") {
        self.flowID = flowID
        self.sourceIP = sourceIP
        self.sourcePort = sourcePort
        self.destinationIP = destinationIP
        self.destinationPort = destinationPort
        self.timestamp = timestamp
    }

    /// The values in the order of `FeatureSet.identifierColumns`.
    public var values: [String] { [flowID, sourceIP, sourcePort, destinationIP, destinationPort, timestamp] }
}

/// Up to `batchSize` consecutive good rows of a stream.
public struct FlowBatch: Sendable {
    public var featureCount: Int
    /// rowCount x featureCount raw values (canonical units), row-major; missing values are NaN.
    public var values: [Float]
    public var identifiers: [FlowIdentifiers]
    /// 1-based line number of each row (the header is line 1; after a truncation or rotation
    /// under `follow`, numbers start again from the new file's header).
    public var lineNumbers: [Int]

    public var rowCount: Int { lineNumbers.count }

    public func row(_ index: Int) -> ArraySlice<Float> {
        values[index * featureCount ..< (index + 1) * featureCount]
    }
}

/// How `FlowStreamReader` keeps reading a file that a live flow meter appends to.
public struct FollowOptions: Sendable {
    /// How long to wait before looking for new bytes again.
    public var pollInterval: TimeInterval
    /// Asked between polls; true ends the stream (as at the end of a file).
    public var shouldStop: @Sendable () -> Bool
    /// Hears about truncations and rotations as they are noticed.
    public var onRestart: @Sendable (String) -> Void

    public init(pollInterval: TimeInterval = 0.2, shouldStop: @escaping @Sendable () -> Bool,
                onRestart: @escaping @Sendable (String) -> Void = { _ in }) {
        self.pollInterval = pollInterval
        self.shouldStop = shouldStop
        self.onRestart = onRestart
    }
}

/// Reads a flow-meter CSV file or standard input in batches, with memory that stays flat
/// however long the input: a fixed read buffer (grown only for a line longer than it) and one
/// batch at a time. Same parser, dialects and error messages as `FlowLoader`; labels are never
/// read, so no row is dropped for its label.
///
/// With `follow`, the reader keeps reading a file that grows (like `tail -F`): a batch is handed
/// out as soon as no complete line is waiting, an incomplete last line waits for its newline, a
/// file truncated below what was read is read again from its start, and a file replaced under its
/// name (rotation) is finished and then the new one is opened. Each new start expects a header.
public final class FlowStreamReader {
    /// The name used in messages: the path, or `<stdin>`.
    public let path: String
    public let featureNames: [String]
    public let batchSize: Int
    /// Whether the input has a `Label` column (it is not read).
    public var hasLabel: Bool { plan?.hasLabel ?? false }
    /// The dialect of the input's header (the latest one under `follow`).
    public var dialect: FlowDialect { plan?.dialect ?? .cicflowmeter }
    /// The identifier columns present in the first header; the output keeps these columns.
    public private(set) var identifierColumnsPresent: [String] = []
    /// Rows, bytes, dialect and skipped rows so far.
    public private(set) var report = FlowLoadReport()
    /// Lines about the input said once: its dialect, unit conversions and their warnings.
    public var notes: [String] { report.notes }
    /// Truncations and rotations seen under `follow`.
    public private(set) var restarts: [String] = []

    private let skipBadRows: Bool
    private let follow: FollowOptions?
    private var fd: Int32
    private let ownsDescriptor: Bool
    /// Whether the input is a pipe or terminal: a batch is then handed out when no complete line
    /// is buffered, rather than after blocking for more, so piped live flows are scored promptly.
    private let isStream: Bool
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var start = 0, end = 0
    private var atEOF = false
    private var lineNumber = 0
    private var dataRows = 0
    /// Bytes read from the current descriptor: a file shorter than this was truncated.
    private var offset: Int64 = 0
    /// The file now under the input's name, opened when a rotation is noticed; read once the old
    /// file has been drained to its end.
    private var rotatedFD: Int32 = -1
    private var plan: ColumnPlan?
    private var firstHeader = true
    private var rowBuffer: [Float]

    /// Opens `url`, or standard input when nil, and reads the header (under `follow`, waits for it).
    public init(url: URL?, options: FlowLoadOptions = FlowLoadOptions(), batchSize: Int = 4096,
                readBufferSize: Int = 1 << 20, follow: FollowOptions? = nil) throws {
        guard !options.features.isEmpty else { throw FlowDataError.emptyFeatureList }
        self.featureNames = options.features
        self.skipBadRows = options.skipBadRows
        self.batchSize = max(1, batchSize)
        self.capacity = max(64, readBufferSize)
        self.buffer = .allocate(capacity: capacity)
        self.rowBuffer = [Float](repeating: .nan, count: options.features.count)
        self.follow = follow
        if let url {
            path = url.path
            fd = open(url.path, O_RDONLY)
            ownsDescriptor = true
            if fd < 0 {
                let code = errno
                buffer.deallocate()
                throw code == ENOENT ? FlowDataError.notFound(path: url.path)
                    : FlowDataError.io(path: url.path, message: String(cString: strerror(code)))
            }
        } else {
            path = "<stdin>"
            fd = 0
            ownsDescriptor = false
        }
        var info = stat()
        isStream = fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG
        // From here every stored property is set, so a throw runs deinit, which closes and frees.
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw FlowDataError.io(path: path, message: "is a folder; detect reads one CSV file (or - for standard input)")
        }
        try fill()
        if end > 0 && looksBinary(buffer, end) {
            throw FlowDataError.notCSV(path: path, reason: "binary data in the first bytes")
        }
        if follow == nil {
            guard try readHeader() else { throw FlowDataError.emptyFile(path: path) }
        } else {
            // A flow meter may create the file before it writes the header.
            while try !readHeader() {
                guard try waitForMore() else { break }
            }
        }
    }

    /// A reader over the file at `path`, or standard input when `path` is `-`.
    public convenience init(path: String, options: FlowLoadOptions = FlowLoadOptions(), batchSize: Int = 4096,
                            follow: FollowOptions? = nil) throws {
        try self.init(url: path == "-" ? nil : URL(fileURLWithPath: path), options: options, batchSize: batchSize,
                      follow: follow)
    }

    deinit {
        if ownsDescriptor && fd >= 0 { close(fd) }
        if rotatedFD >= 0 { close(rotatedFD) }
        buffer.deallocate()
    }

    /// The next batch of good rows, or nil at the end of the input (under `follow`: once stopped).
    public func next() throws -> FlowBatch? {
        let f = featureNames.count
        var batch = FlowBatch(featureCount: f, values: [], identifiers: [], lineNumbers: [])
        batch.values.reserveCapacity(min(batchSize, 4096) * f)
        var idRanges = [(Int, Int)](repeating: (0, 0), count: FeatureSet.identifierColumns.count)
        reading: while batch.rowCount < batchSize {
            if plan == nil {
                if try readHeader() { continue }
                if batch.rowCount > 0 { break }
                guard follow != nil, try waitForMore() else { break }
                continue
            }
            guard let plan else { break }
            let line: (start: Int, end: Int)
            switch try nextLine(mayWait: batch.rowCount == 0) {
            case .line(let s, let e): line = (s, e)
            case .end: break reading
            case .waiting:
                if batch.rowCount > 0 { break reading }
                guard follow != nil, try waitForMore() else { break reading }
                continue
            }
            if isBlank(buffer, line.start, line.end) { continue }
            dataRows += 1
            for k in idRanges.indices { idRanges[k] = (0, 0) }
            var label = 0, labelText = (0, 0)
            let problem = rowBuffer.withUnsafeMutableBufferPointer { row in
                idRanges.withUnsafeMutableBufferPointer { ids in
                    plan.parseLine(buffer, line.start, line.end, into: row.baseAddress!, label: &label,
                                   labelText: &labelText, outOfRange: &report.valuesOutOfRange,
                                   identifiers: ids.baseAddress!)
                }
            }
            if let problem {
                let error = problem.error(plan: plan, path: path, line: lineNumber, bytes: buffer)
                guard skipBadRows else { throw error }
                report.recordBadRow(BadRow(path: path, line: lineNumber, error: error))
                continue
            }
            batch.values += rowBuffer
            batch.lineNumbers.append(lineNumber)
            func text(_ k: Int) -> String {
                let (s, e) = idRanges[k]
                return String(decoding: UnsafeBufferPointer(start: buffer + s, count: e - s), as: UTF8.self)
            }
            batch.identifiers.append(FlowIdentifiers(flowID: text(0), sourceIP: text(1), sourcePort: text(2),
                                                     destinationIP: text(3), destinationPort: text(4), timestamp: text(5)))
        }
        report.rowsRead += batch.rowCount
        if let plan { report.rowsByDialect[plan.dialect, default: 0] += batch.rowCount }
        if batch.rowCount == 0 {
            if dataRows == 0 && follow == nil { throw FlowDataError.headerOnly(path: path) }
            return nil
        }
        return batch
    }

    /// Reads the header line if a complete one is buffered (or the input ended); false when none is yet.
    private func readHeader() throws -> Bool {
        var header: (start: Int, end: Int)?
        headerSearch: while true {
            switch try nextLine(mayWait: true) {
            case .line(let s, let e):
                if !isBlank(buffer, s, e) { header = (s, e); break headerSearch }
            case .end, .waiting:
                return false
            }
        }
        guard var h = header else { return false }
        if h.end - h.start >= 3 && buffer[h.start] == 0xEF && buffer[h.start + 1] == 0xBB && buffer[h.start + 2] == 0xBF {
            h.start += 3
        }
        let names = splitFields(buffer, h.start, h.end)
        guard names.count > 1 else { throw FlowDataError.notCSV(path: path, reason: "the header line has no commas") }
        let plan = try ColumnPlan(header: names, features: featureNames, readLabels: false, wantIdentifiers: true, path: path)
        self.plan = plan
        report.filesRead += 1
        report.filesByDialect[plan.dialect, default: 0] += 1
        for note in plan.unitNotes where !report.unitNotes.contains(note) { report.unitNotes.append(note) }
        if firstHeader {
            identifierColumnsPresent = zip(FeatureSet.identifierColumns, plan.identifierColumns).compactMap { $1 == nil ? nil : $0 }
            firstHeader = false
        }
        return true
    }

    private enum LineResult {
        case line(Int, Int)
        /// No complete line is buffered and the input has no more bytes now (follow, or a pipe).
        case waiting
        case end
    }

    /// The next line's byte range in `buffer` (valid until the following call). `mayWait` false
    /// hands back `.waiting` instead of blocking on a pipe for more bytes.
    private func nextLine(mayWait: Bool) throws -> LineResult {
        while true {
            if start < end, let hit = memchr(buffer + start, 0x0A, end - start) {
                let lineStart = start
                var lineEnd = buffer.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                start = lineEnd + 1
                lineNumber += 1
                if lineEnd > lineStart && buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                return .line(lineStart, lineEnd)
            }
            if atEOF {
                if follow != nil {
                    // An incomplete last line waits for the rest of it.
                    atEOF = false
                    return .waiting
                }
                guard start < end else { return .end }
                let lineStart = start
                var lineEnd = end
                start = end
                lineNumber += 1
                if lineEnd > lineStart && buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                return .line(lineStart, lineEnd)
            }
            if isStream && !mayWait { return .waiting }
            try fill()
        }
    }

    /// Moves the unread bytes to the front (growing the buffer if a line fills it) and reads more.
    private func fill() throws {
        if start > 0 {
            if end > start { buffer.update(from: buffer + start, count: end - start) }
            end -= start
            start = 0
        }
        if end == capacity {
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
            bigger.update(from: buffer, count: end)
            buffer.deallocate()
            buffer = bigger
            capacity *= 2
        }
        while true {
            let n = read(fd, buffer + end, capacity - end)
            if n < 0 {
                if errno == EINTR { continue }
                throw FlowDataError.io(path: path, message: "read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { atEOF = true }
            end += n
            offset += Int64(n)
            report.bytesRead += n
            return
        }
    }

    /// Under `follow`, with nothing new to read: notices truncation and rotation, else sleeps one
    /// poll interval. False when asked to stop.
    private func waitForMore() throws -> Bool {
        guard let follow else { return false }
        if follow.shouldStop() { return false }
        var current = stat(), named = stat()
        if fstat(fd, &current) == 0, Int64(current.st_size) < offset {
            restart(reason: "\(path) was truncated; reading it again from the start")
            if lseek(fd, 0, SEEK_SET) < 0 {
                throw FlowDataError.io(path: path, message: "cannot seek after truncation: \(String(cString: strerror(errno)))")
            }
            return true
        }
        if rotatedFD >= 0 {
            // The old file has been read to its end once more since the rotation was noticed, so
            // nothing written to it before the rename is lost; an incomplete last line never will be finished.
            if start < end {
                report.recordBadRow(BadRow(path: path, line: lineNumber + 1, error: .io(
                    path: path, message: "line \(lineNumber + 1): incomplete last line of the rotated file, dropped")))
            }
            close(fd)
            fd = rotatedFD
            rotatedFD = -1
            restart(reason: "\(path) was replaced (rotated); reading the new file from its start")
            return true
        }
        if ownsDescriptor, stat(path, &named) == 0, named.st_ino != current.st_ino || named.st_dev != current.st_dev {
            rotatedFD = open(path, O_RDONLY)
            if rotatedFD >= 0 { return true }
        }
        Thread.sleep(forTimeInterval: follow.pollInterval)
        return !follow.shouldStop()
    }

    /// Forgets the buffered bytes and expects a header again.
    private func restart(reason: String) {
        restarts.append(reason)
        follow?.onRestart(reason)
        start = 0
        end = 0
        offset = 0
        atEOF = false
        lineNumber = 0
        plan = nil
    }
}
