import ArgumentParser
import Backend
import Common
import FlowData
import Foundation
import Reporting
import Detection
import Siamese

/// `gpu-train crossval`: leave-one-scenario-out.
struct Crossval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Leave-one-scenario-out: train without each attack scenario, test on it and on later benign flows, over several seeds.")

    @OptionGroup var dataOptions: DataOptions
    @Option(parsing: .unconditional, help: "How many seeds per left-out scenario (seeds 1...N).") var seeds = 3
    @Option(parsing: .unconditional, help: "Fraction of the benign flows, earliest first in file order, that forms the baseline; the rest is tested.")
    var baselineFraction = 0.8
    @Option(help: "Baseline recipe: encoders to compare, comma-separated: none (the default), siamese (trains a CNN per fold: minutes each on a CPU); the first is the headline.")
    var encoders: String = "none"
    @Option(help: "Write every fold and the summary as JSON to this file (keys documented in the README).") var json: String?
    @Option(help: "Per-flow roles of the attack captures (CSV: file,row,role with role attack or background). Reports attack flows detected and normal traffic flagged per capture, for the one-capture and the multi-period baseline.")
    var flowRoles: String?
    @Option(help: "With --flow-roles: the baseline setups, comma-separated: multi-period (the earliest benign flows plus the other captures' background, each capture a period; the headline) and one-capture (the earliest benign flows only).")
    var setups: String = "multi-period,one-capture"
    @Option(help: "Seconds of quiet that close an incident (flagged flows grouped by source and destination host).")
    var incidentWindow = IncidentGrouper.defaultWindow
    @OptionGroup var model: ModelOptions
    @OptionGroup var backendOptions: BackendOptions

    func run() throws {
        guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1") }
        try refuseOverwritingInputs()
        let encoderList = try encoders.split(separator: ",").map { name -> EncoderKind in
            guard let e = EncoderKind(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--encoders: '\(name)' is not none or siamese")
            }
            return e
        }
        guard !encoderList.isEmpty else { throw ValidationError("--encoders needs at least one of none, siamese") }
        guard incidentWindow.isFinite, incidentWindow > 0 else { throw ValidationError("--incident-window must be a positive number of seconds") }
        let setupList = try setups.split(separator: ",").map { name -> CrossValidation.Setup in
            guard let s = CrossValidation.Setup(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--setups: '\(name)' is not multi-period or one-capture")
            }
            return s
        }
        guard !setupList.isEmpty else { throw ValidationError("--setups needs at least one of multi-period, one-capture") }
        let table = try dataOptions.load(features: try model.featureList(data: [dataOptions.data]), readEndpoints: true)
        try checkBaselineSize(table)
        var roles: [FlowRole?]?
        if let flowRoles {
            let file = try FlowRoles.read(URL(fileURLWithPath: flowRoles))
            let perRow = file.roles(for: table)
            let malicious = table.maliciousRows
            let covered = malicious.filter { perRow[$0] != nil }.count
            let attacks = malicious.filter { perRow[$0] == .attack }.count
            Console.note("flow roles: \(file.count) flows in \(flowRoles); \(covered) of \(malicious.count) attack-capture flows have one "
                         + "(\(attacks) attack, \(covered - attacks) background)")
            if covered == 0 {
                throw ValidationError("--flow-roles \(flowRoles) names none of the attack-capture files in \(dataOptions.data) (by file name and row)")
            }
            if covered < malicious.count {
                Console.note("warning: \(malicious.count - covered) attack-capture flows have no role; they count as neither attack nor background")
            }
            roles = perRow
        }
        if table.endpoints == nil {
            Console.note("no Src IP, Dst IP and Dst Port columns in every file: no split by new and known endpoints")
        }
        let backend = try backendOptions.make()
        let config = try model.modelConfig()
        let options = try model.trainingOptions()
        let runs = options.recipe == .baseline ? encoderList.count : 1
        let folds = CrossValidation.folds(table: table, baselineFraction: baselineFraction)
        let setupRuns = roles == nil ? 1 : setupList.count
        Console.note("\(folds.count) scenarios x \(seeds) seeds" + (runs > 1 ? " x \(runs) encoders" : "") +
                     (setupRuns > 1 ? " x \(setupRuns) setups" : "") +
                     String(format: "; benign flows split in file order: earliest %.0f%% baseline, the rest tested", baselineFraction * 100))
        let started = Date()
        var done = 0
        let seedList = (1...seeds).map { UInt64($0) }
        let runsPerFold = (options.recipe == .baseline ? encoderList : [options.encoder]).map {
            CrossValidation.seedsThatDiffer(seedList, options: options, encoder: $0).count
        }.reduce(0, +)
        if seeds > 1, options.recipe == .baseline, encoderList.contains(.none), options.thresholdRule == .fpr {
            Console.note("encoder none: one seed is run, since with the fpr rule no seeded draw enters its scores or threshold")
        }
        let total = folds.count * runsPerFold * setupRuns
        let results = try CrossValidation.run(table: table, config: config, options: options, seeds: seedList,
                                              encoders: options.recipe == .baseline ? encoderList : [],
                                              baselineFraction: baselineFraction, roles: roles, setups: setupList,
                                              incidentWindow: incidentWindow, backend: backend) { fold in
            done += 1
            let elapsed = Date().timeIntervalSince(started)
            Console.note(String(format: "[%d/%d] %@%@%@ seed %d: AUC %@, benign flagged %.3f, attack flagged %.3f on %d flows (%.1f s, ETA %@)",
                                done, total, fold.setup.map { "\($0.rawValue) " } ?? "", fold.scenario,
                                fold.encoder.map { " (\($0.rawValue))" } ?? "", Int(fold.seed),
                                fold.auc.map { String(format: "%.4f", $0) } ?? "undefined", fold.falsePositiveRate, fold.detectionRate,
                                fold.testFlows, fold.seconds, Console.duration(elapsed / Double(done) * Double(total - done))))
        }
        let groups = options.recipe == .baseline ? encoderList.map { Optional($0) } : [nil]
        var roleJSON: [String: Any] = [:]
        if roles != nil {
            for setup in setupList {
                var bySetup: [String: Any] = [:]
                for encoder in groups {
                    let r = RoleSummary(folds: results.filter { $0.setup == setup && $0.encoder == encoder })
                    print("\(setup.rawValue) baseline" + (encoder.map { ", encoder \($0.rawValue)" } ?? "") + ": per capture, at the model's threshold")
                    print(TextTable.render(header: RoleSummary.header, rows: r.rows))
                    print(r.headline(fpr: options.fpr))
                    bySetup[encoder?.rawValue ?? "seed"] = r.json
                }
                roleJSON[setup.rawValue] = bySetup
            }
            print("whole-capture results (every flow of an attack capture counted as attack; they mostly measure how captures differ):")
        }
        let summary = CrossvalSummary(folds: results.filter { $0.setup == nil || $0.setup == setupList[0] })
        for encoder in groups {
            let s = summary.group(encoder)
            if let encoder { print("encoder \(encoder.rawValue):") }
            print(TextTable.render(header: ["left-out scenario", "mean AUC", "std", "min", "max", "benign flagged", "attack flagged", "runs"],
                                   rows: s.rows))
            print(String(format: "mean AUC %.4f over %d scenarios, %.4f without reconnaissance; benign flagged %.3f (target --fpr %.3f)",
                         s.meanAUC, s.scenarios.count, s.meanAUCWithoutReconnaissance, s.meanFalsePositiveRate, options.fpr))
            if s.hasEndpointSplit {
                print("by endpoint (source, destination, port) of the left-out scenario's flows, each part against the same later benign flows:")
                print(TextTable.render(header: ["left-out scenario", "new-endpoint AUC", "flagged", "flows",
                                                "known-endpoint AUC", "flagged", "flows"],
                                       rows: s.endpointRows))
                print(String(format: "mean AUC %.4f on flows to endpoints the baseline never saw, %.4f on flows to endpoints it saw",
                             s.meanNewEndpointAUC, s.meanKnownEndpointAUC))
            }
        }
        if let json {
            var object = summary.group(groups[0]).json
            object["seeds"] = seeds
            if roles != nil {
                object["flow_roles"] = roleJSON
                object["setups"] = setupList.map(\.rawValue)
                object["incident_window_seconds"] = incidentWindow
            }
            object["baseline_fraction"] = baselineFraction
            object["recipe"] = options.recipe.rawValue
            object["window_features"] = options.windowFeatures
            if options.recipe == .baseline {
                object["default_encoder"] = encoderList[0].rawValue
                var byEncoder: [String: Any] = [:]
                for e in encoderList { byEncoder[e.rawValue] = summary.group(e).json }
                object["encoders"] = byEncoder
            }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            try AtomicFile.write(data, to: URL(fileURLWithPath: json))
            print("json: \(json)")
        }
    }
}

