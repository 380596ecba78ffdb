/// Errors of the model, the trainer and checkpoints.
public enum SiameseError: Error, CustomStringConvertible {
    case invalidConfiguration(String)
    case invalidData(String)
    /// `likelyCause` is `SiameseError.likelyCause(learningRate:config:)`: what to change.
    case nonFiniteLoss(epoch: Int, step: Int, loss: Float, checkpoint: String?, likelyCause: String)
    case badModelFile(path: String, reason: String)
    /// A weight, gradient or Adam moment became NaN or infinite during `epoch` (the loss may stay finite).
    case nonFiniteWeights(epoch: Int, tensor: String, checkpoint: String?, likelyCause: String)
    /// A model about to be written holds NaN or infinite values; nothing was written.
    case nonFiniteModel(path: String, tensor: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let s): return "invalid model configuration: \(s)"
        case .invalidData(let s): return s
        case let .nonFiniteLoss(epoch, step, loss, checkpoint, likelyCause):
            return "training diverged: loss became \(loss) at epoch \(epoch), step \(step); " +
                (checkpoint.map { "the last good checkpoint is kept at \($0)" } ?? "no checkpoint was written") +
                ". " + likelyCause
        case let .badModelFile(path, reason): return "\(path): not a usable gpu-train model: \(reason)"
        case let .nonFiniteWeights(epoch, tensor, checkpoint, likelyCause):
            return "training diverged: \(tensor) became NaN or infinite in epoch \(epoch); " +
                (checkpoint.map { "the last good checkpoint is kept at \($0)" } ?? "no checkpoint was written") +
                ". " + likelyCause
        case let .nonFiniteModel(path, tensor):
            return "\(path): not written: \(tensor) holds NaN or infinite values (the model would be unreadable)"
        }
    }

    /// What most likely made training diverge, from the options that can: a contrastive margin
    /// far above the distances the embedding produces (the loss grows as its square; the default
    /// is 1), then a learning rate far above Adam's usual range (the default is 1e-4). Names the
    /// option and its value, so the advice fits the run.
    public static func likelyCause(learningRate: Float, config: ModelConfig) -> String {
        if config.loss == .contrastive && config.margin > 1000 {
            return "The likely cause is --margin \(config.margin): the contrastive loss grows as the margin's square, "
                + "so a margin this large overflows Float; use a margin near 1 (the default)."
        }
        if learningRate > 0.01 {
            return "The likely cause is --lr \(learningRate), far above Adam's usual range; try 1e-4 (the default) or lower."
        }
        return "Try a lower --lr (now \(learningRate))."
    }
}
