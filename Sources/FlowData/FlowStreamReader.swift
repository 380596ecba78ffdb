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
    /// The IP protocol number (6 TCP, 17 UDP, ...) as the flow meter wrote it.
    public var protocolNumber: String

    public init(flowID: String = "", sourceIP: String = "", sourcePort: String = "",
                destinationIP: String = "", destinationPort: String = "", timestamp: String = "", protocolNumber: String = "") {
        self.flowID = flowID
        self.sourceIP = sourceIP
        self.sourcePort = sourcePort
        self.destinationIP = destinationIP
        self.destinationPort = destinationPort
        self.timestamp = timestamp
        self.protocolNumber = protocolNumber
    }

    /// The values in the order of `FeatureSet.identifierColumns`.
    public var values: [String] { [flowID, sourceIP, sourcePort, destinationIP, destinationPort, timestamp, protocolNumber] }
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
    /// Hears about truncations and rotations as they are noticed, and, when a new file's header
    /// is in another dialect than the one before, its dialect line, unit notes and (given
    /// `trainedDialect`) the mismatch warning, one line per call.
    public var onRestart: @Sendable (String) -> Void
    /// The dialect the model was trained on, for the mismatch warning after a rotation.
    public var trainedDialect: FlowDialect?

    public init(pollInterval: TimeInterval = 0.2, shouldStop: @escaping @Sendable () -> Bool,
                onRestart: @escaping @Sendable (String) -> Void = { _ in }, trainedDialect: FlowDialect? = nil) {
        self.pollInterval = pollInterval
        self.shouldStop = shouldStop
        self.onRestart = onRestart
        self.trainedDialect = trainedDialect
    }
}

/// Reads a flow-meter CSV file or standard input in batches, with memory that stays flat
/// however long the input: a fixed read buffer (grown only for a record longer than it, up to
/// 1 MiB) and one batch at a time. Same CSV framing (`CSVRecordReader`), parser, dialects and
/// error messages as `FlowLoader`; labels are never read, so no row is dropped for its label.
///
/// With `follow`, the reader keeps reading a file that grows (like `tail -F`): a batch is handed
/// out as soon as no complete record is waiting, an incomplete last record waits for its line
/// break, and a file truncated, or truncated and written again (its header or first data line
/// changed, even past the old end), is read again from its header; a file replaced under its name
/// (rotation, another inode) is finished and then the new one is opened. Each new start expects a
/// header, and line numbers start again.
public final class FlowStreamReader {
    /// The name used in messages: the path, or `<stdin>`.
    public let path: String
    public let featureNames: [String]
    public let batchSize: Int
    /// Whether the input has a `Label` column (it is not read).
    public var hasLabel: Bool { plan?.hasLabel ?? false }
    /// The dialect of the input's header (the latest one under `follow`).
    public var dialect: FlowDialect { plan?.dialect ?? .cicflowmeter }
    /// The dialect of each header read, in order (several under `follow` after rotations).
    public private(set) var dialects: [FlowDialect] = []
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
    /// Under follow: stopped while waiting for the file to appear (the stream is empty).
    private var stoppedBeforeTheFileAppeared: Bool
    private let ownsDescriptor: Bool
    /// Whether the input is a pipe or terminal: a batch is then handed out when no complete record
    /// is buffered, rather than after blocking for more, so piped live flows are scored promptly.
    private let isStream: Bool
    private let records: CSVRecordReader
    /// The file now under the input's name, opened when a rotation is noticed; read once the old
    /// file has been drained to its end.
    private var rotatedFD: Int32 = -1
    private var plan: ColumnPlan?
    private var firstHeader = true
    private var rowBuffer: [Float]
    /// Window context of the stream (when the features ask for it): one stream is one context, kept
    /// across truncations and rotations, since the flow meter's output goes on.
    private var windows = WindowFeatures()
    /// Under `follow`: the length and fingerprint of the file's first bytes read (the header, then
    /// the header and the first data record), to notice the file being rewritten.
    private var signature: (length: Int64, hash: UInt64, withData: Bool)?

    /// Thrown by the check after a read when the file was rewritten under the reader.
    private struct Rewritten: Error {}

