import Common
import FlowData
import Foundation

// Every command's outputs against its inputs, checked first thing in `run` (SameFile): no command
// ever writes over one of its own inputs. Here rather than in each command's file, so that the
// list of what each command reads and writes is in one place.

/// The files of a flow folder (--data, --baseline) that the flow loader reads: an output beside
/// them (a model, curves.svg) is no input.
private func flowFile(_ name: String) -> Bool { name.lowercased().hasSuffix(".csv") }

/// --features names a file when it is not a comma-separated list; a file is an input.
private func featureFile(_ features: String?) -> [(String, String)] {
    features.map { [("--features", $0)] } ?? []
}

extension Train {
    /// --out and the history.csv and curves.svg beside it, against --data, --baseline and
    /// --features. (--resume may name --out: a run continues in its own checkpoint.)
    func refuseOverwritingInputs() throws {
        let url = URL(fileURLWithPath: out)
        // history.csv is never written inside an input folder (`dataFolderHolding`).
        let history = dataFolderHolding(url) == nil ? [("--out (history.csv beside it)", url.sibling("history.csv").path)] : []
        try SameFile.refuseOverwritingInputs(
            outputs: [("--out", out)] + history + [("--out (curves.svg beside it)", url.sibling("curves.svg").path)],
            inputs: [("--data", dataOptions.data)] + baseline.map { ("--baseline", $0) } + featureFile(model.features)
                + (k8sPods.map { [("--k8s-pods", $0)] } ?? []),
            readsInFolder: flowFile)
    }
}

extension Evaluate {
    func refuseOverwritingInputs() throws {
        try SameFile.refuseOverwritingInputs(outputs: [("--json", json), ("--roc", roc)].compactMap { o in o.1.map { (o.0, $0) } },
                                             inputs: [("--model", model), ("--data", dataOptions.data)] + (flowRoles.map { [("--flow-roles", $0)] } ?? []))
    }
}

extension Report {
    func refuseOverwritingInputs() throws {
        try SameFile.refuseOverwritingInputs(outputs: [("--out", out)], inputs: [("--model", model), ("--data", dataOptions.data)]
                                             + (flowRoles.map { [("--flow-roles", $0)] } ?? []) + (k8sPods.map { [("--k8s-pods", $0)] } ?? []))
    }
}

extension Crossval {
    func refuseOverwritingInputs() throws {
        try SameFile.refuseOverwritingInputs(outputs: json.map { [("--json", $0)] } ?? [],
                                             inputs: [("--data", dataOptions.data)] + featureFile(model.features)
                                                 + (flowRoles.map { [("--flow-roles", $0)] } ?? []))
    }
}

extension Update {
    /// --out against --model and every --baseline (the model updated is never written over).
    func refuseOverwritingInputs() throws {
        try SameFile.refuseOverwritingInputs(outputs: [("--out", out)], inputs: [("--model", model)] + baseline.map { ("--baseline", $0) }
                                             + (k8sPods.map { [("--k8s-pods", $0)] } ?? []))
    }
}

extension Convert {
    /// Every file convert writes under --out.
    func refuseOverwritingInputs() throws {
        let folder = URL(fileURLWithPath: out)
        try SameFile.refuseOverwritingInputs(outputs: FlowExport.fileNames(count: count).map { ("--out", folder.appendingPathComponent($0).path) },
                                             inputs: [("--data", data)] + featureFile(features))
    }
}

extension Detect {
    /// --output and --incidents against --input and --model.
    func refuseOverwritingInputs() throws {
        try SameFile.refuseOverwritingInputs(outputs: [("--output", output)] + (incidents.map { [("--incidents", $0)] } ?? []),
                                             inputs: [("--input", input), ("--model", model)] + (k8sPods.map { [("--k8s-pods", $0)] } ?? []))
    }
}

extension Flows {
    /// --out against every --pcap.
    func refuseOverwritingInputs() throws {
        try SameFile.refuseOverwritingInputs(outputs: [("--out", out)], inputs: pcap.map { ("--pcap", $0) })
    }
}
