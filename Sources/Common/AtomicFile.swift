import Foundation

/// Writes files so a reader never sees a half-written one and nothing but the output is touched:
/// the bytes go to an exclusively created, unpredictably named temporary file beside the target,
/// which is then renamed over it. The folder is created when missing (and removed again, when
/// still empty, if the write fails), so every command treats a missing output folder the same way. See `AtomicOutput` for symbolic links, devices and FIFOs.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to url: URL) throws {
        try write(Data(bytes), to: url)
    }

    public static func write(_ data: Data, to url: URL) throws {
        // Folders made here are removed again when the write fails (a full disk leaves nothing).
        try OutputFolders.creating(for: url) {
            let output = try AtomicOutput(url)
            do {
                try output.write(data)
                try output.commit()
            } catch {
                output.abandon()
                throw error
            }
        }
    }

    public static func write(_ text: String, to url: URL) throws {
        try write(Data(text.utf8), to: url)
    }

    /// The prefix of temporary names: `.gt-` and six random letters or digits, short enough that
    /// any valid output name's folder can hold one.
    public static let temporaryPrefix = ".gt-"
}

/// One output file being written, the way `sort -o` and a shell's `>` would treat its name:
/// - a regular file, or a name that does not exist yet: a temporary file is created beside it
///   (O_CREAT | O_EXCL | O_NOFOLLOW, a random name, the old file's permissions) and renamed over
///   it by `commit`, so the old file stays intact until the new one is complete;
/// - a symbolic link (to a file, or to a name that does not exist yet): the same, beside the file
///   the link leads to, so the link stays a link;
/// - anything else that exists (a device such as /dev/null, a FIFO, a socket, /dev/stdout): it is
///   opened and written in place, never replaced; so is a file reached through /proc
///   (/dev/stdout or /dev/fd/N redirected to a file).
/// `abandon` (or a failed `commit`) removes the temporary file.
public final class AtomicOutput {
    /// The name as given.
    public let url: URL
    /// Where the bytes end up: `url`, or the file its symbolic links lead to.
    public let destination: URL
    /// The temporary file, or nil when the output is written in place.
    public private(set) var temporary: URL?
    /// Open for writing until `commit` or `abandon`.
    public private(set) var fileDescriptor: Int32
    private var finished = false

    /// `willCreateTemporary` hears each temporary file's path just before it is created (a
    /// signal handler that removes it must know it first).
    public init(_ url: URL, willCreateTemporary: (String) -> Void = { _ in }) throws {
        self.url = url
        try OutputFolders.checkLength(url)
        let path = url.path
        var info = stat()
        let exists = stat(path, &info) == 0
        if exists && (info.st_mode & S_IFMT) == S_IFDIR {
            throw FileError(path: path, message: "is a folder; the output must be a file")
        }
        let resolved = try Self.resolveLinks(url)
        if (exists && (info.st_mode & S_IFMT) != S_IFREG) || resolved.throughProc {
            // A device, FIFO or socket, or a file reached through /proc (/dev/stdout redirected
            // to a file): written in place, never renamed over.
            let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
            guard fd >= 0 else { throw FileError(path: path, message: "cannot open the output: \(String(cString: strerror(errno)))") }
            destination = url
            temporary = nil
            fileDescriptor = fd
            return
        }
        destination = resolved.url
        let (temporary, fd) = try Self.createTemporary(beside: destination, willCreate: willCreateTemporary)
        if exists { _ = fchmod(fd, info.st_mode & 0o7777) }
        self.temporary = temporary
        fileDescriptor = fd
    }

    deinit { if !finished { abandon() } }

