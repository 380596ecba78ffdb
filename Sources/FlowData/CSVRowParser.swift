/// The byte-level CSV machinery shared by `FlowLoader` and `FlowStreamReader`: header
/// splitting, mapping header names to feature slots, and parsing one data line.

/// Splits one record (no trailing line break) into fields: RFC 4180, so a quoted field may hold
/// commas, line breaks and doubled quotes (`"a""b"` is `a"b`); surrounding spaces are trimmed.
func splitFields(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> [String] {
    var fields: [String] = []
    var i = start
    while true {
        let (fs, fe, next) = nextField(p, i, end)
        var s = fieldText(p, start, fs, fe)
        if s.hasPrefix("\u{FEFF}") { s.removeFirst() }
        fields.append(s.trimmingCharacters(in: .whitespaces))
        if next > end { break }
        i = next
    }
    return fields
}

/// The text of the field at bytes `s..<e` of the record starting at `recordStart`, as `nextField`
/// found it: a quoted field's doubled quotes become one.
func fieldText(_ p: UnsafePointer<UInt8>, _ recordStart: Int, _ s: Int, _ e: Int) -> String {
    let text = String(decoding: UnsafeBufferPointer(start: p + s, count: e - s), as: UTF8.self)
    let quoted = s > recordStart && p[s - 1] == UInt8(ascii: "\"")
    return quoted && text.contains("\"\"") ? text.replacingOccurrences(of: "\"\"", with: "\"") : text
}

/// The field starting at `i`: its byte range and where the next field starts (> end when last).
/// A quoted field's range is inside its quotes (doubled quotes left as they are); a quoted field
/// with more text after its closing quote (`"1"2`) is malformed and its range is the whole raw
/// field, quotes included, so a number parse fails on it rather than reading half of it.
@inline(__always)
func nextField(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> (Int, Int, Int) {
    var j = i
    if j < end && p[j] == UInt8(ascii: "\"") {
        j += 1
        while j < end {
            if p[j] == UInt8(ascii: "\"") {
                if j + 1 < end && p[j + 1] == UInt8(ascii: "\"") { j += 2; continue }
                break
            }
            j += 1
        }
        let fieldEnd = j
        j = min(j + 1, end)
        while j < end && (p[j] == 0x20 || p[j] == 0x09) { j += 1 }
        if j < end && p[j] != UInt8(ascii: ",") {
            while j < end && p[j] != UInt8(ascii: ",") { j += 1 }
            return (i, j, j + 1)
        }
        return (i + 1, fieldEnd, j + 1)
    }
    while j < end && p[j] != UInt8(ascii: ",") { j += 1 }
    return (i, j, j + 1)
}

/// Which header column feeds which feature slot, the label and the identifier columns.
struct ColumnPlan {
    static let skip: Int32 = -1
    static let label: Int32 = -2
    /// Identifier k is coded as `identifierBase - k`.
    static let identifierBase: Int32 = -3

    /// `parseLine`'s label for a row whose Label says it has none (`NeedManualLabel`, `No Label`, empty).
    static let unlabelled = -1
    /// `parseLine`'s label for a text label naming an attack; the text's byte range comes back too.
    static let textLabel = -2

    let header: [String]
    let features: [String]
    let dialect: FlowDialect
    /// Per header column: a feature slot (>= 0), `skip`, `label` or an identifier code.
    let slots: [Int32]
    /// Whether the header has a Label column.
    let hasLabel: Bool
    /// Header column of each identifier in `FeatureSet.identifierColumns`, or nil.
    let identifierColumns: [Int?]
    /// Features listed twice: the later slot copies the earlier one.
    let copies: [(from: Int, to: Int)]
    /// Per feature slot: the factor that brings the dialect's unit to the canonical one (1: none).
    let scales: [Float]
    let needsScaling: Bool
    /// Features converted to canonical units, and features measured differently with no exact conversion.
    let convertedFeatures: [String]
    let inexactFeatures: [String]

    /// Window features asked for: index in `WindowFeatures.names` and position in each row.
    let windowSlots: [(name: Int, position: Int)]
    /// Where the window inputs (`WindowColumns.inputs`) are parsed to: slots `features.count` and on.
    var windowInputSlot: Int { features.count }
    var usesWindows: Bool { !windowSlots.isEmpty }
    /// Floats a row buffer needs: the features, then the window inputs when window features are used.
    var rowWidth: Int { features.count + (usesWindows ? WindowColumns.inputCount : 0) }

    var fieldCount: Int { header.count }

    /// Maps `header` onto `features` through the dialect alias table: a feature is found under its
    /// spelling in the header's dialect, in any other dialect, or as given; names compare equal
    /// ignoring case, surrounding spaces and spaces versus underscores. Throws `missingColumns`
    /// naming every absent feature. `readLabels` false leaves the Label column unread.
    init(header: [String], features: [String], readLabels: Bool, wantIdentifiers: Bool, path: String) throws {
        try FeatureSet.checkFeatures(features)
        let dialect = DialectTable.detect(header: header)
        let normalizedHeader = header.map(FlowDialect.normalize)
        // A used column named twice is refused: which of the two holds the values is a guess.
        func column(_ name: String) throws -> (index: Int, alias: ColumnAlias?)? {
            let entry = DialectTable.entry(for: name)
            var candidates: [String] = []
            if let entry {
                if let n = entry.name(in: dialect) { candidates.append(n) }
                candidates += FlowDialect.allCases.compactMap { entry.name(in: $0) }
            }
            candidates.append(name)
            for candidate in candidates {
                let key = FlowDialect.normalize(candidate)
                guard let i = normalizedHeader.firstIndex(of: key) else { continue }
                if let twin = normalizedHeader[(i + 1)...].firstIndex(of: key) {
                    throw FlowDataError.duplicateColumn(path: path, name: header[i], first: i + 1, second: twin + 1)
                }
                return (i, entry)
            }
            return nil
        }
        var slots = [Int32](repeating: Self.skip, count: header.count)
        var missing: [String] = []
        var copies: [(from: Int, to: Int)] = []
        // Window features are computed, not read: their inputs are read into slots after the features.
        var windowSlots: [(name: Int, position: Int)] = []
        var columns: [(name: String, slot: Int)] = []
        for (k, name) in features.enumerated() {
            if let w = WindowFeatures.nameIndex[name] { windowSlots.append((w, k)) } else { columns.append((name, k)) }
        }
        let inputs = windowSlots.isEmpty ? [] : WindowColumns.inputs(dialect)
        var scales = [Float](repeating: 1, count: features.count + inputs.count)
        var converted: [String] = [], inexact: [String] = []
        var missingInputs: [String] = []
        for (name, k) in columns + inputs.enumerated().map({ ($1, features.count + $0) }) {
            guard let (c, alias) = try column(name) else {
                if k < features.count { missing.append(name) } else { missingInputs.append(name) }
                continue
            }
            if slots[c] == Self.skip { slots[c] = Int32(k) } else { copies.append((Int(slots[c]), k)) }
            switch alias?.unit(in: dialect) ?? .same {
            case .same: break
            case .scale(let factor): scales[k] = factor; if k < features.count { converted.append(name) }
            case .inexact: if k < features.count { inexact.append(name) }
            }
        }
        guard missing.isEmpty else {
            throw FlowDataError.missingColumns(path: path, columns: missing, dialect: dialect)
        }
        let wantIdentifiers = wantIdentifiers || !windowSlots.isEmpty
        let labelColumn = readLabels ? try column(FeatureSet.labelColumn)?.index
            : normalizedHeader.firstIndex(of: FlowDialect.normalize(FeatureSet.labelColumn))
        if readLabels, let c = labelColumn, slots[c] == Self.skip { slots[c] = Self.label }
        var ids: [Int?] = []
        for (k, name) in FeatureSet.identifierColumns.enumerated() {
            let c = wantIdentifiers ? try column(name)?.index : nil
            if let c, slots[c] == Self.skip { slots[c] = Self.identifierBase - Int32(k) }
            ids.append(c)
        }
        if !windowSlots.isEmpty {
            let absent = WindowColumns.identifierSlots.compactMap { ids[$0] == nil ? FeatureSet.identifierColumns[$0] : nil }
            if !absent.isEmpty || !missingInputs.isEmpty {
                throw FlowDataError.windowFeaturesNeedColumns(path: path, columns: absent + missingInputs, dialect: dialect)
            }
        }
        self.windowSlots = windowSlots
        self.header = header
        self.features = features
        self.dialect = dialect
        self.slots = slots
        self.hasLabel = labelColumn != nil
        self.identifierColumns = ids
        self.copies = copies
        self.scales = scales
        self.needsScaling = scales.contains { $0 != 1 }
        self.convertedFeatures = converted
        self.inexactFeatures = inexact
    }

    /// What a load should tell its user about this header's dialect beyond its name: unit
    /// conversions made and measurements that have no exact conversion.
    var unitNotes: [String] {
        var notes: [String] = []
        if !convertedFeatures.isEmpty {
            notes.append("\(dialect.rawValue): converted seconds to microseconds: \(convertedFeatures.joined(separator: ", "))")
            if dialect == .pythonCICFlowMeter {
                notes.append(FlowDialect.pythonVersionWarning)
            }
        }
        if !inexactFeatures.isEmpty {
            notes.append(FlowDialect.inexactLengthsPrefix(dialect) + " as whole frames (headers included) where "
                + "CICFlowMeter counts payload bytes; there is no exact conversion, so these are used as written and run "
                + "larger than a CICFlowMeter model expects: \(inexactFeatures.joined(separator: ", "))")
        }
        return notes
    }
}

/// Why one data line could not be used.
enum RowProblem {
    case fieldCount(found: Int)
    case nonNumeric(column: Int, start: Int, end: Int)
    case badLabel(start: Int, end: Int)
    case unclosedQuote

    func error(plan: ColumnPlan, path: String, line: Int, bytes p: UnsafePointer<UInt8>) -> FlowDataError {
        switch self {
        case .fieldCount(let found):
            return .wrongFieldCount(path: path, line: line, expected: plan.fieldCount, found: found)
        case .nonNumeric(let column, let s, let e):
            return .nonNumeric(path: path, line: line, column: plan.header[column], text: excerpt(p, s, e))
        case .badLabel(let s, let e):
            return .badLabel(path: path, line: line, text: excerpt(p, s, e))
        case .unclosedQuote:
            return .unclosedQuote(path: path, line: line)
        }
    }
}

/// Bytes `s..<e` as text for a message, cut to 60 characters.
func excerpt(_ p: UnsafePointer<UInt8>, _ s: Int, _ e: Int) -> String {
    let t = String(decoding: UnsafeBufferPointer(start: p + s, count: e - s), as: UTF8.self)
    return t.count > 60 ? String(t.prefix(60)) + "..." : t
}

/// Label texts, lowercased with spaces and underscores removed.
enum LabelText {
    static let benign = Array("benign".utf8)
    static let unlabelled = [Array("needmanuallabel".utf8), Array("nolabel".utf8)]

    /// Whether bytes `s..<e` spell `word` once lowercased with spaces and underscores dropped.
    static func matches(_ p: UnsafePointer<UInt8>, _ s: Int, _ e: Int, _ word: [UInt8]) -> Bool {
        var k = 0
        for i in s..<e {
            let b = p[i]
            if b == 0x20 || b == 0x5F || b == 0x09 { continue }
            guard k < word.count, (b | 0x20) == word[k], (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) else {
                return false
            }
            k += 1
        }
        return k == word.count
    }
}

extension ColumnPlan {
    /// Parses the data line at bytes `start..<end` (no newline, no trailing CR): feature values
    /// (in canonical units) into `out[0..<features.count]`, the label into `label` (unchanged when
    /// labels are not read), identifier byte ranges into `identifiers` when non-nil. A numeric label
    /// is the scenario id; `benign` in any case is 0; `NeedManualLabel`, `No Label` or an empty value
    /// give `unlabelled`; any other text gives `textLabel` with its bytes in `labelText`. Values
    /// beyond Float's range are stored as missing (NaN) and counted in `outOfRange`. Returns the
    /// first problem, a wrong field count taking precedence over a bad value.
    @inline(__always)
    func parseLine(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, into out: UnsafeMutablePointer<Float>,
                   label: inout Int, labelText: inout (Int, Int), outOfRange: inout Int,
                   identifiers: UnsafeMutablePointer<(Int, Int)>?) -> RowProblem? {
        var problem: RowProblem?
        var column = 0
        var i = start
        let count = slots.count
        var overflow = false
        slots.withUnsafeBufferPointer { slotPtr in
            while true {
                var fieldStart = i, fieldEnd: Int, next: Int
                if i < end && p[i] == UInt8(ascii: "\"") {
                    (fieldStart, fieldEnd, next) = nextField(p, i, end)
                } else {
                    var j = i
                    while j < end && p[j] != 0x2C { j += 1 }
                    fieldEnd = j; next = j + 1
                }
                if column < count {
                    let slot = slotPtr[column]
                    if slot >= 0 {
                        if let v = NumberParser.parse(p, fieldStart, fieldEnd, outOfRange: &overflow) {
                            out[Int(slot)] = v
                            if overflow { outOfRange += 1; overflow = false }
                        } else if problem == nil {
                            problem = .nonNumeric(column: column, start: fieldStart, end: fieldEnd)
                        }
                    } else if slot == ColumnPlan.label {
                        if let problemHere = classifyLabel(p, fieldStart, fieldEnd, &label, &labelText), problem == nil {
                            problem = problemHere
                        }
                    } else if slot <= ColumnPlan.identifierBase, let identifiers {
                        identifiers[Int(ColumnPlan.identifierBase - slot)] = (fieldStart, fieldEnd)
                    }
                }
                column += 1
                if next > end { break }
                i = next
            }
        }
        if column != count { return .fieldCount(found: column) }
        for c in copies { out[c.to] = out[c.from] }
        if needsScaling {
            for (k, s) in scales.enumerated() where s != 1 {
                let v = out[k] * s
                // A converted value beyond Float's range is missing, like a written one.
                if v.isInfinite { out[k] = .nan; outOfRange += 1 } else { out[k] = v }
            }
        }
        return problem
    }

    @inline(__always)
    private func classifyLabel(_ p: UnsafePointer<UInt8>, _ s0: Int, _ e0: Int, _ label: inout Int,
                               _ labelText: inout (Int, Int)) -> RowProblem? {
        var s = s0, e = e0
        while s < e && (p[s] == 0x20 || p[s] == 0x09) { s += 1 }
        while e > s && (p[e - 1] == 0x20 || p[e - 1] == 0x09) { e -= 1 }
        labelText = (s, e)
        if s == e { label = ColumnPlan.unlabelled; return nil }
        var ignored = false
        if let v = NumberParser.parse(p, s, e, outOfRange: &ignored) {
            if v.isFinite, v >= 0, v == v.rounded(), v < 1_000_000 { label = Int(v); return nil }
            return .badLabel(start: s, end: e)
        }
        if LabelText.matches(p, s, e, LabelText.benign) { label = 0; return nil }
        if LabelText.unlabelled.contains(where: { LabelText.matches(p, s, e, $0) }) {
            label = ColumnPlan.unlabelled
            return nil
        }
        label = ColumnPlan.textLabel
        return nil
    }
}

/// The columns window features are computed from, in each dialect.
enum WindowColumns {
    /// Identifiers that group flows, as indices into `FeatureSet.identifierColumns`: Src IP, Dst IP,
    /// Dst Port, Timestamp (all required); Protocol (slot 6) joins the service key when present.
    static let identifierSlots = [1, 3, 4, 5]
    static let protocolSlot = 6

    /// Backward packets, forward and backward payload bytes (`WindowFlow`), in `dialect`'s names.
    static func inputs(_ dialect: FlowDialect) -> [String] {
        switch dialect {
        case .zeek: return ["resp_pkts", "orig_bytes", "resp_bytes"]
        case .suricata: return ["pkts_toclient", "bytes_toserver", "bytes_toclient"]
        default: return ["Total Bwd packets", "Total Length of Fwd Packet", "Total Length of Bwd Packet"]
        }
    }
    static let inputCount = 3
}

extension ColumnPlan {
    /// After `parseLine` of a record starting at `recordStart` (identifier ranges in `identifiers`):
    /// computes the row's window features from `state` into their positions of `row` and counts the flow.
    func addWindowFeatures(_ state: inout WindowFeatures, row: UnsafeMutablePointer<Float>, bytes p: UnsafePointer<UInt8>,
                           recordStart: Int, identifiers: UnsafePointer<(Int, Int)>) {
        let input = row + windowInputSlot
        let (ts, te) = identifiers[5]
        let time = FlowTimestamp.parse(fieldText(p, recordStart, ts, te)) ?? .nan
        let flow = WindowFlow(time: time, backwardPackets: input[0], forwardBytes: input[1], backwardBytes: input[2])
        let none = (0, 0)
        let keys = WindowKey.keys(p, source: identifiers[1], destination: identifiers[3], port: identifiers[4],
                                  protocolNumber: identifierColumns[WindowColumns.protocolSlot] == nil ? none : identifiers[6])
        withUnsafeTemporaryAllocation(of: Float.self, capacity: WindowFeatures.names.count) { values in
            state.next(source: keys.source, service: keys.service, port: keys.port, flow: flow, into: values.baseAddress!)
            for (name, position) in windowSlots { row[position] = values[name] }
        }
    }
}
