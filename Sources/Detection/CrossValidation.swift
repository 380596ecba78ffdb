import Siamese
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
        /// With per-flow roles: the setup, what the operator lives with, and the model's threshold.
        public var setup: Setup?
        public var roles: RoleMetrics?
        public var threshold: Double?
        public var calibration: Calibration?
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

    /// What a fold's baseline holds.
    public enum Setup: String, Sendable, CaseIterable {
        /// The earliest benign flows only: one capture of normal traffic.
        case oneCapture = "one-capture"
        /// The earliest benign flows plus the background flows of every other attack capture (by
        /// the roles file), each capture its own period: what an operator's several days would be.
        case multiPeriod = "multi-period"
    }

    /// One fold: what trains, what is tested, which rows count as benign for training although
    /// labelled as attack (other captures' background in the multi-period setup) and the periods.
    public struct Plan: Sendable {
        public var scenario: String
        public var train: [Int]
        public var test: [Int]
        public var relabelledBenign: [Int]
        public var periods: BaselinePeriods
    }

    /// Benign rows in file order (CICFlowMeter writes flows in time order): the earliest
    /// `baselineFraction` train (scaler, bank, supports), the rest are tested. For each malicious
    /// scenario, the labelled attacks come from the other scenarios and the test holds that
    /// scenario only. With `roles`, only flows whose role is `attack` serve as labelled attacks,
    /// and the multi-period setup adds the other scenarios' `background` flows to the baseline,
    /// each scenario a period of its own (the benign flows are one more).
    public static func plans(table: FlowTable, baselineFraction: Double = 0.8, roles: [FlowRole?]? = nil,
                             setup: Setup = .oneCapture) -> [Plan] {
        let benign = table.benignRows
        let cut = min(benign.count, max(0, Int((Double(benign.count) * baselineFraction).rounded())))
        let benignTrain = Array(benign[..<cut]), benignTest = Array(benign[cut...])
        let scenarios = table.scenarios.filter { $0 != "benign" }
        var periodNames = ["benign (earliest \(Int((baselineFraction * 100).rounded()))%)"]
        var periodOfScenario: [String: Int] = [:]
        for s in scenarios { periodOfScenario[s] = periodNames.count; periodNames.append("\(s) background") }
        return scenarios.map { s in
            let others = table.rows { table.isMalicious($0) && table.scenarioNames[$0] != s }
            let held = table.rows { table.isMalicious($0) && table.scenarioNames[$0] == s }
            var shots = others, background: [Int] = []
            if let roles {
                shots = others.filter { roles[$0] != .background }
                if setup == .multiPeriod { background = others.filter { roles[$0] == .background } }
            }
            var ofRow = [Int](repeating: -1, count: table.rowCount)
            for r in benignTrain { ofRow[r] = 0 }
            for r in background { ofRow[r] = periodOfScenario[table.scenarioNames[r]] ?? -1 }
            return Plan(scenario: s, train: benignTrain + background + shots, test: benignTest + held, relabelledBenign: background,
                        periods: BaselinePeriods(ofRow: ofRow, names: periodNames))
        }
    }

    /// `plans` as (scenario, train, test), the one-capture setup without roles.
    public static func folds(table: FlowTable, baselineFraction: Double = 0.8) -> [(scenario: String, train: [Int], test: [Int])] {
        plans(table: table, baselineFraction: baselineFraction).map { ($0.scenario, $0.train, $0.test) }
    }

    /// What an operator lives with, per fold, from per-flow roles: the attack's own flows found,
    /// and normal traffic (the capture's background, the later benign flows) flagged.
    public struct RoleMetrics: Sendable, Equatable {
        /// Attack and background flows of the left-out capture; `benign` are the later benign flows.
        public var counts = OperatorMetrics()
        /// Incidents (`IncidentGrouper`) the flagged later benign flows make, and the hours those
        /// flows span (from their timestamps; nil without them).
        public var laterBenignIncidents = 0
        public var laterBenignHours: Double?
        /// Incidents the flagged background flows make.
        public var backgroundIncidents = 0

        public init() {}

        public var detectionRate: Double? { counts.detectionRate }
        public var backgroundFlaggedRate: Double? { counts.backgroundFlaggedRate }
        public var laterBenignFlaggedRate: Double? { counts.benignFlaggedRate }
        public var attackVsBackgroundAUC: Double? { counts.attackVsBackgroundAUC }
        /// Incidents per hour of later benign traffic.
        public var laterBenignIncidentsPerHour: Double? {
            guard let h = laterBenignHours, h > 0 else { return nil }
            return Double(laterBenignIncidents) / h
        }
    }

    /// Per-row truth for operator metrics: benign by label, else the row's role.
    public static func truth(table: FlowTable, roles: [FlowRole?]) -> [FlowTruth?] {
        (0..<table.rowCount).map { r in
            if table.labels[r] == 0 { return .benign }
            switch roles[r] { case .attack?: return .attack; case .background?: return .background; case nil: return nil }
        }
    }

    /// `RoleMetrics` of one fold: `scores[i]` and `flagged[i]` belong to row `test[i]`.
    public static func roleMetrics(table: FlowTable, roles: [FlowRole?], test: [Int], scores: [Float], flagged: [Bool],
                                   incidentWindow: Double = IncidentGrouper.defaultWindow) throws -> RoleMetrics {
        let all = truth(table: table, roles: roles)
        var m = RoleMetrics()
        m.counts = try OperatorMetrics.make(scores: scores, flagged: flagged, truth: test.map { all[$0] })
        var later: [(endpoint: String, time: Double, score: Float, row: Int)] = [], background = later
        var laterTimes: [Double] = []
        for (i, row) in test.enumerated() {
            let time = table.timestamps?[row] ?? .nan
            let flow = (table.endpoints?[row] ?? "row\(row)>?:?", time, scores[i], row)
            if all[row] == .benign, time.isFinite { laterTimes.append(time) }
            guard flagged[i] else { continue }
            if all[row] == .benign { later.append(flow) } else if all[row] == .background { background.append(flow) }
        }
        m.laterBenignIncidents = IncidentGrouper.group(later, window: incidentWindow).count
        m.backgroundIncidents = IncidentGrouper.group(background, window: incidentWindow).count
        if let first = laterTimes.min(), let last = laterTimes.max(), last > first { m.laterBenignHours = (last - first) / 3600 }
        return m
    }

    /// The seeds worth running: with no encoder and the fpr rule nothing a seed draws (the shots)
    /// enters the score or the threshold, so every seed gives the same fold and one is run.
    public static func seedsThatDiffer(_ seeds: [UInt64], options: TrainingOptions, encoder: EncoderKind?) -> [UInt64] {
        let e = encoder ?? options.encoder
        return options.recipe == .baseline && e == .none && options.thresholdRule == .fpr ? Array(seeds.prefix(1)) : seeds
    }

    /// Whether a scenario is reconnaissance (port scans), which every distance-based detector
    /// finds easily; summaries report the mean without it too.
    public static func isReconnaissance(_ scenario: String) -> Bool {
        let s = scenario.lowercased()
        return s.contains("reconnaissance") || s.contains("portscan") || s.contains("port-scan")
    }

    /// Trains and tests every fold for every seed (and, for the baseline recipe, every encoder in
    /// `encoders`, and with `roles` every setup in `setups`); `progress` hears about each finished fold.
    public static func run(table: FlowTable, config: ModelConfig, options: TrainingOptions, seeds: [UInt64],
                           encoders: [EncoderKind] = [], baselineFraction: Double = 0.8, roles: [FlowRole?]? = nil,
                           setups: [Setup] = [.oneCapture], incidentWindow: Double = IncidentGrouper.defaultWindow, backend: Backend,
                           progress: (Fold) -> Void = { _ in }) throws -> [Fold] {
        guard baselineFraction.isFinite, baselineFraction > 0, baselineFraction < 1 else {
            throw SiameseError.invalidConfiguration("--baseline-fraction must be in (0, 1), got \(baselineFraction)")
        }
        let runs: [EncoderKind?] = options.recipe == .baseline ? (encoders.isEmpty ? [options.encoder] : encoders) : [nil]
        let setupList: [Setup] = roles == nil ? [.oneCapture] : setups
        var out: [Fold] = []
        for setup in setupList {
            let allPlans = plans(table: table, baselineFraction: baselineFraction, roles: roles, setup: setup)
            guard allPlans.count >= 2 || (options.recipe == .baseline && options.maliciousShots == 0 && !allPlans.isEmpty) else {
                throw SiameseError.invalidData("crossval needs at least two malicious scenarios (found \(allPlans.count))")
            }
            for plan in allPlans {
                var foldTable = table
                for r in plan.relabelledBenign { foldTable.labels[r] = 0 }
                let baselineEndpoints = table.endpoints.map { e in Set(plan.train.filter { foldTable.labels[$0] == 0 }.map { e[$0] }) }
                for encoder in runs {
                    for seed in seedsThatDiffer(seeds, options: options, encoder: encoder) {
                        let started = Date()
                        var o = options
                        o.seed = seed
                        if let encoder { o.encoder = encoder }
                        let available = plan.train.filter { foldTable.isMalicious($0) }.count
                        o.maliciousShots = min(o.maliciousShots, available)
                        let model = try Trainer(backend: backend, config: config, options: o)
                            .train(table: foldTable, rows: plan.train, periods: plan.periods)
                        let detector = try Detector(model: model, backend: backend)
                        let scores = try detector.scores(table.subset(plan.test))
                        let labels = plan.test.map { table.isMalicious($0) }
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
                            split = try endpointSplit(scores: scores, labels: labels, flagged: flags, test: plan.test, endpoints: endpoints,
                                                      baselineEndpoints: baselineEndpoints)
                        }
                        var fold = Fold(scenario: plan.scenario, encoder: encoder, seed: seed, auc: auc,
                                        falsePositiveRate: Double(flaggedBenign) / Double(max(benignCount, 1)),
                                        detectionRate: Double(flaggedAttack) / Double(max(attackCount, 1)),
                                        testFlows: plan.test.count, seconds: Date().timeIntervalSince(started), endpointSplit: split)
                        if let roles {
                            fold.setup = setup
                            fold.roles = try roleMetrics(table: table, roles: roles, test: plan.test, scores: scores, flagged: flags,
                                                         incidentWindow: incidentWindow)
                            fold.threshold = model.threshold
                            fold.calibration = model.calibration
                        }
                        progress(fold)
                        out.append(fold)
                    }
                }
            }
        }
        return out
    }
}
