import Foundation

/// One CSV record in a `CSVRecordReader`'s buffer: bytes `start..<end` without its line break,
/// valid until the reader's next call.
struct CSVRecord {
    var start: Int
    var end: Int
    /// The 1-based line the record starts on (a quoted line break makes a record span lines).
    var line: Int
    /// The input ended inside a quoted field.
    var unclosedQuote: Bool
}

/// The CSV framing that `FlowLoader` and `FlowStreamReader` share, in one place: reads a file
/// descriptor (or bytes in memory) in chunks into one buffer and hands out RFC 4180 records
/// (doubled quotes, commas and line breaks inside quotes; a record may span lines), and sniffs
/// the header: binary data, a byte-order mark, the line-break style (LF, CRLF or CR alone), the
/// delimiter, and a header with no data rows.
///
/// Memory stays flat: the buffer grows only for a record longer than it, and a record is capped
/// at `maxRecordBytes` (a file with a newline-free tail would otherwise be read whole).
final class CSVRecordReader {
    /// The longest record read: longer ones are an error (or, skipping bad rows, skipped).
    static let maxRecordBytes = 1 << 20

    enum Next {
        case record(CSVRecord)
        /// A record longer than `maxRecordBytes` starting on `line`; its first line is skipped.
        case tooLong(line: Int)
        /// No complete record is buffered and the input has no more bytes now (follow, or a pipe).
        case waiting
        case end
    }

    enum Header {
        case names([String])
        case waiting
        /// No bytes, or only blank lines.
        case empty
    }

    let path: String
    /// The descriptor read (-1 when reading bytes in memory); the caller owns it.
    private(set) var descriptor: Int32
    private let memory: Data?
    private var memoryPosition = 0
    private let readLimit: Int
    private(set) var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var start = 0, end = 0
    private var atEOF = false
    /// An incomplete last record waits for more bytes (follow) instead of ending the input.
    private let waitsAtEnd: Bool
    /// A pipe or terminal: with `mayWait` false, `.waiting` is handed back instead of blocking.
    private let isStream: Bool
    /// Bytes read since the last reset: the file position of `buffer[end]`.
    private(set) var offset: Int64 = 0
    /// Bytes read in all.
    private(set) var bytesRead = 0
    private var linesConsumed = 0
    private var lineBreak: UInt8 = 0x0A
    private var sniffed = false
    /// Whether the first bytes have been looked at for a Zeek or Suricata log (`NativeFlowLog`).
    private var formatKnown = false
    /// The log being transcoded to CSV, when the input is one.
    private(set) var native: NativeFlowLog?
    /// CSV bytes not yet in `buffer` (the sniffed head of a CSV file, or a log's transcoded lines).
    private var backlog: [UInt8] = []
    private var backlogPosition = 0
    /// The input's end was reached while reading through `backlog`.
    private var nativeEnded = false
    private var rawOffset: Int64 = 0
    /// Skipping the rest of the first line of a record that was too long.
    private var discarding = false
    /// Whether the header has been read since the last reset, and the data records after it.
    private(set) var headerRead = false
    private(set) var dataRecords = 0

    /// Reads `descriptor` with a buffer of `capacity` bytes (grown for a longer record).
    init(path: String, descriptor: Int32, capacity: Int, waitsAtEnd: Bool = false, isStream: Bool = false) {
        self.path = path
        self.descriptor = descriptor
        self.memory = nil
        self.capacity = max(64, capacity)
        self.readLimit = self.capacity
        self.buffer = .allocate(capacity: self.capacity)
        self.waitsAtEnd = waitsAtEnd
        self.isStream = isStream
    }

    /// Reads `data`, handing it over `chunk` bytes at a time as a file read would.
    init(path: String, data: Data, chunk: Int = 4 << 20) {
        self.path = path
        self.descriptor = -1
        self.memory = data
        self.capacity = max(64, min(chunk, max(data.count, 1)))
        self.readLimit = max(1, chunk)
        self.buffer = .allocate(capacity: self.capacity)
        self.waitsAtEnd = false
        self.isStream = false
    }

