import Siamese
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
    /// Baseline recipe: the memory bank of baseline flows.
    public var bank: MemoryBank?
    /// The epoch whose weights `best.*` tensors hold (a checkpoint keeps them, so that a resumed
    /// run restores the same best weights as an uninterrupted one); 0 when none.
    public var bestEpoch: Int = 0
    /// The flow-meter dialect of the training data, when known (detect warns on another).
    public var dialect: FlowDialect?
    /// How the threshold was chosen (nil for the seed recipe and models written before it was recorded).
    public var calibration: Calibration?
    /// When the model was trained (ISO 8601 UTC), when known.
    public var trainedAt: String?
    /// The baseline's edges (source address to destination address and port, `Detector.edge`), so
    /// that detect can say whether a flow's edge is new; nil when the baseline had no such columns.
    /// Context for the analyst only, never part of the score.
    public var edges: Set<String>?
    /// How `edges` are keyed: by address, or by workload where a pod list named the ends.
    public var edgeKeys: EdgeKeys = .address
    /// What the transform was fitted on (`dataFingerprint`): `--resume` refuses other data, whose
    /// bank would be rebuilt on a scaler fitted elsewhere. Nil in models written before it was recorded.
    public var trainingData: String?

    /// "N flows, F features, hash H": the benign training flows, in order (FNV-1a over their
    /// values' bits), so that another file, another row count or one changed value differs.
    public static func dataFingerprint(_ table: FlowTable, rows: [Int]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        let f = table.featureCount
        table.values.withUnsafeBufferPointer { v in
            for r in rows {
                for j in 0..<f { hash = (hash ^ UInt64(v[r * f + j].bitPattern)) &* 0x0000_0100_0000_01b3 }
            }
        }
        return "\(rows.count) flows, \(f) features, hash \(String(hash, radix: 16))"
    }

    /// Whether scoring needs the encoder network: the seed recipe, or the Siamese encoder.
    public var usesNetwork: Bool { options.recipe == .seed || options.encoder == .siamese }

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
        var metadata: [String: String] = [
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
            "recipe": options.recipe.rawValue,
            "encoder": options.encoder.rawValue,
            "threshold_rule": options.thresholdRule.rawValue,
            "best_epoch": "\(bestEpoch)",
        ]
        if let dialect { metadata["dialect"] = dialect.rawValue }
        if let trainingData { metadata["training_data"] = trainingData }
        if let calibration { metadata["calibration"] = try text(calibration) }
        if let edges { metadata["edges"] = try text(edges.sorted()); metadata["edge_keys"] = edgeKeys.rawValue }
        if let trainedAt { metadata["trained_at"] = trainedAt }
        if let bank { metadata["periods"] = try text(bank.periodNames) }
        var list: [NamedTensor] = []
        if usesNetwork {
            for (name, _) in config.parameterShapes {
                guard let t = tensors[name] else { throw SiameseError.invalidData("model has no tensor \(name)") }
                list.append(t)
            }
            for (name, _) in config.parameterShapes {
                for prefix in ["adam.m.", "adam.v.", "best."] { if let t = tensors[prefix + name] { list.append(t) } }
            }
        }
        if let bank {
            list.append(NamedTensor(name: "bank.features", shape: [bank.count, bank.featureCount], values: bank.features))
            if let e = bank.embeddings {
                list.append(NamedTensor(name: "bank.embeddings", shape: [bank.count, bank.dimension], values: e))
            }
            list.append(NamedTensor(name: "bank.periods", shape: [bank.count], values: bank.periods.map { Float($0) }))
        }
        list.append(NamedTensor(name: "support.features", shape: [support.count, support.featureCount], values: support.features))
        list.append(NamedTensor(name: "support.labels", shape: [support.count], values: support.malicious.map { $0 ? 1 : 0 }))
        return try SafeTensors.encode(list, metadata: metadata)
    }

    /// Writes the model atomically (temporary file, then rename).
    public func write(to url: URL) throws {
        try refuseNonFinite(writing: url)
        try AtomicFile.write(try encoded(), to: url)
    }

    // MARK: Reading

    /// Reads and checks a model file: format, every tensor's name, shape and size, metadata.
    /// `optimizerState: false` skips copying the Adam moments and the checkpoint's best weights
    /// (all that scoring needs).
    public static func read(_ url: URL, optimizerState: Bool = true) throws -> TrainedModel {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw SiameseError.badModelFile(path: url.path, reason: "it is a folder, not a model file")
        }
        return try decode(try SafeTensors.read(url, include: { optimizerState || !($0.hasPrefix("adam.") || $0.hasPrefix("best.")) }),
                          path: url.path)
    }

    /// The same model without the Adam moments and best-weight copies: what scoring reads.
    public func inferenceOnly() -> TrainedModel {
        var m = self
        m.tensors = tensors.filter { !$0.key.hasPrefix("adam.") && !$0.key.hasPrefix("best.") }
        return m
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
        if let problem = scaler.problem() { throw bad(problem) }
        // The window features are computed from the stream because the feature list names them; the
        // option says so too, and the two must agree (all of them, or none).
        let windowNames = scaler.featureNames.filter(WindowFeatures.isWindowFeature)
        guard windowNames.isEmpty ? !options.windowFeatures : options.windowFeatures && Set(windowNames) == Set(WindowFeatures.names) else {
            throw bad("its window_features option (\(options.windowFeatures ? "on" : "off")) disagrees with its feature list, which names "
                      + "\(windowNames.count) of the \(WindowFeatures.names.count) window features")
        }
        if let problem = TrainingLimits.problem(options: options, config: config, epochsCompleted: 0, adamStep: 0) { throw bad(problem) }
        let usesNetwork = options.recipe == .seed || options.encoder == .siamese
        var tensors: [String: NamedTensor] = [:]
        for (name, shape) in (usesNetwork ? config.parameterShapes : []) {
            guard let t = file.tensors[name] else { throw bad("tensor '\(name)' is missing") }
            guard t.shape == shape else { throw bad("tensor '\(name)' has shape \(t.shape), the architecture needs \(shape)") }
            guard t.values.allSatisfy({ $0.isFinite }) else { throw bad("tensor '\(name)' holds NaN or infinite values") }
            tensors[name] = t
            for prefix in ["adam.m.", "adam.v.", "best."] {
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
        guard sf.values.allSatisfy({ $0.isFinite }), sl.values.allSatisfy({ $0 == 0 || $0 == 1 }) else {
            throw bad("the support set holds NaN or infinite features, or labels other than 0 and 1")
        }
        var bank: MemoryBank?
        if options.recipe == .baseline {
            guard let bf = file.tensors["bank.features"], bf.shape.count == 2, bf.shape[1] == f, bf.shape[0] >= 1 else {
                throw bad("the memory bank (bank.features, [N, \(f)]) is missing or has the wrong shape")
            }
            guard bf.values.allSatisfy({ $0.isFinite }) else { throw bad("bank.features holds NaN or infinite values") }
            // The bank holds transformed flows: none is beyond the transform's range, and within it
            // a squared distance cannot overflow (Scaler.saturation).
            guard bf.values.allSatisfy({ abs($0) <= Scaler.saturation }) else {
                throw bad("bank.features holds values beyond ±\(Int(Scaler.saturation)), outside the range of the transform's output "
                          + "(every distance to them would be huge or infinite); retrain the model")
            }
            var embeddings: [Float]?
            if options.encoder == .siamese {
                guard let be = file.tensors["bank.embeddings"], be.shape == [bf.shape[0], config.embedding] else {
                    throw bad("bank.embeddings is missing or not [\(bf.shape[0]), \(config.embedding)]")
                }
                guard be.values.allSatisfy({ $0.isFinite }) else { throw bad("bank.embeddings holds NaN or infinite values") }
                // Two embeddings within ±bound differ by at most 2 bound per dimension, so a squared
                // distance stays below Float's largest value.
                let bound = (Float.greatestFiniteMagnitude / Float(4 * max(config.embedding, 1))).squareRoot() / 16
                guard be.values.allSatisfy({ abs($0) <= bound }) else {
                    throw bad("bank.embeddings holds values beyond ±\(bound), where squared distances overflow; retrain the model")
                }
                embeddings = be.values
            }
            guard bf.shape[0] > options.k else {
                throw bad("the memory bank has \(bf.shape[0]) flows, too few for k = \(options.k)")
            }
            // Periods (models before them: one period).
            var periodNames = ["baseline"]
            if m["periods"] != nil {
                periodNames = try json("periods", [String].self)
                guard !periodNames.isEmpty else { throw bad("metadata 'periods' is empty") }
            }
            var periods = [Int](repeating: 0, count: bf.shape[0])
            if let bp = file.tensors["bank.periods"] {
                guard bp.shape == [bf.shape[0]] else { throw bad("bank.periods has shape \(bp.shape), expected [\(bf.shape[0])]") }
                guard bp.values.allSatisfy({ $0 >= 0 && $0 < Float(periodNames.count) && $0 == $0.rounded() }) else {
                    throw bad("bank.periods holds values that are not period numbers 0..<\(periodNames.count)")
                }
                periods = bp.values.map { Int($0) }
            }
            bank = MemoryBank(features: bf.values, featureCount: f, embeddings: embeddings,
                              dimension: embeddings == nil ? f : config.embedding, periods: periods, periodNames: periodNames)
            guard threshold >= 0 else { throw bad("threshold \(threshold) is below 0, the smallest possible distance") }
        } else {
            guard threshold >= 0, threshold <= Double(Float(1).nextUp) else {
                throw bad("threshold \(threshold) is outside [0, 1], the range of the seed recipe's scores")
            }
        }
        let scenarios = (try? json("support_scenarios", [String].self)) ?? sl.values.map { $0 != 0 ? "malicious" : "benign" }
        let support = SupportSet(features: sf.values, malicious: sl.values.map { $0 != 0 },
                                 scenarios: scenarios.count == sl.values.count ? scenarios : sl.values.map { $0 != 0 ? "malicious" : "benign" },
                                 featureCount: f)
        let history = HistoryCSV.parse(m["history"] ?? "")
        let timings = (try? json("timings", [String: Double].self)) ?? [:]
        var model = TrainedModel(config: config, options: options, scaler: scaler, support: support, threshold: threshold,
                                 history: history, epochsCompleted: Int(m["epochs_completed"] ?? "") ?? history.count,
                                 adamStep: Int(m["adam_step"] ?? "") ?? 0, tensors: tensors, timings: timings)
        model.bank = bank
        model.bestEpoch = Int(m["best_epoch"] ?? "") ?? 0
        model.dialect = m["dialect"].flatMap(FlowDialect.init(rawValue:))
        if m["edges"] != nil { model.edges = Set(try json("edges", [String].self)) }
        if let keys = m["edge_keys"] {
            guard let k = EdgeKeys(rawValue: keys) else { throw bad("metadata 'edge_keys' is '\(keys)', not address or workload") }
            model.edgeKeys = k
        }
        model.trainedAt = m["trained_at"]
        model.trainingData = m["training_data"]
        if m["calibration"] != nil {
            let c = try json("calibration", Calibration.self)
            guard c.flaggedRate.isFinite, (0...1).contains(c.flaggedRate), c.fpr.isFinite, c.periods >= 0, c.scores >= 0 else {
                throw bad("metadata 'calibration' holds values out of range")
            }
            model.calibration = c
        }
        if let problem = TrainingLimits.problem(options: options, config: config, epochsCompleted: model.epochsCompleted,
                                                adamStep: model.adamStep) { throw bad(problem) }
        return model
    }

    /// Loads the weights (and Adam state, when present) into a network of the same architecture.
    public func load(into network: SiameseNetwork) throws {
        try network.importTensors { tensors[$0]?.values }
        network.step = adamStep
    }

    /// The checkpoint's best weights by parameter name, when it holds them.
    public func bestWeights() -> [String: [Float]]? {
        var out: [String: [Float]] = [:]
        for (name, _) in config.parameterShapes {
            guard let t = tensors["best." + name] else { return nil }
            out[name] = t.values
        }
        return out
    }
}

// A model is never written with a non-finite value (Siamese/Divergence.swift says why).
extension TrainedModel {
    /// The first tensor of the file-to-be that holds NaN or an infinity (weights, Adam moments,
    /// best weights, bank, support set), or "threshold"; nil when all are finite. The loader
    /// refuses such files, so they are never written.
    public var firstNonFiniteTensor: String? {
        for name in tensors.keys.sorted() where !(tensors[name]?.values.allSatisfy(\.isFinite) ?? true) { return name }
        if let bank {
            if !bank.features.allSatisfy(\.isFinite) { return "bank.features" }
            if let e = bank.embeddings, !e.allSatisfy(\.isFinite) { return "bank.embeddings" }
        }
        if !support.features.allSatisfy(\.isFinite) { return "support.features" }
        if !threshold.isFinite { return "threshold" }
        return nil
    }

    /// Throws when the model holds a non-finite value, naming the tensor and the file not written.
    func refuseNonFinite(writing url: URL) throws {
        if let name = firstNonFiniteTensor { throw SiameseError.nonFiniteModel(path: url.path, tensor: name) }
    }
}
