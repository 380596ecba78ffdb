import ArgumentParser
import Backend
import FlowData
import Foundation
import Detection
import Siamese

/// `gpu-train update`: adds new periods of normal traffic to a model's memory bank and calibrates
/// its threshold again, with no retraining.
struct Update: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add new periods of normal traffic to a baseline model's bank (retiring the oldest periods when it is full) and recalibrate its threshold, without retraining.",
        discussion: """
            Each --baseline file is a new period (or --period splits them by timestamp). The flows go through \
            the model's own transform and encoder; the bank keeps at most --bank-size flows (default: the \
            model's), retiring whole periods oldest first. The threshold is calibrated again on cross-period \
            scores. The model file given is never written over: --out names the new one.
            """)

    @Option(help: "The model to update (a baseline-recipe model written by `gpu-train train`).") var model: String
    @Option(help: ArgumentHelp("New normal traffic (flow file or folder, labelled or not, or a pcap/pcapng capture), repeatable: each file is a new period.", valueName: "path"))
    var baseline: [String] = []
    @Option(parsing: .unconditional, help: "Split the new flows into periods of this many seconds by their Timestamp column instead of one per file.")
    var period: Double?
    @Option(name: .customLong("k8s-pods"), help: "The new periods' pod list: needed when the model keeps its edges by workload (trained with --k8s-pods).")
    var k8sPods: String?
    @Option(help: "The updated model file to write.") var out: String
    @Option(parsing: .unconditional, help: "Most flows the bank keeps (default: the model's bank size).") var bankSize: Int?
    @Flag(help: "Skip rows with bad values instead of stopping.") var skipBadRows = false
    @OptionGroup var backendOptions: BackendOptions

    func validate() throws {
        guard !baseline.isEmpty else { throw ValidationError("give at least one --baseline with the new normal traffic") }
        if let bankSize {
            guard (2...NeighborGeometry.maxBankRows).contains(bankSize) else {
                throw ValidationError("--bank-size must be between 2 and \(NeighborGeometry.maxBankRows), got \(bankSize)")
            }
        }
    }

    func run() throws {
        let modelURL = URL(fileURLWithPath: model), outURL = URL(fileURLWithPath: out)
        try refuseOverwritingInputs()
        let original = try TrainedModel.read(modelURL)
        guard original.options.recipe == .baseline else {
            throw ValidationError("\(model) uses the seed recipe; update adds periods to baseline-recipe models")
        }
        var table = try DataOptions.load(baseline, features: original.scaler.featureNames, skipBadRows: skipBadRows,
                                         readEndpoints: true, requireLabels: false)
        table.labels = [Int](repeating: 0, count: table.rowCount)
        table.scenarioNames = [String](repeating: "benign", count: table.rowCount)
        let periods = try Train.periods(of: table, rows: Array(0..<table.rowCount), seconds: period)
        let backend = try backendOptions.make()
        TrainedModel.softwareVersion = GPUTrain.version
        let result = try ModelUpdate.apply(to: original, table: table, periods: periods, backend: backend, capacity: bankSize,
                                           podNames: try k8sPods.map { try KubernetesDirectory(path: $0) })
        try OutputFolder.creating(for: outURL) { try result.model.write(to: outURL) }
        let before = original.bank?.periodNames.count ?? 0, bank = result.model.bank
        print("model: \(out)")
        print("periods: \(before) before, \(Set(periods.ofRow.filter { $0 >= 0 }).count) added"
              + (result.retiredPeriods.isEmpty ? "" : ", \(result.retiredPeriods.count) retired (oldest first: \(result.retiredPeriods.prefix(5).joined(separator: ", "))\(result.retiredPeriods.count > 5 ? ", ..." : ""))")
              + ", \(bank?.periodNames.count ?? 0) now; bank \(bank?.count ?? 0) flows"
              + (result.subsampledAway > 0 ? " (\(result.subsampledAway) subsampled away to fit --bank-size)" : ""))
        print(String(format: "threshold %.4f (was %.4f), calibrated ", result.model.threshold, result.previousThreshold)
              + (result.model.calibration?.summary ?? "on the model's rule"))
    }
}
