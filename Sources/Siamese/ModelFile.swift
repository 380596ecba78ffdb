import Common
import Foundation
import FlowData
import Reporting

/// A trained model as stored on disk: weights (and Adam state for --resume) in safetensors,
/// with metadata that makes the file self-contained: architecture, features, scaler,
/// transform, loss, decision threshold, support set, training options, history, version.
public struct TrainedModel {
    public static let formatName = "gpu-train-siamese"
    public static var softwareVersion = "0.1.0"

    public var config: ModelConfig
    public var options: TrainingOptions
    public var scaler: Scaler
    public var support: SupportSet
    /// Decision threshold: a flow is malicious when Double(score) >= threshold. A Double, since
    /// the chosen cut sits between two Float scores and rounding it could land on one.
    public var threshold: Double
    public var history: [EpochRecord]
    /// Completed epochs and Adam steps (for --resume).
    public var epochsCompleted: Int
    public var adamStep: Int
    /// Parameters by name, plus adam.m.* / adam.v.* when the optimizer state is kept.
    public var tensors: [String: NamedTensor]
    /// Free-form timings and notes (seconds), shown in reports.
    public var timings: [String: Double]

    public init(config: ModelConfig, options: TrainingOptions, scaler: Scaler, support: SupportSet, threshold: Double,
                history: [EpochRecord], epochsCompleted: Int, adamStep: Int, tensors: [String: NamedTensor],
                timings: [String: Double] = [:]) {
        self.config = config; self.options = options; self.scaler = scaler; self.support = support
        self.threshold = threshold; self.history = history; self.epochsCompleted = epochsCompleted
        self.adamStep = adamStep; self.tensors = tensors; self.timings = timings
    }

    // MARK: Writing

    public func encoded() throws -> Data {
        let json = JSONEncoder()
        json.outputFormatting = [.sortedKeys]
        func text<T: Encodable>(_ v: T) throws -> String { String(decoding: try json.encode(v), as: UTF8.self) }
        let metadata: [String: String] = [
            "format": Self.formatName,
            "gpu_train_version": Self.softwareVersion,
            "architecture": try text(config),
            "features": try text(scaler.featureNames),
            "scaler": try text(scaler),
            "transform": scaler.transform.rawValue,
            "loss": config.loss.rawValue,
            "threshold": "\(threshold)",
            "score_method": options.scoreMethod.rawValue,
            "options": try text(options),
            "history": HistoryCSV.render(history),
            "epochs_completed": "\(epochsCompleted)",
            "adam_step": "\(adamStep)",
            "support_scenarios": try text(support.scenarios),
            "timings": try text(timings),
        ]
        var list: [NamedTensor] = []
        for (name, _) in config.parameterShapes {
            guard let t = tensors[name] else { throw SiameseError.invalidData("model has no tensor \(name)") }
            list.append(t)
        }
        for (name, _) in config.parameterShapes {
            for prefix in ["adam.m.", "adam.v."] { if let t = tensors[prefix + name] { list.append(t) } }
        }
        list.append(NamedTensor(name: "support.features", shape: [support.count, support.featureCount], values: support.features))
        list.append(NamedTensor(name: "support.labels", shape: [support.count], values: support.malicious.map { $0 ? 1 : 0 }))
        return try SafeTensors.encode(list, metadata: metadata)
    }

    /// Writes the model atomically (temporary file, then rename).
    public func write(to url: URL) throws {
        try AtomicFile.write(try encoded(), to: url)
    }

    // MARK: Reading

    /// Reads and checks a model file: format, every tensor's name, shape and size, metadata.
    /// `optimizerState: false` skips copying the Adam moments (all that scoring needs).
    public static func read(_ url: URL, optimizerState: Bool = true) throws -> TrainedModel {
        try decode(try SafeTensors.read(url, include: { optimizerState || !$0.hasPrefix("adam.") }), path: url.path)
    }

