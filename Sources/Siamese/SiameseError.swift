/// Errors of the model, the trainer and checkpoints.
public enum SiameseError: Error, CustomStringConvertible {
    case invalidConfiguration(String)
    case invalidData(String)
    case nonFiniteLoss(epoch: Int, step: Int, loss: Float, checkpoint: String?)
    case badModelFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let s): return "invalid model configuration: \(s)"
        case .invalidData(let s): return s
        case let .nonFiniteLoss(epoch, step, loss, checkpoint):
            return "training diverged: loss became \(loss) at epoch \(epoch), step \(step); " +
                (checkpoint.map { "the last good checkpoint is kept at \($0)" } ?? "no checkpoint was written") +
                ". Try a lower --lr."
        case let .badModelFile(path, reason): return "\(path): not a usable gpu-train model: \(reason)"
        }
    }
}
