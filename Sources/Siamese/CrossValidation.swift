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
        /// The left-out scenario's flows split by whether their endpoints (source address,
        /// destination address and port) occur among the baseline's benign flows, each part scored
        /// against the same later benign flows; nil when the files have no endpoint columns.
        public var endpointSplit: EndpointSplit?
    }

    /// AUC of an attack capture's flows to endpoints the baseline never saw (where an attack's own
    /// traffic is: the reverse shell's server, the scanned ports, the exploited new service) and to
    /// endpoints it did see (mostly the cluster's background traffic, captured alongside the attack
    /// and labelled with it). Addresses only sort flows here; they are never a feature.
    public struct EndpointSplit: Sendable, Equatable {
        public var newEndpointAUC: Double?
        public var newEndpointFlows: Int
        /// Fraction of the new-endpoint flows flagged at the model's threshold (0 when there are none).
        public var newEndpointDetectionRate: Double
        public var knownEndpointAUC: Double?
        public var knownEndpointFlows: Int
        public var knownEndpointDetectionRate: Double
    }

    /// The split of `EndpointSplit` for one fold: `scores[i]`, `labels[i]` and `flagged[i]` belong
    /// to row `test[i]`; `baselineEndpoints` are the endpoints of the baseline's benign rows.
    public static func endpointSplit(scores: [Float], labels: [Bool], flagged: [Bool], test: [Int], endpoints: [String],
                                     baselineEndpoints: Set<String>) throws -> EndpointSplit {
        var benign: [Float] = [], new: [Float] = [], known: [Float] = []
        var newFlagged = 0, knownFlagged = 0
        for (i, row) in test.enumerated() {
            if !labels[i] { benign.append(scores[i]) } else if baselineEndpoints.contains(endpoints[row]) {
                known.append(scores[i]); if flagged[i] { knownFlagged += 1 }
            } else { new.append(scores[i]); if flagged[i] { newFlagged += 1 } }
        }
        func auc(_ attacks: [Float]) throws -> Double? {
            guard !attacks.isEmpty, !benign.isEmpty else { return nil }
            return try BinaryMetrics(scores: benign + attacks,
                                     labels: [Bool](repeating: false, count: benign.count) + [Bool](repeating: true, count: attacks.count)).rocAUC
        }
        return EndpointSplit(newEndpointAUC: try auc(new), newEndpointFlows: new.count,
                             newEndpointDetectionRate: Double(newFlagged) / Double(max(new.count, 1)),
                             knownEndpointAUC: try auc(known), knownEndpointFlows: known.count,
                             knownEndpointDetectionRate: Double(knownFlagged) / Double(max(known.count, 1)))
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
            let baselineEndpoints = table.endpoints.map { e in Set(train.filter { table.labels[$0] == 0 }.map { e[$0] }) }
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
                    let flags = scores.map(detector.isMalicious)
                    for (flagged, malicious) in zip(flags, labels) {
                        if malicious { attackCount += 1; if flagged { flaggedAttack += 1 } } else {
                            benignCount += 1; if flagged { flaggedBenign += 1 }
                        }
                    }
                    var split: EndpointSplit?
                    if let endpoints = table.endpoints, let baselineEndpoints {
                        split = try endpointSplit(scores: scores, labels: labels, flagged: flags, test: test, endpoints: endpoints,
                                                  baselineEndpoints: baselineEndpoints)
                    }
                    let fold = Fold(scenario: scenario, encoder: encoder, seed: seed, auc: auc,
                                    falsePositiveRate: Double(flaggedBenign) / Double(max(benignCount, 1)),
                                    detectionRate: Double(flaggedAttack) / Double(max(attackCount, 1)),
                                    testFlows: test.count, seconds: Date().timeIntervalSince(started), endpointSplit: split)
                    progress(fold)
                    out.append(fold)
                }
            }
        }
        return out
    }
}
