import ArgumentParser
import Backend
import FlowData
import Common
import Foundation
import Reporting
import Detection
import Siamese

extension FeatureTransform: ExpressibleByArgument {}
extension LossKind: ExpressibleByArgument {}
extension ScoreMethod: ExpressibleByArgument {}

extension Recipe: ExpressibleByArgument {}
extension EncoderKind: ExpressibleByArgument {}
extension ThresholdRule: ExpressibleByArgument {}
extension PositivePairs: ExpressibleByArgument {}

/// The model and training options of `train` (and `crossval`). Every option is optional so that
/// the recipe's defaults apply when it is not given, and `--resume` can tell what was given.
///
/// Numbers are parsed `.unconditional`ly so that `--lr -1` is read as the value -1 (and then
/// refused by range) rather than as a missing value followed by an unknown flag `-1`. Every
/// given value is range-checked when parsed (`validate`), before any file is read or written.
struct ModelOptions: ParsableArguments {
    @Option(help: "baseline (default): every benign flow is the model of normal traffic, scored by distance to its nearest entries; seed: the original 10 + 5 support-set recipe.")
    var recipe: Recipe = .baseline
    @Option(help: "Baseline recipe: none (nearest neighbour on the transformed features, no training; the default) or siamese (the CNN trained on baseline pairs).")
    var encoder: EncoderKind?
    @Option(parsing: .unconditional, help: "Seed recipe: benign flows in the support set (default 10).") var benignShots: Int?
    @Option(parsing: .unconditional, help: "Labelled attack flows drawn from the training data (default 5).") var maliciousShots: Int?
    @Flag(help: "Seed recipe: also pair malicious supports with each other as similar.") var pairMalicious = false
    @Option(parsing: .unconditional, help: "Seed for every draw, split and shuffle and the initial weights (default 42).") var seed: UInt64?
    @Option(parsing: .unconditional, help: "Adam learning rate (default 1e-4).") var lr: Float?
    @Option(parsing: .unconditional, help: "Pairs per training step (default 128 for the baseline recipe, 5 for seed).") var batchSize: Int?
    @Option(parsing: .unconditional, help: "Training epochs (default 5 for the baseline recipe's Siamese encoder, 20 for seed).") var epochs: Int?
    @Option(parsing: .unconditional, help: "Baseline recipe with --encoder siamese: pairs drawn per epoch (default 4096).") var pairsPerEpoch: Int?
    @Option(help: "Baseline recipe with --encoder siamese: similar pairs are random baseline pairs (default), each flow with its nearest baseline neighbour (nearest), or with the nearest flow of the same service from another period (cross-period).")
    var positivePairs: PositivePairs?
    @Option(parsing: .unconditional, help: "Fraction held out for validation (default 0.2).") var valSplit: Double?
    @Option(parsing: .unconditional, help: "Stop after this many epochs without a better validation loss; 0 never (default 2 baseline, 5 seed).") var patience: Int?
    @Option(help: "Loss: bce (head on |e1 - e2|) or contrastive (margin on the embedding distance). Default: contrastive for the baseline recipe's Siamese encoder, bce for seed.")
    var loss: LossKind?
    @Option(parsing: .unconditional, help: "Contrastive margin (default 1).") var margin: Float?
    @Option(help: "Feature transform: quantile (baseline quantiles to a standard normal; the baseline default), log (signed log1p, then z-score) or none (z-score; the seed default).")
    var transform: FeatureTransform?
    @Option(help: "Seed recipe's anomaly score: benign-mean (default), benign-max or contrast.") var score: ScoreMethod?
    @Option(parsing: .unconditional, help: "Baseline recipe: most baseline flows kept in the memory bank (default 20000; a larger baseline is subsampled with --seed).")
    var bankSize: Int?
    @Option(parsing: .unconditional, help: "Baseline recipe: score = distance to the k-th nearest bank flow (default 1).") var k: Int?
    @Option(help: "Baseline recipe with --encoder none: clip each feature's difference at this many transformed units in the distance (default 1), or none for the plain Euclidean distance.")
    var clip: String?
    @Option(parsing: .unconditional, help: "Share of normal traffic from another period to flag: the fpr threshold rule places the threshold there on cross-period scores (default 0.01 for the baseline recipe, 0.05 for seed).") var fpr: Double?
    @Option(help: "fpr (flag at most --fpr of the baseline's leave-one-out scores; the baseline default) or support-f1 (F1-best cut against the shots; the seed default).")
    var thresholdRule: ThresholdRule?
    @Option(parsing: .unconditional, help: "Seconds between checkpoints while training (0: after every epoch); the model is always written at the end.")
    var checkpointInterval: Double?
    @Option(help: "Feature columns: comma-separated names or a file with one name per line (default: the recipe's; see the README).")
    var features: String?
    @Option(parsing: .unconditional, help: "Encoder channels, comma-separated (default 64,128,128,256).") var channels: String?
    @Option(parsing: .unconditional, help: "Embedding size (default 4096).") var embedding: Int?

    typealias Limits = TrainingLimits