    deinit { buffer.deallocate() }

    /// Called after each read that got bytes from a descriptor; a throw ends the call that read.
    var afterRead: (() throws -> Void)?

    /// Whether bytes of an incomplete record are buffered, and the line it starts on.
    var hasPartialRecord: Bool { end > start && !discarding }
    var nextLine: Int { linesConsumed + 1 }

    /// The file position of the first byte not yet handed out.
    var consumedPosition: Int64 { offset - Int64(end - start) }

    /// Forgets what is buffered and starts again at a file's beginning (after a truncation or a
    /// rotation under follow), reading `descriptor` from now on when given.
    func reset(descriptor newDescriptor: Int32? = nil) {
        if let newDescriptor { descriptor = newDescriptor }
        start = 0; end = 0; offset = 0; atEOF = false
        linesConsumed = 0; sniffed = false; discarding = false
        headerRead = false; dataRecords = 0
        formatKnown = false; native = nil; backlog = []; backlogPosition = 0; nativeEnded = false; rawOffset = 0
    }

    /// Reads the header: skips leading blank lines and a byte-order mark, refuses binary data and
    /// a header without commas, and learns the line-break style. `.waiting` when a complete header
    /// has not arrived yet (follow, or a pipe when `mayWait` is false).
    func readHeader(mayWait: Bool) throws -> Header {
        while !sniffed {
            if let style = sniffLineBreak() {
                lineBreak = style
                sniffed = true
                break
            }
            if atEOF {
                if waitsAtEnd { atEOF = false; return .waiting }
                guard start < end else { return .empty }
                sniffed = true  // one line without a line break
                break
            }
            if end - start > Self.maxRecordBytes { throw FlowDataError.recordTooLong(path: path, line: 1) }
            if isStream && !mayWait { return .waiting }
            try fill()
        }
        if offset > 0 && start == 0 && consumedPosition == 0 {
            if looksBinary(buffer, end) { throw FlowDataError.notCSV(path: path, reason: "binary data in the first bytes") }
            if end >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF { start = 3 }
        }
        while true {
            switch try nextRecord(mayWait: mayWait) {
            case .record(let r):
                if isBlank(buffer, r.start, r.end) { continue }
                if r.unclosedQuote { throw FlowDataError.unclosedQuote(path: path, line: r.line) }
                let names = splitFields(buffer, r.start, r.end)
                guard names.count > 1 else { throw FlowDataError.notCSV(path: path, reason: Self.noCommas(names)) }
                headerRead = true
                return .names(names)
            case .tooLong(let line): throw FlowDataError.recordTooLong(path: path, line: line)
            case .waiting: return .waiting
            case .end: return .empty
            }
        }
    }

    /// Why a one-field header is not CSV, naming the separator it seems to use.
    static func noCommas(_ names: [String]) -> String {
        let text = names.joined()
        if text.contains(";") { return "the header line has no commas; it looks separated by semicolons" }
        if text.contains("\t") { return "the header line has no commas; it looks separated by tabs" }
        return "the header line has no commas"
    }

    /// Throws `headerOnly` when the header was read and no data record followed it.
    func checkHasData() throws {
        guard headerRead && dataRecords == 0 else { return }
        if let native {
            let what = native.format == .suricata
                ? "no flow events (\(native.skippedEvents) event\(native.skippedEvents == 1 ? "" : "s") of other types skipped)"
                : "no connection records"
            throw FlowDataError.noFlowRecords(path: path, reason: what)
        }
        throw FlowDataError.headerOnly(path: path)
    }

    /// The next non-blank record after the header.
    @inline(__always)
    func nextDataRecord(mayWait: Bool) throws -> Next {
        while true {
            let next = try nextRecord(mayWait: mayWait)
            switch next {
            case .record(let r):
                if isBlank(buffer, r.start, r.end) { continue }
                dataRecords += 1
            case .tooLong: dataRecords += 1
            case .waiting, .end: break
            }
            return next
        }
    }

