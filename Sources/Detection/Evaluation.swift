import Siamese
import Backend
import FlowData
import Foundation
import Reporting

/// Scores of a labelled table and the metrics computed from them.
public struct EvaluationResult {
    /// Rows of the table that were scored (support flows found in the data are left out).
    public var rows: [Int]
    public var scores: [Float]
    public var labels: [Bool]
    public var scenarioNames: [String]
    public var report: EvaluationReport
    public var rocCurve: [ROCPoint]
    /// Rows skipped because they are the model's own support flows.
    public var supportRowsExcluded: Int
    public var seconds: Double

    /// Why a metric is undefined, one line each (empty when all are defined): the AUC needs both
    /// classes among the scored flows, the false-positive rate a benign one. Flows identical to the
    /// model's own training flows are left out, so the training data itself may leave no benign flow.
    public var undefinedMetrics: [String] {
        let benign = labels.filter { !$0 }.count, malicious = labels.count - benign
        let leftOut = supportRowsExcluded > 0
            ? " (\(supportRowsExcluded) flows identical to the model's own training flows were left out: evaluate on flows the "
              + "model was not trained on, or add --include-support)"
            : ""
        var out: [String] = []
        if benign == 0 || malicious == 0 {
            out.append("auc undefined: every scored flow is \(benign == 0 ? "malicious" : "benign"); it needs both classes" + (benign == 0 ? leftOut : ""))
        }
        if benign == 0 { out.append("false_positive_rate undefined: no benign flow was scored" + leftOut) }
        return out
    }
}

public enum Evaluation {
    /// Rows of `table` whose scaled features equal one of the model's own training flows, bit for
    /// bit: a support flow or shot, or (baseline recipe) a flow of its memory bank. A bank flow
    /// scores 0 against itself, so evaluating on the training data would flatter the model.
    public static func supportRows(of model: TrainedModel, in table: FlowTable, scaled: [Float]) -> Set<Int> {
        let f = model.support.featureCount
        var keys = Set<[UInt32]>()
        for i in 0..<model.support.count {
            keys.insert(model.support.features[i * f ..< (i + 1) * f].map(\.bitPattern))
        }
        if let bank = model.bank {
            for i in 0..<bank.count { keys.insert(bank.features[i * f ..< (i + 1) * f].map(\.bitPattern)) }
        }
        var out = Set<Int>()
        for r in 0..<table.rowCount where keys.contains(scaled[r * f ..< (r + 1) * f].map(\.bitPattern)) {
            out.insert(r)
        }
        return out
    }

    /// Scores every flow of `table` (except the model's own support flows unless
    /// `includeSupport`) and computes the metrics at the model's threshold.
    /// With `roles` (per table row), also reports per capture file the attack flows detected and the
    /// normal traffic flagged (`EvaluationReport.captures`).
    public static func run(detector: Detector, table: FlowTable, includeSupport: Bool = false,
                           roles: [FlowRole?]? = nil) throws -> EvaluationResult {
        let started = Date()
        let model = detector.model
        try model.scaler.checkCompatible(table)
        let scaled = model.scaler.scale(table)
        let excluded = includeSupport ? [] : supportRows(of: model, in: table, scaled: scaled)
        let rows = (0..<table.rowCount).filter { !excluded.contains($0) }
        guard !rows.isEmpty else { throw SiameseError.invalidData("no flows to evaluate") }
        let f = table.featureCount
        var picked = [Float]()
        picked.reserveCapacity(rows.count * f)
        for r in rows { picked.append(contentsOf: scaled[r * f ..< (r + 1) * f]) }
        let scores = try detector.scores(scaledRows: picked, count: rows.count)
        let labels = rows.map { table.isMalicious($0) }
        let names = rows.map { table.scenarioNames[$0] }
        var report = try EvaluationReport.make(scores: scores, labels: labels, scenarioNames: names, threshold: model.threshold)
        if let roles {
            let truth = CrossValidation.truth(table: table, roles: roles)
            let flagged = scores.map(detector.isMalicious)
            var byFile: [String: [Int]] = [:]
            for (i, r) in rows.enumerated() {
                let file = Int(table.rowFiles[r])
                byFile[file >= 0 && file < table.sourceFiles.count ? URL(fileURLWithPath: table.sourceFiles[file]).lastPathComponent : "<memory>",
                       default: []].append(i)
            }
            report.captures = try byFile.mapValues { members in
                try OperatorMetrics.make(scores: members.map { scores[$0] }, flagged: members.map { flagged[$0] },
                                         truth: members.map { truth[rows[$0]] })
            }
        }
        let curve = (try? BinaryMetrics(scores: scores, labels: labels))?.rocCurve ?? []
        return EvaluationResult(rows: rows, scores: scores, labels: labels, scenarioNames: names, report: report,
                                rocCurve: curve, supportRowsExcluded: excluded.count, seconds: Date().timeIntervalSince(started))
    }
}
