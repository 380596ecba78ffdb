import ArgumentParser
import FlowData
import Foundation

/// `gpu-train synth`: a synthetic dataset in the real files' format.
struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a synthetic flow dataset (CICFlowMeter CSV, benign/ and malicious/ files like the real ones).",
        discussion: """
        Simulated, not captured: benign cluster background traffic and five attack scenarios
        (reconnaissance, rce-reverse-shell, attack-pods, cve202013379, cve202125741), a fifth of each
        attack file being background traffic labelled with the scenario id. The same seed gives the
        same files. A README.md in --out says the data is synthetic. Files already in --out that this \
        run would change are refused (nothing is written) unless --force.
        """)

    @Option(name: .long, help: "Output folder.")
    var out: String

    @Option(name: .long, parsing: .unconditional,
            help: "Benign flows (1...\(Synth.maxBenign)); attack scenarios scale with it (at least 8 flows each).")
    var benign: Int = SynthGenerator.defaultBenign

    /// Scenario sizes are computed from --benign; ten million flows (a few GB of CSV) is far
    /// past any demo and keeps that arithmetic and the memory it needs bounded.
    static let maxBenign = 10_000_000

    @Option(name: .long, help: "Random seed.")
    var seed: UInt64 = 42

    @Flag(help: "Replace files already in --out that this run would write with other contents (README.md and the CSVs).")
    var force = false

    func validate() throws {
        guard (1...Synth.maxBenign).contains(benign) else {
            throw ValidationError("--benign must be between 1 and \(Synth.maxBenign), got \(benign)")
        }
    }

    func run() throws {
        try SynthGenerator.write(to: URL(fileURLWithPath: out), benign: benign, seed: seed, force: force)
        let attacks = SynthGenerator.scenarios.map { "\($0.name) \(SynthGenerator.scenarioCount(per600: $0.per600, benign: benign))" }
        print("wrote \(benign) benign flows and \(attacks.joined(separator: ", ")) to \(out)")
    }
}
