import Foundation
import Kernels

/// The OpenCL backend: every op is a kernel from kernels/*.cl on one in-order queue.
///
/// Tensors are device buffers; a view's `offset` is passed to every kernel. Only `upload`,
/// `download` and the two scalars of a loss cross to the host. Kernels are built once per
/// (source, -D defines) and cached for the life of the backend, and their binaries on disk
/// across runs (`GPU_TRAIN_KERNEL_CACHE`, see OpenCLProgramCache).
public final class OpenCLBackend: Backend {
    public let name = "opencl"
    /// The device this backend runs on.
    public let device: OpenCLDeviceInfo
    /// The kernel variants and -D values for the device: from `OpenCLTuningTable.standard`, a
    /// tuning overlay file, the entry `GPU_TRAIN_OPENCL_TUNING` names, or given at init.
    public let tuning: OpenCLTuning

    let cl: CLDevice
    private var sources: [String: (text: String, label: String)] = [:]
    private var kernels: [String: CLKernel] = [:]
    var columnsWorkspace: CLBuffer?
    var transposedWorkspace: CLBuffer?
    var splitWorkspace: CLBuffer?
    var tapTables: [TapTable: CLBuffer] = [:]
    let lossResult: CLBuffer

    /// Opens the device `selector` names (an index from `OpenCLDevices.all()` or a
    /// case-insensitive substring of its name; nil: first GPU, else accelerator, else CPU).
    /// The tuning is, first that applies: `tuning`; the table entry `environment`'s
    /// `GPU_TRAIN_OPENCL_TUNING` names; the entry for this device in `overlay`, or in the file
    /// `GPU_TRAIN_TUNING_FILE` names when `overlay` is nil (tune-gemm --json output); the table's
    /// entry for the device. `profiling` records an event per kernel and copy so that
    /// `takeProfiledSeconds()` can report device time (benchmarks only). `environment`'s
    /// `GPU_TRAIN_KERNEL_CACHE` places (or turns off) the on-disk cache of built programs.
    public init(device selector: String? = nil, tuning: OpenCLTuning? = nil, overlay: OpenCLTuningOverlay? = nil,
                profiling: Bool = false,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        device = try OpenCLDevices.select(selector)
        let table = OpenCLTuningTable.standard
        var overlay = overlay
        if overlay == nil, let file = environment[OpenCLTuningOverlay.fileVariable], !file.isEmpty {
            overlay = try OpenCLTuningOverlay(contentsOf: file, table: table)
        }
        if let tuning {
            self.tuning = tuning
        } else if let forced = environment[OpenCLTuningTable.overrideVariable], !forced.isEmpty {
            guard let entry = table.entry(named: forced) else {
                throw BackendError.invalidArgument(
                    op: "OpenCLBackend", detail: "\(OpenCLTuningTable.overrideVariable)=\(forced) names no tuning entry; " +
                        "entries: \(table.entries.map(\.entry).joined(separator: ", "))")
            }
            self.tuning = entry
        } else if let measured = overlay?.tuning(for: device) {
            self.tuning = measured
        } else {
            self.tuning = table.select(for: device)
        }
        if let problem = self.tuning.problem { throw BackendError.invalidArgument(op: "OpenCLBackend", detail: problem) }
        cl = try CLDevice(device, profiling: profiling, programCache: OpenCLProgramCache.fromEnvironment(environment))
        lossResult = try cl.buffer(bytes: 16)
    }

    /// Programs this backend compiled from source, and programs it loaded from the on-disk cache.
    public var programCounts: (compiled: Int, loaded: Int) { (cl.programsCompiled, cl.programsLoaded) }

    public var deviceDescription: String {
        "\(device.name) (\(device.platformName), \(device.type), \(device.computeUnits) compute units, \(tuning))"
    }

    // MARK: Kernels and buffers

    /// Programs built from several kernel files, in this order; every other program is the one
    /// file of its name. gemm_conv.cl defines the convolution operand modes that gemm_tiled.cl
    /// uses when built after it (implicit-GEMM convolutions); gemm_tiled.cl alone is the matrix GEMM.
    static let programFiles: [String: [String]] = ["gemm_tiled_conv": ["gemm_conv", "gemm_tiled"]]

