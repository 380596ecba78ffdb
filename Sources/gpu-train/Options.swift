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

    @Option(help: "A `gpu-train tune-gemm --json` file (or a JSON list of them) whose entry for the OpenCL device wins over the built-in tuning table (default: $GPU_TRAIN_TUNING_FILE).")
    var tuningFile: String?

    func validate() throws {
        if backend == .cpu, let device {
            throw ValidationError("--device \(device) selects an OpenCL device; --backend cpu uses none (drop one of them)")
        }
        if backend == .cpu, let tuningFile {
            throw ValidationError("--tuning-file \(tuningFile) tunes OpenCL kernels; --backend cpu runs none (drop one of them)")
        }
    }

    /// Creates the backend and says on stderr which one runs.
    func make(quiet: Bool = false) throws -> Backend {
        try CPUISA.checkEnvironment()
        if let error = CPUConvolution.environmentError { throw error }
        if let error = CPUNeighborSearch.environmentError { throw error }
        // Read (and checked) even when auto ends up on the CPU, so a bad file is never silently ignored.
        let overlay = try tuningFile.map { try OpenCLTuningOverlay(contentsOf: $0) }
        let made: Backend
        switch backend {
        case .cpu:
            made = CPUBackend()
        case .opencl:
            made = try OpenCLBackend(device: device, overlay: overlay)
        case .auto:
            if device != nil {
                made = try OpenCLBackend(device: device, overlay: overlay)
            } else if let gpu = (try? OpenCLDevices.all())?.first(where: { $0.type == "GPU" || $0.type == "accelerator" }) {
                made = try OpenCLBackend(device: String(gpu.index), overlay: overlay)
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
    @Option(help: "A flow file (CICFlowMeter CSV, Zeek conn.log, Suricata eve.json, or a pcap/pcapng capture, metered first), or a folder searched recursively for *.csv and Zeek or Suricata *.log, *.json, *.ndjson.")
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
        // A packet capture among them is metered into flows first (FlowMeter), in a temporary folder.
        let table = try PacketCaptures.withFlowFiles(paths) { files in
            try FlowLoader.load(files.map { URL(fileURLWithPath: $0) },
                                options: FlowLoadOptions(features: features, skipBadRows: skipBadRows,
                                                         requireLabels: requireLabels, readEndpoints: readEndpoints))
        }
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

/// An option that is on or off.
enum OnOff: String, ExpressibleByArgument, CaseIterable {
    case on, off
}

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
    @Option(help: "on: append window features (per source host and destination service: recent flow rates, distinct ports, failed share, bytes per flow, from the flows before each flow) to the feature list; off (default). Needs Src IP, Dst IP, Dst Port and Timestamp columns.")
    var windowFeatures: OnOff?
    @Option(parsing: .unconditional, help: "Encoder channels, comma-separated (default 64,128,128,256).") var channels: String?
    @Option(parsing: .unconditional, help: "Embedding size (default 4096).") var embedding: Int?

    typealias Limits = TrainingLimits

    /// Range checks while the command line is parsed, naming the option, each option's in
    /// `ModelOptionSpec.all` (the batch size against the network among them); option combinations
    /// when the options are put together (`trainingOptions`).
    func validate() throws {
        for spec in ModelOptionSpec.all { try spec.check(self) }
    }

    /// --clip: nil when not given, .some(nil) for none, else the positive number.
    func distanceClip() throws -> Float?? {
        guard let clip else { return nil }
        if clip.lowercased() == "none" { return .some(nil) }
        guard let v = Float(clip), v.isFinite, v > 0 else { throw ValidationError("--clip must be a positive number or none, got '\(clip)'") }
        return .some(v)
    }

    /// The feature columns (--features, else the recipe's), then the window features when they are on.
    func featureList() throws -> [String] {
        withWindowFeatures(try columnFeatures())
    }

    /// --features, else the recipe's default columns; never the window features, which come from --window-features.
    func columnFeatures() throws -> [String] {
        guard let features else { return recipe.defaultFeatures }
        let list = try FeatureSet.parse(features)
        let window = list.filter(WindowFeatures.isWindowFeature)
        guard window.isEmpty else {
            throw ValidationError("--features lists window features (\(window.joined(separator: ", "))): they are computed, "
                                  + "all of them or none; give --window-features on instead")
        }
        return list
    }

    private func withWindowFeatures(_ list: [String]) -> [String] {
        windowFeatures == .on ? list + WindowFeatures.names : list
    }

    /// `featureList()` for a load of `data`: without --features, a Zeek or Suricata log (the first
    /// file a load of `data` reads) gets its dialect's own default features, which the model records.
    func featureList(data: [String]) throws -> [String] {
        guard features == nil else { return try featureList() }
        if let dialect = FlowLoader.logDialect(of: data.map { URL(fileURLWithPath: $0) }), let list = dialect.defaultFeatures {
            Console.note("features: the \(list.count) default features of \(dialect.rawValue) flows (--features to choose others)")
            return withWindowFeatures(list)
        }
        return try featureList()
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

    /// Options given on the command line that `recipe` with `encoder` does not use, each with
    /// why in parentheses when there is more to say.
    func inapplicable(recipe: Recipe, encoder: EncoderKind?) -> [String] {
        ModelOptionSpec.all.compactMap { spec in
            guard spec.given(self), let why = spec.unused(recipe, encoder) else { return nil }
            return spec.name + (why.isEmpty ? "" : " (\(why))")
        }
    }

    /// Refuses options that `recipe` with `encoder` would silently ignore.
    func checkApplicable(recipe: Recipe, encoder: EncoderKind?) throws {
        let unused = inapplicable(recipe: recipe, encoder: encoder)
        guard unused.isEmpty else {
            throw ValidationError("not used by --recipe \(recipe.rawValue)" + (recipe == .baseline ? " --encoder \((encoder ?? .none).rawValue)" : "") +
                                  ": " + unused.joined(separator: ", "))
        }
    }

    /// The run's options: the recipe's defaults with every given option applied.
    func trainingOptions() throws -> TrainingOptions {
        var o = TrainingOptions.defaults(for: recipe)
        for spec in ModelOptionSpec.all { try spec.apply(self, &o) }
        do { try o.validate() } catch { throw ValidationError("\(error)") }
        return o
    }

    /// Options given on the command line that differ from a checkpoint's, as "--name given (the checkpoint has x)".
    func conflicts(with stored: TrainingOptions, config storedConfig: ModelConfig, features storedFeatures: [String]) -> [String] {
        let checkpoint = ModelOptionSpec.Checkpoint(options: stored, config: storedConfig, features: storedFeatures)
        return ModelOptionSpec.all.compactMap { $0.conflict(self, checkpoint) }
    }
}

/// One option of `ModelOptions`: the single description from which the command line is
/// range-checked, the run's `TrainingOptions` are built, a `--resume` is compared with its
/// checkpoint and an option a recipe does not use is refused. `all` lists them in the order of
/// `--help`, which is the order of every message that lists several.
struct ModelOptionSpec {
    /// What a checkpoint was trained with.
    struct Checkpoint {
        var options: TrainingOptions
        var config: ModelConfig
        var features: [String]
    }

    var name: String
    /// Whether the option was given on the command line.
    var given: (ModelOptions) -> Bool
    /// Throws a `ValidationError` naming the option when its value is out of range.
    var check: (ModelOptions) throws -> Void = { _ in }
    /// Sets the given value in the run's options (the network's options go to `modelConfig`).
    var apply: (ModelOptions, inout TrainingOptions) throws -> Void = { _, _ in }
    /// "--name value (the checkpoint has x)" when the given value differs from the checkpoint's.
    var conflict: (ModelOptions, Checkpoint) -> String? = { _, _ in nil }
    /// Why `recipe` with `encoder` does not use the option ("" when there is nothing to add), or
    /// nil when it does.
    var unused: (Recipe, EncoderKind?) -> String? = { _, _ in nil }

    typealias Limits = TrainingLimits

    /// A checkpoint conflict of an optional value.
    static func differs<T: Equatable>(_ name: String, _ given: T?, _ had: T) -> String? {
        guard let given, given != had else { return nil }
        return "\(name) \(given) (the checkpoint has \(had))"
    }

    static func within<T: Comparable>(_ name: String, _ value: T?, _ range: ClosedRange<T>) throws {
        guard let value else { return }
        guard range.contains(value) else {
            throw ValidationError("\(name) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
    }

    /// Used only when a network is trained: the seed recipe or the Siamese encoder.
    static let networkOnly: (Recipe, EncoderKind?) -> String? = { recipe, encoder in
        recipe == .seed || encoder == .siamese ? nil : "--encoder none trains no network"
    }
    /// Used by the baseline recipe only (with or without a network).
    static let baselineOnly: (Recipe, EncoderKind?) -> String? = { recipe, _ in recipe == .seed ? "" : nil }
    /// Used by the baseline recipe's Siamese encoder only.
    static let baselineNetworkOnly: (Recipe, EncoderKind?) -> String? = { recipe, encoder in
        recipe == .seed ? "" : networkOnly(recipe, encoder)
    }

    static let all: [ModelOptionSpec] = [
        ModelOptionSpec(name: "--recipe", given: { $0.recipe != .baseline },
                        conflict: { m, c in m.recipe != c.options.recipe && m.recipe != .baseline
                            ? "--recipe \(m.recipe.rawValue) (the checkpoint has \(c.options.recipe.rawValue))" : nil }),
        ModelOptionSpec(name: "--encoder", given: { $0.encoder != nil },
                        apply: { m, o in if let v = m.encoder { o.encoder = v } },
                        conflict: { m, c in differs("--encoder", m.encoder, c.options.encoder) },
                        unused: baselineOnly),
        ModelOptionSpec(name: "--benign-shots", given: { $0.benignShots != nil },
                        check: { try within("--benign-shots", $0.benignShots, 2...Limits.maxShots) },
                        apply: { m, o in if let v = m.benignShots { o.benignShots = v } },
                        conflict: { m, c in differs("--benign-shots", m.benignShots, c.options.benignShots) },
                        unused: { recipe, _ in recipe == .baseline ? "the baseline recipe uses every benign flow" : nil }),
        ModelOptionSpec(name: "--malicious-shots", given: { $0.maliciousShots != nil },
                        check: { try within("--malicious-shots", $0.maliciousShots, 0...Limits.maxShots) },
                        apply: { m, o in if let v = m.maliciousShots { o.maliciousShots = v } },
                        conflict: { m, c in differs("--malicious-shots", m.maliciousShots, c.options.maliciousShots) }),
        ModelOptionSpec(name: "--pair-malicious", given: { $0.pairMalicious },
                        apply: { m, o in o.pairMalicious = m.pairMalicious },
                        conflict: { m, c in m.pairMalicious != c.options.pairMalicious
                            ? "--pair-malicious (the checkpoint has \(c.options.pairMalicious))" : nil },
                        unused: { recipe, _ in recipe == .baseline ? "" : nil }),
        ModelOptionSpec(name: "--seed", given: { $0.seed != nil },
                        apply: { m, o in if let v = m.seed { o.seed = v } },
                        conflict: { m, c in differs("--seed", m.seed, c.options.seed) }),
        ModelOptionSpec(name: "--lr", given: { $0.lr != nil },
                        check: { m in if let lr = m.lr { guard lr.isFinite, lr > 0 else { throw ValidationError("--lr must be a positive number, got \(lr)") } } },
                        apply: { m, o in if let v = m.lr { o.learningRate = v } },
                        conflict: { m, c in differs("--lr", m.lr, c.options.learningRate) },
                        unused: networkOnly),
        ModelOptionSpec(name: "--batch-size", given: { $0.batchSize != nil },
                        check: { m in
                            guard let batchSize = m.batchSize else { return }
                            let maxBatch = (try? m.modelConfig().maxPairsPerBatch()) ?? 1
                            _ = try m.modelConfig()
                            guard (1...maxBatch).contains(batchSize) else {
                                throw ValidationError("--batch-size must be between 1 and \(maxBatch) for this network, got \(batchSize)")
                            }
                        },
                        apply: { m, o in if let v = m.batchSize { o.batchSize = v } },
                        conflict: { m, c in differs("--batch-size", m.batchSize, c.options.batchSize) },
                        unused: networkOnly),
        // --epochs and --checkpoint-interval may change on --resume: no conflict.
        ModelOptionSpec(name: "--epochs", given: { $0.epochs != nil },
                        check: { try within("--epochs", $0.epochs, 1...Limits.maxEpochs) },
                        apply: { m, o in if let v = m.epochs { o.epochs = v } },
                        unused: networkOnly),
        ModelOptionSpec(name: "--pairs-per-epoch", given: { $0.pairsPerEpoch != nil },
                        check: { try within("--pairs-per-epoch", $0.pairsPerEpoch, 2...Limits.maxPairsPerEpoch) },
                        apply: { m, o in if let v = m.pairsPerEpoch { o.pairsPerEpoch = v } },
                        conflict: { m, c in differs("--pairs-per-epoch", m.pairsPerEpoch, c.options.pairsPerEpoch) },
                        unused: baselineNetworkOnly),
        ModelOptionSpec(name: "--positive-pairs", given: { $0.positivePairs != nil },
                        apply: { m, o in if let v = m.positivePairs { o.positivePairs = v } },
                        conflict: { m, c in differs("--positive-pairs", m.positivePairs, c.options.positivePairs) },
                        unused: baselineNetworkOnly),
        ModelOptionSpec(name: "--val-split", given: { $0.valSplit != nil },
                        check: { m in if let v = m.valSplit { guard v.isFinite, (0..<1).contains(v) else { throw ValidationError("--val-split must be in [0, 1), got \(v)") } } },
                        apply: { m, o in if let v = m.valSplit { o.valSplit = v } },
                        conflict: { m, c in differs("--val-split", m.valSplit, c.options.valSplit) },
                        unused: networkOnly),
        ModelOptionSpec(name: "--patience", given: { $0.patience != nil },
                        check: { m in if let v = m.patience { guard v >= 0 else { throw ValidationError("--patience must be 0 or more, got \(v)") } } },
                        apply: { m, o in if let v = m.patience { o.patience = v } },
                        conflict: { m, c in differs("--patience", m.patience, c.options.patience) },
                        unused: networkOnly),
        ModelOptionSpec(name: "--loss", given: { $0.loss != nil },
                        conflict: { m, c in differs("--loss", m.loss, c.config.loss) },
                        unused: networkOnly),
        ModelOptionSpec(name: "--margin", given: { $0.margin != nil },
                        check: { m in if let v = m.margin { guard v.isFinite, v > 0 else { throw ValidationError("--margin must be a positive number, got \(v)") } } },
                        conflict: { m, c in differs("--margin", m.margin, c.config.margin) },
                        unused: networkOnly),
        ModelOptionSpec(name: "--transform", given: { $0.transform != nil },
                        apply: { m, o in if let v = m.transform { o.transform = v } },
                        conflict: { m, c in differs("--transform", m.transform, c.options.transform) }),
        ModelOptionSpec(name: "--score", given: { $0.score != nil },
                        apply: { m, o in if let v = m.score { o.scoreMethod = v } },
                        conflict: { m, c in differs("--score", m.score, c.options.scoreMethod) },
                        unused: { recipe, _ in recipe == .baseline ? "the baseline recipe scores by distance to the bank" : nil }),
        ModelOptionSpec(name: "--bank-size", given: { $0.bankSize != nil },
                        check: { try within("--bank-size", $0.bankSize, 2...NeighborGeometry.maxBankRows) },
                        apply: { m, o in if let v = m.bankSize { o.bankSize = v } },
                        conflict: { m, c in differs("--bank-size", m.bankSize, c.options.bankSize) },
                        unused: baselineOnly),
        ModelOptionSpec(name: "--k", given: { $0.k != nil },
                        check: { try within("--k", $0.k, 1...(NeighborGeometry.maxK - 1)) },
                        apply: { m, o in if let v = m.k { o.k = v } },
                        conflict: { m, c in differs("--k", m.k, c.options.k) },
                        unused: baselineOnly),
        ModelOptionSpec(name: "--clip", given: { $0.clip != nil },
                        check: { _ = try $0.distanceClip() },
                        apply: { m, o in if let v = try m.distanceClip() { o.distanceClip = v } },
                        conflict: { m, c in
                            guard let given = try? m.distanceClip(), given != c.options.distanceClip else { return nil }
                            return "--clip \(m.clip ?? "") (the checkpoint has \(c.options.distanceClip.map { "\($0)" } ?? "none"))"
                        },
                        unused: { recipe, encoder in
                            recipe == .seed ? "" : encoder == .siamese ? "it clips transformed features; the encoder's embedding has its own units" : nil
                        }),
        ModelOptionSpec(name: "--fpr", given: { $0.fpr != nil },
                        check: { m in if let v = m.fpr { guard v.isFinite, v > 0, v < 1 else { throw ValidationError("--fpr must be in (0, 1), got \(v)") } } },
                        apply: { m, o in if let v = m.fpr { o.fpr = v } },
                        conflict: { m, c in differs("--fpr", m.fpr, c.options.fpr) }),
        ModelOptionSpec(name: "--threshold-rule", given: { $0.thresholdRule != nil },
                        apply: { m, o in if let v = m.thresholdRule { o.thresholdRule = v } },
                        conflict: { m, c in differs("--threshold-rule", m.thresholdRule, c.options.thresholdRule) }),
        ModelOptionSpec(name: "--checkpoint-interval", given: { $0.checkpointInterval != nil },
                        check: { m in
                            if let v = m.checkpointInterval {
                                guard v.isFinite, v >= 0 else { throw ValidationError("--checkpoint-interval must be 0 or more seconds, got \(v)") }
                            }
                        },
                        apply: { m, o in if let v = m.checkpointInterval { o.checkpointInterval = v } }),
        ModelOptionSpec(name: "--features", given: { $0.features != nil },
                        conflict: { m, c in
                            let columns = c.features.filter { !WindowFeatures.isWindowFeature($0) }
                            return m.features != nil && (try? m.columnFeatures()) != columns
                                ? "--features (the checkpoint has \(columns.count) other columns)" : nil
                        }),
        ModelOptionSpec(name: "--window-features", given: { $0.windowFeatures != nil },
                        apply: { m, o in if let v = m.windowFeatures { o.windowFeatures = v == .on } },
                        conflict: { m, c in
                            guard let v = m.windowFeatures, (v == .on) != c.options.windowFeatures else { return nil }
                            return "--window-features \(v.rawValue) (the checkpoint has \(c.options.windowFeatures ? "on" : "off"))"
                        }),
        ModelOptionSpec(name: "--channels", given: { $0.channels != nil },
                        check: { m in if m.channels != nil { _ = try m.modelConfig() } },
                        conflict: { m, c in
                            guard let channels = m.channels, (try? m.modelConfig().channels) != c.config.channels else { return nil }
                            return "--channels \(channels) (the checkpoint has \(c.config.channels))"
                        },
                        unused: networkOnly),
        ModelOptionSpec(name: "--embedding", given: { $0.embedding != nil },
                        check: { m in
                            if let v = m.embedding { guard v > 0 else { throw ValidationError("--embedding must be positive, got \(v)") } }
                            _ = try m.modelConfig()
                        },
                        conflict: { m, c in differs("--embedding", m.embedding, c.config.embedding) },
                        unused: networkOnly),
    ]
}
