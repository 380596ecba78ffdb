import Siamese
import Backend
import Reporting

/// How a model's decision threshold was chosen, stored in the model file so that an operator
/// (and `detect`'s guard) knows what rate of flagged normal traffic to expect.
public struct Calibration: Codable, Equatable, Sendable {
    public enum Method: String, Codable, Sendable {
        /// Each baseline period's flows scored against the bank of the other periods: the scores
        /// of normal traffic from another hour or day, which is what a deployed model meets.
        case crossPeriod = "cross-period"
        /// A baseline of one period split into contiguous blocks in time order, each scored
        /// against the others: the nearest stand-in for other periods that one capture has.
        case timeBlocks = "time-blocks"
    }

    public var method: Method
    /// The periods (or blocks) the scores came from.
    public var periods: Int
    /// How many scores the threshold was chosen from.
    public var scores: Int
    /// The target false-positive rate the threshold was placed at.
    public var fpr: Double
    /// Fraction of the calibration scores at or above the threshold: the flagged rate to expect on
    /// normal traffic of another period. `detect` warns when it sees far more.
    public var flaggedRate: Double

    public init(method: Method, periods: Int, scores: Int, fpr: Double, flaggedRate: Double) {
        self.method = method
        self.periods = periods
        self.scores = scores
        self.fpr = fpr
        self.flaggedRate = flaggedRate
    }

    /// One line for people: "cross-period over 7 periods (4905 scores), 1.0% of them flagged at --fpr 0.01".
    public var summary: String {
        let percent = (flaggedRate * 1000).rounded() / 10
        return "\(method.rawValue) over \(periods) \(method == .timeBlocks ? "time blocks" : "periods") (\(scores) scores), "
            + "\(percent)% of them flagged at --fpr \(fpr)"
    }
}

/// Fits the baseline recipe's threshold from training data only: the scores normal traffic gets
/// when it comes from a period the bank does not hold.
public enum CrossPeriodCalibration {
    /// Blocks a single-period baseline is split into, in time order, for `.timeBlocks`.
    public static let timeBlocks = 4

    /// Each bank entry's score against the bank without its own period (or block): `scores[i]`
    /// belongs to entry i. With one period the entries, in bank order (time order), are split into
    /// `timeBlocks` contiguous blocks. Entries of a period too small to leave a bank of k flows
    /// are scored as NaN and left out by `fit`.
    public static func scores(bank: MemoryBank, backend: Backend, k: Int, clip: Float = .infinity) throws -> (scores: [Float], method: Calibration.Method, periods: Int) {
        let n = bank.count
        var periodOf = bank.periods
        var method = Calibration.Method.crossPeriod
        var periodCount = Set(periodOf).count
        if periodCount < 2 {
            method = .timeBlocks
            let blocks = min(timeBlocks, n)
            periodOf = (0..<n).map { $0 * blocks / n }
            periodCount = blocks
        }
        let vectors = bank.searchVectors
        let d = bank.embeddings == nil ? bank.featureCount : bank.dimension
        var out = [Float](repeating: .nan, count: n)
        for p in Set(periodOf).sorted() {
            let inside = (0..<n).filter { periodOf[$0] == p }
            let outside = (0..<n).filter { periodOf[$0] != p }
            guard outside.count >= k, !inside.isEmpty else { continue }
            var bankVectors: [Float] = [], queryVectors: [Float] = []
            bankVectors.reserveCapacity(outside.count * d)
            queryVectors.reserveCapacity(inside.count * d)
            for i in outside { bankVectors += vectors[i * d ..< (i + 1) * d] }
            for i in inside { queryVectors += vectors[i * d ..< (i + 1) * d] }
            let scorer = try BankScorer(backend: backend, vectors: bankVectors, dimension: d, k: k, clip: clip)
            let batch = 4096
            for start in stride(from: 0, to: inside.count, by: batch) {
                let m = min(batch, inside.count - start)
                let slice = Array(queryVectors[start * d ..< (start + m) * d])
                let (s, _) = try scorer.scores(queries: slice, count: m)
                for j in 0..<m { out[inside[start + j]] = s[j] }
            }
        }
        return (out, method, periodCount)
    }

