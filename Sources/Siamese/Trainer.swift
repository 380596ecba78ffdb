import Backend
import FlowData
import Foundation
import Reporting

/// What the trainer reports while it runs.
public enum TrainingEvent {
    case started(trainPairs: Int, validationPairs: Int, stepsPerEpoch: Int, firstEpoch: Int, epochs: Int)
    case step(epoch: Int, step: Int, steps: Int, loss: Double, accuracy: Double, pairsPerSecond: Double)
    case epochEnded(EpochRecord, best: Bool, secondsLeft: Double)
    case earlyStop(epoch: Int, bestEpoch: Int)
    case checkpoint(URL)
}

/// Trains the Siamese network on a few-shot support set through the Backend protocol only.
public final class Trainer {
    public let backend: Backend
    public var config: ModelConfig
    public var options: TrainingOptions

    public init(backend: Backend, config: ModelConfig, options: TrainingOptions) {
        self.backend = backend
        self.config = config
        self.options = options
    }

    /// Trains on `rows` of `table` (all rows when nil): fits the scaler on its benign flows,
    /// draws the support set, trains with early stopping, picks the threshold from the support
    /// set and returns the model. With `resume`, continues that model's run instead.
    /// Writes a checkpoint to `checkpoint` during training (see `TrainingOptions.checkpointInterval`;
    /// only after epochs whose loss is finite) and the final model at the end.
    public func train(table: FlowTable, rows: [Int]? = nil, resume: TrainedModel? = nil, checkpoint: URL? = nil,
                      progress: (TrainingEvent) -> Void = { _ in }) throws -> TrainedModel {
        try options.validate()
        try config.validate()
        guard FlowImage.side == config.imageSide else {
            throw SiameseError.invalidConfiguration("images are \(FlowImage.side)x\(FlowImage.side); the model expects \(config.imageSide)")
        }
        let candidates = rows ?? Array(0..<table.rowCount)
        let scaler: Scaler, support: SupportSet
        if let resume {
            scaler = resume.scaler
            support = resume.support
            try scaler.checkCompatible(table)
        } else {
            let benign = candidates.filter { !table.isMalicious($0) }
            guard !benign.isEmpty else { throw SiameseError.invalidData("the training data has no benign flows") }
            scaler = Scaler.fit(table, rows: benign, transform: options.transform)
            (support, _) = try SupportSet.draw(from: table, rows: candidates, scaler: scaler, benign: options.benignShots,
                                               malicious: options.maliciousShots, seed: options.seed)
        }
        let images = (0..<support.count).map { support.image($0) }
        let pairs = support.pairs(includeMaliciousPairs: options.pairMalicious)
        let (trainPairs, validationPairs) = stratifiedSplit(pairs, validationFraction: options.valSplit, seed: options.seed)
        guard !trainPairs.isEmpty else { throw SiameseError.invalidData("no training pairs left after the validation split") }

        let network = try SiameseNetwork(backend: backend, config: config)
        var history: [EpochRecord] = []
        var firstEpoch = 1
        if let resume {
            try resume.load(into: network)
            history = resume.history
            firstEpoch = resume.epochsCompleted + 1
        } else {
            try network.initialize(seed: options.seed)
        }

        let batch = options.batchSize
        let stepsPerEpoch = (trainPairs.count + batch - 1) / batch
        progress(.started(trainPairs: trainPairs.count, validationPairs: validationPairs.count,
                          stepsPerEpoch: stepsPerEpoch, firstEpoch: firstEpoch, epochs: options.epochs))

        let monitorValidation = !validationPairs.isEmpty
        var best = history.map { monitorValidation ? ($0.valLoss ?? .infinity) : $0.loss }.min() ?? .infinity
        var bestEpoch = history.last?.epoch ?? 0
        let bestWeights = try network.snapshot()
        var sinceBest = 0
        var wroteCheckpoint = false
        let started = Date()
        var lastCheckpoint = started
        var trainingSeconds = 0.0
        var epochsRun = 0

        func gather(_ batchPairs: ArraySlice<Pair>) -> ([Float], [Float], [Float]) {
            var left: [Float] = [], right: [Float] = []
            left.reserveCapacity(batchPairs.count * FlowImage.pixelCount)
            right.reserveCapacity(batchPairs.count * FlowImage.pixelCount)
            for p in batchPairs { left += images[p.left]; right += images[p.right] }
            return (left, right, batchPairs.map(\.label))
        }

        func makeModel(epochs: Int) throws -> TrainedModel {
            var tensors: [String: NamedTensor] = [:]
            for t in try network.exportTensors(includeOptimizer: true) {
                tensors[t.name] = NamedTensor(name: t.name, shape: t.shape, values: t.values)
            }
            var model = TrainedModel(config: config, options: options, scaler: scaler, support: support, threshold: 0.5,
                                     history: history, epochsCompleted: epochs, adamStep: network.step, tensors: tensors,
                                     timings: ["training_seconds": trainingSeconds])
            let detector = try Detector(model: model, network: network)
            model.threshold = try detector.chooseThreshold()
            return model
        }

        var epoch = firstEpoch
        while epoch <= options.epochs {
            let epochStart = Date()
            var order = trainPairs
            var rng = SeededGenerator(seed: options.seed &+ UInt64(epoch) &* 0x9E37_79B9)
            order.shuffle(using: &rng)
            var lossSum = 0.0, correct = 0, seen = 0
            for s in 0..<stepsPerEpoch {
                let slice = order[(s * batch)..<min(order.count, (s + 1) * batch)]
                let (left, right, labels) = gather(slice)
                let r = try network.trainStep(left: left, right: right, labels: labels, optimizer: options.adam)
                guard r.loss.isFinite else {
                    throw SiameseError.nonFiniteLoss(epoch: epoch, step: s + 1, loss: r.loss,
                                                     checkpoint: wroteCheckpoint ? checkpoint?.path : nil)
                }
                lossSum += Double(r.loss) * Double(slice.count)
                correct += r.correct
                seen += slice.count
                let elapsed = Date().timeIntervalSince(epochStart)
                progress(.step(epoch: epoch, step: s + 1, steps: stepsPerEpoch, loss: lossSum / Double(seen),
                               accuracy: Double(correct) / Double(seen), pairsPerSecond: Double(seen) / max(elapsed, 1e-9)))
            }
            var record = EpochRecord(epoch: epoch, loss: lossSum / Double(seen), accuracy: Double(correct) / Double(seen))
            if monitorValidation {
                var vLoss = 0.0, vCorrect = 0
                for s in stride(from: 0, to: validationPairs.count, by: batch) {
                    let slice = validationPairs[s..<min(validationPairs.count, s + batch)]
                    let (left, right, labels) = gather(slice)
                    let r = try network.evaluate(left: left, right: right, labels: labels)
                    vLoss += Double(r.loss) * Double(slice.count)
                    vCorrect += r.correct
                }
                record.valLoss = vLoss / Double(validationPairs.count)
                record.valAccuracy = Double(vCorrect) / Double(validationPairs.count)
                guard record.valLoss!.isFinite else {
                    throw SiameseError.nonFiniteLoss(epoch: epoch, step: stepsPerEpoch, loss: Float(record.valLoss!),
                                                     checkpoint: wroteCheckpoint ? checkpoint?.path : nil)
                }
            }
            record.seconds = Date().timeIntervalSince(epochStart)
            trainingSeconds += record.seconds!
            epochsRun += 1
            history.append(record)
            let monitored = monitorValidation ? record.valLoss! : record.loss
            let improved = monitored < best
            if improved {
                best = monitored
                bestEpoch = epoch
                sinceBest = 0
                try network.update(snapshot: bestWeights)
            } else {
                sinceBest += 1
            }
            let perEpoch = Date().timeIntervalSince(started) / Double(epochsRun)
            progress(.epochEnded(record, best: improved, secondsLeft: perEpoch * Double(options.epochs - epoch)))
            if let checkpoint, Date().timeIntervalSince(lastCheckpoint) >= options.checkpointInterval, epoch < options.epochs {
                try makeModel(epochs: epoch).write(to: checkpoint)
                wroteCheckpoint = true
                lastCheckpoint = Date()
                progress(.checkpoint(checkpoint))
            }
            if options.patience > 0, sinceBest >= options.patience, epoch < options.epochs {
                progress(.earlyStop(epoch: epoch, bestEpoch: bestEpoch))
                epoch += 1
                break
            }
            epoch += 1
        }
        // Restore the best weights (Keras's restore_best_weights) when an epoch improved on them.
        if bestEpoch > 0, history.contains(where: { $0.epoch == bestEpoch && $0.epoch >= firstEpoch }) {
            try network.restore(bestWeights)
        }
        let model = try makeModel(epochs: epoch - 1)
        if let checkpoint {
            try model.write(to: checkpoint)
        }
        return model
    }
}