    public static func decode(_ file: SafeTensors.File, path: String) throws -> TrainedModel {
        func bad(_ reason: String) -> SiameseError { .badModelFile(path: path, reason: reason) }
        let m = file.metadata
        guard m["format"] == formatName else {
            throw bad(m["format"].map { "its format is '\($0)', expected '\(formatName)'" } ??
                      "it is a safetensors file without gpu-train metadata (a foreign model?)")
        }
        func field(_ key: String) throws -> String {
            guard let v = m[key] else { throw bad("metadata '\(key)' is missing") }
            return v
        }
        func json<T: Decodable>(_ key: String, _ type: T.Type) throws -> T {
            do { return try JSONDecoder().decode(T.self, from: Data(try field(key).utf8)) } catch let e as SiameseError {
                throw e
            } catch { throw bad("metadata '\(key)' is not valid: \(error)") }
        }
        let config = try json("architecture", ModelConfig.self)
        do { try config.validate() } catch { throw bad("\(error)") }
        let options = try json("options", TrainingOptions.self)
        let scaler = try json("scaler", Scaler.self)
        guard let threshold = Double(try field("threshold")), threshold.isFinite else {
            throw bad("metadata 'threshold' is not a finite number")
        }
        let f = scaler.featureCount
        guard f > 0, scaler.means.count == f, scaler.stds.count == f, scaler.fillValues.count == f else {
            throw bad("the scaler has inconsistent lengths for \(f) features")
        }
        var tensors: [String: NamedTensor] = [:]
        for (name, shape) in config.parameterShapes {
            guard let t = file.tensors[name] else { throw bad("tensor '\(name)' is missing") }
            guard t.shape == shape else { throw bad("tensor '\(name)' has shape \(t.shape), the architecture needs \(shape)") }
            guard t.values.allSatisfy({ $0.isFinite }) else { throw bad("tensor '\(name)' holds NaN or infinite values") }
            tensors[name] = t
            for prefix in ["adam.m.", "adam.v."] {
                if let s = file.tensors[prefix + name] {
                    guard s.shape == shape else { throw bad("tensor '\(prefix + name)' has shape \(s.shape), expected \(shape)") }
                    tensors[prefix + name] = s
                }
            }
        }
        guard let sf = file.tensors["support.features"], let sl = file.tensors["support.labels"] else {
            throw bad("the support set (support.features, support.labels) is missing")
        }
        guard sf.shape.count == 2, sf.shape[1] == f, sl.shape == [sf.shape[0]] else {
            throw bad("support.features has shape \(sf.shape) and support.labels \(sl.shape); expected [S, \(f)] and [S]")
        }
        let scenarios = (try? json("support_scenarios", [String].self)) ?? sl.values.map { $0 != 0 ? "malicious" : "benign" }
        let support = SupportSet(features: sf.values, malicious: sl.values.map { $0 != 0 },
                                 scenarios: scenarios.count == sl.values.count ? scenarios : sl.values.map { $0 != 0 ? "malicious" : "benign" },
                                 featureCount: f)
        let history = parseHistory(m["history"] ?? "")
        let timings = (try? json("timings", [String: Double].self)) ?? [:]
        let model = TrainedModel(config: config, options: options, scaler: scaler, support: support, threshold: threshold,
                                 history: history, epochsCompleted: Int(m["epochs_completed"] ?? "") ?? history.count,
                                 adamStep: Int(m["adam_step"] ?? "") ?? 0, tensors: tensors, timings: timings)
        if let problem = TrainingLimits.problem(options: options, config: config, epochsCompleted: model.epochsCompleted,
                                                adamStep: model.adamStep) { throw bad(problem) }
        return model
    }

    static func parseHistory(_ csv: String) -> [EpochRecord] {
        csv.split(separator: "\n").dropFirst().compactMap { line in
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map { Double($0) }
            // Int(exactly:) and not Int(_:), which traps on NaN or a number beyond Int.
            guard f.count >= 5, let e = f[0].flatMap({ Int(exactly: $0) }), let loss = f[1], let acc = f[2] else { return nil }
            return EpochRecord(epoch: e, loss: loss, accuracy: acc, valLoss: f[3], valAccuracy: f[4],
                               seconds: f.count > 5 ? f[5] : nil)
        }
    }

    /// Loads the weights (and Adam state, when present) into a network of the same architecture.
    public func load(into network: SiameseNetwork) throws {
        try network.importTensors { tensors[$0]?.values }
        network.step = adamStep
    }
}
