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

    /// `git rev-parse --short HEAD` of the working directory, "+dirty" when the tree has changes; "unknown" without git.
    public static func commit() -> String {
        guard let head = git(["rev-parse", "--short", "HEAD"]), !head.isEmpty else { return "unknown" }
        let dirty = git(["status", "--porcelain", "--untracked-files=no"]).map { !$0.isEmpty } ?? false
        return head + (dirty ? "+dirty" : "")
    }

    private static func git(_ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
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

