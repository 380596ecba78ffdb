import ArgumentParser
import FlowData
import Foundation

// crossval's own options, range-checked when the command line is parsed (exit 64), and the
// baseline they leave checked once the flows are read, before any fold runs.
extension Crossval {
    /// The most seeds per left-out scenario (each seed trains every fold again).
    static let maxSeeds = 1000

    func validate() throws {
        guard (1...Self.maxSeeds).contains(seeds) else {
            throw ValidationError("--seeds must be between 1 and \(Self.maxSeeds), got \(seeds)")
        }
        guard baselineFraction.isFinite, baselineFraction > 0, baselineFraction < 1 else {
            throw ValidationError("--baseline-fraction must be in (0, 1), got \(baselineFraction)")
        }
    }

    /// The baseline (the earliest `--baseline-fraction` of the benign flows) must hold more flows
    /// than --k, and at least two; the rest must hold at least one later benign flow to test.
    func checkBaselineSize(_ table: FlowTable) throws {
        let benign = table.benignRows.count
        guard benign > 0 else { return }  // the folds say that the data has no benign flows
        let baseline = min(benign, max(0, Int((Double(benign) * baselineFraction).rounded())))
        let needed = max(2, (model.k ?? 1) + 1)
        if baseline < needed {
            throw ValidationError(String(format: "--baseline-fraction %g leaves %d of the %d benign flows for the baseline, too few: ",
                                         baselineFraction, baseline, benign) +
                                  "it needs at least \(needed); give a larger fraction (the default is 0.8)")
        }
        if baseline == benign {
            throw ValidationError(String(format: "--baseline-fraction %g leaves none of the %d benign flows to test; give a smaller fraction",
                                         baselineFraction, benign))
        }
    }
}
