import ArgumentParser
import Backend
import Bench
import FlowData
import Foundation
import Siamese

/// `gpu-train tune-gemm`: a tuning sweep of the GPU GEMM kernel's tile variants.
struct TuneGemm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune-gemm",
        abstract: "Time gemm_tiled's tile variants on an OpenCL device: a square GEMM and the default network's GEMMs and convolutions.",
        discussion: """
            Each variant runs alone (every product uses that one tile; K is split as the table entry says) and is \
            timed by profiling events: the median of --repeats runs after one warm-up. Prints the fastest variant per \
            shape and the fastest overall; --json keeps every measurement. The --json file is also a tuning overlay: \
            give it to any computing command as --tuning-file FILE (or GPU_TRAIN_TUNING_FILE=FILE) and the fastest \
            overall variant leads the tiles on this device, ahead of the built-in table; a device entry in \
            OpenCLTuningTable is the permanent form. On a CPU device (PoCL) this only shows that the sweep works.
            """)

    @OptionGroup var deviceOptions: DeviceOptions
    var device: String? { deviceOptions.device }

    @Option(help: "Side of the square GEMM (size x size x size); 0 leaves it out.")
    var size = 4096

    @Option(help: "Training batch in pairs whose network shapes are timed (the encoder sees twice as many images); 0 leaves them out.")
    var batch = 128

    @Option(help: "Most variants to time (the table's own first).")
    var maxVariants = 60

    @Option(help: "Comma-separated variants to time instead of the candidates, as printed (128x128x8/8x8, 64x64x16/4x4p0).")
    var variants: String?

    @Option(help: "Timed runs per variant and shape, after one warm-up.")
    var repeats = 3

    @Option(help: "Table entry the sweep starts from (its tiles first, its split-K rule); default: the device's, or GPU on a CPU device.")
    var tuning: String?

    @Option(help: "Write every measurement as JSON to this file.")
    var json: String?

    func validate() throws {
        guard size >= 0, batch >= 0, maxVariants >= 1, repeats >= 1 else {
            throw ValidationError("--size and --batch must be at least 0, --max-variants and --repeats at least 1")
        }
        guard size > 0 || batch > 0 else { throw ValidationError("nothing to time: --size and --batch are both 0") }
    }

    func run() throws {
        let table = OpenCLTuningTable.standard
        let info = try OpenCLDevices.select(device)
        let base: OpenCLTuning
        if let tuning {
            guard let entry = table.entry(named: tuning) else {
                throw ValidationError("--tuning \(tuning) names no entry; entries: \(table.entries.map(\.entry).joined(separator: ", "))")
            }
            base = entry
        } else {
            let chosen = table.select(for: info)
            base = chosen.gemm == .tiled ? chosen : OpenCLTuning.gpu
        }
        let shapes = Self.shapes(size: size, batch: batch, config: .default)
        var variants = OpenCLGemmSweep.candidates(first: base.tiles, limit: maxVariants)
        if let list = self.variants {
            variants = []
            for text in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !text.isEmpty {
                guard let tile = OpenCLTuning.Tile(parsing: text) else {
                    throw ValidationError("--variants: '\(text)' is not a tile such as 128x128x8/8x8")
                }
                if let problem = tile.problem { throw ValidationError("--variants: \(text): \(problem)") }
                variants.append(tile)
            }
            variants = Array(variants.prefix(maxVariants))
        }
        Console.note("tune-gemm: \(info.name), \(variants.count) variants x \(shapes.count) shapes, from \(base)")
        let started = Date()
        let results = try OpenCLGemmSweep.run(device: String(info.index), base: base, variants: variants, shapes: shapes,
                                              repeats: repeats, progress: { message in
            Console.note(String(format: "[%5.0f s] ", Date().timeIntervalSince(started)) + message)
        }, afterVariant: { soFar in
            if let json { try Self.write(soFar, shapes: shapes, info: info, base: base, repeats: repeats, to: json) }
        })
        let best = OpenCLGemmSweep.best(results)
        print("device: \(info.name) (\(info.vendor), \(info.openCLVersion)); base \(base.entry); \(repeats) runs per figure")
        // The entry's own first tile (what runs today) beside the best.
        let current = (base.tiles.first ?? variants.first).map { "\($0)" } ?? "-"
        print("shape".padding(toLength: 44, withPad: " ", startingAt: 0) + " | best variant        | GFLOP/s | \(current) GFLOP/s")
        for row in best.perShape {
            let reference = results.first { $0.shape == row.shape && $0.variant == current }?.gflops
            print(row.shape.padding(toLength: 44, withPad: " ", startingAt: 0) + " | " +
                  row.variant.padding(toLength: 19, withPad: " ", startingAt: 0) + " | " +
                  String(format: "%7.1f | %7.1f", row.gflops, reference ?? 0))
        }
        let failures = results.filter { $0.error != nil }
        print("fastest over all shapes: \(best.overall ?? "none ran every shape"); \(failures.count) failed measurements")
        for f in failures.prefix(5) { print("  failed: \(f.variant) \(f.shape): \(f.error ?? "")") }
        if let json {
            try Self.write(results, shapes: shapes, info: info, base: base, repeats: repeats, to: json)
            Console.note("wrote \(json)")
        }
    }

    /// Every measurement so far, the shapes, and the fastest variants, as JSON (atomically).
    static func write(_ results: [OpenCLGemmSweep.Measurement], shapes: [OpenCLGemmSweep.Shape], info: OpenCLDeviceInfo,
                      base: OpenCLTuning, repeats: Int, to path: String) throws {
        struct Document: Encodable {
            let device: String, vendor: String, openCL: String, base: String, repeats: Int, date: String
            let shapes: [OpenCLGemmSweep.Shape]
            let measurements: [OpenCLGemmSweep.Measurement]
            let bestPerShape: [[String: String]]
            let bestOverall: String?
        }
        let best = OpenCLGemmSweep.best(results)
        let doc = Document(device: info.name, vendor: info.vendor, openCL: info.openCLVersion, base: base.entry,
                           repeats: repeats, date: ISO8601DateFormatter().string(from: Date()), shapes: shapes,
                           measurements: results,
                           bestPerShape: best.perShape.map { ["shape": $0.shape, "variant": $0.variant,
                                                              "gflops": String(format: "%.1f", $0.gflops)] },
                           bestOverall: best.overall)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(doc), to: URL(fileURLWithPath: path))
    }

    /// The square GEMM, then the network's products at `batch` pairs (2 x batch images): each
    /// convolution layer's three, and the embedding layer's forward and two backward GEMMs.
    static func shapes(size: Int, batch: Int, config: ModelConfig) -> [OpenCLGemmSweep.Shape] {
        var shapes: [OpenCLGemmSweep.Shape] = []
        if size > 0 { shapes.append(.gemm("gemm \(size)^3", m: size, n: size, k: size)) }
        guard batch > 0 else { return shapes }
        let images = 2 * batch
        var inChannels = 1
        for (i, (side, (channels, kernel))) in zip(config.layerSides, zip(config.channels, config.kernels)).enumerated() {
            shapes += OpenCLGemmSweep.Shape.convolution("conv\(i + 1) \(images)x\(inChannels)x\(side)x\(side) k\(kernel)->\(channels)",
                                   batch: images, inChannels: inChannels, outChannels: channels,
                                   height: side, width: side, kernel: kernel)
            inChannels = channels
        }
        let flat = config.flattened, embedding = config.embedding
        shapes.append(.gemm("dense forward \(images)x\(flat)->\(embedding)", m: images, n: embedding, k: flat))
        shapes.append(.gemm("dense weight grad \(flat)x\(embedding) over \(images)", m: flat, n: embedding, k: images,
                            transposeA: true))
        shapes.append(.gemm("dense input grad \(images)x\(flat)", m: images, n: flat, k: embedding, transposeB: true))
        return shapes
    }
}
