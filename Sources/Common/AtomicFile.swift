import Foundation

/// Writes files so a reader never sees a half-written one: the bytes go to a temporary file
/// beside the target, which is then renamed over it. The folder is created when missing, so
/// every command treats a missing output folder the same way.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to url: URL) throws {
        try write(Data(bytes), to: url)
    }

    public static func write(_ data: Data, to url: URL) throws {
        let directory = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw FileError(path: directory.path, message: "cannot create the folder: \(error.localizedDescription)")
        }
        let temporary = temporaryURL(for: url)
        do {
            try data.write(to: temporary)
        } catch {
            throw FileError(path: temporary.path, message: "cannot write: \(error.localizedDescription)")
        }
        try moveIntoPlace(temporary, url)
    }

    /// The temporary file beside `url` that a writer fills before `moveIntoPlace` (a hidden name
    /// with the process id, so two runs never share one). Writers that stream (detect) use these
    /// two directly.
    public static func temporaryURL(for url: URL) -> URL {
        url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
    }

    /// Renames a complete temporary file over `url`; on failure removes it and says why.
    public static func moveIntoPlace(_ temporary: URL, _ url: URL) throws {
        if rename(temporary.path, url.path) != 0 {
            let message = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw FileError(path: url.path, message: "cannot rename the temporary file into place: \(message)")
        }
    }

    public static func write(_ text: String, to url: URL) throws {
        try write(Data(text.utf8), to: url)
    }
}

/// A file that could not be written or read: its path and what went wrong.
public struct FileError: Error, CustomStringConvertible, LocalizedError, Equatable {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
    public var errorDescription: String? { description }
}
