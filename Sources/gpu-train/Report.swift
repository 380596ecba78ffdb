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
        let options: [(String, String)] = [
            ("model file", model), ("data", dataOptions.data), ("loss", trained.config.loss.rawValue),
            ("channels", trained.config.channels.map(String.init).joined(separator: ",")),
            ("embedding", "\(trained.config.embedding)"), ("benign shots", "\(o.benignShots)"),
            ("malicious shots", "\(o.maliciousShots)"), ("pair malicious", "\(o.pairMalicious)"), ("seed", "\(o.seed)"),
            ("learning rate", "\(o.learningRate)"), ("batch size", "\(o.batchSize)"), ("epochs", "\(trained.epochsCompleted) of \(o.epochs)"),
            ("validation split", "\(o.valSplit)"), ("patience", "\(o.patience)"), ("transform", o.transform.rawValue),
            ("score", detector.method.rawValue), ("threshold", String(format: "%.6f (chosen on the support set)", trained.threshold)),
            ("backend", "\(backend.name): \(backend.deviceDescription)"), ("gpu-train", GPUTrain.version),
        ]
        var timings: [(String, String)] = trained.timings.sorted { $0.key < $1.key }.map { ($0.key, String(format: "%.2f s", $0.value)) }
        timings.append(("evaluation", String(format: "%.2f s for %d flows", result.seconds, result.scores.count)))
        let content = ReportContent(
            title: "gpu-train report", subtitle: "\(URL(fileURLWithPath: model).lastPathComponent) on \(dataOptions.data)",
            evaluation: result.report, rocCurve: result.rocCurve, history: trained.history, examples: examples,
            options: options, timings: timings,
            notes: result.supportRowsExcluded > 0 ? ["\(result.supportRowsExcluded) flows of the model's support set were left out of the evaluation."] : [])
        try HTMLReport.write(content, to: URL(fileURLWithPath: out))
        print(result.report.textSummary)
        print("report: \(out)")
    }
}
