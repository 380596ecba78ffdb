import Foundation

/// Zeek `conn.log` (TSV or JSON lines) and Suricata `eve.json` flow events, read through the CSV
/// path: each input line becomes exactly one CSV line of a fixed synthetic header (a comment line,
/// a skipped event or a blank line becomes a blank line), so `ColumnPlan`, labels from folders,
/// `--skip-bad-rows` and line numbers in messages work as for CICFlowMeter files. JSON formats have
/// no header line of their own: the synthetic header comes before line 1 (the reader numbers it 0).
///
/// Features keep the flow meter's own units (Zeek and Suricata durations in seconds, bytes as they
/// count them): they are never mixed with CICFlowMeter features, and the transform is fitted on the
/// baseline. Categorical states are one-hot columns (1 or 0; all missing when the state is unset): an
/// ordinal code would put `SF` "between" `S0` and `REJ`, a distance the scores would then believe.
final class NativeFlowLog {
    enum Format { case zeekTSV, zeekJSON, suricata }

    /// Zeek's `conn_state` values (Zeek's base/protocols/conn documentation).
    static let zeekStates = ["S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"]
    /// Suricata's flow states.
    static let suricataStates = ["new", "established", "closed", "bypassed"]
    static let tcpFlags = ["syn", "fin", "rst", "psh", "ack", "urg"]

    static let zeekFeatures = ["duration", "orig_bytes", "resp_bytes", "orig_pkts", "resp_pkts", "orig_ip_bytes",
                               "resp_ip_bytes", "missed_bytes", "history_length"] + zeekStates.map { "conn_state_" + $0 }
    static let suricataFeatures = ["age", "duration", "pkts_toserver", "pkts_toclient", "bytes_toserver", "bytes_toclient"]
        + suricataStates.map { "state_" + $0 } + tcpFlags.map { "tcp_" + $0 }

    /// The synthetic header: identifiers under their canonical names, then the dialect's features.
    static func header(_ format: Format) -> [String] {
        FeatureSet.identifierColumns + (format == .suricata ? suricataFeatures : zeekFeatures)
    }

    static func dialect(ofHeader header: [String]) -> FlowDialect? {
        let names = Set(header.map(FlowDialect.normalize))
        if names.contains("origbytes") && names.contains("connstatesf") { return .zeek }
        if names.contains("bytestoserver") && names.contains("stateestablished") { return .suricata }
        return nil
    }

