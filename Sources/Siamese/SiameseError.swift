/// Errors of the model, the trainer and checkpoints.
public enum SiameseError: Error, CustomStringConvertible {
    case invalidConfiguration(String)
    case invalidData(String)
    case nonFiniteLoss(epoch: Int, step: Int, loss: Float, checkpoint: String?)
    case badModelFile(path: String, reason: String)
    /// A weight, gradient or Adam moment became NaN or infinite during `epoch` (the loss may stay finite).
    case nonFiniteWeights(epoch: Int, tensor: String, checkpoint: String?)
    /// A model about to be written holds NaN or infinite values; nothing was written.
    case nonFiniteModel(path: String, tensor: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let s): return "invalid model configuration: \(s)"
        case .invalidData(let s): return s
        case let .nonFiniteLoss(epoch, step, loss, checkpoint):
            return "training diverged: loss became \(loss) at epoch \(epoch), step \(step); " +
                (checkpoint.map { "the last good checkpoint is kept at \($0)" } ?? "no checkpoint was written") +
                ". Try a lower --lr."
        case let .badModelFile(path, reason): return "\(path): not a usable gpu-train model: \(reason)"
        case let .nonFiniteWeights(epoch, tensor, checkpoint):
            return "training diverged: \(tensor) became NaN or infinite in epoch \(epoch); " +
                (checkpoint.map { "the last good checkpoint is kept at \($0)" } ?? "no checkpoint was written") +
                ". Try a lower --lr."
        case let .nonFiniteModel(path, tensor):
            return "\(path): not written: \(tensor) holds NaN or infinite values (the model would be unreadable)"
        }
    }
}
