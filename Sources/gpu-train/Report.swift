import ArgumentParser
import Backend
import FlowData
import Foundation
import Reporting
import Siamese

/// `gpu-train report`: one self-contained HTML page about a model on some data.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a self-contained HTML report: curves, ROC, confusion matrix, scenarios, example images, options.")

    @Option(help: "Model file written by `gpu-train train`.") var model: String
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "HTML file to write.") var out: String
    @OptionGroup var backendOptions: BackendOptions

    func run() throws {
        try refuseOverwritingInputs()
        let (trained, table) = try loadModelAndData(model: model, data: dataOptions)
        let backend = try backendOptions.make()
        let detector = try Detector(model: trained, backend: backend)
        let result = try Evaluation.run(detector: detector, table: table)
        var examples: [ExampleImage] = []
        for (group, rows) in [("benign", table.benignRows), ("malicious", table.maliciousRows)] {
            // Evenly spaced examples, so every scenario tends to appear.
            let picks = rows.isEmpty ? [] : (0..<min(6, rows.count)).map { rows[$0 * rows.count / min(6, rows.count)] }
            for r in picks {
                // Only the example rows are scaled here; Evaluation.run scaled the table for scoring.
                let image = FlowImage.render(trained.scaler.scaleRow(table.row(r)))
                let factor = 4
                let png = PNG.encodeGray(width: 32 * factor, height: 32 * factor,
                                         pixels: FlowImage.grayPixels(image[...], factor: factor))
                let file = table.rowFiles[r] >= 0 ? URL(fileURLWithPath: table.sourceFiles[Int(table.rowFiles[r])]).lastPathComponent : "?"
                examples.append(ExampleImage(caption: "\(table.scenarioNames[r]), \(file) line \(table.rowLines[r])", group: group, png: png))
            }
        }
        let o = trained.options
        var options: [(String, String)] = [("model file", model), ("data", dataOptions.data), ("recipe", o.recipe.rawValue)]
        switch o.recipe {
        case .baseline:
            options += [("encoder", o.encoder.rawValue), ("memory bank", "\(trained.bank?.count ?? 0) baseline flows"),
                        ("score", "distance to the k-th nearest bank flow, k = \(o.k)"),
                        ("malicious shots", "\(trained.support.count)")]
            if o.encoder == .siamese {
                options += [("loss", trained.config.loss.rawValue), ("channels", trained.config.channels.map(String.init).joined(separator: ",")),
                            ("embedding", "\(trained.config.embedding)"), ("pairs per epoch", "\(o.pairsPerEpoch)"),
                            ("learning rate", "\(o.learningRate)"), ("batch size", "\(o.batchSize)"),
                            ("epochs", "\(trained.epochsCompleted) of \(o.epochs)")]
            }
        case .seed:
            options += [("loss", trained.config.loss.rawValue), ("channels", trained.config.channels.map(String.init).joined(separator: ",")),
                        ("embedding", "\(trained.config.embedding)"), ("benign shots", "\(o.benignShots)"),
                        ("malicious shots", "\(o.maliciousShots)"), ("pair malicious", "\(o.pairMalicious)"),
                        ("learning rate", "\(o.learningRate)"), ("batch size", "\(o.batchSize)"),
                        ("epochs", "\(trained.epochsCompleted) of \(o.epochs)"), ("validation split", "\(o.valSplit)"),
                        ("patience", "\(o.patience)"), ("score", detector.method.rawValue)]
        }
        let rule = o.thresholdRule == .fpr
            ? String(format: "flag at most %.3f of the baseline's leave-one-out scores", o.fpr)
            : (o.recipe == .seed ? "F1-best cut of the support set's leave-one-out scores" : "F1-best cut between the baseline and the shots")
        options += [("seed", "\(o.seed)"), ("transform", o.transform.rawValue),
                    ("threshold", String(format: "%.6g (%@)", trained.threshold, rule)),
                    ("false-positive rate here", String(format: "%.4f of %d benign flows", result.report.falsePositiveRate,
                                                        result.report.confusion.fp + result.report.confusion.tn)),
                    ("backend", "\(backend.name): \(backend.deviceDescription)"), ("gpu-train", GPUTrain.version)]
        var timings: [(String, String)] = trained.timings.sorted { $0.key < $1.key }.map { ($0.key, String(format: "%.2f s", $0.value)) }
        timings.append(("evaluation", String(format: "%.2f s for %d flows", result.seconds, result.scores.count)))
        let content = ReportContent(
            title: "gpu-train report", subtitle: "\(URL(fileURLWithPath: model).lastPathComponent) on \(dataOptions.data)",
            evaluation: result.report, rocCurve: result.rocCurve, history: trained.history, examples: examples,
            options: options, timings: timings,
            notes: result.supportRowsExcluded > 0 ? ["\(result.supportRowsExcluded) flows identical to the model's own training flows (support set, shots or memory bank) were left out of the evaluation."] : [])
        try HTMLReport.write(content, to: URL(fileURLWithPath: out))
        print(result.report.textSummary)
        print("report: \(out)")
    }
}