    /// Range checks while the command line is parsed, naming the option; the rest (batch size
    /// against the network, option combinations) when the options are put together.
    func validate() throws {
        func within<T: Comparable>(_ option: String, _ value: T?, _ range: ClosedRange<T>) throws {
            guard let value else { return }
            guard range.contains(value) else {
                throw ValidationError("\(option) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
            }
        }
        try within("--benign-shots", benignShots, 2...Limits.maxShots)
        try within("--malicious-shots", maliciousShots, 0...Limits.maxShots)
        try within("--epochs", epochs, 1...Limits.maxEpochs)
        try within("--pairs-per-epoch", pairsPerEpoch, 2...Limits.maxPairsPerEpoch)
        try within("--bank-size", bankSize, 2...NeighborGeometry.maxBankRows)
        try within("--k", k, 1...(NeighborGeometry.maxK - 1))
        if let patience { guard patience >= 0 else { throw ValidationError("--patience must be 0 or more, got \(patience)") } }
        if let lr { guard lr.isFinite, lr > 0 else { throw ValidationError("--lr must be a positive number, got \(lr)") } }
        if let margin { guard margin.isFinite, margin > 0 else { throw ValidationError("--margin must be a positive number, got \(margin)") } }
        if let valSplit { guard valSplit.isFinite, (0..<1).contains(valSplit) else { throw ValidationError("--val-split must be in [0, 1), got \(valSplit)") } }
        if let fpr { guard fpr.isFinite, fpr > 0, fpr < 1 else { throw ValidationError("--fpr must be in (0, 1), got \(fpr)") } }
        if let checkpointInterval {
            guard checkpointInterval.isFinite, checkpointInterval >= 0 else {
                throw ValidationError("--checkpoint-interval must be 0 or more seconds, got \(checkpointInterval)")
            }
        }
        if let embedding { guard embedding > 0 else { throw ValidationError("--embedding must be positive, got \(embedding)") } }
        _ = try distanceClip()
        let config = try modelConfig()
        if let batchSize {
            let maxBatch = (try? config.maxPairsPerBatch()) ?? 1
            guard (1...maxBatch).contains(batchSize) else {
                throw ValidationError("--batch-size must be between 1 and \(maxBatch) for this network, got \(batchSize)")
            }
        }
    }

    /// --clip: nil when not given, .some(nil) for none, else the positive number.
    func distanceClip() throws -> Float?? {
        guard let clip else { return nil }
        if clip.lowercased() == "none" { return .some(nil) }
        guard let v = Float(clip), v.isFinite, v > 0 else { throw ValidationError("--clip must be a positive number or none, got '\(clip)'") }
        return .some(v)
    }

    func featureList() throws -> [String] {
        guard let features else { return recipe.defaultFeatures }
        return try FeatureSet.parse(features)
    }

    func modelConfig() throws -> ModelConfig {
        var config = ModelConfig.default
        config.loss = loss ?? (recipe == .baseline ? .contrastive : .bce)
        if let margin { config.margin = margin }
        if let channels {
            let list = channels.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard list.count == config.kernels.count, list.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw ValidationError("--channels needs \(config.kernels.count) positive integers, got '\(channels)'")
            }
            config.channels = list.compactMap { $0 }
            do { try config.validate() } catch { throw ValidationError("--channels \(channels) is too large: \(error)") }
        }
        if let embedding {
            config.embedding = embedding
            do { try config.validate() } catch { throw ValidationError("--embedding \(embedding) is too large: \(error)") }
        }
        do { try config.validate() } catch { throw ValidationError("\(error)") }
        return config
    }

    /// Options given on the command line that `recipe` with `encoder` does not use.
    func inapplicable(recipe: Recipe, encoder: EncoderKind?) -> [String] {
        var out: [String] = []
        let siamese = recipe == .seed || encoder == .siamese
        if recipe == .baseline {
            if benignShots != nil { out.append("--benign-shots (the baseline recipe uses every benign flow)") }
            if pairMalicious { out.append("--pair-malicious") }
            if score != nil { out.append("--score (the baseline recipe scores by distance to the bank)") }
            if clip != nil && encoder == .siamese { out.append("--clip (it clips transformed features; the encoder's embedding has its own units)") }
        } else {
            for (given, name) in [(encoder != nil, "--encoder"), (bankSize != nil, "--bank-size"), (k != nil, "--k"), (clip != nil, "--clip"),
                                  (pairsPerEpoch != nil, "--pairs-per-epoch"), (positivePairs != nil, "--positive-pairs")] where given { out.append(name) }
        }
        if !siamese {
            for (given, name) in [(lr != nil, "--lr"), (batchSize != nil, "--batch-size"), (epochs != nil, "--epochs"),
                                  (pairsPerEpoch != nil, "--pairs-per-epoch"), (positivePairs != nil, "--positive-pairs"),
                                  (patience != nil, "--patience"),
                                  (loss != nil, "--loss"), (margin != nil, "--margin"), (channels != nil, "--channels"),
                                  (embedding != nil, "--embedding"), (valSplit != nil, "--val-split")] where given {
                out.append(name + " (--encoder none trains no network)")
            }
        }
        return out
    }

