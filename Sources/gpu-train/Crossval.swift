import ArgumentParser
import Backend
import Common
import FlowData
import Foundation
import Reporting
import Siamese

/// `gpu-train crossval`: leave-one-scenario-out.
struct Crossval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Leave-one-scenario-out: train without each attack scenario, test on it and on later benign flows, over several seeds.")

    @OptionGroup var dataOptions: DataOptions
    @Option(parsing: .unconditional, help: "How many seeds per left-out scenario (seeds 1...N).") var seeds = 3
    @Option(parsing: .unconditional, help: "Fraction of the benign flows, earliest first in file order, that forms the baseline; the rest is tested.")
    var baselineFraction = 0.8
    @Option(help: "Baseline recipe: encoders to compare, comma-separated (default none,siamese; the first is the headline).")
    var encoders: String = "none,siamese"
    @Option(help: "Write every fold and the summary as JSON to this file (keys documented in the README).") var json: String?
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
        let table = try dataOptions.load(features: try model.featureList(), readEndpoints: true)
        try checkBaselineSize(table)
        if table.endpoints == nil {
            Console.note("no Src IP, Dst IP and Dst Port columns in every file: no split by new and known endpoints")
        }
        let backend = try backendOptions.make()
        let config = try model.modelConfig()
        let options = try model.trainingOptions()
        let runs = options.recipe == .baseline ? encoderList.count : 1
        let folds = CrossValidation.folds(table: table, baselineFraction: baselineFraction)
        Console.note("\(folds.count) scenarios x \(seeds) seeds" + (runs > 1 ? " x \(runs) encoders" : "") +
                     String(format: "; benign flows split in file order: earliest %.0f%% baseline, the rest tested", baselineFraction * 100))
        let started = Date()
        var done = 0
        let total = folds.count * seeds * runs
        let results = try CrossValidation.run(table: table, config: config, options: options, seeds: (1...seeds).map { UInt64($0) },
                                              encoders: options.recipe == .baseline ? encoderList : [],
                                              baselineFraction: baselineFraction, backend: backend) { fold in
            done += 1
            let elapsed = Date().timeIntervalSince(started)
            Console.note(String(format: "[%d/%d] %@%@ seed %d: AUC %@, benign flagged %.3f, attack flagged %.3f on %d flows (%.1f s, ETA %@)",
                                done, total, fold.scenario, fold.encoder.map { " (\($0.rawValue))" } ?? "", Int(fold.seed),
                                fold.auc.map { String(format: "%.4f", $0) } ?? "undefined", fold.falsePositiveRate, fold.detectionRate,
                                fold.testFlows, fold.seconds, Console.duration(elapsed / Double(done) * Double(total - done))))
        }
        let summary = CrossvalSummary(folds: results)
        let groups = options.recipe == .baseline ? encoderList.map { Optional($0) } : [nil]
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
            object["baseline_fraction"] = baselineFraction
            object["recipe"] = options.recipe.rawValue
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
