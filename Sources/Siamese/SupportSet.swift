import Backend
import FlowData

/// A labelled pair of support flows: indices into the support set, label 1 = same class.
public struct Pair: Equatable, Sendable {
    public var left: Int
    public var right: Int
    public var label: Float

    public init(left: Int, right: Int, label: Float) {
        self.left = left
        self.right = right
        self.label = label
    }
}

/// The few-shot support set and the pairs built from it, as the original work did: every
/// benign-benign pair similar, every benign-malicious pair dissimilar, and optionally every
/// malicious-malicious pair similar.
public struct SupportSet: Sendable {
    /// Scaled features, supportCount x F.
    public var features: [Float]
    /// true for malicious supports.
    public var malicious: [Bool]
    /// Scenario name per support flow.
    public var scenarios: [String]
    public var featureCount: Int
    public var count: Int { malicious.count }

    public init(features: [Float], malicious: [Bool], scenarios: [String], featureCount: Int) {
        self.features = features
        self.malicious = malicious
        self.scenarios = scenarios
        self.featureCount = featureCount
    }

    /// Draws `benign` and `malicious` rows with `seed` from the candidate rows of `table`.
    public static func draw(from table: FlowTable, rows: [Int], scaler: Scaler, benign: Int, malicious: Int,
                            seed: UInt64) throws -> (SupportSet, [Int]) {
        var rng = SeededGenerator(seed: seed)
        var benignRows = rows.filter { !table.isMalicious($0) }
        var maliciousRows = rows.filter { table.isMalicious($0) }
        guard benignRows.count >= benign else {
            throw SiameseError.invalidData("the training data has \(benignRows.count) benign flows; --benign-shots asks for \(benign)")
        }
        guard maliciousRows.count >= malicious else {
            throw SiameseError.invalidData("the training data has \(maliciousRows.count) malicious flows; --malicious-shots asks for \(malicious)")
        }
        benignRows.shuffle(using: &rng)
        maliciousRows.shuffle(using: &rng)
        let picked = Array(benignRows.prefix(benign)) + Array(maliciousRows.prefix(malicious))
        let scaled = scaler.scale(values: table.subset(picked).values)
        let set = SupportSet(features: scaled, malicious: picked.map { table.isMalicious($0) },
                             scenarios: picked.map { table.scenarioNames[$0] }, featureCount: table.featureCount)
        return (set, picked)
    }

    /// The 32x32 image of support flow `i`.
    public func image(_ i: Int) -> [Float] {
        FlowImage.render(features[i * featureCount ..< (i + 1) * featureCount])
    }

    public func pairs(includeMaliciousPairs: Bool) -> [Pair] {
        var out: [Pair] = []
        for i in 0..<count {
            for j in (i + 1)..<max(count, i + 1) {
                switch (malicious[i], malicious[j]) {
                case (false, false): out.append(Pair(left: i, right: j, label: 1))
                case (false, true), (true, false): out.append(Pair(left: i, right: j, label: 0))
                case (true, true): if includeMaliciousPairs { out.append(Pair(left: i, right: j, label: 1)) }
                }
            }
        }
        return out
    }
}

/// Splits pairs into training and validation, shuffled and stratified by label, so that the
/// validation set holds both kinds of pair in the same proportion (the original took the last
/// 20% of unshuffled pairs, which held only one kind).
public func stratifiedSplit(_ pairs: [Pair], validationFraction: Double, seed: UInt64) -> (train: [Pair], validation: [Pair]) {
    var rng = SeededGenerator(seed: seed ^ 0x5EED_5711)
    var train: [Pair] = [], validation: [Pair] = []
    for label in [Float(1), Float(0)] {
        var group = pairs.filter { $0.label == label }
        group.shuffle(using: &rng)
        let n = Int((Double(group.count) * validationFraction).rounded())
        validation += group.prefix(n)
        train += group.dropFirst(n)
    }
    train.shuffle(using: &rng)
    return (train, validation)
}
