import ArgumentParser
import Backend

/// The gpu-train command: a few-shot Siamese detector of malicious Kubernetes flows.
struct GPUTrain: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "gpu-train",
        abstract: "Train and run a few-shot Siamese CNN that tells malicious Kubernetes network flows from benign ones.",
        version: version,
        subcommands: [
            Devices.self,
            Train.self, Update.self, Evaluate.self, Detect.self, Crossval.self, Report.self,
            Convert.self, Synth.self,
            Verify.self, Bench.self, TuneGemm.self,
        ]
    )
}

/// Entry point: fixes OpenBLAS's kernel choice where it fell back to generic ones, then runs the command.
@main
enum Entry {
    static func main() {
        BLASCore.reexecIfGeneric()
        GPUTrain.main()
    }
}
