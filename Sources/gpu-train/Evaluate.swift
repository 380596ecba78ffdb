import ArgumentParser
import Backend
import FlowData
import Foundation
import Reporting
import Detection
import Siamese

/// Loads a model and a labelled table with the model's features.
func loadModelAndData(model path: String, data: DataOptions) throws -> (TrainedModel, FlowTable) {
    let model = try TrainedModel.read(URL(fileURLWithPath: path), optimizerState: false)
    let table = try data.load(features: model.scaler.featureNames)
    return (model, table)
}

/// `gpu-train evaluate`: scores labelled flows and reports detection quality.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score labelled flows with a model and print AUC, PR AUC, precision, recall, F1 and per-scenario results.")

    @Option(help: "Model file written by `gpu-train train`.") var model: String
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Write the metrics as JSON to this file.") var json: String?
    @Option(help: "Draw the ROC curve as SVG to this file.") var roc: String?
    @Option(help: "Seed-recipe models: anomaly score (default: the model's): benign-mean, benign-max or contrast.") var score: ScoreMethod?
    @Flag(help: "Also score the model's own support flows when they are in the data.") var includeSupport = false
    @Option(help: "Per-flow roles (CSV: file,row,role with role attack or background): adds, per capture, attack flows detected and normal traffic flagged.")
    var flowRoles: String?
    @OptionGroup var backendOptions: BackendOptions

    func run() throws {
        try refuseOverwritingInputs()
        let (trained, table) = try loadModelAndData(model: model, data: dataOptions)
        if let score, trained.options.recipe == .baseline {
            throw ValidationError("--score \(score.rawValue) is not used by a baseline-recipe model: it scores by distance to its memory bank")
        }
        let backend = try backendOptions.make()
        let detector = try Detector(model: trained, backend: backend, method: score)
        let roles = try flowRoles.map { path -> [FlowRole?] in
            let perRow = try FlowRoles.read(URL(fileURLWithPath: path)).roles(for: table)
            let covered = perRow.compactMap { $0 }.count
            Console.note("flow roles: \(covered) of \(table.rowCount) flows have one in \(path)")
            if covered == 0 { Console.note("warning: --flow-roles \(path) names none of these flows (by file name and row)") }
            return perRow
        }
        let result = try Evaluation.run(detector: detector, table: table, includeSupport: includeSupport, roles: roles)
        if result.supportRowsExcluded > 0 {
            Console.note("left out \(result.supportRowsExcluded) flows identical to the model's own training flows (support set, shots or memory bank; --include-support keeps them)")
        }
        Console.note(String(format: "scored %d flows in %.2f s (%.0f flows/s)", result.scores.count, result.seconds,
                            Double(result.scores.count) / max(result.seconds, 1e-9)))
        print(result.report.textSummary)
        for line in result.undefinedMetrics { Console.note(line) }
        if let json { try result.report.writeJSON(to: URL(fileURLWithPath: json)); print("json: \(json)") }
        if let roc {
            try SVG.rocCurve(points: result.rocCurve, auc: result.report.auc).write(to: URL(fileURLWithPath: roc))
            print("roc: \(roc)")
        }
    }
}
