import ArgumentParser
import Backend
import FlowData
import Foundation
import Reporting
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
    @Option(help: "Anomaly score (default: the model's): benign-mean, benign-max or contrast.") var score: ScoreMethod?
    @Flag(help: "Also score the model's own support flows when they are in the data.") var includeSupport = false
    @OptionGroup var backendOptions: BackendOptions

    func run() throws {
        let (trained, table) = try loadModelAndData(model: model, data: dataOptions)
        let backend = try backendOptions.make()
        let detector = try Detector(model: trained, backend: backend, method: score)
        let result = try Evaluation.run(detector: detector, table: table, includeSupport: includeSupport)
        if result.supportRowsExcluded > 0 {
            Console.note("left out \(result.supportRowsExcluded) flows that are the model's own support set (--include-support keeps them)")
        }
        Console.note(String(format: "scored %d flows in %.2f s (%.0f flows/s)", result.scores.count, result.seconds,
                            Double(result.scores.count) / max(result.seconds, 1e-9)))
        print(result.report.textSummary)
        if let json { try result.report.writeJSON(to: URL(fileURLWithPath: json)); print("json: \(json)") }
        if let roc {
            try SVG.rocCurve(points: result.rocCurve, auc: result.report.auc).write(to: URL(fileURLWithPath: roc))
            print("roc: \(roc)")
        }
    }
}

/// `gpu-train detect`: streams flows of any size through a model.
struct Detect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score flows from a CSV file or stdin and write one row per flow with its score and verdict.")

    @Option(help: "Model file written by `gpu-train train`.") var model: String
    @Option(help: "CICFlowMeter CSV file, or - for standard input.") var input: String
    @Option(help: "Output CSV file, or - for standard output.") var output = "-"
    @Flag(help: "Stop at the first bad row instead of skipping it.") var strict = false
    @Option(help: "Flows per batch through the backend.") var batchSize = 256
    @OptionGroup var backendOptions: BackendOptions

    func run() throws {
        let backend = try backendOptions.make()
        // The detector keeps what scoring needs; the file's weights are not held twice.
        let detector = try Detector(model: try TrainedModel.read(URL(fileURLWithPath: model), optimizerState: false),
                                    backend: backend, batchSize: batchSize)
        let reader = try FlowStreamReader(path: input, options: FlowLoadOptions(features: detector.model.scaler.featureNames,
                                                                                skipBadRows: !strict), batchSize: 4096)
        let sink = try OutputSink(path: output)
        var lastReport = Date.distantPast
        let summary: DetectionStream.Summary
        do {
            summary = try DetectionStream.run(detector: detector, reader: reader, write: { try sink.write($0) }) { s in
                guard Date().timeIntervalSince(lastReport) > 0.5 else { return }
                lastReport = Date()
                Console.status(String(format: "%d flows, %d malicious, %d skipped, %.0f flows/s",
                                      s.flows, s.malicious, s.skipped, s.flowsPerSecond))
            }
            try sink.commit()
        } catch {
            sink.abandon()
            throw error
        }
        Console.endStatus()
        Console.note(String(format: "scored %d flows (%d malicious) in %.2f s: %.0f flows/s; skipped %d bad rows",
                            summary.flows, summary.malicious, summary.seconds, summary.flowsPerSecond, summary.skipped))
        if !reader.report.badRowSummary.isEmpty { Console.note(reader.report.badRowSummary) }
    }
}

/// Standard output, or a file written through a temporary file and renamed when complete.
final class OutputSink {
    let handle: FileHandle
    let path: String?
    let temporary: URL?
    /// Folders made for the output (removed again by `abandon` when empty).
    var createdFolders: [URL] = []

    init(path: String) throws {
        if path == "-" {
            handle = .standardOutput
            self.path = nil
            temporary = nil
        } else {
            let url = URL(fileURLWithPath: path)
            let created = try OutputFolder.create(for: url)
            let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
            guard FileManager.default.createFile(atPath: tmp.path, contents: nil),
                  let h = try? FileHandle(forWritingTo: tmp) else {
                OutputFolder.removeEmpty(created)
                throw ValidationError("cannot create \(path) (is the folder there and writable?)")
            }
            handle = h
            self.path = path
            temporary = tmp
            createdFolders = created
        }
    }

    func write(_ text: String) throws { try handle.write(contentsOf: Data(text.utf8)) }

    func commit() throws {
        guard let path, let temporary else { return }
        try handle.close()
        guard rename(temporary.path, path) == 0 else {
            throw ValidationError("cannot move the output into \(path): \(String(cString: strerror(errno)))")
        }
    }

    func abandon() {
        guard let temporary else { return }
        try? handle.close()
        try? FileManager.default.removeItem(at: temporary)
        OutputFolder.removeEmpty(createdFolders)
    }
}

/// `gpu-train crossval`: leave-one-scenario-out.
struct Crossval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Leave-one-scenario-out: train without each attack scenario, test on it, over several seeds.")

    @OptionGroup var dataOptions: DataOptions
    @Option(help: "How many seeds per left-out scenario (seeds 1...N).") var seeds = 3
    @Option(help: "Write every fold and the summary as JSON to this file.") var json: String?
    @OptionGroup var model: ModelOptions
    @OptionGroup var backendOptions: BackendOptions

    func run() throws {
        guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1") }
        let table = try dataOptions.load(features: try model.featureList())
        let backend = try backendOptions.make()
        let config = try model.modelConfig()
        let options = try model.trainingOptions()
        let folds = CrossValidation.folds(table: table)
        Console.note("\(folds.count) scenarios x \(seeds) seeds; benign flows split in half (train / test)")
        let started = Date()
        var done = 0
        let total = folds.count * seeds
        let results = try CrossValidation.run(table: table, config: config, options: options,
                                              seeds: (1...seeds).map { UInt64($0) }, backend: backend) { fold in
            done += 1
            let elapsed = Date().timeIntervalSince(started)
            Console.note(String(format: "[%d/%d] %@ seed %d: AUC %@ on %d flows (%.1f s, ETA %@)", done, total, fold.scenario,
                                Int(fold.seed), fold.auc.map { String(format: "%.4f", $0) } ?? "undefined", fold.testFlows,
                                fold.seconds, Console.duration(elapsed / Double(done) * Double(total - done))))
        }
        var rows: [[String]] = []
        var summary: [String: Any] = [:]
        for scenario in Dictionary(grouping: results, by: \.scenario).keys.sorted() {
            let aucs = results.filter { $0.scenario == scenario }.map(\.auc)
            let s = SampleSummary(aucs)
            rows.append([scenario, String(format: "%.4f", s.mean), String(format: "%.4f", s.standardDeviation),
                         String(format: "%.4f", s.min), String(format: "%.4f", s.max), "\(s.count)"])
            func json(_ v: Double?) -> Any { v.map { $0.isFinite ? $0 as Any : NSNull() } ?? NSNull() }
            summary[scenario] = ["mean_auc": json(s.mean), "std_auc": json(s.standardDeviation), "min_auc": json(s.min),
                                 "max_auc": json(s.max), "seeds": aucs.map(json)]
        }
        print(TextTable.render(header: ["left-out scenario", "mean AUC", "std", "min", "max", "runs"], rows: rows))
        if let json {
            let data = try JSONSerialization.data(withJSONObject: ["scenarios": summary, "seeds": seeds],
                                                  options: [.prettyPrinted, .sortedKeys])
            try AtomicFile.write(data, to: URL(fileURLWithPath: json))
            print("json: \(json)")
        }
    }
}
