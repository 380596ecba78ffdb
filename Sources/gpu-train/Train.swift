import ArgumentParser
import Backend
import FlowData
import Foundation
import Reporting
import Siamese

/// Renders training events on stderr: a live bar on a terminal, plain lines otherwise.
struct TrainingProgress {
    var epochs = 0
    var firstEpoch = 1
    var started = Date()

    mutating func handle(_ event: TrainingEvent) {
        switch event {
        case let .started(trainPairs, validationPairs, steps, first, epochs):
            self.epochs = epochs
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
            if let s = r.seconds { line += String(format: "  %.1fs", s) }
            line += "  ETA \(Console.duration(secondsLeft))" + (best ? "  *" : "")
            Console.note(line)
        case let .earlyStop(epoch, bestEpoch):
            Console.note("early stop after epoch \(epoch): no better validation loss since epoch \(bestEpoch); restoring its weights")
        case .checkpoint:
            break
        }
    }
}

/// `gpu-train train`: few-shot training of the Siamese network.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the Siamese network on a few labelled flows and write the model, history.csv and curves.svg.")

    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Model file to write (safetensors); history.csv and curves.svg go beside it.") var out: String
    @Option(help: "Continue training from this model file (its support set, scaler and optimizer state).") var resume: String?
    @OptionGroup var model: ModelOptions
    @OptionGroup var backendOptions: BackendOptions

    func run() throws {
        // A failed run removes the folder it created for --out (when still empty).
        try OutputFolder.creating(for: URL(fileURLWithPath: out)) { try train() }
    }

    func train() throws {
        TrainedModel.softwareVersion = GPUTrain.version
        let outURL = URL(fileURLWithPath: out)
        var options = try model.trainingOptions()
        var config = try model.modelConfig()
        var resumed: TrainedModel?
        if let resume {
            let r = try TrainedModel.read(URL(fileURLWithPath: resume))
            config = r.config
            let epochs = options.epochs
            options = r.options
            options.epochs = max(epochs, r.epochsCompleted)
            resumed = r
            Console.note("resuming \(resume) after epoch \(r.epochsCompleted) of \(options.epochs)")
        }
        let features = try resumed?.scaler.featureNames ?? model.featureList()
        let table = try dataOptions.load(features: features)
        let backend = try backendOptions.make()
        let trainer = Trainer(backend: backend, config: config, options: options)
        var progress = TrainingProgress()
        let started = Date()
        let trained = try trainer.train(table: table, resume: resumed, checkpoint: outURL) { progress.handle($0) }
        let seconds = Date().timeIntervalSince(started)
        try HistoryCSV.write(trained.history, to: outURL.sibling("history.csv"))
        try SVG.trainingCurves(history: trained.history).write(to: outURL.sibling("curves.svg"))
        let last = trained.history.last
        print("model: \(out)")
        print("history: \(outURL.sibling("history.csv").path)")
        print("curves: \(outURL.sibling("curves.svg").path)")
        print(String(format: "epochs: %d, training time %.1f s, final loss %.4f, val_loss %@, threshold %.4f, backend %@",
                     trained.epochsCompleted, seconds, last?.loss ?? .nan,
                     last?.valLoss.map { String(format: "%.4f", $0) } ?? "n/a", trained.threshold, backend.name))
    }
}
