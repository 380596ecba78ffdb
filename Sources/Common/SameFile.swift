import Foundation

/// The one guard every command runs before it writes anything: no output is one of its own inputs.
/// Files are compared by device and inode, so a symbolic link, a hard link or another spelling of
/// the path is the same file; an input folder covers every file under it (searched recursively,
/// following symbolic links as the flow loader does). An output that does not exist yet is no
/// input; "-" (standard input or output) is never compared.
public enum SameFile {
    /// Throws `OutputIsInputError` for the first output that is an input, naming both.
    /// `outputs` and `inputs` are (option, path) pairs, for example ("--out", "m.safetensors").
    /// `readsInFolder` says which file names under an input folder are read (the flow loader's
    /// *.csv): only those are inputs; default every file.
    public static func refuseOverwritingInputs(outputs: [(String, String)], inputs: [(String, String)],
                                               readsInFolder: (String) -> Bool = { _ in true }) throws {
        var existing: [(option: String, path: String, id: FileID)] = []
        for (option, path) in outputs where path != "-" {
            if let id = FileID(path) { existing.append((option, path, id)) }
        }
        guard !existing.isEmpty else { return }
        for (inputOption, input) in inputs where input != "-" {
            var info = stat()
            guard stat(input, &info) == 0 else { continue }  // the reader says that it is missing
            if (info.st_mode & S_IFMT) == S_IFDIR {
                var visited = Set<FileID>()
                if let (output, file) = find(existing, under: URL(fileURLWithPath: input), reads: readsInFolder, visited: &visited) {
                    throw OutputIsInputError(outputOption: output.option, output: output.path, inputOption: inputOption,
                                             input: input, file: file)
                }
            } else if let output = existing.first(where: { $0.id == FileID(info) }) {
                throw OutputIsInputError(outputOption: output.option, output: output.path, inputOption: inputOption,
                                         input: input, file: nil)
            }
        }
    }

    /// Whether `folder` is the folder `input` or lies under it (each of its ancestors compared by
    /// device and inode, links resolved); false when either does not exist or `input` is a file.
    public static func folder(_ folder: String, isWithin input: String) -> Bool {
        guard let target = FileID(input) else { return false }
        var path = URL(fileURLWithPath: folder).resolvingSymlinksInPath().path
        while true {
            if FileID(path) == target { return true }
            let parent = (path as NSString).deletingLastPathComponent
            if parent == path || parent.isEmpty { return false }
            path = parent
        }
    }

    /// The first of `outputs` that is a file under `folder`, and that file's path.
    private static func find(_ outputs: [(option: String, path: String, id: FileID)], under folder: URL, reads: (String) -> Bool,
                             visited: inout Set<FileID>) -> ((option: String, path: String, id: FileID), String)? {
        guard let id = FileID(folder.path), visited.insert(id).inserted else { return nil }  // a link loop ends here
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return nil }
        for name in names.sorted() {
            let item = folder.appendingPathComponent(name)
            var info = stat()
            guard stat(item.path, &info) == 0 else { continue }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                if let found = find(outputs, under: item, reads: reads, visited: &visited) { return found }
            } else if reads(name), let output = outputs.first(where: { $0.id == FileID(info) }) {
                return (output, item.path)
            }
        }
        return nil
    }

    /// A file's identity: its device and inode.
    struct FileID: Hashable {
        let device: UInt64
        let inode: UInt64

        init(_ info: stat) {
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
        }

        /// The identity of the file `path` names (links followed), or nil when there is none.
        init?(_ path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            self.init(info)
        }
    }
}

/// An output that is one of the command's inputs: refused before anything is written.
public struct OutputIsInputError: Error, CustomStringConvertible, LocalizedError {
    public var outputOption: String
    public var output: String
    public var inputOption: String
    public var input: String
    /// The file under the input folder `input` that the output is, or nil when `input` is that file.
    public var file: String?

    public var description: String {
        let which = file.map { "\($0), one of the files of \(inputOption) \(input)" }
            ?? "\(input) (\(outputOption) and \(inputOption) name the same file)"
        return "\(output): the output is the input file \(which); refusing to overwrite an input"
    }
    public var errorDescription: String? { description }
}
