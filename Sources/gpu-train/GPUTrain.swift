import ArgumentParser
import Backend
import Common
import Foundation

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
            Convert.self, Synth.self, Flows.self,
            Verify.self, Bench.self, TuneGemm.self,
        ]
    )
}

/// Entry point: fixes OpenBLAS's kernel choice where it fell back to generic ones, then runs the command.
@main
enum Entry {
    static func main() {
        BLASCore.reexecIfGeneric()
        do {
            var command = try GPUTrain.parseAsRoot()
            try command.run()
        } catch let raw {
            // Foundation's file errors name neither the file nor the reason; see FileError.readable.
            let error = FileError.readable(raw)
            // ArgumentParser's own ending (help and version on stdout, usage errors exit 64), with
            // the message's control characters escaped: errors quote paths, labels and values.
            let code = GPUTrain.exitCode(for: error)
            let message = GPUTrain.fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { print(message) }
            } else {
                FileHandle.standardError.write(Data((TerminalText.escaped(message, keepingLineBreaks: true) + "\n").utf8))
            }
            exit(code.rawValue)
        }
    }
}
