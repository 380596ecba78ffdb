import Foundation

/// The kernel variants and `-D` values the OpenCL backend uses on one device, chosen once when
/// the backend opens it from `OpenCLTuningTable` (device type -> vendor -> device name, a
/// default at each level, as CLBlast's database does).
///
/// A GPU wants local-memory tiles and many work-items; PoCL's CPU device wants the opposite
/// (a work-group runs as a loop there, so barriers and local memory cost without helping).
/// Every choice that differs between the two lives here, never in branches of the backend.
public struct OpenCLTuning: Sendable, Equatable, CustomStringConvertible {
    /// How GEMM is computed: gemm_registers (kernels/gemm_registers.cl) or gemm_tiled (kernels/gemm_tiled.cl).
    public enum GemmKernel: String, Sendable, CaseIterable {
        /// gemm_registers: each work-item walks a column stripe of C in register blocks written
        /// out with macros; no local memory, no barriers (CPU devices).
        case registers
        /// gemm_tiled: local-memory tiles, ITEM_M x ITEM_N accumulators per work-item,
        /// double-buffered, split-K for thin shapes (GPUs).
        case tiled
    }

    /// How convolutions are computed.
    public enum ConvolutionKernel: String, Sendable, CaseIterable {
        /// im2col (kernels/conv.cl) into a scratch matrix, then GEMM, in chunks of images.
        case im2col
        /// gemm_tiled reading the images through a table of taps: no scratch matrix, the
        /// whole batch in one launch, bias and ReLU in the epilogue (OPERANDS 1-3).
        case implicitGemm
    }

    /// One gemm_tiled configuration: its -D values.
    public struct Tile: Sendable, Hashable, CustomStringConvertible {
        public var m: Int, n: Int, k: Int
        /// Rows and columns of C per work-item (multiples of 4).
        public var itemM: Int, itemN: Int
        /// Floats after each local-memory row.
        public var padding: Int

        public init(m: Int, n: Int, k: Int = 8, itemM: Int = 8, itemN: Int = 8, padding: Int = 4) {
            self.m = m; self.n = n; self.k = k
            self.itemM = itemM; self.itemN = itemN; self.padding = padding
        }

        /// Work-items per work-group: (n / itemN) along dimension 0, (m / itemM) along 1.
        public var workItems: Int { (m / itemM) * (n / itemN) }
        /// Local memory of one work-group: two buffers of an A and a B tile, padded rows.
        public var localMemoryBytes: Int { 2 * k * ((m + padding) + (n + padding)) * 4 }
        /// NVIDIA's limit per work-group, and the limit every entry of the table keeps.
        public static let localMemoryLimit = 48 * 1024

        /// Why kernels/gemm_tiled.cl would refuse these values (its #error checks), or nil.
        public var problem: String? {
            if [m, n, k, itemM, itemN].contains(where: { $0 <= 0 }) || padding < 0 { return "sizes must be positive" }
            if itemM % 4 != 0 || itemN % 4 != 0 || k % 4 != 0 || padding % 4 != 0 {
                return "ITEM_M, ITEM_N, TILE_K and TILE_PAD must be multiples of 4"
            }
            if m % itemM != 0 || n % itemN != 0 { return "the tile must be a whole number of work-items" }
            let loads = 4 * workItems
            if (m * k) % loads != 0 || (n * k) % loads != 0 || m * k < loads || n * k < loads {
                return "every work-item must load a whole number of float4s of both tiles"
            }
            if workItems > 1024 { return "more than 1024 work-items per group" }
            if localMemoryBytes > Self.localMemoryLimit {
                return "\(localMemoryBytes) bytes of local memory, over \(Self.localMemoryLimit)"
            }
            return nil
        }

        var defines: [(String, Int)] {
            [("TILE_M", m), ("TILE_N", n), ("TILE_K", k), ("ITEM_M", itemM), ("ITEM_N", itemN), ("TILE_PAD", padding)]
        }

        public var description: String { "\(m)x\(n)x\(k)/\(itemM)x\(itemN)" + (padding == 4 ? "" : "p\(padding)") }

        /// Parses `description`'s form: "128x128x8/8x8", optionally "p0" (padding) at the end.
        public init?(parsing text: String) {
            let parts = text.split(separator: "/")
            guard parts.count == 2 else { return nil }
            var item = String(parts[1]), padding = 4
            if let p = item.firstIndex(of: "p") {
                guard let value = Int(item[item.index(after: p)...]) else { return nil }
                padding = value
                item = String(item[..<p])
            }
            let tile = parts[0].split(separator: "x").compactMap { Int($0) }
            let items = item.split(separator: "x").compactMap { Int($0) }
            guard tile.count == 3, items.count == 2 else { return nil }
            self.init(m: tile[0], n: tile[1], k: tile[2], itemM: items[0], itemN: items[1], padding: padding)
        }
    }

