import ArgumentParser
import Backend
import FlowData
import Common
import Foundation
import Reporting
import Detection
import Siamese

/// Renders training events on stderr: a live bar on a terminal, plain lines otherwise.
struct TrainingProgress {
    var epochs = 0
    var trainPairs = 0
    var firstEpoch = 1
    var started = Date()

    mutating func handle(_ event: TrainingEvent) {
        switch event {
        case let .started(trainPairs, validationPairs, steps, first, epochs):
            self.epochs = epochs
            self.trainPairs = trainPairs
            firstEpoch = first
            started = Date()
            Console.note("training on \(trainPairs) pairs, validating on \(validationPairs); \(steps) steps per epoch, epochs \(first)...\(epochs)")
        case let .step(epoch, step, steps, loss, accuracy, pairsPerSecond):
            let done = Double(epoch - firstEpoch) + Double(step) / Double(steps)
            let total = Double(epochs - firstEpoch + 1)
            let eta = Date().timeIntervalSince(started) / max(done, 1e-9) * (total - done)
            Console.status(String(format: "epoch %d/%d %@ loss %.4f acc %.3f %.1f pairs/s ETA %@", epoch, epochs,
                                  Console.bar(done / total), loss, accuracy, pairsPerSecond, Console.duration(eta)))
        case let .epochEnded(r, best, secondsLeft):
            Console.endStatus()
            var line = String(format: "epoch %d/%d  loss %.4f  acc %.3f", r.epoch, epochs, r.loss, r.accuracy)
            if let vl = r.valLoss, let va = r.valAccuracy { line += String(format: "  val_loss %.4f  val_acc %.3f", vl, va) }
            if let s = r.seconds {
                line += String(format: "  %.1fs", s)
                if s > 0 && trainPairs > 0 { line += String(format: "  %.0f pairs/s", Double(trainPairs) / s) }
            }
            line += "  ETA \(Console.duration(secondsLeft))" + (best ? "  *" : "")
            Console.note(line)
        case let .earlyStop(epoch, bestEpoch):
            Console.note("early stop after epoch \(epoch): no better validation loss since epoch \(bestEpoch); restoring its weights")
        case .checkpoint:
            break
        case .buildingBank(let flows):
            Console.note("memory bank: \(flows) baseline flows")
        }
    }
}

