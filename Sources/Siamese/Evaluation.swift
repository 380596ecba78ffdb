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
}

public enum Evaluation {
    /// Rows of `table` whose scaled features equal a support flow of `model` (bit for bit).
    public static func supportRows(of model: TrainedModel, in table: FlowTable, scaled: [Float]) -> Set<Int> {
        let f = model.support.featureCount
        var keys = Set<[UInt32]>()
        for i in 0..<model.support.count {
            keys.insert(model.support.features[i * f ..< (i + 1) * f].map(\.bitPattern))
        }
        var out = Set<Int>()
        for r in 0..<table.rowCount where keys.contains(scaled[r * f ..< (r + 1) * f].map(\.bitPattern)) {
            out.insert(r)
        }
        return out
    }

    /// Scores every flow of `table` (except the model's own support flows unless
    /// `includeSupport`) and computes the metrics at the model's threshold.
    public static func run(detector: Detector, table: FlowTable, includeSupport: Bool = false) throws -> EvaluationResult {
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
        let report = try EvaluationReport.make(scores: scores, labels: labels, scenarioNames: names, threshold: model.threshold)
        let curve = (try? BinaryMetrics(scores: scores, labels: labels))?.rocCurve ?? []
        return EvaluationResult(rows: rows, scores: scores, labels: labels, scenarioNames: names, report: report,
                                rocCurve: curve, supportRowsExcluded: excluded.count, seconds: Date().timeIntervalSince(started))
    }
}

/// Leave-one-scenario-out cross-validation: the honest test of the few-shot claim.
public enum CrossValidation {
    public struct Fold {
        public var scenario: String
        public var seed: UInt64
        public var auc: Double?
        public var testFlows: Int
        public var seconds: Double
    }

    /// Benign rows split in half by position: the first half trains (scaler and supports),
    /// the second half is tested. For each malicious scenario, the supports' malicious flows
    /// come from the other scenarios and the test holds that scenario only.
    public static func folds(table: FlowTable) -> [(scenario: String, train: [Int], test: [Int])] {
        let benign = table.benignRows
        let half = benign.count / 2
        let benignTrain = Array(benign[..<half]), benignTest = Array(benign[half...])
        let scenarios = table.scenarios.filter { $0 != "benign" }
        return scenarios.map { s in
            let others = table.rows { table.isMalicious($0) && table.scenarioNames[$0] != s }
            let held = table.rows { table.isMalicious($0) && table.scenarioNames[$0] == s }
            return (s, benignTrain + others, benignTest + held)
        }
    }

    /// Trains and tests every fold for every seed; `progress` hears about each finished fold.
    public static func run(table: FlowTable, config: ModelConfig, options: TrainingOptions, seeds: [UInt64],
                           backend: Backend, progress: (Fold) -> Void = { _ in }) throws -> [Fold] {
        var out: [Fold] = []
        for (scenario, train, test) in folds(table: table) {
            for seed in seeds {
                let started = Date()
                var o = options
                o.seed = seed
                let available = train.filter { table.isMalicious($0) }.count
                o.maliciousShots = min(o.maliciousShots, available)
                guard o.maliciousShots >= 1 else {
                    throw SiameseError.invalidData("crossval needs at least two malicious scenarios")
                }
                let model = try Trainer(backend: backend, config: config, options: o).train(table: table, rows: train)
                let detector = try Detector(model: model, backend: backend)
                let scores = try detector.scores(table.subset(test))
                let labels = test.map { table.isMalicious($0) }
                let auc = try BinaryMetrics(scores: scores, labels: labels).rocAUC
                let fold = Fold(scenario: scenario, seed: seed, auc: auc, testFlows: test.count,
                                seconds: Date().timeIntervalSince(started))
                progress(fold)
                out.append(fold)
            }
        }
        return out
    }
}