    /// When gemm_tiled splits K: a product whose grid has fewer work-groups than
    /// `groupsPerComputeUnit` x compute units (or `targetGroups`, when set) gets up to
    /// `maximumSplits` slices of K, each at least `minimumDepth` deep, summed in order by
    /// gemm_split_reduce.
    public struct SplitK: Sendable, Equatable {
        public var groupsPerComputeUnit: Int
        public var targetGroups: Int?
        public var minimumDepth: Int
        public var maximumSplits: Int
        public init(groupsPerComputeUnit: Int = 2, targetGroups: Int? = nil, minimumDepth: Int = 256, maximumSplits: Int = 256) {
            self.groupsPerComputeUnit = groupsPerComputeUnit
            self.targetGroups = targetGroups
            self.minimumDepth = minimumDepth
            self.maximumSplits = maximumSplits
        }
    }

    /// The table entry this came from ("GPU/NVIDIA"), or a name given by whoever made it.
    public var entry: String
    public var gemm: GemmKernel
    /// gemm_tiled configurations, largest first; per product the least wasteful of those whose
    /// grid fills the device is taken, else the last (see `OpenCLBackend.tiledPlan`).
    public var tiles: [Tile]
    public var splitK: SplitK
    public var convolution: ConvolutionKernel
    /// Work-items per channel in bias_gradient_nchw (REDUCE_WG): 1 sums a channel in one
    /// work-item with vectors and no barrier (a 64-wide tree cost 17 ms on conv1 on PoCL).
    public var biasReductionGroup: Int
    /// Parameters per work-item in the Adam kernel (ADAM_PER_ITEM).
    public var adamPerItem: Int

    public init(entry: String, gemm: GemmKernel, tiles: [Tile], splitK: SplitK = SplitK(),
                convolution: ConvolutionKernel, biasReductionGroup: Int, adamPerItem: Int) {
        self.entry = entry
        self.gemm = gemm
        self.tiles = tiles
        self.splitK = splitK
        self.convolution = convolution
        self.biasReductionGroup = biasReductionGroup
        self.adamPerItem = adamPerItem
    }

    /// Why the backend would refuse this tuning, or nil.
    public var problem: String? {
        if gemm == .tiled || convolution == .implicitGemm {
            if tiles.isEmpty { return "\(entry): gemm_tiled needs at least one tile" }
            for t in tiles { if let p = t.problem { return "\(entry): tile \(t): \(p)" } }
        }
        if biasReductionGroup < 1 || biasReductionGroup & (biasReductionGroup - 1) != 0 {
            return "\(entry): biasReductionGroup must be a power of two"
        }
        if adamPerItem < 1 { return "\(entry): adamPerItem must be positive" }
        if splitK.minimumDepth < 1 || splitK.maximumSplits < 1 || splitK.groupsPerComputeUnit < 1 {
            return "\(entry): split-K limits must be positive"
        }
        return nil
    }

    public var description: String {
        var parts = ["GEMM \(gemm.rawValue)"]
        if gemm == .tiled || convolution == .implicitGemm { parts.append("tiles " + tiles.map(\.description).joined(separator: ",")) }
        parts.append("conv \(convolution.rawValue)")
        return "tuning \(entry): " + parts.joined(separator: ", ")
    }

    // MARK: The variants

    /// PoCL and other CPU devices: the register-blocked GEMM, im2col convolutions, one
    /// work-item per bias channel, 16 Adam parameters per work-item (measured on PoCL 3.1,
    /// 2 cores; see docs/BENCHMARKS.md).
    public static let cpu = OpenCLTuning(entry: "CPU", gemm: .registers, tiles: [],  // gemm_tiled unused
                                         convolution: .im2col, biasReductionGroup: 1, adamPerItem: 1 << 4)

    /// GPUs and accelerators without an entry of their own: 128x128x8 tiles with 8x8 per
    /// work-item (256 work-items, 16.5 KB of local memory), 128x64x8 and 64x64x16 (4x4 each) for smaller
    /// grids, implicit-GEMM convolutions, tree reductions of 64, one Adam parameter per item.
    public static let gpu = OpenCLTuning(
        entry: "GPU", gemm: .tiled,
        tiles: [Tile(m: 128, n: 128), Tile(m: 128, n: 64), Tile(m: 64, n: 64, k: 16, itemM: 4, itemN: 4)],
        convolution: .implicitGemm, biasReductionGroup: 64, adamPerItem: 1)

