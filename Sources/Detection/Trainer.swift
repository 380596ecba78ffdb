import Siamese
import Backend
import FlowData
import Foundation
import Reporting

/// What a run trains on, prepared once: the scaler, the images and how pairs are drawn.
struct TrainingPlan {
    var scaler: Scaler
    /// Seed recipe: the support set; baseline recipe: the malicious shots only.
    var support: SupportSet
    /// Flattened 32x32 images that pairs index into.
    var images: [Float]
    /// Baseline recipe: rows of the table that form the bank, and their scaled features.
    var bankRows: [Int] = []
    var bankFeatures: [Float] = []
    /// Baseline recipe: each bank entry's period (index into `periodNames`).
    var bankPeriods: [Int] = []
    var periodNames: [String] = []
    /// Baseline recipe: the edges of every baseline flow, when the table has endpoints.
    var edges: Set<String>?
    /// How each epoch's training pairs come about.
    var pairs: PairSource
    var validationPairs: [Pair]
    /// `TrainedModel.dataFingerprint` of the benign flows the scaler is fitted on.
    var dataFingerprint: String? = nil
}

/// Trains a detector through the Backend protocol only: the seed recipe's few-shot Siamese
/// network, or the baseline recipe's memory bank with an optional Siamese encoder.
public final class Trainer {
    public let backend: Backend
    public var config: ModelConfig
    public var options: TrainingOptions
    /// The flow-meter dialect of the training data, recorded in the model (detect warns on another).
    /// With a pod list (`--k8s-pods`), the baseline's edges are kept by workload (`EdgeKeys`).
    public var edgeNames: KubernetesDirectory?
    public var dialect: FlowDialect?

    public init(backend: Backend, config: ModelConfig, options: TrainingOptions) {
        self.backend = backend
        self.config = config
        self.options = options
    }

    /// Trains on `rows` of `table` (all rows when nil): fits the scaler on its benign flows, draws
    /// the support set or the shots, trains with early stopping, picks the threshold from training
    /// data and returns the model. With `resume`, continues that model's run instead.
    /// Writes a checkpoint to `checkpoint` during training (see `TrainingOptions.checkpointInterval`;
    /// only after epochs whose loss is finite) and the final model at the end.
    /// `periods` says which baseline period each benign row belongs to (default: its file); the
    /// threshold is calibrated across them (`CrossPeriodCalibration`).
    public func train(table: FlowTable, rows: [Int]? = nil, periods: BaselinePeriods? = nil, resume: TrainedModel? = nil,
                      checkpoint: URL? = nil, progress: (TrainingEvent) -> Void = { _ in }) throws -> TrainedModel {
        try options.validate()
        try config.validate()
        guard WindowFeatures.isUsed(by: table.featureNames) == options.windowFeatures else {
            throw SiameseError.invalidConfiguration("window features are \(options.windowFeatures ? "on" : "off") but the table's "
                + "features \(options.windowFeatures ? "lack" : "include") them: load with WindowFeatures.names appended exactly when they are on")
        }
        let plan = try prepare(table: table, rows: rows ?? Array(0..<table.rowCount), periods: periods, resume: resume)
        if options.recipe == .baseline && options.encoder == .none {
            let model = try finish(plan: plan, network: nil, history: [], epochs: 0, trainingSeconds: 0, progress: progress)
            if let checkpoint { try model.write(to: checkpoint) }
            return model
        }
        let network = try SiameseNetwork(backend: backend, config: config)
        if let resume { try resume.load(into: network) }
        let resumeState = resume.map {
            EpochLoopResume(history: $0.history, epochsCompleted: $0.epochsCompleted, trainingSeconds: $0.timings["training_seconds"] ?? 0,
                            bestEpoch: $0.bestEpoch, bestWeights: $0.bestWeights())
        }
        var loop = try EpochLoop(network: network, options: options, pairs: plan.pairs, validationPairs: plan.validationPairs,
                                 images: plan.images, resume: resumeState, checkpointPath: checkpoint?.path,
                                 writeCheckpoint: checkpoint.map { url in
                                     { state in try self.checkpointModel(state, plan: plan, network: network).write(to: url) } })
        try loop.run(progress: progress)
        let model = try finish(plan: plan, network: network, history: loop.history, epochs: loop.lastEpoch,
                               trainingSeconds: loop.trainingSeconds, progress: progress)
        if let checkpoint { try model.write(to: checkpoint) }
        return model
    }