    /// The threshold that flags `fpr` of the cross-period scores (as
    /// `BinaryMetrics.chooseThreshold(.maxFalsePositiveRate)` places it), and its record.
    public static func fit(scores: [Float], method: Calibration.Method, periods: Int, fpr: Double) throws -> (threshold: Double, calibration: Calibration) {
        let finite = scores.filter { $0.isFinite }
        guard !finite.isEmpty else {
            throw SiameseError.invalidData("no baseline period could be scored against the others: the baseline is too small for this k")
        }
        let threshold = try BinaryMetrics.chooseThreshold(scores: finite, labels: finite.map { _ in false },
                                                          criterion: .maxFalsePositiveRate(fpr))
        let flagged = finite.filter { Double($0) >= threshold }.count
        return (threshold, Calibration(method: method, periods: periods, scores: finite.count, fpr: fpr,
                                       flaggedRate: Double(flagged) / Double(finite.count)))
    }
}

/// Chooses a trained model's threshold from training data only (never from test data), by the
/// model's rule. Part of training: `Detector` only scores.
public enum ThresholdFitting {
    /// Baseline recipe, rule `.fpr`: flag `fpr` of the cross-period scores (`CrossPeriodCalibration`);
    /// rule `.supportF1`: the F1-best cut between those scores and the malicious shots' scores.
    /// Seed recipe: the supports' leave-one-out scores, by the same two rules.
    public static func fit(detector: Detector) throws -> (threshold: Double, calibration: Calibration?) {
        let model = detector.model, o = model.options
        if o.recipe == .baseline {
            guard let bank = model.bank else { throw SiameseError.invalidData("a baseline-recipe model needs its memory bank") }
            let (cross, method, periods) = try CrossPeriodCalibration.scores(bank: bank, backend: detector.backend, k: o.k, clip: o.searchClip)
            var (threshold, calibration) = try CrossPeriodCalibration.fit(scores: cross, method: method, periods: periods, fpr: o.fpr)
            if o.thresholdRule == .supportF1 {
                guard model.support.count > 0 else {
                    throw SiameseError.invalidConfiguration("--threshold-rule support-f1 needs malicious shots")
                }
                let benign = cross.filter { $0.isFinite }
                let shots = try detector.scores(scaledRows: model.support.features, count: model.support.count)
                threshold = try BinaryMetrics.chooseThreshold(scores: benign + shots,
                                                              labels: benign.map { _ in false } + shots.map { _ in true }, criterion: .f1)
                calibration.flaggedRate = Double(benign.filter { Double($0) >= threshold }.count) / Double(max(benign.count, 1))
            }
            return (threshold, calibration)
        }
        guard let supports = detector.scorer as? SupportScorer else {
            throw SiameseError.invalidConfiguration("the seed recipe scores against its support set")
        }
        let scores = supports.leaveOneOutScores(), labels = model.support.malicious
        switch o.thresholdRule {
        case .supportF1: return (try BinaryMetrics.chooseThreshold(scores: scores, labels: labels, criterion: .f1), nil)
        case .fpr:
            let benign = zip(scores, labels).filter { !$0.1 }.map(\.0)
            return (try BinaryMetrics.chooseThreshold(scores: benign, labels: benign.map { _ in false },
                                                      criterion: .maxFalsePositiveRate(o.fpr)), nil)
        }
    }

    /// Leave-one-out scores of a bank: each entry's distance to its k-th nearest other entry (its
    /// own row left out by index, so duplicates still count). What thresholds were fitted on before
    /// cross-period calibration; kept to show why it was replaced (near-duplicate health checks
    /// make these distances tiny).
    public static func leaveOneOutScores(bank: MemoryBank, backend: Backend, k: Int, clip: Float = .infinity) throws -> [Float] {
        let kk = k + 1
        guard bank.count >= kk else {
            throw SiameseError.invalidData("the memory bank has \(bank.count) flows; --k \(k) needs at least \(kk)")
        }
        let d = bank.embeddings == nil ? bank.featureCount : bank.dimension
        let all = try backend.makeTensor([bank.count, d])
        try backend.upload(bank.searchVectors, to: all)
        var out: [Float] = []
        out.reserveCapacity(bank.count)
        var start = 0
        while start < bank.count {
            let n = min(1024, bank.count - start)
            let queries = try all.rows(start..<(start + n)).reshaped([n, d])
            let distances = try backend.makeTensor([n, kk]), indices = try backend.makeTensor([n, kk])
            try backend.nearestNeighbors(queries: queries, bank: all, k: kk, clip: clip, distances: distances, indices: indices)
            let dist = try backend.download(distances), ix = try backend.download(indices)
            for i in 0..<n {
                var kept: [Float] = []
                var droppedSelf = false
                for j in 0..<kk {
                    if !droppedSelf && Int(ix[i * kk + j]) == start + i { droppedSelf = true; continue }
                    kept.append(dist[i * kk + j])
                }
                out.append(kept[kk - 2])
            }
            start += n
        }
        return out
    }
}
