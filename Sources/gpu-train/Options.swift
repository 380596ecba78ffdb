import ArgumentParser
import Backend
import Common
import FlowData
import Foundation
import Detection
import Siamese

/// Which backend runs the arithmetic.
enum BackendKind: String, ExpressibleByArgument, CaseIterable {
    /// OpenCL when a GPU or accelerator is present, else the CPU backend.
    case auto, cpu, opencl
}

/// --device: the one declaration of the option, in every command that picks an OpenCL device
/// (through `BackendOptions`, or on its own in `verify` and `tune-gemm`).
struct DeviceOptions: ParsableArguments {
    @Option(help: "OpenCL device: an index from `gpu-train devices` or a case-insensitive part of its name (default: the first GPU, else accelerator, else CPU).")
    var device: String?
}

/// --backend and --device, shared by every command that computes.
struct BackendOptions: ParsableArguments {
    @Option(help: "Backend: auto (OpenCL on a GPU or accelerator, else CPU), cpu or opencl.")
    var backend: BackendKind = .auto

    @OptionGroup var deviceOptions: DeviceOptions
    var device: String? { deviceOptions.device }

    func validate() throws {
        if backend == .cpu, let device {
            throw ValidationError("--device \(device) selects an OpenCL device; --backend cpu uses none (drop one of them)")
        }
    }

    /// Creates the backend and says on stderr which one runs.
    func make(quiet: Bool = false) throws -> Backend {
        try CPUISA.checkEnvironment()
        if let error = CPUConvolution.environmentError { throw error }
        let made: Backend
        switch backend {
        case .cpu:
            made = CPUBackend()
        case .opencl:
            made = try OpenCLBackend(device: device)
        case .auto:
            if device != nil {
                made = try OpenCLBackend(device: device)
            } else if let gpu = (try? OpenCLDevices.all())?.first(where: { $0.type == "GPU" || $0.type == "accelerator" }) {
                made = try OpenCLBackend(device: String(gpu.index))
            } else {
                made = CPUBackend()
            }
        }
        if !quiet { Console.note("backend: \(made.name) on \(made.deviceDescription)") }
        return made
    }
}

/// --data and how flows are read.
struct DataOptions: ParsableArguments {
    @Option(help: "A CICFlowMeter CSV file, or a folder searched recursively for *.csv.")
    var data: String

    @Flag(help: "Skip rows with bad values or the wrong number of fields (reports how many and where) instead of stopping.")
    var skipBadRows = false

    func load(features: [String], readEndpoints: Bool = false) throws -> FlowTable {
        try Self.load(data, features: features, skipBadRows: skipBadRows, readEndpoints: readEndpoints)
    }

    /// Reads flows from `data` (a file or folder) and says on stderr what it read.
    static func load(_ data: String, features: [String], skipBadRows: Bool, readEndpoints: Bool = false,
                     requireLabels: Bool = true) throws -> FlowTable {
        try load([data], features: features, skipBadRows: skipBadRows, readEndpoints: readEndpoints, requireLabels: requireLabels)
    }

    /// Reads flows from several files or folders as one table (a file named twice, or reached
    /// through a link, is read once) and says on stderr what it read.
    static func load(_ paths: [String], features: [String], skipBadRows: Bool, readEndpoints: Bool = false,
                     requireLabels: Bool = true) throws -> FlowTable {
        let started = Date()
        let table = try FlowLoader.load(paths.map { URL(fileURLWithPath: $0) },
                                        options: FlowLoadOptions(features: features, skipBadRows: skipBadRows,
                                                                 requireLabels: requireLabels, readEndpoints: readEndpoints))
        let counts = table.scenarioCounts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        Console.note(String(format: "read %d flows from %@ in %.2f s (%@)", table.rowCount, paths.joined(separator: ", "),
                            Date().timeIntervalSince(started), counts))
        for note in table.report.notes { Console.note(note) }
        if !table.report.badRowSummary.isEmpty { Console.note(table.report.badRowSummary) }
        return table
    }
}

/// Messages and progress on stderr; results go to stdout.
enum Console {
    static let isTerminal = isatty(fileno(stderr)) != 0

    /// Messages quote file names, labels and header names: their control characters are
    /// escaped (TerminalText), so input can never drive the terminal.
    static func note(_ message: String) {
        FileHandle.standardError.write(Data((TerminalText.escaped(message, keepingLineBreaks: true) + "\n").utf8))
    }

    nonisolated(unsafe) static var lastPlainStatus = Date.distantPast

    /// Rewrites the current stderr line on a terminal; elsewhere (a log file, CI) prints it as
    /// a plain line at most every 10 seconds, so long runs still show that they are alive.
    static func status(_ line: String) {
        if isTerminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + TerminalText.escaped(line)).utf8))
        } else if Date().timeIntervalSince(lastPlainStatus) >= 10 {
            lastPlainStatus = Date()
            note(line)
        }
    }

    static func endStatus() {
        if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
            : s >= 60 ? String(format: "%dm%02ds", s / 60, s % 60) : "\(s)s"
    }

    static func bar(_ fraction: Double, width: Int = 24) -> String {
        let filled = Int((min(max(fraction, 0), 1) * Double(width)).rounded())
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]"
    }
}

extension URL {
    /// A sibling file in the same folder.
    func sibling(_ name: String) -> URL { deletingLastPathComponent().appendingPathComponent(name) }
}

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
