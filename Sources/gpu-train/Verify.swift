import ArgumentParser
import Backend
import Foundation

/// `gpu-train verify`: every op on an OpenCL device against the CPU backend.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every op on an OpenCL device against the CPU backend (run this on a new GPU or driver).")

    @OptionGroup var deviceOptions: DeviceOptions
    var device: String? { deviceOptions.device }

    @Flag(name: .long, help: "Print only failing checks and the summary.")
    var failuresOnly = false

    func run() throws {
        try CPUISA.checkEnvironment()
        let candidate = try OpenCLBackend(device: device)
        // The oracle the test suite uses: im2col + SGEMM convolutions (the CPU's default Winograd
        // rounds differently, within tolerance) and the direct nearest-neighbour scan (the oracle
        // of the CPU's own fast search too).
        let reference = CPUBackend(convolution: .im2col, neighborSearch: .direct)
        print("verifying \(candidate.deviceDescription)")
        print("against   \(reference.deviceDescription)")
        let cases = OpConformance.cases()
        let opWidth = max(2, cases.map(\.op.count).max() ?? 0), shapeWidth = max(5, cases.map(\.shape.count).max() ?? 0)
        func row(_ cells: [String]) -> String {
            [cells[0].padding(toLength: opWidth, withPad: " ", startingAt: 0),
             cells[1].padding(toLength: shapeWidth, withPad: " ", startingAt: 0),
             cells[2].padding(toLength: 12, withPad: " ", startingAt: 0),
             cells[3].padding(toLength: 12, withPad: " ", startingAt: 0), cells[4]].joined(separator: " | ")
        }
        print(row(["op", "shape", "max abs err", "max rel err", "result"]))
        var failures: [String] = []
        let started = Date()
        for c in cases {
            let cells: [String]
            do {
                let comparison = try c.check(candidate: candidate, reference: reference)
                cells = [c.op, c.shape, String(format: "%.3g", comparison.maxAbsoluteError),
                         String(format: "%.3g", comparison.maxRelativeError), comparison.passed ? "pass" : "FAIL"]
                if !comparison.passed { failures.append("\(c.op) \(c.shape): \(comparison)") }
            } catch {
                cells = [c.op, c.shape, "-", "-", "ERROR"]
                failures.append("\(c.op) \(c.shape): \(error)")
            }
            if !failuresOnly || cells[4] != "pass" { print(row(cells)) }
        }
        let seconds = Date().timeIntervalSince(started)
        print(String(format: "%d of %d checks passed in %.1f s", cases.count - failures.count, cases.count, seconds))
        if !failures.isEmpty {
            print("failures:")
            for f in failures { print("  \(f)") }
            throw ExitCode.failure
        }
    }
}
