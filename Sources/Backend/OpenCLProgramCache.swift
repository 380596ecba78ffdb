import Foundation

/// Built OpenCL programs kept on disk between runs, as tinygrad does: the driver's binary
/// (CL_PROGRAM_BINARIES) of each (device, driver, platform, build options, source), loaded with
/// clCreateProgramWithBinary instead of compiling the source again.
///
/// Where: `GPU_TRAIN_KERNEL_CACHE` (a folder, or `off`), else `$XDG_CACHE_HOME/gpu-train/kernels`,
/// else `~/.cache/gpu-train/kernels`. An entry is one file named by a hash of its key:
///
///     "gpu-train program cache 1\n"   magic
///     UInt64 LE  key length
///     UInt64 LE  binary length
///     UInt64 LE  FNV-1a 64 checksum of key and binary
///     key        the device, vendor, driver version, platform, device version, build options
///                and the whole source, as text (so a hash collision reads as a foreign entry)
///     binary
///
/// Entries are written to a temporary file and renamed into place. An entry that is truncated,
/// corrupt, for another key, or refused by the driver is rebuilt from source and written again;
/// a folder that cannot be written leaves the run to build as if there were no cache. Either
/// says so on stderr once per process.
final class OpenCLProgramCache {
    /// The environment variable: a folder for the cache, or `off`.
    static let variable = "GPU_TRAIN_KERNEL_CACHE"
    static let magic = Array("gpu-train program cache 1\n".utf8)
    static let headerBytes = magic.count + 24

    let folder: URL
    /// Every note this cache made (only the first of each kind goes to stderr).
    private(set) var notes: [String] = []
    private let printNote: (String) -> Void

    /// The cache `environment` asks for, or nil when it is off or there is no home folder.
    static func fromEnvironment(_ environment: [String: String], printNote: @escaping (String) -> Void = OpenCLProgramCache.printOnce)
        -> OpenCLProgramCache? {
        if let value = environment[variable], !value.isEmpty {
            if value.lowercased() == "off" { return nil }
            return OpenCLProgramCache(folder: URL(fileURLWithPath: value), printNote: printNote)
        }
        let base: URL
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
            base = URL(fileURLWithPath: xdg)
        } else if let home = environment["HOME"], home.hasPrefix("/") {
            base = URL(fileURLWithPath: home).appendingPathComponent(".cache")
        } else {
            return nil
        }
        return OpenCLProgramCache(folder: base.appendingPathComponent("gpu-train").appendingPathComponent("kernels"),
                                  printNote: printNote)
    }

    init(folder: URL, printNote: @escaping (String) -> Void = OpenCLProgramCache.printOnce) {
        self.folder = folder
        self.printNote = printNote
    }

    /// The key text of a program: everything its binary depends on.
    static func key(device: OpenCLDeviceInfo, options: String, source: String) -> String {
        "device: \(device.name)\nvendor: \(device.vendor)\ndriver: \(device.driverVersion)\n" +
            "platform: \(device.platformName) \(device.platformVersion)\nversion: \(device.openCLVersion)\n" +
            "options: \(options)\nsource:\n\(source)"
    }

    /// The file of `key`.
    func file(for key: String) -> URL {
        folder.appendingPathComponent(String(format: "%016llx.clbin", Self.fnv1a(Array(key.utf8))))
    }

    /// The cached binary for `key`, or nil when there is none or the entry is unusable (which
    /// is noted, and rebuilt by the caller).
    func load(key: String) -> [UInt8]? {
        let url = file(for: key)
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        let bytes = [UInt8](data)
        switch Self.decode(bytes, key: Array(key.utf8)) {
        case .success(let binary):
            return binary
        case .failure(let problem):
            note("corrupt", "kernel cache: \(url.path): \(problem.reason); rebuilding it")
            return nil
        }
    }

    /// Writes `binary` for `key`; a failure is noted, never thrown.
    func store(key: String, binary: [UInt8]) {
        let url = file(for: key)
        do {
            try AtomicFile.write(Self.encode(key: Array(key.utf8), binary: binary), to: url)
        } catch {
            note("unwritable", "kernel cache: cannot write \(url.path) (\(error)); building kernels without the cache")
        }
    }

    /// Notes a binary the driver would not load (the entry is rebuilt and written again).
    func noteRefused(key: String, _ reason: String) {
        note("corrupt", "kernel cache: \(file(for: key).path): \(reason); rebuilding it")
    }

    private func note(_ kind: String, _ message: String) {
        notes.append(message)
        printNote(kind + "\u{0}" + message)
    }

    private static let printed = PrintedKinds()

    /// Prints `kind\0message`'s message on stderr unless a note of that kind was printed before.
    static func printOnce(_ tagged: String) {
        let parts = tagged.split(separator: "\u{0}", maxSplits: 1).map(String.init)
        guard parts.count == 2, printed.insert(parts[0]) else { return }
        FileHandle.standardError.write(Data((parts[1] + "\n").utf8))
    }

    // MARK: The file format

    struct Problem: Error { let reason: String }

    static func encode(key: [UInt8], binary: [UInt8]) -> [UInt8] {
        var out = magic
        out.reserveCapacity(headerBytes + key.count + binary.count)
        for value in [UInt64(key.count), UInt64(binary.count), fnv1a(key, binary)] {
            withUnsafeBytes(of: value.littleEndian) { out += $0 }
        }
        return out + key + binary
    }

    static func decode(_ bytes: [UInt8], key: [UInt8]) -> Result<[UInt8], Problem> {
        guard bytes.count >= headerBytes else {
            return .failure(Problem(reason: "truncated (\(bytes.count) bytes, shorter than the header)"))
        }
        guard Array(bytes[0..<magic.count]) == magic else { return .failure(Problem(reason: "not a gpu-train cache entry")) }
        func word(_ i: Int) -> UInt64 {
            var value: UInt64 = 0
            for b in 0..<8 { value |= UInt64(bytes[magic.count + 8 * i + b]) << (8 * UInt64(b)) }
            return value
        }
        let keyLength = word(0), binaryLength = word(1), checksum = word(2)
        let expected = UInt64(headerBytes) &+ keyLength &+ binaryLength
        guard keyLength < 1 << 40, binaryLength < 1 << 40, UInt64(bytes.count) == expected else {
            return .failure(Problem(reason: "truncated or padded (\(bytes.count) bytes, the header says \(expected))"))
        }
        let keyEnd = headerBytes + Int(keyLength)
        let storedKey = Array(bytes[headerBytes..<keyEnd]), binary = Array(bytes[keyEnd...])
        guard fnv1a(storedKey, binary) == checksum else { return .failure(Problem(reason: "checksum mismatch")) }
        guard storedKey == key else { return .failure(Problem(reason: "an entry for another program (hash collision)")) }
        guard !binary.isEmpty else { return .failure(Problem(reason: "an empty binary")) }
        return .success(binary)
    }

    /// FNV-1a 64 over the parts in order.
    static func fnv1a(_ parts: [UInt8]...) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for part in parts {
            part.withUnsafeBufferPointer { buffer in
                for byte in buffer { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            }
        }
        return hash
    }
}

/// The kinds of cache note already printed in this process.
private final class PrintedKinds: @unchecked Sendable {
    private let lock = NSLock()
    private var kinds: Set<String> = []
    /// Whether `kind` is new (and records it).
    func insert(_ kind: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return kinds.insert(kind).inserted
    }
}
