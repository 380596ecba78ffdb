import Backend
import FlowData
import Foundation
import Reporting

/// Leave-one-scenario-out cross-validation: the honest test of a detector on attacks it has
/// never seen and benign traffic later than its baseline.
public enum CrossValidation {
    public struct Fold: Sendable {
        public var scenario: String
        public var encoder: EncoderKind?
        public var seed: UInt64
        public var auc: Double?
        /// Fraction of the held-out (later) benign flows flagged at the model's threshold.
        public var falsePositiveRate: Double
        /// Fraction of the left-out scenario's flows flagged.
        public var detectionRate: Double
        public var testFlows: Int
        public var seconds: Double
    }

    /// Benign rows in file order (CICFlowMeter writes flows in time order): the earliest
    /// `baselineFraction` train (scaler, bank, supports), the rest are tested. For each malicious
    /// scenario, the labelled attacks come from the other scenarios and the test holds that
    /// scenario only.
    public static func folds(table: FlowTable, baselineFraction: Double = 0.8) -> [(scenario: String, train: [Int], test: [Int])] {
        let benign = table.benignRows
        let cut = min(benign.count, max(0, Int((Double(benign.count) * baselineFraction).rounded())))
        let benignTrain = Array(benign[..<cut]), benignTest = Array(benign[cut...])
        let scenarios = table.scenarios.filter { $0 != "benign" }
        return scenarios.map { s in
            let others = table.rows { table.isMalicious($0) && table.scenarioNames[$0] != s }
            let held = table.rows { table.isMalicious($0) && table.scenarioNames[$0] == s }
            return (s, benignTrain + others, benignTest + held)
        }
    }

    /// Whether a scenario is reconnaissance (port scans), which every distance-based detector
    /// finds easily; summaries report the mean without it too.
    public static func isReconnaissance(_ scenario: String) -> Bool {
        let s = scenario.lowercased()
        return s.contains("reconnaissance") || s.contains("portscan") || s.contains("port-scan")
    }

    /// Trains and tests every fold for every seed (and, for the baseline recipe, every encoder in
    /// `encoders`); `progress` hears about each finished fold.
    public static func run(table: FlowTable, config: ModelConfig, options: TrainingOptions, seeds: [UInt64],
                           encoders: [EncoderKind] = [], baselineFraction: Double = 0.8, backend: Backend,
                           progress: (Fold) -> Void = { _ in }) throws -> [Fold] {
        guard (0..<1).contains(baselineFraction), baselineFraction > 0 else {
            throw SiameseError.invalidConfiguration("--baseline-fraction must be in (0, 1), got \(baselineFraction)")
        }
        let runs: [EncoderKind?] = options.recipe == .baseline ? (encoders.isEmpty ? [options.encoder] : encoders) : [nil]
        var out: [Fold] = []
        let allFolds = folds(table: table, baselineFraction: baselineFraction)
        guard allFolds.count >= 2 || (options.recipe == .baseline && options.maliciousShots == 0 && !allFolds.isEmpty) else {
            throw SiameseError.invalidData("crossval needs at least two malicious scenarios (found \(allFolds.count))")
        }
        for (scenario, train, test) in allFolds {
            for encoder in runs {
                for seed in seeds {
                    let started = Date()
                    var o = options
                    o.seed = seed
                    if let encoder { o.encoder = encoder }
                    let available = train.filter { table.isMalicious($0) }.count
                    o.maliciousShots = min(o.maliciousShots, available)
                    let model = try Trainer(backend: backend, config: config, options: o).train(table: table, rows: train)
                    let detector = try Detector(model: model, backend: backend)
                    let scores = try detector.scores(table.subset(test))
                    let labels = test.map { table.isMalicious($0) }
                    let auc = try BinaryMetrics(scores: scores, labels: labels).rocAUC
                    var flaggedBenign = 0, benignCount = 0, flaggedAttack = 0, attackCount = 0
                    for (score, malicious) in zip(scores, labels) {
                        let flagged = detector.isMalicious(score)
                        if malicious { attackCount += 1; if flagged { flaggedAttack += 1 } } else {
                            benignCount += 1; if flagged { flaggedBenign += 1 }
                        }
                    }
                    let fold = Fold(scenario: scenario, encoder: encoder, seed: seed, auc: auc,
                                    falsePositiveRate: Double(flaggedBenign) / Double(max(benignCount, 1)),
                                    detectionRate: Double(flaggedAttack) / Double(max(attackCount, 1)),
                                    testFlows: test.count, seconds: Date().timeIntervalSince(started))
                    progress(fold)
                    out.append(fold)
                }
            }
        }
        return out
    }
}
