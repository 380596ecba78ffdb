import Foundation

/// What a flow of an attack capture is, by an analyst's triage or a labelling rule.
public enum FlowRole: String, Sendable, CaseIterable, Codable {
    /// A flow of the attack itself.
    case attack
    /// The cluster's own traffic, recorded while the attack ran: normal traffic of another period.
    case background
}

/// Per-flow roles of flow files: `file,row,role` (plus optional columns such as `flow_id`), where
/// `file` is the flow file's name (its last path component), `row` the flow's position in it
/// (1 = the first flow after the header, so the file's line number minus one) and `role` one of
/// `attack` or `background`. A header line names the columns in any order. This is the format of
/// `../shared/data/kubernetes-flow-roles.csv`, and one an analyst's triage can produce: a
/// spreadsheet with a file name, a row number and a verdict.
public struct FlowRoles: Sendable, Equatable {
    /// Role by file name, then by row (1 = first flow after the header).
    public private(set) var byFile: [String: [Int: FlowRole]]
    /// Where the roles came from, for messages.
    public var path: String

    public init(byFile: [String: [Int: FlowRole]] = [:], path: String = "<memory>") {
        self.byFile = byFile
        self.path = path
    }

    /// How many flows have a role.
    public var count: Int { byFile.values.reduce(0) { $0 + $1.count } }

    /// The role of a flow, or nil when the file or the row has none.
    public func role(file: String, row: Int) -> FlowRole? {
        byFile[URL(fileURLWithPath: file).lastPathComponent]?[row]
    }

    /// Whether the roles name this file at all.
    public func covers(file: String) -> Bool { byFile[URL(fileURLWithPath: file).lastPathComponent] != nil }

    /// Each row's role in a loaded table (nil where the roles say nothing), by the row's file name
    /// and its line in that file (line 2 is row 1).
    public func roles(for table: FlowTable) -> [FlowRole?] {
        (0..<table.rowCount).map { i in
            let file = Int(table.rowFiles[i])
            guard file >= 0, file < table.sourceFiles.count else { return nil }
            return role(file: table.sourceFiles[file], row: Int(table.rowLines[i]) - 1)
        }
    }

    /// Reads a roles file; every problem names the file and line.
    public static func read(_ url: URL) throws -> FlowRoles {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw FlowDataError.notFound(path: path) }
        guard !isDirectory.boolValue else { throw FlowDataError.io(path: path, message: "is a folder; --flow-roles needs a CSV file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FlowDataError.io(path: path, message: "cannot read the file")
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path)
    }

    /// Parses the text of a roles file.
    public static func parse(_ text: String, path: String = "<memory>") throws -> FlowRoles {
        func bad(_ line: Int?, _ message: String) -> FlowDataError {
            .io(path: line.map { "\(path):\($0)" } ?? path, message: message)
        }
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
        while let last = lines.last, last.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeLast() }
        guard let headerLine = lines.first else { throw FlowDataError.emptyFile(path: path) }
        let header = splitCSV(headerLine.hasPrefix("\u{FEFF}") ? String(headerLine.dropFirst()) : headerLine)
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard let fileColumn = header.firstIndex(of: "file"), let rowColumn = header.firstIndex(of: "row"),
              let roleColumn = header.firstIndex(of: "role") else {
            throw bad(1, "a roles file needs the columns file, row and role (found: \(header.joined(separator: ", ")))")
        }
        guard lines.count > 1 else { throw FlowDataError.headerOnly(path: path) }
        var byFile: [String: [Int: FlowRole]] = [:]
        for (index, line) in lines.enumerated().dropFirst() {
            let number = index + 1
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let fields = splitCSV(line)
            guard fields.count == header.count else {
                throw bad(number, "\(fields.count) fields, the header has \(header.count)")
            }
            let file = URL(fileURLWithPath: fields[fileColumn].trimmingCharacters(in: .whitespaces)).lastPathComponent
            guard !file.isEmpty else { throw bad(number, "the file name is empty") }
            let rowText = fields[rowColumn].trimmingCharacters(in: .whitespaces)
            guard let row = Int(rowText), row >= 1 else {
                throw bad(number, "row '\(rowText)' is not a positive integer (1 = the first flow after the header)")
            }
            let roleText = fields[roleColumn].trimmingCharacters(in: .whitespaces).lowercased()
            guard let role = FlowRole(rawValue: roleText) else {
                throw bad(number, "role '\(fields[roleColumn])' is not attack or background")
            }
            if let earlier = byFile[file]?[row], earlier != role {
                throw bad(number, "\(file) row \(row) is given two roles (\(earlier.rawValue) and \(role.rawValue))")
            }
            byFile[file, default: [:]][row] = role
        }
        return FlowRoles(byFile: byFile, path: path)
    }

    /// Splits one CSV line (RFC 4180 quotes, doubled quotes inside).
    static func splitCSV(_ line: String) -> [String] {
        var fields: [String] = [], current = "", quoted = false, atStart = true
        var iterator = line.makeIterator()
        while let c = iterator.next() {
            if quoted {
                if c == "\"" {
                    // A doubled quote is one quote; a single one closes the field.
                    var lookahead = iterator
                    if lookahead.next() == "\"" { current.append("\""); iterator = lookahead } else { quoted = false }
                } else { current.append(c) }
            } else if c == "," {
                fields.append(current); current = ""; atStart = true; continue
            } else if c == "\"" && atStart {
                quoted = true
            } else { current.append(c) }
            atStart = false
        }
        fields.append(current)
        return fields
    }
}
