// The machine, the commit and memory, read from /proc, getrusage and git.
import Common
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The machine in words: CPU model, cores, memory, OS.
public struct MachineInfo: Sendable {
    public var cpuModel: String
    public var cores: Int
    public var memoryBytes: UInt64
    public var operatingSystem: String

    public static var current: MachineInfo {
        return MachineInfo(cpuModel: CPUInfo.modelName ?? "unknown CPU", cores: ProcessInfo.processInfo.activeProcessorCount,
                           memoryBytes: ProcessInfo.processInfo.physicalMemory,
                           operatingSystem: ProcessInfo.processInfo.operatingSystemVersionString)
    }

    public var summary: String {
        String(format: "%@, %d cores, %.1f GiB memory, %@", cpuModel, cores, Double(memoryBytes) / 1_073_741_824,
               operatingSystem)
    }

    /// `git rev-parse --short HEAD` of the checkout the binary was built in (found from the
    /// executable's own folder, as `swift build` puts it under `.build/` of the package), else of
    /// the working directory; "+dirty" when that tree has changes. When neither is inside a git
    /// checkout (or git is missing) it says so: "unknown (...)".
    public static func commit(executable: URL? = Bundle.main.executableURL) -> String {
        var places: [String?] = []
        if let executable { places.append(executable.resolvingSymlinksInPath().deletingLastPathComponent().path) }
        places.append(nil)  // the working directory
        for place in places {
            guard let head = git(["rev-parse", "--short", "HEAD"], in: place), !head.isEmpty else { continue }
            let dirty = git(["status", "--porcelain", "--untracked-files=no"], in: place).map { !$0.isEmpty } ?? false
            return head + (dirty ? "+dirty" : "")
        }
        return "unknown (neither the binary's folder nor the working directory is inside a git checkout, or git is not installed)"
    }

    private static func git(_ arguments: [String], in folder: String?) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git"] + (folder.map { ["-C", $0] } ?? []) + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A warning when the machine is busy: the 1-minute load average above half the cores means
    /// something else is running and the timings will drift. Nil when the load is low (or unknown).
    public static func loadWarning(oneMinuteLoad: Double?, cores: Int) -> String? {
        guard let load = oneMinuteLoad, load > Double(cores) / 2 else { return nil }
        return String(format: "warning: the 1-minute load average is %.2f on %d cores (above %.1f): something else is "
                      + "running, so these timings will be slow and noisy; benchmark on an idle machine", load, cores,
                      Double(cores) / 2)
    }

    /// The 1-minute load average (getloadavg), nil where it cannot be read.
    public static var oneMinuteLoad: Double? {
        var loads = [Double](repeating: 0, count: 3)
        return getloadavg(&loads, 3) >= 1 ? loads[0] : nil
    }
}

/// Peak resident set size. getrusage's ru_maxrss is process-wide and never goes down, so a
/// backend's own peak comes from Linux's VmHWM after resetting it (`5` > /proc/self/clear_refs).
enum PeakRSS {
    /// Process-wide peak (getrusage RUSAGE_SELF, ru_maxrss in KiB on Linux) in MB.
    static var processMegabytes: Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) * 1024 / 1e6
    }

    /// Resets the high-water mark; false where the kernel does not allow it.
    static func reset() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        do { try handle.write(contentsOf: Data("5".utf8)) } catch { return false }
        return true
    }

    /// The peak since `reset()` (VmHWM) when the reset worked, else the process-wide peak; with a note saying which.
    static func megabytes(sinceReset: Bool) -> (megabytes: Double, note: String) {
        if sinceReset, let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
           let kb = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) }) {
            return (kb * 1024 / 1e6, "VmHWM of this backend's section (reset before it) through training at the largest batch")
        }
        return (processMegabytes, "process-wide ru_maxrss through this backend's training (includes earlier sections)")
    }
}

