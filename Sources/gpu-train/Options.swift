import ArgumentParser
import Backend
import Common
import FlowData
import Foundation
import Siamese

/// Which backend runs the arithmetic.
enum BackendKind: String, ExpressibleByArgument, CaseIterable {
    /// OpenCL when a GPU or accelerator is present, else the CPU backend.
    case auto, cpu, opencl
}

/// --backend and --device, shared by every command that computes.
struct BackendOptions: ParsableArguments {
    @Option(help: "Backend: auto (OpenCL on a GPU or accelerator, else CPU), cpu or opencl.")
    var backend: BackendKind = .auto

    @Option(help: "OpenCL device: an index from `gpu-train devices` or a case-insensitive substring of its name.")
    var device: String?

    func validate() throws {
        if backend == .cpu, let device {
            throw ValidationError("--device \(device) selects an OpenCL device; --backend cpu uses none (drop one of them)")
        }
    }

    /// Creates the backend and says on stderr which one runs.
    func make(quiet: Bool = false) throws -> Backend {
        try CPUISA.checkEnvironment()
        if let error = CPUConvolution.environmentError { throw error }
        let made: Backend
        switch backend {
        case .cpu:
            made = CPUBackend()
        case .opencl:
            made = try OpenCLBackend(device: device)
        case .auto:
            if device != nil {
                made = try OpenCLBackend(device: device)
            } else if let gpu = (try? OpenCLDevices.all())?.first(where: { $0.type == "GPU" || $0.type == "accelerator" }) {
                made = try OpenCLBackend(device: String(gpu.index))
            } else {
                made = CPUBackend()
            }
        }
        if !quiet { Console.note("backend: \(made.name) on \(made.deviceDescription)") }
        return made
    }
}

/// --data and how flows are read.
struct DataOptions: ParsableArguments {
    @Option(help: "A CICFlowMeter CSV file, or a folder searched recursively for *.csv.")
    var data: String

    @Flag(help: "Skip rows with bad values or the wrong number of fields (reports how many and where) instead of stopping.")
    var skipBadRows = false

    func load(features: [String], readEndpoints: Bool = false) throws -> FlowTable {
        try Self.load(data, features: features, skipBadRows: skipBadRows, readEndpoints: readEndpoints)
    }

    /// Reads flows from `data` (a file or folder) and says on stderr what it read.
    static func load(_ data: String, features: [String], skipBadRows: Bool, readEndpoints: Bool = false,
                     requireLabels: Bool = true) throws -> FlowTable {
        try load([data], features: features, skipBadRows: skipBadRows, readEndpoints: readEndpoints, requireLabels: requireLabels)
    }

    /// Reads flows from several files or folders as one table (a file named twice, or reached
    /// through a link, is read once) and says on stderr what it read.
    static func load(_ paths: [String], features: [String], skipBadRows: Bool, readEndpoints: Bool = false,
                     requireLabels: Bool = true) throws -> FlowTable {
        let started = Date()
        let table = try FlowLoader.load(paths.map { URL(fileURLWithPath: $0) },
                                        options: FlowLoadOptions(features: features, skipBadRows: skipBadRows,
                                                                 requireLabels: requireLabels, readEndpoints: readEndpoints))
        let counts = table.scenarioCounts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        Console.note(String(format: "read %d flows from %@ in %.2f s (%@)", table.rowCount, paths.joined(separator: ", "),
                            Date().timeIntervalSince(started), counts))
        for note in table.report.notes { Console.note(note) }
        if !table.report.badRowSummary.isEmpty { Console.note(table.report.badRowSummary) }
        return table
    }
}

/// Messages and progress on stderr; results go to stdout.
enum Console {
    static let isTerminal = isatty(fileno(stderr)) != 0

    /// Messages quote file names, labels and header names: their control characters are
    /// escaped (TerminalText), so input can never drive the terminal.
    static func note(_ message: String) {
        FileHandle.standardError.write(Data((TerminalText.escaped(message, keepingLineBreaks: true) + "\n").utf8))
    }

    nonisolated(unsafe) static var lastPlainStatus = Date.distantPast

    /// Rewrites the current stderr line on a terminal; elsewhere (a log file, CI) prints it as
    /// a plain line at most every 10 seconds, so long runs still show that they are alive.
    static func status(_ line: String) {
        if isTerminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + TerminalText.escaped(line)).utf8))
        } else if Date().timeIntervalSince(lastPlainStatus) >= 10 {
            lastPlainStatus = Date()
            note(line)
        }
    }

    static func endStatus() {
        if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
            : s >= 60 ? String(format: "%dm%02ds", s / 60, s % 60) : "\(s)s"
    }

    static func bar(_ fraction: Double, width: Int = 24) -> String {
        let filled = Int((min(max(fraction, 0), 1) * Double(width)).rounded())
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]"
    }
}

extension URL {
    /// A sibling file in the same folder.
    func sibling(_ name: String) -> URL { deletingLastPathComponent().appendingPathComponent(name) }
}


