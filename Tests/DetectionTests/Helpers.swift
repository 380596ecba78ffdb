import Backend
import FlowData
import Foundation
import Detection
import Siamese
import TestSupport

/// A small network that trains in milliseconds but has every layer of the real one.
let smallConfig = ModelConfig(imageSide: 32, channels: [4, 8, 8, 16], kernels: [5, 3, 3, 3], embedding: 32,
                              loss: .bce, margin: 1.0)

/// A synthetic table: benign rows near 0, malicious rows shifted, with 27 features.
func syntheticTable(benign: Int = 30, malicious: Int = 12, seed: UInt64 = 7) -> FlowTable {
    var rng = SeededGenerator(seed: seed)
    let f = FeatureSet.default.count
    var values: [Float] = [], labels: [Int] = [], names: [String] = []
    for i in 0..<(benign + malicious) {
        let bad = i >= benign
        for j in 0..<f { values.append(rng.normal() + (bad ? Float(j % 3) * 2 : 0)) }
        labels.append(bad ? 2 : 0)
        names.append(bad ? "reconnaissance" : "benign")
    }
    return FlowTable(featureNames: FeatureSet.default, values: values, labels: labels, scenarioNames: names)
}

func quickOptions(epochs: Int = 3) -> TrainingOptions {
    var o = TrainingOptions()
    o.benignShots = 6
    o.maliciousShots = 3
    o.epochs = epochs
    o.batchSize = 4
    o.learningRate = 1e-3
    o.patience = 0
    return o
}