    /// LF (CRLF included) or CR, from the first line break buffered; nil when none is yet.
    private func sniffLineBreak() -> UInt8? {
        var i = start
        while i < end {
            let b = buffer[i]
            if b == 0x0A { return 0x0A }
            if b == 0x0D {
                if i + 1 < end { return buffer[i + 1] == 0x0A ? 0x0A : 0x0D }
                return atEOF ? 0x0A : nil
            }
            i += 1
        }
        return nil
    }

    @inline(__always)
    private func nextRecord(mayWait: Bool) throws -> Next {
        while true {
            if discarding {
                if start < end, let hit = memchr(buffer + start, Int32(lineBreak), end - start) {
                    start = buffer.distance(to: hit.assumingMemoryBound(to: UInt8.self)) + 1
                    linesConsumed += 1
                    discarding = false
                    continue
                }
                start = end
            } else if start < end, let r = scan(atEnd: false) {
                if r.end - r.start > Self.maxRecordBytes { return .tooLong(line: r.line) }
                return .record(r)
            } else if end - start > Self.maxRecordBytes {
                discarding = true
                return .tooLong(line: linesConsumed + 1)
            }
            if atEOF {
                if waitsAtEnd { atEOF = false; return .waiting }
                if discarding { discarding = false; start = end }
                guard start < end, let r = scan(atEnd: true) else { return .end }
                if r.end - r.start > Self.maxRecordBytes { return .tooLong(line: r.line) }
                return .record(r)
            }
            if isStream && !mayWait { return .waiting }
            try fill()
        }
    }

    /// The record at `start`, consumed; nil when its end is not buffered yet. `atEnd`: the input
    /// ends with the buffer (an open quote then ends there).
    @inline(__always)
    private func scan(atEnd: Bool) -> CSVRecord? {
        let hit = memchr(buffer + start, Int32(lineBreak), end - start)
        if let hit {
            let lineEnd = buffer.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            // Most records hold no quote at all: a line is a record.
            if memchr(buffer + start, 0x22, lineEnd - start) == nil {
                return take(lineEnd, next: lineEnd + 1, lines: 1, unclosed: false)
            }
        } else if !atEnd {
            return nil
        }
        var i = start, lines = 1, fieldStart = true, quoted = false
        while i < end {
            let b = buffer[i]
            if quoted {
                if b == 0x22 {
                    if i + 1 >= end {
                        if !atEnd { return nil }  // a doubled quote or the closing one: the next byte says
                    } else if buffer[i + 1] == 0x22 {
                        i += 2
                        continue
                    }
                    quoted = false
                } else if b == lineBreak {
                    lines += 1
                }
                i += 1
                continue
            }
            if b == lineBreak { return take(i, next: i + 1, lines: lines, unclosed: false) }
            // A quote opens a quoted field only at the field's start (elsewhere it is a character).
            if b == 0x22 && fieldStart { quoted = true }
            fieldStart = b == 0x2C
            i += 1
        }
        return atEnd ? take(end, next: end, lines: lines, unclosed: quoted) : nil
    }

    @inline(__always)
    private func take(_ recordEnd: Int, next: Int, lines: Int, unclosed: Bool) -> CSVRecord {
        var e = recordEnd
        if lineBreak == 0x0A && e > start && buffer[e - 1] == 0x0D { e -= 1 }
        let record = CSVRecord(start: start, end: e, line: linesConsumed + 1, unclosedQuote: unclosed)
        linesConsumed += lines
        start = next
        return record
    }

