import Common
import Foundation

/// One rule for output folders, for every command: a missing folder is created (with its
/// parents), as `train` always did, and a command that fails removes the folders it created
/// when they are still empty, so a typo in --out leaves nothing behind. Files are written
/// through `AtomicFile`, which makes the same folders; this helper adds the clean-up.
enum OutputFolder {
    /// Creates the folder that will hold `file` and any missing parents. Returns the folders
    /// this call created, deepest first (empty when the folder was already there).
    static func create(for file: URL) throws -> [URL] {
        var missing: [URL] = []
        var folder = file.deletingLastPathComponent().standardizedFileURL
        var isFolder: ObjCBool = false
        while !FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder) {
            missing.append(folder)
            let parent = folder.deletingLastPathComponent()
            if parent.path == folder.path { break }
            folder = parent
        }
        if FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder), !isFolder.boolValue {
            throw FileError(path: folder.path, message: "is a file, so it cannot hold the output \(file.lastPathComponent)")
        }
        guard let deepest = missing.first else { return [] }
        do {
            try FileManager.default.createDirectory(at: deepest, withIntermediateDirectories: true)
        } catch {
            removeEmpty(missing)
            throw FileError(path: deepest.path, message: "cannot create the output folder: \(error.localizedDescription)")
        }
        return missing
    }

    /// Removes each of `folders` (deepest first) that is empty; stops at the first that is not.
    static func removeEmpty(_ folders: [URL]) {
        for folder in folders {
            guard let contents = try? FileManager.default.contentsOfDirectory(atPath: folder.path), contents.isEmpty,
                  rmdir(folder.path) == 0 else { return }
        }
    }

    /// Runs `body` with the folder for `file` in place; when `body` throws, the folders made
    /// here are removed again if nothing was written into them.
    static func creating<T>(for file: URL, _ body: () throws -> T) throws -> T {
        let created = try create(for: file)
        do {
            return try body()
        } catch {
            removeEmpty(created)
            throw error
        }
    }
}
