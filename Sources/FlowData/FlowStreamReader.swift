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
}

/// Up to `batchSize` consecutive good rows of a stream.
public struct FlowBatch: Sendable {
    public var featureCount: Int
    /// rowCount x featureCount raw values, row-major; missing values are NaN.
    public var values: [Float]
    public var identifiers: [FlowIdentifiers]
    /// 1-based line number of each row (the header is line 1).
    public var lineNumbers: [Int]
    /// The `Label` of each row when the input has that column, else nil.
    public var labels: [Int]?

    public var rowCount: Int { lineNumbers.count }

    public func row(_ index: Int) -> ArraySlice<Float> {
        values[index * featureCount ..< (index + 1) * featureCount]
    }
}

/// Reads a CICFlowMeter CSV file or standard input in batches, with memory that stays flat
/// however long the input: a fixed read buffer (grown only for a line longer than it) and one
/// batch at a time. Same parser and error messages as `FlowLoader`.
public final class FlowStreamReader {
    /// The name used in messages: the path, or `<stdin>`.
    public let path: String
    public let featureNames: [String]
    public let batchSize: Int
    /// Whether the input has a `Label` column.
    public var hasLabel: Bool { plan.hasLabel }
    /// The identifier columns present in the input.
    public var identifierColumnsPresent: [String] {
        zip(FeatureSet.identifierColumns, plan.identifierColumns).compactMap { $1 == nil ? nil : $0 }
    }
    /// Rows, bytes and skipped rows so far.
    public private(set) var report = FlowLoadReport()

    private let skipBadRows: Bool
    private let fd: Int32
    private let ownsDescriptor: Bool
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var start = 0, end = 0
    private var atEOF = false
    private var lineNumber = 0
    private var dataRows = 0
    private var plan: ColumnPlan! = nil
    private var rowBuffer: [Float]

    /// Opens `url`, or standard input when nil, and reads the header.
    public init(url: URL?, options: FlowLoadOptions = FlowLoadOptions(), batchSize: Int = 4096,
                readBufferSize: Int = 1 << 20) throws {
        guard !options.features.isEmpty else { throw FlowDataError.emptyFeatureList }
        self.featureNames = options.features
        self.skipBadRows = options.skipBadRows
        self.batchSize = max(1, batchSize)
        self.capacity = max(64, readBufferSize)
        self.buffer = .allocate(capacity: capacity)
        self.rowBuffer = [Float](repeating: .nan, count: options.features.count)
        if let url {
            path = url.path
            fd = open(url.path, O_RDONLY)
            ownsDescriptor = true
            if fd < 0 {
                let reason = errno == ENOENT ? "no such file or folder" : String(cString: strerror(errno))
                throw errno == ENOENT ? FlowDataError.notFound(path: url.path) : FlowDataError.io(path: url.path, message: reason)
            }
        } else {
            path = "<stdin>"
            fd = 0
            ownsDescriptor = false
        }
        try readHeader(features: options.features)
    }

    /// A reader over the file at `path`, or standard input when `path` is `-`.
    public convenience init(path: String, options: FlowLoadOptions = FlowLoadOptions(), batchSize: Int = 4096) throws {
        try self.init(url: path == "-" ? nil : URL(fileURLWithPath: path), options: options, batchSize: batchSize)
    }

    deinit {
        if ownsDescriptor && fd >= 0 { close(fd) }
        buffer.deallocate()
    }

    /// The next batch of good rows, or nil at the end of the input.
    public func next() throws -> FlowBatch? {
        let f = featureNames.count
        var batch = FlowBatch(featureCount: f, values: [], identifiers: [], lineNumbers: [],
                              labels: plan.hasLabel ? [] : nil)
        batch.values.reserveCapacity(batchSize * f)
        var idRanges = [(Int, Int)](repeating: (0, 0), count: FeatureSet.identifierColumns.count)
        while batch.rowCount < batchSize, let line = try nextLine() {
            if isBlank(buffer, line.start, line.end) { continue }
            dataRows += 1
            for k in idRanges.indices { idRanges[k] = (0, 0) }
            var label = 0
            let problem = rowBuffer.withUnsafeMutableBufferPointer { row in
                idRanges.withUnsafeMutableBufferPointer { ids in
                    plan.parseLine(buffer, line.start, line.end, into: row.baseAddress!, label: &label,
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
            batch.labels?.append(label)
            func text(_ k: Int) -> String {
                let (s, e) = idRanges[k]
                return String(decoding: UnsafeBufferPointer(start: buffer + s, count: e - s), as: UTF8.self)
            }
            batch.identifiers.append(FlowIdentifiers(flowID: text(0), sourceIP: text(1), sourcePort: text(2),
                                                     destinationIP: text(3), destinationPort: text(4), timestamp: text(5)))
        }
        report.rowsRead += batch.rowCount
        if batch.rowCount == 0 {
            if dataRows == 0 { throw FlowDataError.headerOnly(path: path) }
            return nil
        }
        return batch
    }

    private func readHeader(features: [String]) throws {
        try fill()
        if end > 0 && looksBinary(buffer, end) {
            throw FlowDataError.notCSV(path: path, reason: "binary data in the first bytes")
        }
        var header: (start: Int, end: Int)?
        while let line = try nextLine() {
            if !isBlank(buffer, line.start, line.end) { header = line; break }
        }
        guard var h = header else { throw FlowDataError.emptyFile(path: path) }
        if h.end - h.start >= 3 && buffer[h.start] == 0xEF && buffer[h.start + 1] == 0xBB && buffer[h.start + 2] == 0xBF {
            h.start += 3
        }
        let names = splitFields(buffer, h.start, h.end)
        guard names.count > 1 else { throw FlowDataError.notCSV(path: path, reason: "the header line has no commas") }
        plan = try ColumnPlan(header: names, features: features, requireLabel: false, wantIdentifiers: true, path: path)
        report.filesRead = 1
    }

    /// The next line's byte range in `buffer` (valid until the following call), or nil at EOF.
    private func nextLine() throws -> (start: Int, end: Int)? {
        while true {
            if start < end, let hit = memchr(buffer + start, 0x0A, end - start) {
                let lineStart = start
                var lineEnd = buffer.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                start = lineEnd + 1
                lineNumber += 1
                if lineEnd > lineStart && buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                return (lineStart, lineEnd)
            }
            if atEOF {
                guard start < end else { return nil }
                let lineStart = start
                var lineEnd = end
                start = end
                lineNumber += 1
                if lineEnd > lineStart && buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                return (lineStart, lineEnd)
            }
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
            report.bytesRead += n
            return
        }
    }
}
