import ArgumentParser
import Backend

/// `gpu-train devices`: the CPU backend and every OpenCL platform and device.
struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the CPU backend and every OpenCL platform and device.")

    func run() throws {
        print("CPU backend: \(CPUBackend.blasDescription)")
    }
}
