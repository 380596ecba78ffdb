import ArgumentParser
import Backend
import FlowData
import Foundation
import Siamese

/// Which backend runs the arithmetic.
enum BackendKind: String, ExpressibleByArgument, CaseIterable {
    /// OpenCL when a GPU or accelerator is present, else the CPU backend.
    case auto, cpu, opencl
}

/// --backend and --device, shared by every command that computes.
struct BackendOptions: ParsableArguments {
    @Option(help: "Backend: auto (OpenCL on a GPU or accelerator, else CPU), cpu or opencl.")
    var backend: BackendKind = .auto

    @Option(help: "OpenCL device: an index from `gpu-train devices` or a case-insensitive substring of its name.")
    var device: String?

    /// Creates the backend and says on stderr which one runs.
    func make(quiet: Bool = false) throws -> Backend {
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

    func load(features: [String]) throws -> FlowTable {
        let url = URL(fileURLWithPath: data)
        let started = Date()
        let table = try FlowLoader.load(url, options: FlowLoadOptions(features: features, skipBadRows: skipBadRows))
        let counts = table.scenarioCounts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        Console.note(String(format: "read %d flows from %@ in %.2f s (%@)", table.rowCount, data,
                            Date().timeIntervalSince(started), counts))
        if !table.report.badRowSummary.isEmpty { Console.note(table.report.badRowSummary) }
        return table
    }
}

/// Messages and progress on stderr; results go to stdout.
enum Console {
    static let isTerminal = isatty(fileno(stderr)) != 0

    static func note(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    nonisolated(unsafe) static var lastPlainStatus = Date.distantPast

    /// Rewrites the current stderr line on a terminal; elsewhere (a log file, CI) prints it as
    /// a plain line at most every 10 seconds, so long runs still show that they are alive.
    static func status(_ line: String) {
        if isTerminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + line).utf8))
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

/// The model and training options of `train` (and `crossval`).
///
/// Numbers are parsed `.unconditional`ly so that `--lr -1` is read as the value -1 (and then
/// refused by range) rather than as a missing value followed by an unknown flag `-1`. Every
/// value is range-checked when parsed (`validate`), before any file is read or written: sizes
/// that come from these numbers are computed with overflow checks, and an absurd one gets a
/// message naming the option instead of a crash or a silently wrong run.
struct ModelOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Benign flows in the few-shot support set (2...\(Limits.maxShots)).")
    var benignShots = 10
    @Option(parsing: .unconditional, help: "Malicious flows in the few-shot support set (1...\(Limits.maxShots)).")
    var maliciousShots = 5
    @Flag(help: "Also pair malicious supports with each other as similar.") var pairMalicious = false
    @Option(parsing: .unconditional, help: "Seed for the support draw, the split, the shuffles and the initial weights.")
    var seed: UInt64 = 42
    @Option(parsing: .unconditional, help: "Adam learning rate (positive).") var lr: Float = 1e-4
    @Option(parsing: .unconditional, help: "Pairs per training step (at most what the network's largest activation allows: 16383 for the default).")
    var batchSize = 5
    @Option(parsing: .unconditional, help: "Training epochs (1...\(Limits.maxEpochs)).") var epochs = 20
    @Option(parsing: .unconditional, help: "Fraction of pairs held out for validation (stratified by label), in [0, 1).")
    var valSplit = 0.2
    @Option(parsing: .unconditional, help: "Stop after this many epochs without a better validation loss (0: never).")
    var patience = 5
    @Option(help: "Loss: bce (head on |e1 - e2|) or contrastive (margin on the embedding distance).") var loss: LossKind = .bce
    @Option(parsing: .unconditional, help: "Contrastive margin (positive).") var margin: Float = 1.0
    @Option(help: "Feature transform before the z-score: none or log (signed log1p).") var transform: FeatureTransform = .none
    @Option(help: "Anomaly score: benign-mean, benign-max or contrast.") var score: ScoreMethod = .benignMean
    @Option(parsing: .unconditional, help: "Seconds between checkpoints while training (0: after every epoch); the model is always written at the end.")
    var checkpointInterval: Double = 30
    @Option(help: "Feature columns: comma-separated names or a file with one name per line (default: the 27 of the original work).")
    var features: String?
    @Option(parsing: .unconditional, help: "Encoder channels, comma-separated (default 64,128,128,256).") var channels: String?
    @Option(parsing: .unconditional, help: "Embedding size (default 4096).") var embedding: Int?

    /// Bounds on numbers that nothing else bounds (shared with the model-file check).
    typealias Limits = TrainingLimits

    /// Range checks at parse time (ArgumentParser calls this for the option group): a bad
    /// value is a usage error naming the option, before any data is read or folder created.
    func validate() throws {
        func within<T: Comparable>(_ option: String, _ value: T, _ range: ClosedRange<T>) throws {
            guard range.contains(value) else {
                throw ValidationError("\(option) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
            }
        }
        try within("--benign-shots", benignShots, 2...Limits.maxShots)
        try within("--malicious-shots", maliciousShots, 1...Limits.maxShots)
        try within("--epochs", epochs, 1...Limits.maxEpochs)
        guard lr.isFinite, lr > 0 else { throw ValidationError("--lr must be a positive number, got \(lr)") }
        guard loss != .contrastive || (margin.isFinite && margin > 0) else {
            throw ValidationError("--margin must be a positive number for the contrastive loss, got \(margin)")
        }
        guard valSplit.isFinite, (0..<1).contains(valSplit) else {
            throw ValidationError("--val-split must be in [0, 1), got \(valSplit)")
        }
        guard patience >= 0 else { throw ValidationError("--patience must be 0 or more, got \(patience)") }
        guard checkpointInterval >= 0 else {
            throw ValidationError("--checkpoint-interval must be 0 or more seconds, got \(checkpointInterval)")
        }
        let config = try modelConfig()
        // A batch of P pairs runs 2P images through the encoder at once; its largest
        // activation must fit one tensor (and P * 2 must not overflow on the way).
        let maxBatch = try config.maxPairsPerBatch()
        guard (1...maxBatch).contains(batchSize) else {
            throw ValidationError("--batch-size must be between 1 and \(maxBatch) for this network " +
                                  "(2 images per pair; its largest activation must fit one tensor of at most " +
                                  "\(TensorSize.maxElements) values), got \(batchSize)")
        }
        do { try trainingOptions().validate() } catch { throw ValidationError("\(error)") }
    }

    func featureList() throws -> [String] {
        guard let features else { return FeatureSet.default }
        return try FeatureSet.parse(features)
    }

    /// The architecture these options describe; an error names --channels or --embedding.
    func modelConfig() throws -> ModelConfig {
        var config = ModelConfig.default
        config.loss = loss
        config.margin = margin
        if let channels {
            let list = channels.split(separator: ",", omittingEmptySubsequences: false)
                .map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard list.count == config.kernels.count, list.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw ValidationError("--channels needs \(config.kernels.count) positive integers, got '\(channels)'")
            }
            config.channels = list.compactMap { $0 }
            do { try config.validate() } catch { throw ValidationError("--channels \(channels) is too large: \(error)") }
        }
        if let embedding {
            guard embedding > 0 else { throw ValidationError("--embedding must be positive, got \(embedding)") }
            config.embedding = embedding
            do { try config.validate() } catch { throw ValidationError("--embedding \(embedding) is too large: \(error)") }
        }
        do { try config.validate() } catch { throw ValidationError("\(error)") }
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
