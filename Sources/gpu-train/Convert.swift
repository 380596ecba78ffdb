import ArgumentParser
import Common
import FlowData
import Foundation

/// `gpu-train convert`: flow CSVs to viewable PNG images and NumPy arrays.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn CICFlowMeter flow CSVs into 32x32 images: PNGs per class, a montage and .npy arrays.",
        discussion: """
        Scales each feature with --transform fitted on the benign rows of --data, tiles the F values
        over 32x32 pixels (pixel k = value[k mod F]) and writes, under --out: benign/image_N.png and
        malicious/image_N.png (upscaled; gray = z clamped to [-3, 3] mapped onto 0..255, mid-gray = 0),
        montage.png (benign row over malicious row), images.npy float32 [N,1,32,32], labels.npy int64
        [N] (0/1), scenario_ids.npy int64 [N] (the Label value), scenarios.txt, examples.csv, scaler.json.
        scenarios.txt holds one line per row of the arrays: scenario names come from file names, so a
        backslash, line feed or carriage return in one is written \\\\, \\n or \\r. examples.csv is
        RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.
        """)

    @Option(name: .long, help: "A flow CSV file, or a folder searched recursively for *.csv.")
    var data: String

    @Option(name: .long, help: "Output folder.")
    var out: String

    @Option(name: .long, parsing: .unconditional, help: "PNG images per class.")
    var count: Int = 10

    @Option(name: .long, help: "Transform fitted on the benign rows: none (z-score), log (signed log1p, then z-score) or quantile (baseline quantiles to a standard normal).")
    var transform: FeatureTransform = .none

    @Option(name: .long, help: "Feature columns: a comma-separated list, or a file with one name per line.")
    var features: String?

    @Option(name: .long, parsing: .unconditional, help: "PNG upscale factor (1...64).")
    var scale: Int = 8

    @Flag(name: .long, help: "Skip rows with a wrong field count or a non-numeric value, and report them.")
    var skipBadRows = false

    func validate() throws {
        guard count >= 0 else { throw ValidationError("--count must be 0 or more") }
        guard (1...64).contains(scale) else { throw ValidationError("--scale must be between 1 and 64") }
    }

    func run() throws {
        try refuseOverwritingInputs()
        var options = FlowLoadOptions(skipBadRows: skipBadRows)
        if let features { options.features = try FeatureSet.parse(features) }
        let table = try FlowLoader.load(URL(fileURLWithPath: data), options: options)
        if !table.report.badRowSummary.isEmpty { Console.note(table.report.badRowSummary) }
        let summary = try FlowExport.write(table: table, to: URL(fileURLWithPath: out), count: count,
                                           transform: transform, factor: scale)
        let counts = table.scenarioCounts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print(TerminalText.escaped("read \(table.rowCount) flows from \(table.report.filesRead) files (\(counts))"))
        print("wrote \(summary.benignImages) benign and \(summary.maliciousImages) malicious PNGs, montage.png and images.npy [\(summary.rows), 1, 32, 32] to \(out)")
    }
}