    /// Moves the unread bytes to the front (growing the buffer when a record fills it) and reads more.
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
        let want = min(capacity - end, readLimit)
        if !formatKnown || native != nil || backlogPosition < backlog.count {
            try fillThroughLog(want)
            return
        }
        let n = try readRaw(into: buffer + end, want)
        received(n)
    }

    /// Reads up to `want` bytes of the input at `target`; 0 at its end.
    private func readRaw(into target: UnsafeMutablePointer<UInt8>, _ want: Int) throws -> Int {
        if let memory {
            let n = min(want, memory.count - memoryPosition)
            if n > 0 {
                memory.withUnsafeBytes { raw in
                    target.update(from: raw.baseAddress!.assumingMemoryBound(to: UInt8.self) + memoryPosition, count: n)
                }
            }
            memoryPosition += n
            return n
        }
        while true {
            let n = read(descriptor, target, want)
            if n < 0 {
                if errno == EINTR { continue }
                throw FlowDataError.io(path: path, message: "read failed: \(String(cString: strerror(errno)))")
            }
            if n > 0, let afterRead { try afterRead() }
            return n
        }
    }

    /// `fill` for the first bytes (sniffing the format) and for Zeek and Suricata logs: their raw
    /// lines go through `NativeFlowLog`, and the CSV it writes is handed out from `backlog`.
    private func fillThroughLog(_ want: Int) throws {
        func readChunk() throws -> [UInt8] {
            var chunk = [UInt8](repeating: 0, count: want)
            let n = try chunk.withUnsafeMutableBufferPointer { try readRaw(into: $0.baseAddress!, $0.count) }
            bytesRead += n
            rawOffset += Int64(n)
            chunk.removeLast(chunk.count - n)
            return chunk
        }
        if !formatKnown {
            var head: [UInt8] = []
            while true {
                let chunk = try readChunk()
                head += chunk
                let (format, undecided) = NativeFlowLog.sniff(head, complete: chunk.isEmpty)
                if undecided && head.count < Self.maxRecordBytes { continue }
                formatKnown = true
                if let format {
                    if waitsAtEnd {
                        throw FlowDataError.io(path: path, message: "--follow does not read Zeek or Suricata logs yet; "
                                               + "run detect on the file or pipe it to standard input")
                    }
                    let log = NativeFlowLog(format: format, path: path)
                    native = log
                    // The synthetic header of a JSON log comes before its line 1.
                    if format != .zeekTSV { linesConsumed = -1 }
                    backlog = try log.feed(head)
                    if chunk.isEmpty { backlog += try log.finish(); nativeEnded = true }
                } else {
                    backlog = head
                    bytesRead -= head.count  // counted again as they reach the buffer
                    rawOffset = 0
                    if chunk.isEmpty { nativeEnded = true }
                }
                backlogPosition = 0
                break
            }
        }
        while backlogPosition == backlog.count && !nativeEnded, let log = native {
            let chunk = try readChunk()
            backlog = chunk.isEmpty ? try log.finish() : try log.feed(chunk)
            backlogPosition = 0
            if chunk.isEmpty { nativeEnded = true }
        }
        let n = min(want, backlog.count - backlogPosition)
        if n > 0 {
            backlog.withUnsafeBufferPointer { (buffer + end).update(from: $0.baseAddress! + backlogPosition, count: n) }
            backlogPosition += n
        }
        if backlogPosition == backlog.count { backlog = []; backlogPosition = 0 }
        if native != nil {
            // Positions are the log's own (raw) bytes; the CSV handed out is counted only in `end`.
            end += n
            offset = rawOffset
            if n == 0 { atEOF = true }
        } else {
            // CSV: whatever the sniff read is handed out as if read now; then `fill` reads directly.
            if n == 0 && nativeEnded { atEOF = true }
            end += n
            offset += Int64(n)
            bytesRead += n
        }
    }

    private func received(_ n: Int) {
        if n == 0 { atEOF = true }
        end += n
        offset += Int64(n)
        bytesRead += n
    }
}

/// FNV-1a over `count` bytes: a cheap fingerprint of a file's first lines.
func fingerprint(_ p: UnsafeRawPointer, _ count: Int) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    let bytes = p.assumingMemoryBound(to: UInt8.self)
    for i in 0..<count { h = (h ^ UInt64(bytes[i])) &* 0x100_0000_01B3 }
    return h
}

/// True when the first bytes look binary (a NUL byte, or many control bytes).
func looksBinary(_ p: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    let n = min(count, 4096)
    var control = 0
    for i in 0..<n {
        let b = p[i]
        if b == 0 { return true }
        if b < 0x09 || (b > 0x0D && b < 0x20) { control += 1 }
    }
    return control * 20 > n
}

import Foundation

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