/// Cross-validation folds summarised per encoder and scenario, for the table and the JSON.
struct CrossvalSummary {
    let folds: [CrossValidation.Fold]

    struct Group {
        var scenarios: [String: [CrossValidation.Fold]]
        var names: [String] { scenarios.keys.sorted() }
        func mean(_ values: [Double]) -> Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }
        func aucs(_ name: String) -> [Double?] { (scenarios[name] ?? []).map(\.auc) }
        var scenarioMeans: [String: Double] { scenarios.mapValues { f in SampleSummary(f.map(\.auc)).mean } }
        var meanAUC: Double { mean(Array(scenarioMeans.values)) }
        var meanAUCWithoutReconnaissance: Double {
            mean(scenarioMeans.filter { !CrossValidation.isReconnaissance($0.key) }.map(\.value))
        }
        var meanFalsePositiveRate: Double { mean(scenarios.values.flatMap { $0.map(\.falsePositiveRate) }) }

        /// Whether every fold has the split by new and known endpoints.
        var hasEndpointSplit: Bool { !scenarios.isEmpty && scenarios.values.allSatisfy { $0.allSatisfy { $0.endpointSplit != nil } } }
        /// The mean over a scenario's folds of one value of their endpoint split (NaN when none has it).
        func endpointMean(_ name: String, _ value: (CrossValidation.EndpointSplit) -> Double?) -> Double {
            SampleSummary((scenarios[name] ?? []).map { $0.endpointSplit.flatMap(value) }).mean
        }
        func newEndpointAUC(_ name: String) -> Double { endpointMean(name, \.newEndpointAUC) }
        func knownEndpointAUC(_ name: String) -> Double { endpointMean(name, \.knownEndpointAUC) }
        func endpointFlows(_ name: String) -> (new: Int, known: Int) {
            let split = scenarios[name]?.first?.endpointSplit
            return (split?.newEndpointFlows ?? 0, split?.knownEndpointFlows ?? 0)
        }
        /// Means over the scenarios where the part has flows.
        var meanNewEndpointAUC: Double { mean(names.map(newEndpointAUC).filter(\.isFinite)) }
        var meanKnownEndpointAUC: Double { mean(names.map(knownEndpointAUC).filter(\.isFinite)) }
        var endpointRows: [[String]] {
            names.map { name in
                let (new, known) = endpointFlows(name)
                func cell(_ v: Double) -> String { v.isFinite ? String(format: "%.4f", v) : "-" }
                return [name, cell(newEndpointAUC(name)), String(format: "%.3f", endpointMean(name, \.newEndpointDetectionRate)), "\(new)",
                        cell(knownEndpointAUC(name)), String(format: "%.3f", endpointMean(name, \.knownEndpointDetectionRate)), "\(known)"]
            }
        }

