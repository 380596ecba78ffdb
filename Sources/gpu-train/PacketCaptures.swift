import Common
import FlowData
import FlowMeter
import Foundation

/// Packet captures where flows are expected: a pcap or pcapng file given to --data, --baseline or
/// detect --pcap is metered by gpu-train's own flow meter (FlowMeter) into flows of the current
/// CICFlowMeter dialect, and everything downstream reads those flows unchanged.
enum PacketCaptures {
    /// Whether the file at `path` starts like a pcap (either byte order, micro- or nanosecond) or
    /// a pcapng file. Folders, missing files and short files are not captures.
    static func isCapture(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return false }
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 4), head.count == 4 else { return false }
        let magic = head.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
        return [0xA1B2_C3D4, 0xD4C3_B2A1, 0xA1B2_3C4D, 0x4D3C_B2A1, 0x0A0D_0D0A].contains(magic)
    }

    /// The flow files to load for `paths`: each capture among them is metered into a CSV file of
    /// its own name (plus `.csv`) in a private temporary folder, in place of the capture; other
    /// paths are kept. `body` gets the list; the temporary folder is removed when it returns.
    static func withFlowFiles<T>(_ paths: [String], options: MeterOptions = MeterOptions(),
                                 _ body: ([String]) throws -> T) throws -> T {
        let captures = paths.filter(isCapture)
        guard !captures.isEmpty else { return try body(paths) }
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var used = Set<String>()
        var mapped: [String] = []
        for path in paths {
            guard isCapture(path) else { mapped.append(path); continue }
            // The file name becomes the period's and scenario's name: keep the capture's.
            var name = URL(fileURLWithPath: path).lastPathComponent + ".csv"
            var n = 2
            while used.contains(name) { name = "\(n)-" + URL(fileURLWithPath: path).lastPathComponent + ".csv"; n += 1 }
            used.insert(name)
            let out = folder.appendingPathComponent(name)
            let summary = try meter(.files([path]), options: options, to: out)
            Console.note("metered \(path): \(summary.packets) packets -> \(summary.flows) flows (gpu-train's flow meter, CICFlowMeter dialect)")
            mapped.append(out.path)
        }
        return try body(mapped)
    }

    /// Meters `input` into the CSV file `url` (written whole; no other file is touched).
    static func meter(_ input: PacketInput, options: MeterOptions, to url: URL) throws -> MeterSummary {
        guard let stream = OutputStream(url: url, append: false) else {
            throw MeteringFailure("cannot write the metered flows to \(url.path)")
        }
        stream.open()
        defer { stream.close() }
        var buffer = [UInt8]()
        buffer.reserveCapacity(1 << 16)
        func flush() throws {
            guard !buffer.isEmpty else { return }
            let written = buffer.withUnsafeBufferPointer { stream.write($0.baseAddress!, maxLength: $0.count) }
            guard written == buffer.count else {
                throw MeteringFailure("cannot write the metered flows to \(url.path): \(stream.streamError.map { "\($0)" } ?? "short write")")
            }
            buffer.removeAll(keepingCapacity: true)
        }
        let summary = try meterFlows(input, options: options) { line in
            buffer.append(contentsOf: line.utf8)
            buffer.append(UInt8(ascii: "\n"))
            if buffer.count >= 1 << 16 { try flush() }
        }
        try flush()
        return summary
    }

    private static func makeTemporaryFolder() throws -> URL {
        var template = Array((NSTemporaryDirectory() + "/gpu-train-flows.XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw MeteringFailure("cannot create a temporary folder for the metered flows in \(NSTemporaryDirectory()): \(String(cString: strerror(errno)))")
        }
        return URL(fileURLWithPath: String(cString: made))
    }
}

/// A failure around the meter (a temporary file, a pipe) rather than in it; says what and where.
struct MeteringFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A flow meter running on its own thread, writing CSV lines into a pipe that a
/// `FlowStreamReader` reads: detect --pcap and --interface score flows as they close.
final class MeterPipe: @unchecked Sendable {
    /// The pipe's read end, for the reader (which closes it).
    let readDescriptor: Int32
    private let thread: Thread
    private let box: Box

    init(_ input: PacketInput, options: MeterOptions, shouldStop: @escaping @Sendable () -> Bool) throws {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw MeteringFailure("cannot create a pipe for the flow meter: \(String(cString: strerror(errno)))") }
        // A reader that stops early (an error, a strict bad row) makes the meter's writes fail
        // with EPIPE rather than kill the process.
        signal(SIGPIPE, SIG_IGN)
        readDescriptor = fds[0]
        let write = fds[1]
        let box = Box()
        thread = Thread {
            var pending = [UInt8]()
            pending.reserveCapacity(1 << 14)
            func flush() throws {
                var offset = 0
                while offset < pending.count {
                    let n = pending.withUnsafeBytes { Glibc.write(write, $0.baseAddress! + offset, $0.count - offset) }
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw MeterPipeClosed()
                    }
                    offset += n
                }
                pending.removeAll(keepingCapacity: true)
            }
            do {
                // A line at a time for live capture (flows are scored as they close), batched
                // by size otherwise; the meter says when its input went quiet by stopping.
                let summary = try meterFlows(input, options: options, shouldStop: shouldStop) { line in
                    pending.append(contentsOf: line.utf8)
                    pending.append(UInt8(ascii: "\n"))
                    try flush()
                }
                try flush()
                box.set(summary: summary, error: nil)
            } catch is MeterPipeClosed {
                box.set(summary: nil, error: nil)
            } catch {
                box.set(summary: nil, error: error)
            }
            close(write)
            box.done.signal()
        }
        self.box = box
        thread.stackSize = 1 << 22
        thread.start()
    }

    private final class Box: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private(set) var summary: MeterSummary?
        private(set) var error: Error?
        func set(summary: MeterSummary?, error: Error?) {
            lock.lock(); defer { lock.unlock() }
            self.summary = summary
            self.error = error
        }
    }

    private struct MeterPipeClosed: Error {}

    /// Waits for the meter to finish (after the reader has read to the end, or closed its end),
    /// then returns its summary or throws its error.
    func finish() throws -> MeterSummary? {
        box.done.wait()
        if let error = box.error { throw error }
        return box.summary
    }

    /// After the reader failed: the meter's own error if it has stopped with one within `seconds`
    /// (it closes the pipe when it fails, which is what the reader saw), else nil. Never waits
    /// longer: a meter still writing into the pipe ends by itself once the reader is gone.
    func failure(within seconds: Double = 2) -> Error? {
        guard box.done.wait(timeout: .now() + seconds) == .success else { return nil }
        box.done.signal()
        return box.error
    }
}