    /// Refuses options that `recipe` with `encoder` would silently ignore.
    func checkApplicable(recipe: Recipe, encoder: EncoderKind?) throws {
        let unused = inapplicable(recipe: recipe, encoder: encoder)
        guard unused.isEmpty else {
            throw ValidationError("not used by --recipe \(recipe.rawValue)" + (recipe == .baseline ? " --encoder \((encoder ?? .none).rawValue)" : "") +
                                  ": " + unused.joined(separator: ", "))
        }
    }

    func trainingOptions() throws -> TrainingOptions {
        var o = TrainingOptions.defaults(for: recipe)
        if let encoder { o.encoder = encoder }
        if let benignShots { o.benignShots = benignShots }
        if let maliciousShots { o.maliciousShots = maliciousShots }
        o.pairMalicious = pairMalicious
        if let seed { o.seed = seed }
        if let lr { o.learningRate = lr }
        if let batchSize { o.batchSize = batchSize }
        if let epochs { o.epochs = epochs }
        if let pairsPerEpoch { o.pairsPerEpoch = pairsPerEpoch }
        if let positivePairs { o.positivePairs = positivePairs }
        if let valSplit { o.valSplit = valSplit }
        if let patience { o.patience = patience }
        if let transform { o.transform = transform }
        if let score { o.scoreMethod = score }
        if let bankSize { o.bankSize = bankSize }
        if let k { o.k = k }
        if let fpr { o.fpr = fpr }
        if let clip = try distanceClip() { o.distanceClip = clip }
        if let thresholdRule { o.thresholdRule = thresholdRule }
        if let checkpointInterval { o.checkpointInterval = checkpointInterval }
        do { try o.validate() } catch { throw ValidationError("\(error)") }
        return o
    }

    /// Options given on the command line that differ from a checkpoint's, as "--name given (checkpoint had x)".
    func conflicts(with stored: TrainingOptions, config storedConfig: ModelConfig, features storedFeatures: [String]) -> [String] {
        var out: [String] = []
        func check<T: Equatable>(_ name: String, _ given: T?, _ had: T) {
            if let given, given != had { out.append("--\(name) \(given) (the checkpoint has \(had))") }
        }
        if recipe != stored.recipe && recipe != .baseline { out.append("--recipe \(recipe.rawValue) (the checkpoint has \(stored.recipe.rawValue))") }
        check("encoder", encoder, stored.encoder)
        check("benign-shots", benignShots, stored.benignShots)
        check("malicious-shots", maliciousShots, stored.maliciousShots)
        if pairMalicious != stored.pairMalicious { out.append("--pair-malicious (the checkpoint has \(stored.pairMalicious))") }
        check("seed", seed, stored.seed)
        check("lr", lr, stored.learningRate)
        check("batch-size", batchSize, stored.batchSize)
        check("pairs-per-epoch", pairsPerEpoch, stored.pairsPerEpoch)
        check("positive-pairs", positivePairs, stored.positivePairs)
        check("val-split", valSplit, stored.valSplit)
        check("patience", patience, stored.patience)
        check("loss", loss, storedConfig.loss)
        check("margin", margin, storedConfig.margin)
        check("transform", transform, stored.transform)
        check("score", score, stored.scoreMethod)
        check("bank-size", bankSize, stored.bankSize)
        check("k", k, stored.k)
        check("fpr", fpr, stored.fpr)
        if let given = try? distanceClip(), given != stored.distanceClip {
            out.append("--clip \(clip ?? "") (the checkpoint has \(stored.distanceClip.map { "\($0)" } ?? "none"))")
        }
        check("threshold-rule", thresholdRule, stored.thresholdRule)
        check("embedding", embedding, storedConfig.embedding)
        if let channels, (try? modelConfig().channels) != storedConfig.channels { out.append("--channels \(channels) (the checkpoint has \(storedConfig.channels))") }
        if features != nil, (try? featureList()) != storedFeatures { out.append("--features (the checkpoint has \(storedFeatures.count) other columns)") }
        return out
    }
}

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
    @Option(help: ArgumentHelp("Benign baseline (CSV file or folder, labelled or not), repeatable: every flow in it is normal traffic, and --data then supplies only the labelled attacks. Each file is a period (an hour, a day) unless --period says otherwise; the threshold is calibrated across periods.", valueName: "path"))
    var baseline: [String] = []
    @Option(parsing: .unconditional, help: "Split the baseline into periods of this many seconds by the flows' Timestamp column, instead of one period per file.")
    var period: Double?
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
        let features = try resumed?.scaler.featureNames ?? model.featureList()
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
        case .baseline:
            return "recipe baseline: encoder \(o.encoder.rawValue), transform \(o.transform.rawValue), \(o.maliciousShots) malicious shots, " +
                "k \(o.k), threshold \(o.thresholdRule.rawValue)" + (o.thresholdRule == .fpr ? " \(o.fpr)" : "") +
                (o.encoder == .siamese ? ", \(o.epochs) epochs of \(o.pairsPerEpoch) pairs, loss \(c.loss.rawValue)" : "")
        }
    }
}