        var rows: [[String]] {
            names.map { name in
                let s = SampleSummary(aucs(name)), f = scenarios[name] ?? []
                return [name, String(format: "%.4f", s.mean), String(format: "%.4f", s.standardDeviation),
                        String(format: "%.4f", s.min), String(format: "%.4f", s.max),
                        String(format: "%.3f", mean(f.map(\.falsePositiveRate))), String(format: "%.3f", mean(f.map(\.detectionRate))),
                        "\(s.count)"]
            }
        }

        var json: [String: Any] {
            func number(_ v: Double?) -> Any { v.map { $0.isFinite ? $0 as Any : NSNull() } ?? NSNull() }
            var byScenario: [String: Any] = [:]
            for name in names {
                let s = SampleSummary(aucs(name)), f = scenarios[name] ?? []
                byScenario[name] = ["auc_mean": number(s.mean), "auc_std": number(s.standardDeviation), "auc_min": number(s.min),
                                    "auc_max": number(s.max), "auc_seeds": aucs(name).map(number),
                                    "false_positive_rate_mean": number(mean(f.map(\.falsePositiveRate))),
                                    "detection_rate_mean": number(mean(f.map(\.detectionRate))),
                                    "reconnaissance": CrossValidation.isReconnaissance(name)]
                if hasEndpointSplit, var entry = byScenario[name] as? [String: Any] {
                    let (new, known) = endpointFlows(name)
                    entry["auc_new_endpoints_mean"] = number(newEndpointAUC(name))
                    entry["auc_known_endpoints_mean"] = number(knownEndpointAUC(name))
                    entry["detection_rate_new_endpoints_mean"] = number(endpointMean(name, \.newEndpointDetectionRate))
                    entry["detection_rate_known_endpoints_mean"] = number(endpointMean(name, \.knownEndpointDetectionRate))
                    entry["new_endpoint_flows"] = new
                    entry["known_endpoint_flows"] = known
                    byScenario[name] = entry
                }
            }
            var object: [String: Any] = [
                "mean_auc": number(meanAUC), "mean_auc_without_reconnaissance": number(meanAUCWithoutReconnaissance),
                "false_positive_rate_mean": number(meanFalsePositiveRate), "scenarios": byScenario]
            if hasEndpointSplit {
                object["mean_auc_new_endpoints"] = number(meanNewEndpointAUC)
                object["mean_auc_known_endpoints"] = number(meanKnownEndpointAUC)
            }
            return object
        }
    }

    func group(_ encoder: EncoderKind?) -> Group {
        Group(scenarios: Dictionary(grouping: folds.filter { $0.encoder == encoder }, by: \.scenario))
    }
}

