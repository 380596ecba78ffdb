/// The byte-level CSV machinery shared by `FlowLoader` and `FlowStreamReader`: header
/// splitting, mapping header names to feature slots, and parsing one data line.

/// Splits one line (no newline) into fields, honouring simple double-quoted fields.
func splitFields(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> [String] {
    var fields: [String] = []
    var i = start
    while true {
        let (fs, fe, next) = nextField(p, i, end)
        var s = String(decoding: UnsafeBufferPointer(start: p + fs, count: fe - fs), as: UTF8.self)
        if s.hasPrefix("\u{FEFF}") { s.removeFirst() }
        if s.count >= 2 && s.hasPrefix("\"") && s.hasSuffix("\"") {
            s = String(s.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"")
        }
        fields.append(s.trimmingCharacters(in: .whitespaces))
        if next > end { break }
        i = next
    }
    return fields
}

/// The field starting at `i`: its byte range and where the next field starts (> end when last).
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
        while j < end && p[j] != UInt8(ascii: ",") { j += 1 }
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

    let header: [String]
    let features: [String]
    /// Per header column: a feature slot (>= 0), `skip`, `label` or an identifier code.
    let slots: [Int32]
    let hasLabel: Bool
    /// Header column of each identifier in `FeatureSet.identifierColumns`, or nil.
    let identifierColumns: [Int?]
    /// Features listed twice: the later slot copies the earlier one.
    let copies: [(from: Int, to: Int)]

    var fieldCount: Int { header.count }

    /// Maps `header` onto `features`. Names match exactly after trimming spaces, or else
    /// ignoring case. Throws `missingColumns` naming every absent feature (and `Label` when
    /// `requireLabel`).
    init(header: [String], features: [String], requireLabel: Bool, wantIdentifiers: Bool, path: String) throws {
        func column(_ name: String) -> Int? {
            if let i = header.firstIndex(of: name) { return i }
            let lower = name.lowercased()
            return header.firstIndex { $0.lowercased() == lower }
        }
        var slots = [Int32](repeating: Self.skip, count: header.count)
        var missing: [String] = []
        var copies: [(from: Int, to: Int)] = []
        for (k, name) in features.enumerated() {
            guard let c = column(name) else { missing.append(name); continue }
            if slots[c] == Self.skip { slots[c] = Int32(k) } else { copies.append((Int(slots[c]), k)) }
        }
        let labelColumn = column(FeatureSet.labelColumn)
        if let c = labelColumn, slots[c] == Self.skip { slots[c] = Self.label }
        if requireLabel && labelColumn == nil { missing.append(FeatureSet.labelColumn) }
        guard missing.isEmpty else {
            throw FlowDataError.missingColumns(path: path, columns: missing,
                                               labelHint: requireLabel && labelColumn == nil)
        }
        var ids: [Int?] = []
        for (k, name) in FeatureSet.identifierColumns.enumerated() {
            let c = wantIdentifiers ? column(name) : nil
            if let c, slots[c] == Self.skip { slots[c] = Self.identifierBase - Int32(k) }
            ids.append(c)
        }
        self.header = header
        self.features = features
        self.slots = slots
        self.hasLabel = labelColumn != nil
        self.identifierColumns = ids
        self.copies = copies
    }
}

/// Why one data line could not be used.
enum RowProblem {
    case fieldCount(found: Int)
    case nonNumeric(column: Int, start: Int, end: Int)
    case badLabel(start: Int, end: Int)

    func error(plan: ColumnPlan, path: String, line: Int, bytes p: UnsafePointer<UInt8>) -> FlowDataError {
        func text(_ s: Int, _ e: Int) -> String {
            let t = String(decoding: UnsafeBufferPointer(start: p + s, count: e - s), as: UTF8.self)
            return t.count > 60 ? String(t.prefix(60)) + "..." : t
        }
        switch self {
        case .fieldCount(let found):
            return .wrongFieldCount(path: path, line: line, expected: plan.fieldCount, found: found)
        case .nonNumeric(let column, let s, let e):
            return .nonNumeric(path: path, line: line, column: plan.header[column], text: text(s, e))
        case .badLabel(let s, let e):
            return .badLabel(path: path, line: line, text: text(s, e))
        }
    }
}

extension ColumnPlan {
    /// Parses the data line at bytes `start..<end` (no newline, no trailing CR): feature values
    /// into `out[0..<features.count]`, the label into `label` (unchanged when there is no Label
    /// column), identifier byte ranges into `identifiers` when non-nil. Returns the first problem,
    /// a wrong field count taking precedence over a bad value.
    @inline(__always)
    func parseLine(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, into out: UnsafeMutablePointer<Float>,
                   label: inout Int, identifiers: UnsafeMutablePointer<(Int, Int)>?) -> RowProblem? {
        var problem: RowProblem?
        var column = 0
        var i = start
        let count = slots.count
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
                        if let v = NumberParser.parse(p, fieldStart, fieldEnd) {
                            out[Int(slot)] = v
                        } else if problem == nil {
                            problem = .nonNumeric(column: column, start: fieldStart, end: fieldEnd)
                        }
                    } else if slot == ColumnPlan.label {
                        if let v = NumberParser.parse(p, fieldStart, fieldEnd), v.isFinite, v >= 0, v == v.rounded(),
                           v < 1_000_000 {
                            label = Int(v)
                        } else if problem == nil {
                            problem = .badLabel(start: fieldStart, end: fieldEnd)
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
        return problem
    }
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
