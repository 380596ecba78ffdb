/// Bounds on the numbers of a training run that nothing else bounds. The command line refuses
/// options beyond them, and a model file whose stored run is beyond them is refused on load,
/// so counters read from a file can never overflow when `--resume` carries them on.
public enum TrainingLimits {
    /// Support flows per class: S shots make about S^2 / 2 pairs.
    public static let maxShots = 10_000
    /// Epochs: beyond a million is a typo, not a plan.
    public static let maxEpochs = 1_000_000
    /// Pairs drawn per epoch by the baseline recipe: a billion is already days of training.
    public static let maxPairsPerEpoch = 1_000_000_000
    /// Adam steps: the bias correction computes beta^t in Double, exact for t up to 2^53.
    public static let maxAdamSteps = 1 << 53

    /// Checks a run's options and counters as read from a model file; returns what is wrong.
    public static func problem(options: TrainingOptions, config: ModelConfig, epochsCompleted: Int, adamStep: Int) -> String? {
        do { try options.validate() } catch { return "metadata 'options' is not valid: \(error)" }
        guard options.epochs <= maxEpochs, options.benignShots <= maxShots, options.maliciousShots <= maxShots,
              options.pairsPerEpoch <= maxPairsPerEpoch else {
            return "metadata 'options' asks for \(options.epochs) epochs, \(options.benignShots) + \(options.maliciousShots) " +
                "shots; at most \(maxEpochs) epochs and \(maxShots) shots per class are supported"
        }
        if let maxBatch = try? config.maxPairsPerBatch(), options.batchSize > maxBatch {
            return "metadata 'options' has a batch size of \(options.batchSize) pairs; this network allows at most \(maxBatch)"
        }
        guard (0...maxEpochs).contains(epochsCompleted) else {
            return "metadata 'epochs_completed' is \(epochsCompleted), outside 0...\(maxEpochs)"
        }
        guard (0...maxAdamSteps).contains(adamStep) else {
            return "metadata 'adam_step' is \(adamStep), outside 0...\(maxAdamSteps)"
        }
        return nil
    }
}