    /// Opens `url`, or standard input when nil, and reads the header (under `follow`, waits for it).
    public convenience init(url: URL?, options: FlowLoadOptions = FlowLoadOptions(), batchSize: Int = 4096,
                            readBufferSize: Int = 1 << 20, follow: FollowOptions? = nil) throws {
        guard !options.features.isEmpty else { throw FlowDataError.emptyFeatureList }
        try FeatureSet.checkFeatures(options.features)
        guard let url else {
            try self.init(descriptor: 0, name: "<stdin>", ownsDescriptor: false, options: options, batchSize: batchSize,
                          readBufferSize: readBufferSize, follow: follow)
            return
        }
        var fd = open(url.path, O_RDONLY)
        var stoppedBeforeTheFileAppeared = false
        // Under follow, a file that is not there yet is waited for, as `tail -F` does (said
        // once); a stop while waiting ends the stream with no rows (/dev/null stands in).
        if fd < 0 && errno == ENOENT, let follow {
            follow.onRestart("\(url.path) does not exist yet: waiting for it to appear (as tail -F does; "
                             + "SIGINT or SIGTERM stops)")
            while fd < 0 && errno == ENOENT && !follow.shouldStop() {
                Thread.sleep(forTimeInterval: follow.pollInterval)
                fd = open(url.path, O_RDONLY)
            }
            if fd < 0 && follow.shouldStop() {
                fd = open("/dev/null", O_RDONLY)
                stoppedBeforeTheFileAppeared = true
            }
        }
        if fd < 0 {
            let code = errno
            if code == ENOENT { throw FlowDataError.notFound(path: url.path) }
            throw FlowDataError.io(path: url.path, message: FlowLoader.describeStatFailure(url.path, code))
        }
        try self.init(descriptor: fd, name: url.path, ownsDescriptor: true, options: options, batchSize: batchSize,
                      readBufferSize: readBufferSize, follow: follow, stoppedBeforeTheFileAppeared: stoppedBeforeTheFileAppeared)
    }

