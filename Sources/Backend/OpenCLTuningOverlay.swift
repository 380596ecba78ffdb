import Foundation

/// Device entries measured by `gpu-train tune-gemm --json`, laid over `OpenCLTuningTable` as
/// CLBlast's database overlays are: for a device whose name and vendor match an entry, the
/// entry wins over the built-in table.
///
/// The file is a tune-gemm document, or a JSON array of them (several devices). From each it
/// takes `device` and `vendor` (matched exactly, ignoring case and surrounding spaces), `base`
/// (the table entry the sweep ran from, which supplies everything but the tiles) and
/// `bestOverall` (the tile with the least total time over every shape), which goes first in
/// the entry's tiles, ahead of the base entry's own. Anything else in the document is ignored.
public struct OpenCLTuningOverlay: Sendable {
    public struct Entry: Sendable {
        public let device: String
        public let vendor: String
        public let tuning: OpenCLTuning
    }

    /// The file it was read from, as given.
    public let path: String
    public let entries: [Entry]

    /// The environment variable naming an overlay file for every OpenCL backend opened without
    /// one given: `GPU_TRAIN_TUNING_FILE=tune.json gpu-train train ...`.
    public static let fileVariable = "GPU_TRAIN_TUNING_FILE"

    /// Reads `path`; every problem is an error naming the file and what is wrong.
    public init(contentsOf path: String, table: OpenCLTuningTable = .standard) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw Self.error(path, "cannot read it (\((error as NSError).localizedDescription))")
        }
        try self.init(data: data, path: path, table: table)
    }

    /// Parses a document already read from `path`.
    public init(data: Data, path: String, table: OpenCLTuningTable = .standard) throws {
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            let ns = error as NSError
            let detail = (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
            throw Self.error(path, "not JSON (\(detail))")
        }
        let documents: [(Any, String)]
        if let list = root as? [Any] {
            guard !list.isEmpty else { throw Self.error(path, "an empty list: no device entries") }
            documents = list.enumerated().map { ($0.element, "entry \($0.offset)") }
        } else {
            documents = [(root, "the document")]
        }
        var entries: [Entry] = []
        for (document, place) in documents {
            let entry = try Self.entry(document, place: place, path: path, table: table)
            if entries.contains(where: { Self.same($0.device, entry.device) && Self.same($0.vendor, entry.vendor) }) {
                throw Self.error(path, "\(place): a second entry for \(entry.device) (\(entry.vendor))")
            }
            entries.append(entry)
        }
        self.path = path
        self.entries = entries
    }

    /// The entry for a device named `name` from `vendor`, or nil.
    public func tuning(device name: String, vendor: String) -> OpenCLTuning? {
        entries.first { Self.same($0.device, name) && Self.same($0.vendor, vendor) }?.tuning
    }

    /// The entry for `device`, or nil.
    public func tuning(for device: OpenCLDeviceInfo) -> OpenCLTuning? {
        tuning(device: device.name, vendor: device.vendor)
    }

    static func same(_ a: String, _ b: String) -> Bool {
        a.trimmingCharacters(in: .whitespaces).caseInsensitiveCompare(b.trimmingCharacters(in: .whitespaces)) == .orderedSame
    }

    static func error(_ path: String, _ detail: String) -> BackendError {
        .invalidArgument(op: "tuning file", detail: "\(path): \(detail)")
    }

    private static func entry(_ document: Any, place: String, path: String, table: OpenCLTuningTable) throws -> Entry {
        guard let object = document as? [String: Any] else {
            throw error(path, "\(place) is not an object (expected the JSON that `gpu-train tune-gemm --json` writes)")
        }
        func text(_ key: String) throws -> String {
            guard let value = object[key] else {
                throw error(path, "\(place) has no \"\(key)\" (expected the JSON that `gpu-train tune-gemm --json` writes)")
            }
            guard let string = value as? String, !string.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw error(path, "\(place): \"\(key)\" must be a non-empty string")
            }
            return string
        }
        let device = try text("device"), vendor = try text("vendor"), baseName = try text("base")
        guard let base = table.entry(named: baseName) else {
            throw error(path, "\(place): base \"\(baseName)\" names no tuning entry; entries: " +
                              table.entries.map(\.entry).joined(separator: ", "))
        }
        guard object["bestOverall"] is String else {
            throw error(path, "\(place): \"bestOverall\" is missing or null: no variant ran every shape, so there is nothing to use")
        }
        let bestText = try text("bestOverall")
        guard let best = OpenCLTuning.Tile(parsing: bestText) else {
            throw error(path, "\(place): bestOverall \"\(bestText)\" is not a tile such as 128x128x8/8x8")
        }
        if let problem = best.problem { throw error(path, "\(place): bestOverall \(bestText): \(problem)") }
        var tuning = base.named("\(base.entry) + \(device) from \((path as NSString).lastPathComponent)")
        tuning.gemm = .tiled
        tuning.convolution = .implicitGemm
        tuning.tiles = [best] + base.tiles.filter { $0 != best }
        if let problem = tuning.problem { throw error(path, "\(place): \(problem)") }
        return Entry(device: device, vendor: vendor, tuning: tuning)
    }
}
