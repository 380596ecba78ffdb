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
    /// A checkpoint was written after this epoch.
    case checkpoint(epoch: Int)
    /// The memory bank is being built (baseline recipe): `flows` entries.
    case buildingBank(flows: Int)
}

/// Training pairs per epoch: a fixed list reshuffled (seed recipe), or drawn anew from the
/// baseline and the shots (baseline recipe).
public enum PairSource {
    case fixed([Pair])
    /// Image indices of the baseline flows trained on and of the shots; `count` pairs per epoch,
    /// half similar (two baseline flows; with `neighbors`, a flow and its nearest other baseline
    /// flow), half dissimilar (a baseline flow and a shot).
    case sampled(baseline: [Int], shots: [Int], count: Int, neighbors: [Int: Int]?)

    public var pairsPerEpoch: Int {
        switch self {
        case .fixed(let p): return p.count
        case .sampled(_, _, let count, _): return count
        }
    }

    /// The pairs of `epoch`, in training order.
    public func pairs(epoch: Int, seed: UInt64) -> [Pair] {
        var rng = SeededGenerator(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9)
        switch self {
        case .fixed(var order):
            order.shuffle(using: &rng)
            return order
        case let .sampled(baseline, shots, count, neighbors):
            return Self.draw(baseline: baseline, shots: shots, count: count, neighbors: neighbors, rng: &rng)
        }
    }

    /// `count` pairs: similar ones from two different baseline flows, dissimilar ones from a
    /// baseline flow and a shot (on either side), alternating.
    public static func draw(baseline: [Int], shots: [Int], count: Int, neighbors: [Int: Int]? = nil,
                     rng: inout SeededGenerator) -> [Pair] {
        var out: [Pair] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            let ia = Int(rng.next() % UInt64(baseline.count))
            let a = baseline[ia]
            if i % 2 == 0 || shots.isEmpty, let b = neighbors?[a] {
                out.append(Pair(left: a, right: b, label: 1))
            } else if i % 2 == 0 || shots.isEmpty {
                var ib = Int(rng.next() % UInt64(baseline.count))
                if ib == ia { ib = (ia + 1) % baseline.count }   // two different flows (when there are two)
                out.append(Pair(left: a, right: baseline[ib], label: 1))
            } else {
                let s = shots[Int(rng.next() % UInt64(shots.count))]
                out.append(rng.next() & 1 == 0 ? Pair(left: a, right: s, label: 0) : Pair(left: s, right: a, label: 0))
            }
        }
        return out
    }
}

/// Where a resumed run starts: the checkpoint's history and best weights (its current weights and
/// Adam state are loaded into the network before the loop is made).
public struct EpochLoopResume {
    public var history: [EpochRecord]
    public var epochsCompleted: Int
    public var trainingSeconds: Double
    /// The epoch whose weights `bestWeights` holds (0: none).
    public var bestEpoch: Int
    public var bestWeights: [String: [Float]]?

    public init(history: [EpochRecord], epochsCompleted: Int, trainingSeconds: Double, bestEpoch: Int, bestWeights: [String: [Float]]?) {
        self.history = history
        self.epochsCompleted = epochsCompleted
        self.trainingSeconds = trainingSeconds
        self.bestEpoch = bestEpoch
        self.bestWeights = bestWeights
    }
}

/// What a checkpoint writer is handed after an epoch: the network holds the current weights.
public struct EpochLoopState {
    public let epoch: Int
    public let history: [EpochRecord]
    public let trainingSeconds: Double
    /// The best epoch so far whose weights `bestTensors` carries (0: none).
    public let bestEpoch: Int
    /// `best.<parameter>` tensors, so that a resumed run restores the same best weights.
    public let bestTensors: [NamedTensor]
}

