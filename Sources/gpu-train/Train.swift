import ArgumentParser
import Backend
import FlowData
import Foundation
import Reporting
import Siamese

extension FeatureTransform: ExpressibleByArgument {}
extension LossKind: ExpressibleByArgument {}
extension ScoreMethod: ExpressibleByArgument {}

/// The model and training options of `train` (and `crossval`).
struct ModelOptions: ParsableArguments {
    @Option(help: "Benign flows in the few-shot support set.") var benignShots = 10
    @Option(help: "Malicious flows in the few-shot support set.") var maliciousShots = 5
    @Flag(help: "Also pair malicious supports with each other as similar.") var pairMalicious = false
    @Option(help: "Seed for the support draw, the split, the shuffles and the initial weights.") var seed: UInt64 = 42
    @Option(help: "Adam learning rate.") var lr: Float = 1e-4
    @Option(help: "Pairs per training step.") var batchSize = 5
    @Option(help: "Training epochs.") var epochs = 20
    @Option(help: "Fraction of pairs held out for validation (stratified by label).") var valSplit = 0.2
    @Option(help: "Stop after this many epochs without a better validation loss (0: never).") var patience = 5
    @Option(help: "Loss: bce (head on |e1 - e2|) or contrastive (margin on the embedding distance).") var loss: LossKind = .bce
    @Option(help: "Contrastive margin.") var margin: Float = 1.0
    @Option(help: "Feature transform before the z-score: none or log (signed log1p).") var transform: FeatureTransform = .none
    @Option(help: "Anomaly score: benign-mean, benign-max or contrast.") var score: ScoreMethod = .benignMean
    @Option(help: "Seconds between checkpoints while training (0: after every epoch); the model is always written at the end.")
    var checkpointInterval: Double = 30
    @Option(help: "Feature columns: comma-separated names or a file with one name per line (default: the 27 of the original work).")
    var features: String?
    @Option(help: "Encoder channels, comma-separated (default 64,128,128,256).") var channels: String?
    @Option(help: "Embedding size (default 4096).") var embedding: Int?

    func featureList() throws -> [String] {
        guard let features else { return FeatureSet.default }
        return try FeatureSet.parse(features)
    }

    func modelConfig() throws -> ModelConfig {
        var config = ModelConfig.default
        config.loss = loss
        config.margin = margin
        if let channels {
            let list = channels.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard list.count == config.kernels.count, list.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw ValidationError("--channels needs \(config.kernels.count) positive integers, got '\(channels)'")
            }
            config.channels = list.map { $0! }
        }
        if let embedding { config.embedding = embedding }
        try config.validate()
        return config
    }

    func trainingOptions() throws -> TrainingOptions {
        var o = TrainingOptions()
        o.benignShots = benignShots
        o.maliciousShots = maliciousShots
        o.pairMalicious = pairMalicious
        o.seed = seed
        o.learningRate = lr
        o.batchSize = batchSize
        o.epochs = epochs
        o.valSplit = valSplit
        o.patience = patience
        o.transform = transform
        o.scoreMethod = score
        o.checkpointInterval = checkpointInterval
        try o.validate()
        return o
    }
}

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
        TrainedModel.softwareVersion = GPUTrain.version
        let outURL = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: outURL.deletingLastPathComponent(), withIntermediateDirectories: true)
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