    /// Appends all of `data`.
    public func write(_ data: Data) throws {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            guard var p = raw.baseAddress else { return }
            var left = raw.count
            while left > 0 {
                let n = Glibc.write(fileDescriptor, p, left)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FileError(path: (temporary ?? url).path, message: "cannot write: \(String(cString: strerror(errno)))")
                }
                p += n
                left -= n
            }
        }
    }

    /// Flushes the file and renames the temporary file over the destination (or, in place, closes it).
    public func commit() throws {
        guard !finished else { return }
        finished = true
        defer { fileDescriptor = -1 }
        guard let temporary else {
            _ = close(fileDescriptor)
            return
        }
        if fsync(fileDescriptor) != 0 && errno != EINVAL {
            let message = String(cString: strerror(errno))
            _ = close(fileDescriptor)
            unlink(temporary.path)
            throw FileError(path: temporary.path, message: "cannot write: \(message)")
        }
        _ = close(fileDescriptor)
        if rename(temporary.path, destination.path) != 0 {
            let message = String(cString: strerror(errno))
            unlink(temporary.path)
            throw FileError(path: destination.path, message: "cannot rename the temporary file into place: \(message)")
        }
    }

    /// Closes the file and removes the temporary file, if any (safe to call more than once).
    public func abandon() {
        guard !finished else { return }
        finished = true
        if fileDescriptor >= 0 { _ = close(fileDescriptor) }
        fileDescriptor = -1
        if let temporary { unlink(temporary.path) }
    }

    // MARK: Helpers

    /// `url` with its symbolic links followed, the last one included, to a name that is not a
    /// link (which may not exist yet: a dangling link is written through, as a shell would), and
    /// whether the way passed through /proc (/dev/stdout, /dev/fd/N: a descriptor's file, written
    /// in place).
    static func resolveLinks(_ url: URL) throws -> (url: URL, throughProc: Bool) {
        var current = url
        var throughProc = false
        for _ in 0..<40 {
            if current.standardizedFileURL.path.hasPrefix("/proc/") { throughProc = true }
            var info = stat()
            guard lstat(current.path, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK else { return (current, throughProc) }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(current.path, &buffer, buffer.count - 1)
            guard n >= 0 else {
                throw FileError(path: url.path, message: "cannot read the symbolic link \(current.path): \(String(cString: strerror(errno)))")
            }
            let target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current = target.hasPrefix("/") ? URL(fileURLWithPath: target)
                : current.deletingLastPathComponent().appendingPathComponent(target)
        }
        throw FileError(path: url.path, message: "too many levels of symbolic links")
    }

    /// A new file beside `destination`, created exclusively under a random name.
    static func createTemporary(beside destination: URL, willCreate: (String) -> Void) throws -> (URL, Int32) {
        let folder = destination.deletingLastPathComponent()
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<100 {
            let name = AtomicFile.temporaryPrefix + String((0..<6).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
            let candidate = folder.appendingPathComponent(name)
            willCreate(candidate.path)
            let fd = open(candidate.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o666)
            if fd >= 0 { return (candidate, fd) }
            if errno == EEXIST { continue }
            throw FileError(path: destination.path,
                            message: "cannot create a temporary file in \(folder.path): \(String(cString: strerror(errno)))")
        }
        throw FileError(path: destination.path, message: "cannot create a temporary file in \(folder.path): every name tried exists")
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

extension FileError {
    /// `error` in words a user can act on: Foundation's file errors (on Linux printed as
    /// "The operation could not be completed. (NSCocoaErrorDomain error 512.)") become a
    /// `FileError` naming the path and the system's reason; anything else is returned as it is.
    public static func readable(_ error: Error) -> Error {
        guard !(error is FileError) else { return error }
        let ns = error as NSError
        guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return error }
        let path = (ns.userInfo[NSFilePathErrorKey] as? String) ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
            ?? "a file"
        var code: Int32?
        if ns.domain == NSPOSIXErrorDomain { code = Int32(ns.code) }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            code = Int32(underlying.code)
        }
        let reason: String
        if let code {
            reason = String(cString: strerror(code))
        } else {
            switch ns.code {
            case NSFileNoSuchFileError, NSFileReadNoSuchFileError: reason = "no such file or folder"
            case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: reason = "permission denied"
            case NSFileWriteOutOfSpaceError: reason = "No space left on device"
            case NSFileWriteVolumeReadOnlyError: reason = "read-only file system"
            case NSFileWriteFileExistsError: reason = "it exists already"
            case NSFileReadCorruptFileError: reason = "not readable as expected"
            default: reason = "the system gave no reason (Foundation error \(ns.code))"
            }
        }
        let doing = (NSFileReadUnknownError...NSFileReadUnsupportedSchemeError).contains(ns.code) ? "cannot read" : "cannot write"
        return FileError(path: path, message: "\(doing): \(reason)")
    }
}