/// The epoch loop of one training run of the Siamese network: steps, validation, early stopping
/// that restores the best weights, divergence caught from the loss and the weights, and
/// checkpoints (written by the caller, who knows what a model file holds) that carry the best
/// weights so a resumed run ends the same.
public struct EpochLoop {
    public let network: SiameseNetwork
    public let options: TrainingOptions
    /// What a divergence message advises (SiameseError.likelyCause).
    private var likelyCause: String { SiameseError.likelyCause(learningRate: options.learningRate, config: network.config) }
    let pairs: PairSource
    let validationPairs: [Pair]
    /// Flattened 32x32 images that pairs index into.
    let images: [Float]
    /// Where checkpoints go (named in errors) and who writes them.
    let checkpointPath: String?
    let writeCheckpoint: ((EpochLoopState) throws -> Void)?
    public private(set) var history: [EpochRecord] = []
    var firstEpoch = 1
    public private(set) var lastEpoch = 0
    public private(set) var trainingSeconds = 0.0
    /// Best monitored loss so far, its epoch (0: none yet) and a device copy of its weights.
    var best = Double.infinity
    var bestEpoch = 0
    let bestWeights: [Tensor]
    /// Whether `bestWeights` holds the weights of `bestEpoch` (false until an epoch improves,
    /// unless the checkpoint resumed from carried them).
    var bestWeightsValid = false
    var wroteCheckpoint = false

    /// Without `resume` the network is initialised with `options.seed`; with it, the caller has
    /// loaded the checkpoint's weights into the network.
    public init(network: SiameseNetwork, options: TrainingOptions, pairs: PairSource, validationPairs: [Pair], images: [Float],
                resume: EpochLoopResume?, checkpointPath: String?, writeCheckpoint: ((EpochLoopState) throws -> Void)?) throws {
        self.network = network
        self.options = options
        self.pairs = pairs
        self.validationPairs = validationPairs
        self.images = images
        self.checkpointPath = checkpointPath
        self.writeCheckpoint = writeCheckpoint
        if let resume {
            history = resume.history
            firstEpoch = resume.epochsCompleted + 1
            lastEpoch = resume.epochsCompleted
            trainingSeconds = resume.trainingSeconds
        } else {
            try network.initialize(seed: options.seed)
        }
        bestWeights = try network.snapshot()
        let monitorValidation = !validationPairs.isEmpty
        if let resume, resume.bestEpoch > 0, let record = history.first(where: { $0.epoch == resume.bestEpoch }),
           let weights = resume.bestWeights {
            for (p, t) in zip(network.parameters, bestWeights) {
                guard let v = weights[p.name] else { continue }
                try network.backend.upload(v, to: t)
            }
            bestEpoch = resume.bestEpoch
            best = monitorValidation ? (record.valLoss ?? .infinity) : record.loss
            bestWeightsValid = true
        }
    }

    func image(_ i: Int) -> ArraySlice<Float> {
        images[i * FlowImage.pixelCount ..< (i + 1) * FlowImage.pixelCount]
    }

    /// Host arrays of a batch of pairs: left images, right images, labels.
    func gather(_ batchPairs: ArraySlice<Pair>) -> ([Float], [Float], [Float]) {
        var left: [Float] = [], right: [Float] = []
        left.reserveCapacity(batchPairs.count * FlowImage.pixelCount)
        right.reserveCapacity(batchPairs.count * FlowImage.pixelCount)
        for p in batchPairs { left += image(p.left); right += image(p.right) }
        return (left, right, batchPairs.map(\.label))
    }

    public mutating func run(progress: (TrainingEvent) -> Void) throws {
        let batch = options.batchSize
        let pairsPerEpoch = pairs.pairsPerEpoch
        let stepsPerEpoch = (pairsPerEpoch + batch - 1) / batch
        progress(.started(trainPairs: pairsPerEpoch, validationPairs: validationPairs.count,
                          stepsPerEpoch: stepsPerEpoch, firstEpoch: firstEpoch, epochs: options.epochs))
        let monitorValidation = !validationPairs.isEmpty
        // Epochs since the best one, carried over a resume so that patience counts the same.
        var sinceBest = bestEpoch > 0 ? lastEpoch - bestEpoch : 0
        let started = Date()
        var lastCheckpoint = started
        var epochsRun = 0
        var epoch = firstEpoch
        while epoch <= options.epochs {
            let epochStart = Date()
            var record = try trainEpoch(epoch, steps: stepsPerEpoch, started: epochStart, progress: progress)
            if monitorValidation { try validate(&record, epoch: epoch, steps: stepsPerEpoch) }
            // Once per epoch, before these weights can become the best or a checkpoint (Divergence.swift).
            if let tensor = try network.firstNonFiniteTensor() {
                throw SiameseError.nonFiniteWeights(epoch: epoch, tensor: tensor, checkpoint: wroteCheckpoint ? checkpointPath : nil,
                                                    likelyCause: likelyCause)
            }
            record.seconds = Date().timeIntervalSince(epochStart)
            trainingSeconds += record.seconds ?? 0
            epochsRun += 1
            history.append(record)
            lastEpoch = epoch
            let monitored = monitorValidation ? (record.valLoss ?? .infinity) : record.loss
            let improved = monitored < best
            if improved {
                best = monitored
                bestEpoch = epoch
                sinceBest = 0
                try network.update(snapshot: bestWeights)
                bestWeightsValid = true
            } else {
                sinceBest += 1
            }
            let perEpoch = Date().timeIntervalSince(started) / Double(epochsRun)
            progress(.epochEnded(record, best: improved, secondsLeft: perEpoch * Double(options.epochs - epoch)))
            if let writeCheckpoint, Date().timeIntervalSince(lastCheckpoint) >= options.checkpointInterval, epoch < options.epochs {
                try writeCheckpoint(try state(epoch: epoch))
                wroteCheckpoint = true
                lastCheckpoint = Date()
                progress(.checkpoint(epoch: epoch))
            }
            if options.patience > 0, sinceBest >= options.patience, epoch < options.epochs {
                progress(.earlyStop(epoch: epoch, bestEpoch: bestEpoch))
                break
            }
            epoch += 1
        }
        // Restore the best weights (Keras's restore_best_weights).
        if bestEpoch > 0 && bestWeightsValid { try network.restore(bestWeights) }
    }