    /// The source of `program`: its files joined, each after a #line naming it so that build
    /// logs point into the right file.
    func programSource(_ program: String) throws -> (text: String, label: String) {
        let files = Self.programFiles[program] ?? [program]
        var parts: [String] = []
        for file in files {
            guard let s = KernelSources.source(named: file)?.text else {
                throw BackendError.buildFailed(program: program, device: device.name, log: "no kernel source named \(file).cl")
            }
            parts.append(files.count == 1 ? s : "#line 1 \"\(file).cl\"\n" + s)
        }
        return (parts.joined(separator: "\n"), files.map { "\($0).cl" }.joined(separator: "+"))
    }

    /// The kernel `name` of `program` (a kernel file, or an entry of `programFiles`) built with
    /// `defines`; built once, then cached.
    func kernel(_ program: String, _ name: String, _ defines: [(String, Int)] = []) throws -> CLKernel {
        let options = (["-cl-std=CL1.2"] + defines.map { "-D\($0.0)=\($0.1)" }).joined(separator: " ")
        let key = "\(program)|\(options)|\(name)"
        if let k = kernels[key] { return k }
        let source: (text: String, label: String)
        if let s = sources[program] { source = s } else {
            source = try programSource(program)
            sources[program] = source
        }
        let k = try cl.program(source: source.text, options: options, label: source.label).kernel(name)
        kernels[key] = k
        return k
    }

    @inline(__always)
    func buffer(_ tensor: Tensor, _ op: String) throws -> CLBuffer {
        guard let b = tensor.storage as? CLBuffer, b.context == cl.context else {
            throw BackendError.foreignTensor(op: op, backend: name)
        }
        return b
    }

    /// A buffer argument and its element offset: the pair every kernel takes per tensor.
    @inline(__always)
    func arguments(_ tensor: Tensor, _ op: String) throws -> [KernelArgument] {
        [.buffer(try buffer(tensor, op).mem), .int(tensor.offset)]
    }

    func workspace(_ slot: inout CLBuffer?, floats: Int) throws -> CLBuffer {
        if let b = slot, b.bytes >= floats * 4 { return b }
        slot = nil
        let b = try cl.buffer(bytes: floats * 4)
        slot = b
        return b
    }

    // MARK: Memory

    public func makeTensor(_ shape: [Int]) throws -> Tensor {
        let t = Tensor(shape: shape, storage: try cl.buffer(bytes: try TensorSize.elements(shape, "makeTensor") * 4))
        try fill(t, with: 0)
        return t
    }

    public func upload(_ values: [Float], to tensor: Tensor) throws {
        guard values.count == tensor.count else {
            throw BackendError.shapeMismatch(op: "upload", detail: "\(values.count) values for a tensor of shape \(tensor.shape)")
        }
        try cl.write(values, to: buffer(tensor, "upload"), offset: tensor.offset)
    }

    public func download(_ tensor: Tensor) throws -> [Float] {
        try cl.read(buffer(tensor, "download"), offset: tensor.offset, count: tensor.count)
    }

    public func fill(_ tensor: Tensor, with value: Float) throws {
        try cl.launch(kernel("elementwise", "fill"),
                      arguments(tensor, "fill") + [.int(tensor.count), .float(value)], global: [tensor.count])
    }

    public func copy(_ source: Tensor, to destination: Tensor) throws {
        try Check.sameCount("copy", source, destination)
        try cl.copy(buffer(source, "copy"), offset: source.offset, to: buffer(destination, "copy"),
                    offset: destination.offset, count: source.count)
    }

    public func synchronize() throws { try cl.finish() }

    /// Whether this backend was made with `profiling: true`.
    public var isProfiling: Bool { cl.profiling }

    /// Waits for the queue and returns the seconds the device spent in kernels and copies
    /// (profiling events, END - START) since the last call; 0 unless made with `profiling: true`.
    public func takeProfiledSeconds() throws -> Double { try cl.takeProfiledSeconds() }
}