/// `gpu-train train`: learns normal traffic from the benign baseline (or the original few-shot recipe).
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Learn normal traffic from the benign flows (plus a few labelled attacks) and write the model (and, when a network is trained, history.csv and curves.svg).")

    @OptionGroup var dataOptions: DataOptions
    @Option(help: ArgumentHelp("Benign baseline (flow file or folder, labelled or not, or a pcap/pcapng capture metered by gpu-train's flow meter), repeatable: every flow in it is normal traffic, and --data then supplies only the labelled attacks. Each file is a period (an hour, a day) unless --period says otherwise; the threshold is calibrated across periods.", valueName: "path"))
    var baseline: [String] = []
    @Option(parsing: .unconditional, help: "Split the baseline into periods of this many seconds by the flows' Timestamp column, instead of one period per file.")
    var period: Double?
    @Option(name: .customLong("k8s-pods"), help: "The baseline's pod list (kubectl get pods -A -o json, taken while it was recorded): the model then keeps the baseline's edges by workload, which holds across pod restarts; detect needs --k8s-pods too to say new_edge.")
    var k8sPods: String?
    @Option(help: "Model file to write (safetensors); when a network is trained, history.csv (not inside a --data or --baseline folder, whose *.csv files are flows) and curves.svg go beside it.") var out: String
    @Option(help: "Continue training from this model file (its support set, scaler and optimizer state).") var resume: String?
    @Option(parsing: .unconditional, help: "Baseline recipe: hold out this fraction of the benign flows, the latest in file order, train on the rest and print the false-positive rate on them (attacks are not held out).")
    var holdoutFraction: Double?
    @Flag(help: "Write an inference-only model: no Adam moments (a third of the size; it cannot be resumed).")
    var noOptimizerState = false
    @OptionGroup var model: ModelOptions
    @OptionGroup var backendOptions: BackendOptions

    func validate() throws {
        if let holdoutFraction {
            guard holdoutFraction.isFinite, holdoutFraction > 0, holdoutFraction < 1 else {
                throw ValidationError("--holdout-fraction must be in (0, 1), got \(holdoutFraction)")
            }
        }
    }

    func run() throws {
        try refuseOverwritingInputs()
        // A failed run removes the folder it created for --out (when still empty).
        try OutputFolder.creating(for: URL(fileURLWithPath: out)) { try train() }
    }

    func train() throws {
        TrainedModel.softwareVersion = GPUTrain.version
        let outURL = URL(fileURLWithPath: out)
        if resume == nil { try model.checkApplicable(recipe: model.recipe, encoder: model.encoder) }
        var options = try model.trainingOptions()
        var config = try model.modelConfig()
        var resumed: TrainedModel?
        if let resume {
            let r = try TrainedModel.read(URL(fileURLWithPath: resume))
            guard r.tensors.keys.contains(where: { $0.hasPrefix("adam.") }) || !r.usesNetwork else {
                throw ValidationError("\(resume) is an inference-only model (written with --no-optimizer-state); it cannot be resumed")
            }
            try model.checkApplicable(recipe: r.options.recipe, encoder: r.options.encoder)
            let conflicts = model.conflicts(with: r.options, config: r.config, features: r.scaler.featureNames)
            guard conflicts.isEmpty else {
                throw ValidationError("--resume continues a run with the options it was started with; these differ: " +
                                      conflicts.joined(separator: ", ") + ". Drop them, or start a new run.")
            }
            config = r.config
            if let epochs = model.epochs, epochs < r.epochsCompleted {
                throw ValidationError("--epochs \(epochs) is below the \(r.epochsCompleted) epochs \(resume) has completed; --resume "
                                      + "trains on up to --epochs in all, so give at least \(r.epochsCompleted) (or drop --resume)")
            }
            let epochs = model.epochs ?? r.options.epochs
            options = r.options
            options.epochs = max(epochs, r.epochsCompleted)
            if let interval = model.checkpointInterval { options.checkpointInterval = interval }
            resumed = r
            Console.note("resuming \(resume) after epoch \(r.epochsCompleted) of \(options.epochs)")
        }
        let features = try resumed?.scaler.featureNames ?? model.featureList(data: [dataOptions.data] + baseline)
        if period != nil && options.recipe != .baseline { throw ValidationError("--period needs --recipe baseline") }
        var table = try dataOptions.load(features: features, readEndpoints: true)
        var rows: [Int]?
        if !baseline.isEmpty {
            guard options.recipe == .baseline else { throw ValidationError("--baseline needs --recipe baseline") }
            let attacks = table.maliciousRows
            let offset = table.rowCount
            // One load: a file named twice, or reached through a link, is read once.
            var normal = try DataOptions.load(baseline, features: features, skipBadRows: dataOptions.skipBadRows,
                                              readEndpoints: true, requireLabels: false)
            normal.labels = [Int](repeating: 0, count: normal.rowCount)
            normal.scenarioNames = [String](repeating: "benign", count: normal.rowCount)
            table.append(normal)
            rows = attacks + Array(offset..<table.rowCount)
            Console.note("baseline: \(table.rowCount - offset) flows from \(baseline.joined(separator: ", ")); attacks from \(dataOptions.data): \(attacks.count)")
        }
        var heldOut: [Int] = []
        if let holdoutFraction {
            guard options.recipe == .baseline else { throw ValidationError("--holdout-fraction needs --recipe baseline") }
            // Table rows are in file order (files in the order read, rows as written): the latest last.
            let all = rows ?? Array(0..<table.rowCount)
            let benign = all.filter { !table.isMalicious($0) }
            let count = Int((Double(benign.count) * holdoutFraction).rounded(.up))
            guard benign.count - count > options.k else {
                throw ValidationError("--holdout-fraction \(holdoutFraction) leaves \(benign.count - count) of \(benign.count) benign flows "
                                      + "to train on; --k \(options.k) needs more than \(options.k)")
            }
            heldOut = Array(benign.suffix(count))
            let held = Set(heldOut)
            rows = all.filter { !held.contains($0) }
        }
        let periods = try Self.periods(of: table, rows: rows ?? table.benignRows, seconds: period)
        let backend = try backendOptions.make()
        Console.note(describe(options, config))
        let trainer = Trainer(backend: backend, config: config, options: options)
        trainer.dialect = table.report.dialect
        trainer.edgeNames = try k8sPods.map { try KubernetesDirectory(path: $0) }
        var progress = TrainingProgress()
        let started = Date()
        var trained = try trainer.train(table: table, rows: rows, periods: periods, resume: resumed, checkpoint: outURL) { progress.handle($0) }
        if noOptimizerState { trained = trained.inferenceOnly() }
        if noOptimizerState { try trained.write(to: outURL) }
        let seconds = Date().timeIntervalSince(started)
        let last = trained.history.last
        print("model: \(out)")
        if !heldOut.isEmpty {
            let detector = try Detector(model: trained, backend: backend)
            let scores = try detector.scores(rawRows: table.subset(heldOut).values, count: heldOut.count)
            let flagged = scores.filter(detector.isMalicious).count
            print(String(format: "held out: the latest %d benign flows (file order), not trained on: false_positive_rate %.4f (%d flagged)",
                         heldOut.count, Double(flagged) / Double(heldOut.count), flagged))
        }
        // Only a network has a training history (--encoder none trains none: no empty files).
        if trained.usesNetwork {
            if let folder = dataFolderHolding(outURL) {
                Console.note("history.csv not written: \(outURL.deletingLastPathComponent().path) is within \(folder), whose *.csv files are "
                             + "read as flows; the history is in the model file (gpu-train report shows it)")
            } else {
                try HistoryCSV.write(trained.history, to: outURL.sibling("history.csv"))
                print("history: \(outURL.sibling("history.csv").path)")
            }
            try SVG.trainingCurves(history: trained.history).write(to: outURL.sibling("curves.svg"))
            print("curves: \(outURL.sibling("curves.svg").path)")
        }
        if let bank = trained.bank {
            print(String(format: "recipe baseline, encoder %@, bank %d flows in %d periods, k %d, threshold %.4f (%@), training time %.1f s, backend %@",
                         options.encoder.rawValue, bank.count, bank.periodNames.count, options.k, trained.threshold,
                         options.thresholdRule == .fpr ? String(format: "fpr %.3f", options.fpr) : "support-f1", seconds, backend.name))
            if let c = trained.calibration {
                print("threshold calibrated " + c.summary)
                if c.method == .timeBlocks {
                    Console.note("note: the baseline is one period, so the threshold was calibrated on time blocks of it; a baseline of several "
                                 + "hours or days (--baseline repeated, or --period) holds better on another day (README: Operating it)")
                }
            }
        } else {
            print(String(format: "recipe seed, epochs: %d, training time %.1f s, final loss %.4f, val_loss %@, threshold %.4f, backend %@",
                         trained.epochsCompleted, seconds, last?.loss ?? .nan,
                         last?.valLoss.map { String(format: "%.4f", $0) } ?? "n/a", trained.threshold, backend.name))
        }
    }

    /// The --data or --baseline folder that the folder of `out` is, or lies within, if any: the
    /// flow loader reads every *.csv under it, so history.csv is not written there.
    func dataFolderHolding(_ out: URL) -> String? {
        ([dataOptions.data] + baseline).first { SameFile.folder(out.deletingLastPathComponent().path, isWithin: $0) }
    }

    /// The baseline periods: one per file, or with `seconds` windows of that length by the flows'
    /// timestamps (flows without one stay in their file's period).
    static func periods(of table: FlowTable, rows: [Int], seconds: Double?) throws -> BaselinePeriods {
        let byFile = BaselinePeriods.byFile(table)
        guard let seconds else { return byFile }
        guard seconds.isFinite, seconds >= 1 else { throw ValidationError("--period must be at least 1 second, got \(seconds)") }
        guard let times = table.timestamps else { throw ValidationError("--period needs a Timestamp column in the baseline") }
        let known = rows.compactMap { times[$0].isFinite ? times[$0] : nil }
        guard let start = known.min() else {
            throw ValidationError("--period: no baseline flow has a readable Timestamp (README: flow records)")
        }
        var windowIndex: [Int: Int] = [:], names: [String] = []
        var ofRow = [Int](repeating: -1, count: table.rowCount)
        let windows = Set(known.map { Int(($0 - start) / seconds) }).sorted()
        for w in windows {
            windowIndex[w] = names.count
            names.append(FlowTimestamp.iso8601(start + Double(w) * seconds))
        }
        var fileOnly: [Int: Int] = [:]
        for r in rows {
            if times[r].isFinite, let p = windowIndex[Int((times[r] - start) / seconds)] {
                ofRow[r] = p
            } else if byFile.ofRow[r] >= 0 {
                if fileOnly[byFile.ofRow[r]] == nil { fileOnly[byFile.ofRow[r]] = names.count; names.append(byFile.names[byFile.ofRow[r]] + " (no timestamp)") }
                ofRow[r] = fileOnly[byFile.ofRow[r]] ?? -1
            }
        }
        if names.count > 10_000 { throw ValidationError("--period \(seconds) makes \(names.count) periods; choose a longer period (an hour: 3600)") }
        return BaselinePeriods(ofRow: ofRow, names: names)
    }

    func describe(_ o: TrainingOptions, _ c: ModelConfig) -> String {
        switch o.recipe {
        case .seed:
            return "recipe seed: \(o.benignShots) benign + \(o.maliciousShots) malicious supports, transform \(o.transform.rawValue), loss \(c.loss.rawValue)"
                + (o.windowFeatures ? ", window features on" : "")
        case .baseline:
            return "recipe baseline: encoder \(o.encoder.rawValue), transform \(o.transform.rawValue), \(o.maliciousShots) malicious shots, " +
                "k \(o.k), threshold \(o.thresholdRule.rawValue)" + (o.thresholdRule == .fpr ? " \(o.fpr)" : "") +
                (o.encoder == .siamese ? ", \(o.epochs) epochs of \(o.pairsPerEpoch) pairs, loss \(c.loss.rawValue)" : "") +
                (o.windowFeatures ? ", window features on" : "")
        }
    }
}
