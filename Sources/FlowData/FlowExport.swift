import Common
import Foundation

/// What `FlowExport.write` wrote.
public struct FlowExportSummary: Sendable {
    public var rows: Int
    public var benignImages: Int
    public var maliciousImages: Int
    public var files: [String]
}

/// `gpu-train convert` as a library call: scaled flow images as PNGs, a montage and `.npy` files.
///
/// Layout under the output folder:
/// - `benign/image_<k>.png`, `malicious/image_<k>.png`: up to `count` images per class, each
///   pixel upscaled `factor` x `factor`; gray = z clamped to [-3, 3] mapped linearly onto 0...255
///   (black z <= -3, mid-gray z = 0, white z >= +3; see `FlowImage.gray`). Malicious examples are
///   taken round-robin over scenarios, benign ones evenly spaced through the input.
/// - `montage.png`: a row of the benign examples over a row of the malicious ones.
/// - `images.npy` float32 [N, 1, 32, 32] (every row, z-scores), `labels.npy` int64 [N] (0 benign,
///   1 malicious), `scenario_ids.npy` int64 [N] (the Label value), `scenarios.txt` (one line per row:
///   scenario name, with `\`, line feed and carriage return written `\\`, `\n`, `\r`; see
///   `lineEscape`), `examples.csv` (RFC 4180: which rows the PNGs show and where they came from),
///   `scaler.json` (the scaler used: fitted on every benign row of the input).
public enum FlowExport {
    /// Every file `write` may put under its folder with `count` images per class (a command
    /// checks them against its inputs before it reads anything).
    public static func fileNames(count: Int) -> [String] {
        ["benign", "malicious"].flatMap { kind in (0..<count).map { "\(kind)/image_\($0 + 1).png" } } +
            ["montage.png", "images.npy", "labels.npy", "scenario_ids.npy", "scenarios.txt", "examples.csv", "scaler.json"]
    }

    public static func write(table: FlowTable, to dir: URL, count: Int = 10, transform: FeatureTransform = .none,
                             factor: Int = 8) throws -> FlowExportSummary {
        let scaler = try Scaler.fit(table, rows: table.benignRows, transform: transform)
        let scaled = scaler.scale(table)
        let images = FlowImage.renderAll(scaled, featureCount: table.featureCount)
        func image(_ row: Int) -> ArraySlice<Float> {
            images[row * FlowImage.pixelCount ..< (row + 1) * FlowImage.pixelCount]
        }
        var files: [String] = []
        func put(_ bytes: [UInt8], _ name: String) throws {
            try AtomicFile.write(bytes, to: dir.appendingPathComponent(name))
            files.append(name)
        }

        let benign = evenlySpaced(table.benignRows, count)
        let malicious = roundRobin(table, count)
        var examples = "file,row,label,scenario,source\n"
        for (kind, rows) in [("benign", benign), ("malicious", malicious)] {
            for (k, row) in rows.enumerated() {
                let name = "\(kind)/image_\(k + 1).png"
                let side = FlowImage.side * factor
                try put(PNG.encodeGray(width: side, height: side, pixels: FlowImage.grayPixels(image(row), factor: factor)), name)
                examples += "\(name),\(row),\(table.labels[row]),\(CSVText.textField(table.scenarioNames[row])),\(CSVText.textField(table.location(ofRow: row)))\n"
            }
        }
        let m = FlowImage.montage([benign.map(image), malicious.map(image)], factor: max(1, factor / 2))
        try put(PNG.encodeGray(width: m.width, height: m.height, pixels: m.pixels), "montage.png")

        let n = table.rowCount
        try put(NPY.encode(float32: images, shape: [n, 1, FlowImage.side, FlowImage.side]), "images.npy")
        try put(NPY.encode(int64: table.labels.map { $0 == 0 ? 0 : 1 }, shape: [n]), "labels.npy")
        try put(NPY.encode(int64: table.labels.map(Int64.init), shape: [n]), "scenario_ids.npy")
        try put(Array((table.scenarioNames.map(lineEscape).joined(separator: "\n") + "\n").utf8), "scenarios.txt")
        try put(Array(examples.utf8), "examples.csv")
        try put(Array(try scaler.jsonData()), "scaler.json")
        return FlowExportSummary(rows: n, benignImages: benign.count, maliciousImages: malicious.count, files: files)
    }

    /// Up to `count` of `rows`, evenly spaced, in order.
    static func evenlySpaced(_ rows: [Int], _ count: Int) -> [Int] {
        guard rows.count > count else { return rows }
        guard count > 0 else { return [] }
        return (0..<count).map { rows[$0 * rows.count / count] }
    }

    /// Up to `count` malicious rows taken in turn from each scenario (sorted by name), each
    /// scenario's rows evenly spaced.
    static func roundRobin(_ table: FlowTable, _ count: Int) -> [Int] {
        var byScenario: [String: [Int]] = [:]
        for r in table.maliciousRows { byScenario[table.scenarioNames[r], default: []].append(r) }
        let names = byScenario.keys.sorted()
        let total = byScenario.values.reduce(0) { $0 + $1.count }
        let target = min(count, total)
        var taken = [String: Int]()
        var picked: [Int] = []
        while picked.count < target {
            for name in names where picked.count < target {
                let rows = byScenario[name]!
                let k = taken[name, default: 0]
                guard k < rows.count else { continue }
                taken[name] = k + 1
                picked.append(rows[k])
            }
        }
        // Spread each scenario's picks through its rows instead of taking its first ones.
        var result: [Int] = []
        var index = [String: Int]()
        for r in picked {
            let name = table.scenarioNames[r]
            let rows = byScenario[name]!, n = taken[name]!, k = index[name, default: 0]
            index[name] = k + 1
            result.append(rows[k * rows.count / n])
        }
        return result
    }

    /// A CSV field as RFC 4180 writes it: quoted when it holds a comma, a quote or a line
    /// break (scenario names and paths come from file names, which may hold any of them),
    /// with each quote doubled.
    static func csvQuote(_ s: String) -> String { CSVText.quoted(s) }

    /// A name on one line of `scenarios.txt`, so line k stays row k of the arrays whatever the
    /// file names hold: a backslash becomes `\\`, a line feed `\n`, a carriage return `\r`
    /// (any other line break `\u{XXXX}`); everything else is written as it is.
    static func lineEscape(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\u{0B}", "\u{0C}", "\u{85}", "\u{2028}", "\u{2029}":
                out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