    /// One epoch of optimizer steps; returns its record without validation.
    mutating func trainEpoch(_ epoch: Int, steps: Int, started: Date, progress: (TrainingEvent) -> Void) throws -> EpochRecord {
        let batch = options.batchSize
        let order = pairs.pairs(epoch: epoch, seed: options.seed)
        var lossSum = 0.0, correct = 0, seen = 0
        for s in 0..<steps {
            let slice = order[(s * batch)..<min(order.count, (s + 1) * batch)]
            let (left, right, labels) = gather(slice)
            let r = try network.trainStep(left: left, right: right, labels: labels, optimizer: options.adam)
            guard r.loss.isFinite else {
                throw SiameseError.nonFiniteLoss(epoch: epoch, step: s + 1, loss: r.loss,
                                                 checkpoint: wroteCheckpoint ? checkpointPath : nil, likelyCause: likelyCause)
            }
            lossSum += Double(r.loss) * Double(slice.count)
            correct += r.correct
            seen += slice.count
            let elapsed = Date().timeIntervalSince(started)
            progress(.step(epoch: epoch, step: s + 1, steps: steps, loss: lossSum / Double(seen),
                           accuracy: Double(correct) / Double(seen), pairsPerSecond: Double(seen) / max(elapsed, 1e-9)))
        }
        return EpochRecord(epoch: epoch, loss: lossSum / Double(max(seen, 1)), accuracy: Double(correct) / Double(max(seen, 1)))
    }

    /// Adds the validation loss and accuracy to `record`.
    func validate(_ record: inout EpochRecord, epoch: Int, steps: Int) throws {
        let batch = options.batchSize, pairs = validationPairs
        var loss = 0.0, correct = 0
        for s in stride(from: 0, to: pairs.count, by: batch) {
            let slice = pairs[s..<min(pairs.count, s + batch)]
            let (left, right, labels) = gather(slice)
            let r = try network.evaluate(left: left, right: right, labels: labels)
            loss += Double(r.loss) * Double(slice.count)
            correct += r.correct
        }
        let valLoss = loss / Double(pairs.count)
        record.valLoss = valLoss
        record.valAccuracy = Double(correct) / Double(pairs.count)
        guard valLoss.isFinite else {
            throw SiameseError.nonFiniteLoss(epoch: epoch, step: steps, loss: Float(valLoss),
                                             checkpoint: wroteCheckpoint ? checkpointPath : nil, likelyCause: likelyCause)
        }
    }

    /// The loop's state after `epoch`, with the best weights so far as `best.*` tensors.
    func state(epoch: Int) throws -> EpochLoopState {
        var best: [NamedTensor] = []
        if bestEpoch > 0 && bestWeightsValid {
            for (p, t) in zip(network.parameters, bestWeights) {
                best.append(NamedTensor(name: "best." + p.name, shape: t.shape, values: try network.backend.download(t)))
            }
        }
        return EpochLoopState(epoch: epoch, history: history, trainingSeconds: trainingSeconds,
                              bestEpoch: bestWeightsValid ? bestEpoch : 0, bestTensors: best)
    }
}
