// Plain-text tables for the terminal, and summaries of repeated measurements (crossval seeds).
import Common
import Foundation

/// Mean and spread of repeated measurements, such as one scenario's AUC over several seeds.
/// Non-finite values (an undefined AUC) are left out and counted in `undefined`.
public struct SampleSummary: Equatable, Sendable {
    public var count: Int
    public var undefined: Int
    /// Arithmetic mean; NaN when no value is finite.
    public var mean: Double
    /// Sample standard deviation (n - 1 denominator); 0 for a single value, NaN for none.
    public var standardDeviation: Double
    public var min: Double
    public var max: Double

    public init(_ values: [Double?]) {
        let finite = values.compactMap { $0 }.filter(\.isFinite)
        count = finite.count
        undefined = values.count - finite.count
        guard !finite.isEmpty else {
            (mean, standardDeviation, min, max) = (.nan, .nan, .nan, .nan)
            return
        }
        let m = finite.reduce(0, +) / Double(finite.count)
        mean = m
        standardDeviation = finite.count < 2 ? 0
            : (finite.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(finite.count - 1)).squareRoot()
        min = finite.min() ?? .nan
        max = finite.max() ?? .nan
    }
}

/// Column-aligned text: the first column left-aligned, the others right-aligned (numbers).
public enum TextTable {
    /// Cells quote input (scenario names come from labels and file names): their control
    /// characters are escaped (TerminalText), so a table on a terminal is only text.
    public static func render(header: [String], rows: [[String]]) -> String {
        let all = ([header] + rows).map { $0.map { TerminalText.escaped($0) } }
        let header = all[0], rows = Array(all.dropFirst())
        let columns = all.map(\.count).max() ?? 0
        let widths = (0..<columns).map { c in all.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            (0..<columns).map { c -> String in
                let cell = c < cells.count ? cells[c] : ""
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return c == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n") + "\n"
    }
}

extension EvaluationReport {
    /// The metrics and the per-scenario table as `gpu-train evaluate` prints them.
    public var textSummary: String {
        func f(_ v: Double?) -> String { v.map { $0.isFinite ? String(format: "%.4f", $0) : "undefined" } ?? "undefined" }
        let metrics = TextTable.render(header: ["metric", "value"], rows: [
            ["flows", String(flows)], ["auc", f(auc)], ["pr_auc", f(prAUC)],
            ["threshold", threshold.isFinite ? String(format: "%.6g", threshold) : "undefined"],
            ["precision", f(precision)], ["recall", f(recall)], ["f1", f(f1)], ["accuracy", f(accuracy)],
            ["false_positive_rate", f(confusion.fp + confusion.tn > 0 ? falsePositiveRate : nil)],
            ["tp / fp / tn / fn", "\(confusion.tp) / \(confusion.fp) / \(confusion.tn) / \(confusion.fn)"],
        ])
        var out = metrics
        if !scenarios.isEmpty {
            let rows = scenarios.keys.sorted().compactMap { name -> [String]? in
                guard let s = scenarios[name] else { return nil }
                return [name, String(s.flows), String(s.detected), String(format: "%.1f%%", 100 * s.detectionRate), f(s.auc)]
            }
            out += "\n" + TextTable.render(header: ["scenario", "flows", "detected", "rate", "auc"], rows: rows)
        }
        if let captures, !captures.isEmpty {
            out += "\nper capture, by the flows' roles (what an operator lives with):\n"
                + TextTable.render(header: OperatorMetrics.tableHeader,
                                   rows: captures.keys.sorted().compactMap { name in captures[name]?.tableRow(name) })
        }
        return out
    }
}
