import Foundation

/// Output paths checked and their folders made the same way for every command: a path the
/// system cannot use (longer than PATH_MAX, or a name longer than NAME_MAX) is refused before
/// any folder exists; missing folders are made one by one with mkdir, so a failure names the
/// folder and the system's reason (never a raw Foundation error code); and the folders a call
/// made can be removed again, when still empty, after a failure.
public enum OutputFolders {
    /// Throws when `url` could never be opened: its path is PATH_MAX bytes or more, or one of
    /// its names is longer than NAME_MAX bytes.
    public static func checkLength(_ url: URL) throws {
        let path = url.path
        let bytes = path.utf8.count
        if bytes >= Int(PATH_MAX) {
            throw FileError(path: String(path.prefix(80)) + "...",
                            message: "the path is \(bytes) bytes long; Linux allows at most \(Int(PATH_MAX) - 1) (PATH_MAX), "
                                + "so nothing was created; choose a shorter path")
        }
        if let name = path.split(separator: "/").first(where: { $0.utf8.count > Int(NAME_MAX) }) {
            throw FileError(path: path, message: "the name \(String(name.prefix(40)))... is \(name.utf8.count) bytes long; "
                            + "Linux allows at most \(Int(NAME_MAX)) (NAME_MAX), so nothing was created")
        }
    }

    /// Creates the folder that will hold `file` and any missing parents, after `checkLength`.
    /// Returns the folders this call created, deepest first (empty when the folder was there).
    /// On failure nothing it made is left behind.
    public static func create(for file: URL) throws -> [URL] {
        let file = file.standardizedFileURL
        try checkLength(file)
        var missing: [URL] = []
        var folder = file.deletingLastPathComponent()
        var info = stat()
        while stat(folder.path, &info) != 0 {
            // ENOTDIR: a file on the way; walking up finds it and says so below.
            guard errno == ENOENT || errno == ENOTDIR else {
                throw FileError(path: folder.path, message: "cannot reach the output folder: \(String(cString: strerror(errno)))")
            }
            missing.append(folder)
            let parent = folder.deletingLastPathComponent()
            if parent.path == folder.path { break }
            folder = parent
        }
        if stat(folder.path, &info) == 0, (info.st_mode & S_IFMT) != S_IFDIR {
            throw FileError(path: folder.path, message: "is a file, so it cannot hold the output \(file.lastPathComponent)")
        }
        var made: [URL] = []
        for folder in missing.reversed() {
            if mkdir(folder.path, 0o777) != 0 && errno != EEXIST {
                let reason = String(cString: strerror(errno))
                removeEmpty(made.reversed())
                throw FileError(path: folder.path, message: "cannot create the output folder: \(reason)")
            }
            made.append(folder)
        }
        return made.reversed()
    }

    /// Removes each of `folders` (deepest first) that is empty; stops at the first that is not
    /// (one already gone is passed over).
    public static func removeEmpty(_ folders: [URL]) {
        for folder in folders where rmdir(folder.path) != 0 && errno != ENOENT { return }
    }

    /// Runs `body` with the folder for `file` in place; when `body` throws, the folders made
    /// here are removed again if nothing was written into them.
    public static func creating<T>(for file: URL, _ body: () throws -> T) throws -> T {
        let created = try create(for: file)
        do {
            return try body()
        } catch {
            removeEmpty(created)
            throw error
        }
    }
}