    // MARK: Prepare

    /// Checks the data, fits (or, resuming, reuses) the scaler and draws what is trained on.
    func prepare(table: FlowTable, rows candidates: [Int], periods: BaselinePeriods? = nil, resume: TrainedModel?) throws -> TrainingPlan {
        guard FlowImage.side == config.imageSide else {
            throw SiameseError.invalidConfiguration("images are \(FlowImage.side)x\(FlowImage.side); the model expects \(config.imageSide)")
        }
        let benign = candidates.filter { !table.isMalicious($0) }
        guard !benign.isEmpty else { throw SiameseError.invalidData("the training data has no benign flows") }
        let scaler: Scaler
        let fingerprint = TrainedModel.dataFingerprint(table, rows: benign)
        if let resume {
            scaler = resume.scaler
            try scaler.checkCompatible(table)
            if let had = resume.trainingData, had != fingerprint {
                throw SiameseError.invalidData("--resume continues a run on the data it was started with: the model was trained on "
                    + "\(had), these benign flows are \(fingerprint). Give the same --data and --baseline, or start a new run")
            }
        } else {
            scaler = try Scaler.fit(table, rows: benign, transform: options.transform)
        }
        switch options.recipe {
        case .seed:
            let support: SupportSet
            if let resume {
                support = resume.support
            } else {
                (support, _) = try SupportSet.draw(from: table, rows: candidates, scaler: scaler, benign: options.benignShots,
                                                   malicious: options.maliciousShots, seed: options.seed)
            }
            let images = (0..<support.count).flatMap { support.image($0) }
            let all = support.pairs(includeMaliciousPairs: options.pairMalicious)
            let (train, validation) = stratifiedSplit(all, validationFraction: options.valSplit, seed: options.seed)
            guard !train.isEmpty else { throw SiameseError.invalidData("no training pairs left after the validation split") }
            return TrainingPlan(scaler: scaler, support: support, images: images, pairs: .fixed(train), validationPairs: validation,
                                dataFingerprint: fingerprint)
        case .baseline:
            guard benign.count > options.k else {
                throw SiameseError.invalidData("the baseline has \(benign.count) benign flows; --k \(options.k) needs more than \(options.k)")
            }
            let shots: SupportSet
            if let resume {
                shots = resume.support
            } else {
                let attacks = candidates.filter { table.isMalicious($0) }.count
                if attacks < options.maliciousShots && options.encoder == .none && options.thresholdRule == .fpr {
                    // The shots only feed support-f1 and the encoder's dissimilar pairs: here they
                    // never change a score or the threshold.
                    throw SiameseError.invalidData("the training data has \(attacks) malicious flows; --malicious-shots asks for "
                        + "\(options.maliciousShots). With --encoder none and --threshold-rule fpr the shots never change a score "
                        + "or the threshold: train with --malicious-shots 0")
                }
                (shots, _) = try SupportSet.draw(from: table, rows: candidates, scaler: scaler, benign: 0,
                                                 malicious: options.maliciousShots, seed: options.seed)
            }
            let bankRows = MemoryBank.select(benign, limit: options.bankSize, seed: options.seed)
            let bankFeatures = scaler.scale(values: table.subset(bankRows).values)
            var plan = TrainingPlan(scaler: scaler, support: shots, images: [], bankRows: bankRows, bankFeatures: bankFeatures,
                                    pairs: .fixed([]), validationPairs: [], dataFingerprint: fingerprint)
            (plan.bankPeriods, plan.periodNames) = Self.bankPeriods(rows: bankRows, periods: periods ?? .byFile(table))
            plan.edges = table.endpoints.map { e in Set(benign.map { EdgeKeys.key(endpoint: e[$0], names: edgeNames) }) }
            guard options.encoder == .siamese else { return plan }
            // Images: the baseline flows (all benign rows, not only the bank's), then the shots.
            let baselineScaled = scaler.scale(values: table.subset(benign).values)
            let f = scaler.featureCount
            var images: [Float] = []
            images.reserveCapacity((benign.count + shots.count) * FlowImage.pixelCount)
            for i in 0..<benign.count { images += FlowImage.render(baselineScaled[i * f ..< (i + 1) * f]) }
            for i in 0..<shots.count { images += shots.image(i) }
            plan.images = images
            // Baseline flows held out for validation, drawn with the seed.
            var order = Array(0..<benign.count)
            var rng = SeededGenerator(seed: options.seed ^ 0x5EED_5711)
            order.shuffle(using: &rng)
            let held = min(benign.count - 2, Int((Double(benign.count) * options.valSplit).rounded()))
            let validationBaseline = held >= 2 ? Array(order.prefix(held)) : []
            let trainBaseline = Array(order.dropFirst(validationBaseline.count))
            let shotImages = Array(benign.count..<(benign.count + shots.count))
            var neighbors: [Int: Int]?
            switch options.positivePairs {
            case .random: break
            case .nearest:
                neighbors = try nearestOthers(of: trainBaseline, features: baselineScaled, f: f)
                    .merging(try nearestOthers(of: validationBaseline, features: baselineScaled, f: f)) { a, _ in a }
            case .crossPeriod:
                neighbors = Self.crossPeriodPartners(rows: benign, table: table, periods: periods ?? .byFile(table),
                                                     features: baselineScaled, f: f)
            }
            plan.pairs = .sampled(baseline: trainBaseline, shots: shotImages, count: options.pairsPerEpoch, neighbors: neighbors)
            if !validationBaseline.isEmpty {
                plan.validationPairs = PairSource.draw(baseline: validationBaseline, shots: shotImages,
                                                       count: max(2, Int(Double(options.pairsPerEpoch) * options.valSplit)),
                                                       neighbors: neighbors, rng: &rng)
            }
            return plan
        }
    }

