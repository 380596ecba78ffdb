import ArgumentParser
import Backend

/// `gpu-train devices`: the CPU backend and every OpenCL platform and device.
struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the CPU backend and every OpenCL platform and device.")

    func run() throws {
        try CPUISA.checkEnvironment()
        print("CPU backend: \(CPUBackend.blasDescription)")
        print("  C kernels: \(CPUISA.description)")
        if let note = BLASCore.adjustmentNote { print("  \(note)") }
        let platforms = try OpenCLDevices.platforms()
        guard !platforms.isEmpty else {
            print("OpenCL: no platform found (install an OpenCL driver such as pocl-opencl-icd; --backend cpu works without one)")
            return
        }
        for platform in platforms {
            print("OpenCL platform: \(platform.name) (\(platform.vendor), \(platform.version))")
            if platform.devices.isEmpty { print("  no devices") }
            for d in platform.devices {
                print("  [\(d.index)] \(d.name)")
                print("      vendor \(d.vendor), type \(d.type), \(d.computeUnits) compute units, " +
                      "\(d.globalMemoryBytes >> 20) MiB global memory (\(d.maxAllocationBytes >> 20) MiB max allocation), \(d.openCLVersion)")
            }
        }
    }
}