/// Crossval folds with per-flow roles, summarised per capture: what an operator lives with.
struct RoleSummary {
    let folds: [CrossValidation.Fold]

    static let header = ["capture", "attack flows", "detected", "background flows", "flagged", "incidents",
                         "later benign flagged", "incidents/h", "AUC attack vs background", "threshold"]

    var byCapture: [String: [CrossValidation.Fold]] { Dictionary(grouping: folds, by: \.scenario) }
    var names: [String] { byCapture.keys.sorted() }

    func mean(_ values: [Double?]) -> Double? {
        let v = values.compactMap { $0 }.filter(\.isFinite)
        return v.isEmpty ? nil : v.reduce(0, +) / Double(v.count)
    }
    func value(_ name: String, _ f: (CrossValidation.RoleMetrics) -> Double?) -> Double? {
        mean((byCapture[name] ?? []).map { $0.roles.flatMap(f) })
    }
    func count(_ name: String, _ f: (CrossValidation.RoleMetrics) -> Int) -> Int { (byCapture[name]?.first?.roles).map(f) ?? 0 }

    /// Per capture: detection (nil without attack flows), background flagged, later benign flagged.
    func detection(_ n: String) -> Double? { value(n) { $0.detectionRate } }
    func background(_ n: String) -> Double? { value(n) { $0.backgroundFlaggedRate } }
    func laterBenign(_ n: String) -> Double? { value(n) { $0.laterBenignFlaggedRate } }

    var minDetection: Double? { names.compactMap(detection).min() }
    var meanBackground: Double? { mean(names.map(background)) }
    var worstBackground: Double? { names.compactMap(background).max() }
    var meanLaterBenign: Double? { mean(names.map(laterBenign)) }
    var meanIncidentsPerHour: Double? { mean(names.map { value($0) { $0.laterBenignIncidentsPerHour } }) }

    var rows: [[String]] {
        func cell(_ v: Double?, _ format: String = "%.3f") -> String { v.map { String(format: format, $0) } ?? "-" }
        return names.map { n in
            [n, "\(count(n) { $0.counts.attackFlows })", cell(detection(n)), "\(count(n) { $0.counts.backgroundFlows })", cell(background(n)),
             cell(value(n) { Double($0.backgroundIncidents) }, "%.0f"), cell(laterBenign(n)),
             cell(value(n) { $0.laterBenignIncidentsPerHour }, "%.1f"), cell(value(n) { $0.attackVsBackgroundAUC }, "%.4f"),
             cell(mean((byCapture[n] ?? []).map(\.threshold)), "%.4f")]
        }
    }

    func headline(fpr: Double) -> String {
        func cell(_ v: Double?) -> String { v.map { String(format: "%.3f", $0) } ?? "-" }
        var line = "attack flows detected: min \(cell(minDetection)) over captures with attack flows; background flagged: mean "
            + "\(cell(meanBackground)), worst \(cell(worstBackground)); later benign flagged \(cell(meanLaterBenign))"
        if let h = meanIncidentsPerHour { line += String(format: " (%.1f incidents/h)", h) }
        if let c = folds.first?.calibration { line += "; threshold: " + c.summary }
        return line
    }

    var json: [String: Any] {
        func number(_ v: Double?) -> Any { v.map { $0.isFinite ? $0 as Any : NSNull() } ?? NSNull() }
        var captures: [String: Any] = [:]
        for n in names {
            captures[n] = [
                "attack_flows": count(n) { $0.counts.attackFlows }, "attack_detected_rate": number(detection(n)),
                "background_flows": count(n) { $0.counts.backgroundFlows }, "background_flagged_rate": number(background(n)),
                "background_incidents": number(value(n) { Double($0.backgroundIncidents) }),
                "later_benign_flows": count(n) { $0.counts.benignFlows }, "later_benign_flagged_rate": number(laterBenign(n)),
                "later_benign_incidents_per_hour": number(value(n) { $0.laterBenignIncidentsPerHour }),
                "auc_attack_vs_background": number(value(n) { $0.attackVsBackgroundAUC }),
                "threshold": number(mean((byCapture[n] ?? []).map(\.threshold))),
            ] as [String: Any]
        }
        var object: [String: Any] = [
            "captures": captures, "attack_detected_min": number(minDetection), "background_flagged_mean": number(meanBackground),
            "background_flagged_worst": number(worstBackground), "later_benign_flagged_mean": number(meanLaterBenign),
            "later_benign_incidents_per_hour_mean": number(meanIncidentsPerHour)]
        if let c = folds.first?.calibration {
            object["calibration"] = ["method": c.method.rawValue, "periods": c.periods, "fpr": c.fpr] as [String: Any]
        }
        return object
    }
}