    /// Reads an open descriptor (a pipe from a flow meter, say), named `name` in messages; with
    /// `ownsDescriptor` the reader closes it (also when this init throws).
    public init(descriptor fd: Int32, name: String, ownsDescriptor: Bool, options: FlowLoadOptions = FlowLoadOptions(),
                batchSize: Int = 4096, readBufferSize: Int = 1 << 20, follow: FollowOptions? = nil,
                stoppedBeforeTheFileAppeared: Bool = false) throws {
        guard !options.features.isEmpty else {
            if ownsDescriptor { close(fd) }
            throw FlowDataError.emptyFeatureList
        }
        do { try FeatureSet.checkFeatures(options.features) } catch {
            if ownsDescriptor { close(fd) }
            throw error
        }
        self.featureNames = options.features
        self.skipBadRows = options.skipBadRows
        self.batchSize = max(1, batchSize)
        self.rowBuffer = [Float](repeating: .nan, count: options.features.count + WindowColumns.inputCount)
        self.follow = follow
        self.fd = fd
        self.path = name
        self.ownsDescriptor = ownsDescriptor
        self.stoppedBeforeTheFileAppeared = stoppedBeforeTheFileAppeared
        var info = stat()
        isStream = fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG
        records = CSVRecordReader(path: path, descriptor: fd, capacity: readBufferSize, waitsAtEnd: follow != nil,
                                  isStream: isStream)
        // From here every stored property is set, so a throw runs deinit, which closes.
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw FlowDataError.io(path: path, message: "is a folder; detect reads one CSV file (or - for standard input)")
        }
        if follow != nil && !isStream && ownsDescriptor {
            records.afterRead = { [unowned self] in if self.wasRewritten() { throw Rewritten() } }
        }
        if stoppedBeforeTheFileAppeared {
            return
        } else if follow == nil {
            guard try readHeader() else { throw FlowDataError.emptyFile(path: path) }
        } else {
            // A flow meter may create the file before it writes the header.
            while try !readHeaderFollowing() {
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
    }

    /// The next batch of good rows, or nil at the end of the input (under `follow`: once stopped).
    public func next() throws -> FlowBatch? {
        if stoppedBeforeTheFileAppeared { return nil }
        let f = featureNames.count
        var batch = FlowBatch(featureCount: f, values: [], identifiers: [], lineNumbers: [])
        batch.values.reserveCapacity(min(batchSize, 4096) * f)
        var idRanges = [(Int, Int)](repeating: (0, 0), count: FeatureSet.identifierColumns.count)
        reading: while batch.rowCount < batchSize {
            if plan == nil {
                if try readHeaderFollowing() { continue }
                if batch.rowCount > 0 { break }
                guard follow != nil, try waitForMore() else { break }
                continue
            }
            guard let plan else { break }
            let record: CSVRecord
            let next: CSVRecordReader.Next
            do {
                next = try records.nextDataRecord(mayWait: batch.rowCount == 0)
            } catch is Rewritten {
                restart(reason: "\(path) was truncated and written again; reading it again from its header")
                continue
            }
            switch next {
            case .record(let r): record = r
            case .tooLong(let line):
                let error = FlowDataError.recordTooLong(path: path, line: line)
                guard skipBadRows else { throw error }
                report.recordBadRow(BadRow(path: path, line: line, error: error))
                continue
            case .end: break reading
            case .waiting:
                if batch.rowCount > 0 { break reading }
                guard follow != nil, try waitForMore() else { break reading }
                continue
            }
            if signature?.withData == false { sign(withData: true) }
            let buffer = UnsafePointer(records.buffer)
            for k in idRanges.indices { idRanges[k] = (0, 0) }
            var label = 0, labelText = (0, 0)
            var problem = rowBuffer.withUnsafeMutableBufferPointer { row in
                idRanges.withUnsafeMutableBufferPointer { ids in
                    plan.parseLine(buffer, record.start, record.end, into: row.baseAddress!, label: &label,
                                   labelText: &labelText, outOfRange: &report.valuesOutOfRange,
                                   identifiers: ids.baseAddress!)
                }
            }
            if record.unclosedQuote { problem = .unclosedQuote }
            if let problem {
                let error = records.native?.takeProblem(line: record.line)
                    ?? problem.error(plan: plan, path: path, line: record.line, bytes: buffer)
                guard skipBadRows else { throw error }
                report.recordBadRow(BadRow(path: path, line: record.line, error: error))
                continue
            }
            if plan.usesWindows {
                rowBuffer.withUnsafeMutableBufferPointer { row in
                    idRanges.withUnsafeBufferPointer { ids in
                        plan.addWindowFeatures(&windows, row: row.baseAddress!, bytes: buffer, recordStart: record.start,
                                               identifiers: ids.baseAddress!)
                    }
                }
            }
            batch.values += rowBuffer[0..<f]
            batch.lineNumbers.append(record.line)
            func text(_ k: Int) -> String {
                let (s, e) = idRanges[k]
                return fieldText(buffer, record.start, s, e)
            }
            batch.identifiers.append(FlowIdentifiers(flowID: text(0), sourceIP: text(1), sourcePort: text(2),
                                                     destinationIP: text(3), destinationPort: text(4), timestamp: text(5),
                                                     protocolNumber: text(6)))
        }
        report.rowsRead += batch.rowCount
        report.bytesRead = bytesBefore + records.bytesRead
        report.eventsSkipped = records.native?.skippedEvents ?? 0
        if let plan { report.rowsByDialect[plan.dialect, default: 0] += batch.rowCount }
        if batch.rowCount == 0 {
            if follow == nil { try records.checkHasData() }
            return nil
        }
        return batch
    }

    /// Bytes read by the record reader before it was pointed at a rotated file.
    private var bytesBefore = 0

    /// `readHeader`, restarting when the file was rewritten while its header was read.
    private func readHeaderFollowing() throws -> Bool {
        do {
            return try readHeader()
        } catch is Rewritten {
            restart(reason: "\(path) was truncated and written again; reading it again from its header")
            return false
        }
    }

    /// Reads the header if a complete one is buffered (or the input ended); false when none is yet.
    private func readHeader() throws -> Bool {
        guard case .names(let names) = try records.readHeader(mayWait: true) else { return false }
        let plan = try ColumnPlan(header: names, features: featureNames, readLabels: false, wantIdentifiers: true, path: path)
        let previous = self.plan?.dialect ?? dialects.last
        self.plan = plan
        dialects.append(plan.dialect)
        report.filesRead += 1
        report.filesByDialect[plan.dialect, default: 0] += 1
        for note in plan.unitNotes where !report.unitNotes.contains(note) { report.unitNotes.append(note) }
        if firstHeader {
            identifierColumnsPresent = zip(FeatureSet.identifierColumns, plan.identifierColumns).compactMap { $1 == nil ? nil : $0 }
            firstHeader = false
        } else if let follow, let previous, previous != plan.dialect {
            // A normal run says these once at the start; a rotation to another flow meter says them again.
            follow.onRestart(FlowLoadReport.dialectLine(plan.dialect))
            for note in FlowDialect.notes(plan.unitNotes, trained: follow.trainedDialect, scoring: plan.dialect) {
                follow.onRestart(note)
            }
            if let warning = FlowDialect.mismatchWarning(trained: follow.trainedDialect, scoring: plan.dialect) {
                follow.onRestart(warning)
            }
        }
        if follow != nil && !isStream && ownsDescriptor { sign(withData: false) }
        return true
    }

    /// Records the fingerprint of the file's bytes read so far (up to the header, or the first data record).
    private func sign(withData: Bool) {
        let length = records.consumedPosition
        guard let hash = prefixHash(length) else { return }
        signature = (length, hash, withData)
    }

    /// The fingerprint of the file's first `length` bytes, or nil when it has fewer.
    private func prefixHash(_ length: Int64) -> UInt64? {
        guard length > 0, length <= Int64(CSVRecordReader.maxRecordBytes) * 2 + 2 else { return nil }
        let count = Int(length)
        let bytes = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 1)
        defer { bytes.deallocate() }
        var got = 0
        while got < count {
            let n = pread(fd, bytes + got, count - got, off_t(got))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil }
            got += n
        }
        return fingerprint(bytes, count)
    }

    /// Whether the file under the descriptor no longer starts with what was read: truncated below
    /// what was read, or its header or first data record changed (truncated and written again).
    private func wasRewritten() -> Bool {
        var current = stat()
        if fstat(fd, &current) == 0, Int64(current.st_size) < records.offset { return true }
        guard let signature else { return false }
        return prefixHash(signature.length) != signature.hash
    }

    /// Under `follow`, with nothing new to read: notices truncation, rewriting and rotation, else
    /// sleeps one poll interval. False when asked to stop.
    private func waitForMore() throws -> Bool {
        guard let follow else { return false }
        if follow.shouldStop() { return false }
        if noticeRewrite() { return true }
        var current = stat(), named = stat()
        if rotatedFD >= 0 {
            // The old file has been read to its end once more since the rotation was noticed, so
            // nothing written to it before the rename is lost; an incomplete last record never will be finished.
            if records.hasPartialRecord {
                let line = records.nextLine
                report.recordBadRow(BadRow(path: path, line: line, error: .io(
                    path: path, message: "line \(line): incomplete last line of the rotated file, dropped")))
            }
            close(fd)
            fd = rotatedFD
            rotatedFD = -1
            restart(reason: "\(path) was replaced (rotated); reading the new file from its start")
            return true
        }
        if ownsDescriptor, fstat(fd, &current) == 0, stat(path, &named) == 0,
           named.st_ino != current.st_ino || named.st_dev != current.st_dev {
            rotatedFD = open(path, O_RDONLY)
            if rotatedFD >= 0 { return true }
        }
        Thread.sleep(forTimeInterval: follow.pollInterval)
        if follow.shouldStop() { return false }
        _ = noticeRewrite()
        return true
    }

    /// Restarts from the header when the file was truncated or written again; whether it did.
    private func noticeRewrite() -> Bool {
        guard !isStream, ownsDescriptor, wasRewritten() else { return false }
        var current = stat()
        let shorter = fstat(fd, &current) == 0 && Int64(current.st_size) < records.offset
        restart(reason: shorter ? "\(path) was truncated; reading it again from the start"
                    : "\(path) was truncated and written again; reading it again from its header")
        return true
    }

    /// Forgets the buffered bytes and expects a header again, from the start of `fd`.
    private func restart(reason: String) {
        restarts.append(reason)
        follow?.onRestart(reason)
        bytesBefore += records.bytesRead
        _ = lseek(fd, 0, SEEK_SET)
        records.reset(descriptor: fd)
        signature = nil
        plan = nil
    }
}
