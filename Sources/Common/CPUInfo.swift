import Foundation

/// What /proc/cpuinfo says about the first processor (Linux); empty elsewhere. Read in one
/// place so the BLAS kernel choice and the benchmark's machine line agree.
public enum CPUInfo {
    /// The value of the first line whose key is `key` ("model name", "flags"), trimmed.
    public static func field(_ key: String, in text: String? = nil) -> String? {
        guard let text = text ?? (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) else { return nil }
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":"),
                  line[..<colon].trimmingCharacters(in: .whitespaces) == key else { continue }
            return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    /// The CPU's model name, for example "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz".
    public static var modelName: String? { field("model name") }

    /// The instruction-set flags ("avx2", "avx512f", ...).
    public static var flags: Set<String> {
        Set((field("flags") ?? "").split(separator: " ").map(String.init))
    }
}