    /// Each bank row's period, renumbered to the periods present in the bank (oldest first); rows of
    /// no period form one named "baseline".
    static func bankPeriods(rows: [Int], periods: BaselinePeriods) -> ([Int], [String]) {
        let raw = rows.map { $0 < periods.ofRow.count ? periods.ofRow[$0] : -1 }
        var index: [Int: Int] = [:], names: [String] = []
        for p in Set(raw).sorted() {
            index[p] = names.count
            names.append(p >= 0 && p < periods.names.count ? periods.names[p] : "baseline")
        }
        return (raw.map { index[$0] ?? 0 }, names)
    }

    /// For each baseline flow (index into `rows`), the nearest flow by the transformed features
    /// among flows of the same service (destination port, from the endpoints) in other periods; with
    /// one period, other time blocks of it (as calibration does). Flows whose service occurs in no
    /// other period get no partner (their similar pairs are drawn at random).
    public static func crossPeriodPartners(rows: [Int], table: FlowTable, periods: BaselinePeriods, features: [Float], f: Int) -> [Int: Int] {
        var periodOf = rows.map { $0 < periods.ofRow.count ? periods.ofRow[$0] : -1 }
        if Set(periodOf).count < 2 {
            let blocks = CrossPeriodCalibration.timeBlocks
            periodOf = rows.indices.map { $0 * blocks / max(rows.count, 1) }
        }
        let service = rows.map { r -> String in
            guard let e = table.endpoints?[r] else { return "" }
            return IncidentGrouper.split(endpoint: e).2
        }
        var byService: [String: [Int]] = [:]
        for i in rows.indices { byService[service[i], default: []].append(i) }
        var out: [Int: Int] = [:]
        features.withUnsafeBufferPointer { x in
            for members in byService.values {
                for a in members {
                    var best = Float.infinity, partner = -1
                    for b in members where periodOf[b] != periodOf[a] {
                        var d: Float = 0
                        for j in 0..<f { let t = x[a * f + j] - x[b * f + j]; d += t * t }
                        if d < best { best = d; partner = b }
                    }
                    if partner >= 0 { out[a] = partner }
                }
            }
        }
        return out
    }

    /// For each of `members` (indices into the baseline), its nearest other member by the
    /// transformed features, through the Backend's nearest-neighbour op.
    func nearestOthers(of members: [Int], features: [Float], f: Int) throws -> [Int: Int] {
        guard members.count >= 2 else { return [:] }
        var values: [Float] = []
        values.reserveCapacity(members.count * f)
        for m in members { values += features[m * f ..< (m + 1) * f] }
        let bank = try backend.makeTensor([members.count, f])
        try backend.upload(values, to: bank)
        let distances = try backend.makeTensor([members.count, 2]), indices = try backend.makeTensor([members.count, 2])
        try backend.nearestNeighbors(queries: bank, bank: bank, k: 2, distances: distances, indices: indices)
        let ix = try backend.download(indices)
        var out: [Int: Int] = [:]
        for (i, m) in members.enumerated() {
            // The first of the two that is not the flow itself (a duplicate may come first).
            let first = Int(ix[2 * i]), second = Int(ix[2 * i + 1])
            out[m] = members[first == i ? second : first]
        }
        return out
    }

