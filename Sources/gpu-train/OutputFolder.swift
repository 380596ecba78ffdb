import Common
import Foundation

/// One rule for output folders, for every command: a missing folder is created (with its
/// parents), as `train` always did, and a command that fails removes the folders it created
/// when they are still empty, so a typo in --out leaves nothing behind. A path too long for the
/// system is refused before any folder exists. Files are written through `AtomicFile`, which
/// makes (and on failure removes) the same folders; see `OutputFolders` in Common.
enum OutputFolder {
    /// Creates the folder that will hold `file` and any missing parents. Returns the folders
    /// this call created, deepest first (empty when the folder was already there).
    static func create(for file: URL) throws -> [URL] { try OutputFolders.create(for: file) }

    /// Removes each of `folders` (deepest first) that is empty; stops at the first that is not.
    static func removeEmpty(_ folders: [URL]) { OutputFolders.removeEmpty(folders) }

    /// Runs `body` with the folder for `file` in place; when `body` throws, the folders made
    /// here are removed again if nothing was written into them.
    static func creating<T>(for file: URL, _ body: () throws -> T) throws -> T {
        try OutputFolders.creating(for: file, body)
    }
}