    /// A copy named `entry`.
    public func named(_ entry: String) -> OpenCLTuning {
        var copy = self
        copy.entry = entry
        return copy
    }
}

/// The per-device table: device type -> vendor -> device name, with a default at each level.
/// Patterns are case-insensitive substrings of the device's vendor and name strings.
public struct OpenCLTuningTable: Sendable {
    public struct DeviceEntry: Sendable {
        public var namePattern: String
        public var tuning: OpenCLTuning
        public init(namePattern: String, tuning: OpenCLTuning) { self.namePattern = namePattern; self.tuning = tuning }
    }
    public struct VendorEntry: Sendable {
        public var vendorPattern: String
        public var tuning: OpenCLTuning
        public var devices: [DeviceEntry]
        public init(vendorPattern: String, tuning: OpenCLTuning, devices: [DeviceEntry] = []) {
            self.vendorPattern = vendorPattern; self.tuning = tuning; self.devices = devices
        }
    }
    public struct TypeEntry: Sendable {
        /// "CPU", "GPU", "accelerator" or "other", as `OpenCLDeviceInfo.type`.
        public var type: String
        public var tuning: OpenCLTuning
        public var vendors: [VendorEntry]
        public init(type: String, tuning: OpenCLTuning, vendors: [VendorEntry] = []) {
            self.type = type; self.tuning = tuning; self.vendors = vendors
        }
    }

    public var types: [TypeEntry]
    /// For a device type without an entry.
    public var fallback: OpenCLTuning

    public init(types: [TypeEntry], fallback: OpenCLTuning) {
        self.types = types
        self.fallback = fallback
    }

    /// The table gpu-train ships. NVIDIA has a vendor entry (48 KB of local memory, OpenCL C
    /// 1.2) with the GPU defaults until a sweep on the device (`gpu-train tune-gemm`,
    /// scripts/gpu-check.sh) gives it measured values; device entries go under it.
    public static let standard = OpenCLTuningTable(
        types: [
            TypeEntry(type: "CPU", tuning: OpenCLTuning.cpu),
            TypeEntry(type: "GPU", tuning: OpenCLTuning.gpu, vendors: [
                VendorEntry(vendorPattern: "NVIDIA", tuning: OpenCLTuning.gpu.named("GPU/NVIDIA")),
            ]),
            TypeEntry(type: "accelerator", tuning: OpenCLTuning.gpu.named("accelerator")),
        ],
        fallback: OpenCLTuning.gpu.named("other"))

    /// The most specific entry for a device of `type` from `vendor` named `name`.
    public func select(type: String, vendor: String, name: String) -> OpenCLTuning {
        func contains(_ text: String, _ pattern: String) -> Bool {
            !pattern.isEmpty && text.range(of: pattern, options: .caseInsensitive) != nil
        }
        guard let t = types.first(where: { $0.type.caseInsensitiveCompare(type) == .orderedSame }) else { return fallback }
        guard let v = t.vendors.first(where: { contains(vendor, $0.vendorPattern) }) else { return t.tuning }
        return v.devices.first(where: { contains(name, $0.namePattern) })?.tuning ?? v.tuning
    }

    /// The entry for `device`.
    public func select(for device: OpenCLDeviceInfo) -> OpenCLTuning {
        select(type: device.type, vendor: device.vendor, name: device.name)
    }

    /// Every entry, by its name ("CPU", "GPU", "GPU/NVIDIA", ...).
    public var entries: [OpenCLTuning] {
        var all: [OpenCLTuning] = []
        for t in types {
            all.append(t.tuning)
            for v in t.vendors { all.append(v.tuning); all += v.devices.map(\.tuning) }
        }
        return all + [fallback]
    }

    /// The entry named `name` (case-insensitive), for forcing one on another device.
    public func entry(named name: String) -> OpenCLTuning? {
        entries.first { $0.entry.caseInsensitiveCompare(name) == .orderedSame }
    }

    /// The environment variable that forces an entry by name on every OpenCL backend opened
    /// without an explicit tuning: `GPU_TRAIN_OPENCL_TUNING=GPU gpu-train verify` checks the GPU
    /// kernels on PoCL's CPU device.
    public static let overrideVariable = "GPU_TRAIN_OPENCL_TUNING"
}