    // MARK: Finish

    /// The encoder's embeddings of the bank flows, bank order, count x embedding.
    func bankEmbeddings(plan: TrainingPlan, network: SiameseNetwork) throws -> [Float] {
        try network.embed(scaledRows: plan.bankFeatures, featureCount: plan.scaler.featureCount)
    }

    /// Builds the model from the trained network (or none): the bank's embeddings, the
    /// threshold by the model's rule, the history.
    func finish(plan: TrainingPlan, network: SiameseNetwork?, history: [EpochRecord], epochs: Int,
                trainingSeconds: Double, progress: (TrainingEvent) -> Void) throws -> TrainedModel {
        var tensors: [String: NamedTensor] = [:]
        if let network {
            for t in try network.exportTensors(includeOptimizer: true) {
                tensors[t.name] = NamedTensor(name: t.name, shape: t.shape, values: t.values)
            }
        }
        var model = TrainedModel(config: config, options: options, scaler: plan.scaler, support: plan.support, threshold: 0.5,
                                 history: history, epochsCompleted: epochs, adamStep: network?.step ?? 0, tensors: tensors,
                                 timings: ["training_seconds": trainingSeconds])
        model.dialect = dialect
        model.edges = plan.edges
        model.edgeKeys = edgeNames == nil ? .address : .workload
        model.trainedAt = FlowTimestamp.iso8601(Date().timeIntervalSince1970)
        model.trainingData = plan.dataFingerprint
        if options.recipe == .baseline {
            let f = plan.scaler.featureCount
            progress(.buildingBank(flows: plan.bankRows.count))
            let embeddings = try network.map { try bankEmbeddings(plan: plan, network: $0) }
            model.bank = MemoryBank(features: plan.bankFeatures, featureCount: f, embeddings: embeddings,
                                    dimension: embeddings == nil ? f : config.embedding,
                                    periods: plan.bankPeriods, periodNames: plan.periodNames)
        }
        let detector = try Detector(model: model, network: network, backend: backend)
        (model.threshold, model.calibration) = try ThresholdFitting.fit(detector: detector)
        return model
    }

    // MARK: Checkpoints

    /// A checkpoint after `epoch`: the current weights and Adam state, plus the best weights so
    /// far (`best.*`) so that a resumed run can restore them at its end.
    func checkpointModel(_ state: EpochLoopState, plan: TrainingPlan, network: SiameseNetwork) throws -> TrainedModel {
        var tensors: [String: NamedTensor] = [:]
        for t in try network.exportTensors(includeOptimizer: true) {
            tensors[t.name] = NamedTensor(name: t.name, shape: t.shape, values: t.values)
        }
        for t in state.bestTensors { tensors[t.name] = t }
        // A checkpoint is for resuming; its threshold is provisional (the support rule on the
        // current weights for the seed recipe, as before; the baseline recipe's bank is built
        // only at the end).
        var model = TrainedModel(config: config, options: options, scaler: plan.scaler, support: plan.support,
                                 threshold: 0.5, history: state.history, epochsCompleted: state.epoch, adamStep: network.step,
                                 tensors: tensors, timings: ["training_seconds": state.trainingSeconds])
        model.bestEpoch = state.bestEpoch
        model.trainingData = plan.dataFingerprint
        model.dialect = dialect
        if options.recipe == .baseline {
            // The bank with the current weights' embeddings, so the checkpoint scores flows as it
            // stands; `finish` rebuilds it from the best weights at the end.
            model.bank = MemoryBank(features: plan.bankFeatures, featureCount: plan.scaler.featureCount,
                                    embeddings: try bankEmbeddings(plan: plan, network: network),
                                    dimension: config.embedding, periods: plan.bankPeriods, periodNames: plan.periodNames)
        } else {
            let detector = try Detector(model: model, network: network, backend: network.backend)
            (model.threshold, model.calibration) = try ThresholdFitting.fit(detector: detector)
        }
        return model
    }
}