    /// The format of input starting with `head`; nil: CSV (or not decided when `complete` is false
    /// and more bytes are needed: `undecided` is then true).
    static func sniff(_ head: [UInt8], complete: Bool) -> (format: Format?, undecided: Bool) {
        guard let first = head.firstIndex(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }) else {
            return (nil, !complete)
        }
        let lineEnd = head[first...].firstIndex(where: { $0 == 0x0A || $0 == 0x0D })
        switch head[first] {
        case UInt8(ascii: "#"):
            let word = Array("#separator".utf8)
            if head.count - first < word.count { return (nil, !complete) }
            return (Array(head[first..<first + word.count]) == word ? .zeekTSV : nil, false)
        case UInt8(ascii: "{"):
            guard lineEnd != nil || complete else { return (nil, true) }
            let line = String(decoding: head[first..<(lineEnd ?? head.count)], as: UTF8.self)
            if line.contains("\"id.orig_h\"") { return (.zeekJSON, false) }
            if line.contains("\"event_type\"") { return (.suricata, false) }
            return (nil, false)
        default: return (nil, false)
        }
    }

    /// The names a folder load looks at beyond `*.csv`; such a file is read only when its first
    /// line is a Zeek or Suricata log's (a folder may hold other JSON or log files).
    static let fileExtensions: Set<String> = ["log", "json", "ndjson"]

    /// Whether the file at `path` starts as a Zeek or Suricata log.
    static func fileIsLog(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 1 << 16)) ?? Data()
        return sniff(Array(head), complete: true).format != nil
    }

    let format: Format
    let path: String
    private var pending: [UInt8] = []
    private var line = 0
    private var headerWritten = false
    private var problems: [Int: FlowDataError] = [:]
    /// Suricata events other than `flow`, skipped.
    private(set) var skippedEvents = 0
    // Zeek TSV header state.
    private var separator: UInt8 = 0x09
    private var fields: [String]?
    private var unset = "-", empty = "(empty)"

    init(format: Format, path: String) {
        self.format = format
        self.path = path
    }

    /// The CSV bytes of every complete line of `raw` (with the bytes before it); the synthetic header
    /// first for JSON formats.
    func feed(_ raw: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = []
        if !headerWritten && format != .zeekTSV { append(Self.header(format), to: &out); headerWritten = true }
        // Only the new bytes can hold a line break (a line fed in many pieces is scanned once).
        var searchFrom = pending.count
        pending += raw
        var start = 0
        while let nl = pending[searchFrom...].firstIndex(of: 0x0A) {
            searchFrom = nl + 1
            try convert(pending[start..<nl], into: &out)
            start = nl + 1
        }
        pending.removeFirst(start)
        // Memory stays flat, as for CSV: a line without end is not held whole.
        if pending.count > CSVRecordReader.maxRecordBytes { throw FlowDataError.recordTooLong(path: path, line: line + 1) }
        return out
    }

    /// The CSV bytes of the last line when the input does not end with a line break.
    func finish() throws -> [UInt8] {
        var out: [UInt8] = []
        if !pending.isEmpty { try convert(pending[...], into: &out); pending = [] }
        return out
    }

    private func append(_ fields: [String], to out: inout [UInt8]) {
        for (k, f) in fields.enumerated() {
            if k > 0 { out.append(0x2C) }
            if f.contains(",") || f.contains("\"") || f.contains("\n") || f.contains("\r") {
                out.append(0x22); out += Array(f.replacingOccurrences(of: "\"", with: "\"\"").utf8); out.append(0x22)
            } else {
                out += Array(f.utf8)
            }
        }
        out.append(0x0A)
    }

    private func bad(_ reason: String) -> FlowDataError { .badRecord(path: path, line: line, reason: reason) }

    /// The problem of a data line that could not be transcoded: it was written as a one-field CSV
    /// line, which the row parser rejects (and `--skip-bad-rows` skips); this says why.
    func takeProblem(line: Int) -> FlowDataError? { problems.removeValue(forKey: line) }

    private func convert(_ bytes: ArraySlice<UInt8>, into out: inout [UInt8]) throws {
        line += 1
        do {
            try convertLine(bytes, into: &out)
        } catch let error as FlowDataError {
            // Before the header (Zeek's #fields), nothing can be skipped: the file is not a log.
            guard format != .zeekTSV || fields != nil else { throw error }
            problems[line] = error
            out += Array("!\n".utf8)
        }
    }

    private func convertLine(_ bytes: ArraySlice<UInt8>, into out: inout [UInt8]) throws {
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasSuffix("\r") { text.removeLast() }
        if text.trimmingCharacters(in: .whitespaces).isEmpty { out.append(0x0A); return }
        switch format {
        case .zeekTSV: try zeekTSV(text, into: &out)
        case .zeekJSON: append(try zeek(json(text)), to: &out)
        case .suricata:
            let object = try json(text)
            guard let type = object["event_type"] as? String else { throw bad("a Suricata event with no \"event_type\"") }
            guard type == "flow" else { skippedEvents += 1; out.append(0x0A); return }
            append(try suricata(object), to: &out)
        }
    }

    private func json(_ text: String) throws -> [String: Any] {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [])
        } catch {
            throw bad("not a JSON object (\(text.count > 60 ? String(text.prefix(60)) + "..." : text))")
        }
        guard let dict = object as? [String: Any] else { throw bad("a JSON value that is not an object") }
        return dict
    }

    private func zeekTSV(_ text: String, into out: inout [UInt8]) throws {
        if text.hasPrefix("#") {
            let parts = text.split(separator: Character(UnicodeScalar(separator)), omittingEmptySubsequences: false).map(String.init)
            if text.hasPrefix("#separator") {
                let value = text.dropFirst("#separator".count).trimmingCharacters(in: .whitespaces)
                if value.hasPrefix("\\x"), let code = UInt8(value.dropFirst(2), radix: 16) {
                    separator = code
                } else if let b = value.utf8.first, value.utf8.count == 1 {
                    separator = b
                } else {
                    throw bad("a #separator that is neither one character nor \\xHH: \(value)")
                }
            } else if parts[0] == "#fields" {
                fields = Array(parts.dropFirst())
                guard fields?.contains("id.orig_h") == true else { throw bad("a #fields line without id.orig_h: not a conn.log") }
                append(Self.header(.zeekTSV), to: &out)
                return
            } else if parts[0] == "#unset_field", parts.count > 1 {
                unset = parts[1]
            } else if parts[0] == "#empty_field", parts.count > 1 {
                empty = parts[1]
            }
            out.append(0x0A)
            return
        }
        guard let fields else { throw bad("a record before the #fields line") }
        let values = text.split(separator: Character(UnicodeScalar(separator)), omittingEmptySubsequences: false)
        guard values.count == fields.count else {
            throw FlowDataError.wrongFieldCount(path: path, line: line, expected: fields.count, found: values.count)
        }
        var record: [String: Any] = [:]
        for (name, value) in zip(fields, values) where value != unset && value != empty {
            record[name] = String(value)
        }
        append(try zeek(record), to: &out)
    }

    /// The text of a JSON or TSV value; "" (missing) when absent.
    private func text(_ value: Any?) -> String {
        switch value {
        case nil: return ""
        case let s as String: return s
        case let n as NSNumber: return n.stringValue
        default: return "\(value!)"
        }
    }

    private static func protocolNumber(_ name: String) -> String {
        switch name.lowercased() {
        case "tcp": return "6"
        case "udp": return "17"
        case "icmp": return "1"
        case "ipv6-icmp", "icmp6", "icmpv6": return "58"
        case "sctp": return "132"
        default: return name
        }
    }

    private func oneHot(_ value: String?, _ states: [String]) -> [String] {
        guard let value, !value.isEmpty else { return states.map { _ in "" } }
        return states.map { $0.caseInsensitiveCompare(value) == .orderedSame ? "1" : "0" }
    }

    private func zeek(_ r: [String: Any]) throws -> [String] {
        guard r["id.orig_h"] != nil else { throw bad("a Zeek record without id.orig_h: not a conn.log record") }
        let ids = [text(r["uid"]), text(r["id.orig_h"]), text(r["id.orig_p"]), text(r["id.resp_h"]), text(r["id.resp_p"]),
                   text(r["ts"]), Self.protocolNumber(text(r["proto"]))]
        let history = r["history"].map { String(text($0).count) } ?? ""
        let counts = ["duration", "orig_bytes", "resp_bytes", "orig_pkts", "resp_pkts", "orig_ip_bytes", "resp_ip_bytes",
                      "missed_bytes"].map { text(r[$0]) }
        return ids + counts + [history] + oneHot(r["conn_state"].map(text), Self.zeekStates)
    }

    private func suricata(_ r: [String: Any]) throws -> [String] {
        guard let flow = r["flow"] as? [String: Any] else { throw bad("a Suricata flow event without a \"flow\" object") }
        let proto = Self.protocolNumber(text(r["proto"]))
        let start = flow["start"] as? String
        let ids = [text(r["flow_id"]), text(r["src_ip"]), text(r["src_port"]), text(r["dest_ip"]), text(r["dest_port"]),
                   start ?? text(r["timestamp"]), proto]
        var duration = ""
        if let start, let end = flow["end"] as? String, let a = FlowTimestamp.parse(start), let b = FlowTimestamp.parse(end) {
            duration = String(b - a)
        }
        let counts = ["pkts_toserver", "pkts_toclient", "bytes_toserver", "bytes_toclient"].map { text(flow[$0]) }
        // Suricata writes a flag only when it was seen; a flow of another protocol has none (0); a TCP
        // flow logged without its "tcp" object has unknown flags (missing).
        let flags: [String]
        if let tcp = r["tcp"] as? [String: Any] {
            flags = Self.tcpFlags.map { (tcp[$0] as? Bool) == true ? "1" : "0" }
        } else {
            flags = Self.tcpFlags.map { _ in proto == "6" ? "" : "0" }
        }
        return ids + [text(flow["age"]), duration] + counts + oneHot(flow["state"].map(text), Self.suricataStates) + flags
    }
}
