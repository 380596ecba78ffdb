import COpenCL
import Foundation

// The whole OpenCL runtime in one file: status names, device listing and selection,
// context + in-order queue, buffers, and a program cache keyed by (source, defines), backed by
// built binaries on disk (OpenCLProgramCache).
// Every handle is owned by a class that releases it in deinit.

/// The name of an OpenCL status code, "CL_OUT_OF_RESOURCES" for -5.
public func openCLErrorName(_ code: Int32) -> String {
    let names: [Int32: String] = [
        0: "CL_SUCCESS", -1: "CL_DEVICE_NOT_FOUND", -2: "CL_DEVICE_NOT_AVAILABLE",
        -3: "CL_COMPILER_NOT_AVAILABLE", -4: "CL_MEM_OBJECT_ALLOCATION_FAILURE",
        -5: "CL_OUT_OF_RESOURCES", -6: "CL_OUT_OF_HOST_MEMORY", -7: "CL_PROFILING_INFO_NOT_AVAILABLE",
        -8: "CL_MEM_COPY_OVERLAP", -9: "CL_IMAGE_FORMAT_MISMATCH", -10: "CL_IMAGE_FORMAT_NOT_SUPPORTED",
        -11: "CL_BUILD_PROGRAM_FAILURE", -12: "CL_MAP_FAILURE", -13: "CL_MISALIGNED_SUB_BUFFER_OFFSET",
        -14: "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST", -15: "CL_COMPILE_PROGRAM_FAILURE",
        -16: "CL_LINKER_NOT_AVAILABLE", -17: "CL_LINK_PROGRAM_FAILURE", -18: "CL_DEVICE_PARTITION_FAILED",
        -19: "CL_KERNEL_ARG_INFO_NOT_AVAILABLE",
        -30: "CL_INVALID_VALUE", -31: "CL_INVALID_DEVICE_TYPE", -32: "CL_INVALID_PLATFORM",
        -33: "CL_INVALID_DEVICE", -34: "CL_INVALID_CONTEXT", -35: "CL_INVALID_QUEUE_PROPERTIES",
        -36: "CL_INVALID_COMMAND_QUEUE", -37: "CL_INVALID_HOST_PTR", -38: "CL_INVALID_MEM_OBJECT",
        -39: "CL_INVALID_IMAGE_FORMAT_DESCRIPTOR", -40: "CL_INVALID_IMAGE_SIZE", -41: "CL_INVALID_SAMPLER",
        -42: "CL_INVALID_BINARY", -43: "CL_INVALID_BUILD_OPTIONS", -44: "CL_INVALID_PROGRAM",
        -45: "CL_INVALID_PROGRAM_EXECUTABLE", -46: "CL_INVALID_KERNEL_NAME", -47: "CL_INVALID_KERNEL_DEFINITION",
        -48: "CL_INVALID_KERNEL", -49: "CL_INVALID_ARG_INDEX", -50: "CL_INVALID_ARG_VALUE",
        -51: "CL_INVALID_ARG_SIZE", -52: "CL_INVALID_KERNEL_ARGS", -53: "CL_INVALID_WORK_DIMENSION",
        -54: "CL_INVALID_WORK_GROUP_SIZE", -55: "CL_INVALID_WORK_ITEM_SIZE", -56: "CL_INVALID_GLOBAL_OFFSET",
        -57: "CL_INVALID_EVENT_WAIT_LIST", -58: "CL_INVALID_EVENT", -59: "CL_INVALID_OPERATION",
        -60: "CL_INVALID_GL_OBJECT", -61: "CL_INVALID_BUFFER_SIZE", -62: "CL_INVALID_MIP_LEVEL",
        -63: "CL_INVALID_GLOBAL_WORK_SIZE", -64: "CL_INVALID_PROPERTY", -65: "CL_INVALID_IMAGE_DESCRIPTOR",
        -66: "CL_INVALID_COMPILER_OPTIONS", -67: "CL_INVALID_LINKER_OPTIONS",
        -68: "CL_INVALID_DEVICE_PARTITION_COUNT", -1001: "CL_PLATFORM_NOT_FOUND_KHR",
    ]
    return names[code] ?? "CL_UNKNOWN_ERROR"
}

/// Throws `BackendError.openCL` naming `call` unless `status` is CL_SUCCESS.
@inline(__always)
func clCheck(_ status: cl_int, _ call: String, _ detail: @autoclosure () -> String = "") throws {
    guard status == CL_SUCCESS else {
        throw BackendError.openCL(call: call, code: status, name: openCLErrorName(status), detail: detail())
    }
}

/// One OpenCL device as `gpu-train devices` lists it. (A cl_device_id is an immutable,
/// process-wide handle that the driver never frees, hence @unchecked.)
public struct OpenCLDeviceInfo: @unchecked Sendable, CustomStringConvertible {
    /// Position in the listing across all platforms: what `--device` takes as an index.
    public let index: Int
    public let platformName: String
    public let platformVersion: String
    public let name: String
    public let vendor: String
    /// "GPU", "CPU", "accelerator" or "other".
    public let type: String
    public let computeUnits: Int
    public let globalMemoryBytes: Int
    public let maxAllocationBytes: Int
    /// The device's OpenCL version string ("OpenCL 3.0 PoCL ...").
    public let openCLVersion: String
    /// CL_DRIVER_VERSION (part of the on-disk program cache's key).
    public let driverVersion: String
    let id: cl_device_id

    public var description: String {
        let mib = globalMemoryBytes / (1 << 20)
        return "[\(index)] \(name) (\(vendor)): \(type), \(computeUnits) compute units, \(mib) MiB, \(openCLVersion)"
    }
}

/// One OpenCL platform and its devices.
public struct OpenCLPlatformInfo: Sendable {
    public let name: String
    public let vendor: String
    public let version: String
    public let devices: [OpenCLDeviceInfo]
}

/// Listing and selection of OpenCL devices.
public enum OpenCLDevices {
    /// Every platform and its devices; empty when no OpenCL platform is installed.
    public static func platforms() throws -> [OpenCLPlatformInfo] {
        var count: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &count)
        if status == -1001 || count == 0 { return [] }  // CL_PLATFORM_NOT_FOUND_KHR: no ICD installed
        try clCheck(status, "clGetPlatformIDs")
        var ids = [cl_platform_id?](repeating: nil, count: Int(count))
        try clCheck(clGetPlatformIDs(count, &ids, nil), "clGetPlatformIDs")
        var result: [OpenCLPlatformInfo] = []
        var index = 0
        for case let platform? in ids {
            let pname = try platformString(platform, cl_platform_info(CL_PLATFORM_NAME))
            let pvendor = try platformString(platform, cl_platform_info(CL_PLATFORM_VENDOR))
            let pversion = try platformString(platform, cl_platform_info(CL_PLATFORM_VERSION))
            var n: cl_uint = 0
            let s = clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &n)
            var devices: [OpenCLDeviceInfo] = []
            if s == CL_SUCCESS, n > 0 {
                var dids = [cl_device_id?](repeating: nil, count: Int(n))
                try clCheck(clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), n, &dids, nil), "clGetDeviceIDs")
                for case let d? in dids {
                    devices.append(try deviceInfo(d, index: index, platformName: pname, platformVersion: pversion))
                    index += 1
                }
            } else if s != CL_DEVICE_NOT_FOUND {
                try clCheck(s, "clGetDeviceIDs", "platform \(pname)")
            }
            result.append(OpenCLPlatformInfo(name: pname, vendor: pvendor, version: pversion, devices: devices))
        }
        return result
    }

    /// Every device of every platform, in listing order.
    public static func all() throws -> [OpenCLDeviceInfo] { try platforms().flatMap(\.devices) }

    /// The device `selector` names: an index from the listing or a case-insensitive substring
    /// of the device name; nil picks the first GPU, else accelerator, else CPU device.
    public static func select(_ selector: String?) throws -> OpenCLDeviceInfo {
        let devices = try all()
        guard !devices.isEmpty else {
            throw BackendError.noDevice("no OpenCL platform or device found (install an OpenCL driver, " +
                                        "for example pocl-opencl-icd for the CPU); use --backend cpu to run without OpenCL")
        }
        let listing = devices.map { "  \($0)" }.joined(separator: "\n")
        guard let selector, !selector.isEmpty else {
            for type in ["GPU", "accelerator", "CPU"] {
                if let d = devices.first(where: { $0.type == type }) { return d }
            }
            return devices[0]
        }
        if let i = Int(selector) {
            guard devices.indices.contains(i) else {
                throw BackendError.noDevice("no OpenCL device with index \(i); devices:\n\(listing)\nor use --backend cpu")
            }
            return devices[i]
        }
        guard let d = devices.first(where: { $0.name.range(of: selector, options: .caseInsensitive) != nil }) else {
            throw BackendError.noDevice("no OpenCL device name contains '\(selector)'; devices:\n\(listing)\nor use --backend cpu")
        }
        return d
    }

    static func platformString(_ p: cl_platform_id, _ what: cl_platform_info) throws -> String {
        var size = 0
        try clCheck(clGetPlatformInfo(p, what, 0, nil, &size), "clGetPlatformInfo")
        var bytes = [CChar](repeating: 0, count: size + 1)
        try clCheck(clGetPlatformInfo(p, what, size, &bytes, nil), "clGetPlatformInfo")
        return String(cString: bytes).trimmingCharacters(in: .whitespaces)
    }

    static func deviceString(_ d: cl_device_id, _ what: cl_device_info) throws -> String {
        var size = 0
        try clCheck(clGetDeviceInfo(d, what, 0, nil, &size), "clGetDeviceInfo")
        var bytes = [CChar](repeating: 0, count: size + 1)
        try clCheck(clGetDeviceInfo(d, what, size, &bytes, nil), "clGetDeviceInfo")
        return String(cString: bytes).trimmingCharacters(in: .whitespaces)
    }

    static func deviceValue<T: FixedWidthInteger>(_ d: cl_device_id, _ what: cl_device_info, _: T.Type) throws -> T {
        var value: T = 0
        try clCheck(clGetDeviceInfo(d, what, MemoryLayout<T>.size, &value, nil), "clGetDeviceInfo")
        return value
    }

    static func deviceInfo(_ d: cl_device_id, index: Int, platformName: String, platformVersion: String) throws -> OpenCLDeviceInfo {
        let type = try deviceValue(d, cl_device_info(CL_DEVICE_TYPE), cl_device_type.self)
        let typeName: String
        if type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0 { typeName = "GPU" }
        else if type & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0 { typeName = "accelerator" }
        else if type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 { typeName = "CPU" }
        else { typeName = "other" }
        return OpenCLDeviceInfo(
            index: index, platformName: platformName, platformVersion: platformVersion,
            name: try deviceString(d, cl_device_info(CL_DEVICE_NAME)),
            vendor: try deviceString(d, cl_device_info(CL_DEVICE_VENDOR)),
            type: typeName,
            computeUnits: Int(try deviceValue(d, cl_device_info(CL_DEVICE_MAX_COMPUTE_UNITS), cl_uint.self)),
            globalMemoryBytes: Int(try deviceValue(d, cl_device_info(CL_DEVICE_GLOBAL_MEM_SIZE), cl_ulong.self)),
            maxAllocationBytes: Int(try deviceValue(d, cl_device_info(CL_DEVICE_MAX_MEM_ALLOC_SIZE), cl_ulong.self)),
            openCLVersion: try deviceString(d, cl_device_info(CL_DEVICE_VERSION)),
            driverVersion: try deviceString(d, cl_device_info(CL_DRIVER_VERSION)),
            id: d)
    }
}

/// A device buffer; the storage of an OpenCL tensor.
final class CLBuffer {
    let mem: cl_mem
    let bytes: Int
    /// The context that made it, to recognise tensors of another OpenCL backend.
    let context: cl_context

    init(mem: cl_mem, bytes: Int, context: cl_context) {
        self.mem = mem
        self.bytes = bytes
        self.context = context
    }

    deinit { clReleaseMemObject(mem) }
}

/// A kernel object; argument setting is not thread-safe, like the backend itself.
final class CLKernel {
    let kernel: cl_kernel
    let name: String
    init(kernel: cl_kernel, name: String) { self.kernel = kernel; self.name = name }
    deinit { clReleaseKernel(kernel) }
}

/// A built program and its kernels, created on first use.
final class CLProgram {
    let program: cl_program
    let label: String
    private var kernels: [String: CLKernel] = [:]

    init(program: cl_program, label: String) { self.program = program; self.label = label }
    deinit {
        kernels.removeAll()
        clReleaseProgram(program)
    }

    func kernel(_ name: String) throws -> CLKernel {
        if let k = kernels[name] { return k }
        var status: cl_int = 0
        guard let k = clCreateKernel(program, name, &status), status == CL_SUCCESS else {
            try clCheck(status == CL_SUCCESS ? CL_INVALID_KERNEL : status, "clCreateKernel", "\(name) in \(label)")
            throw BackendError.openCL(call: "clCreateKernel", code: CL_INVALID_KERNEL, name: "CL_INVALID_KERNEL", detail: name)
        }
        let wrapped = CLKernel(kernel: k, name: name)
        kernels[name] = wrapped
        return wrapped
    }
}

/// A kernel argument: a buffer, an int or a float.
enum KernelArgument {
    case buffer(cl_mem)
    case int(Int)
    case float(Float)
}

/// A device with its context, one in-order queue and the program cache.
final class CLDevice {
    let info: OpenCLDeviceInfo
    let context: cl_context
    let queue: cl_command_queue
    /// Whether the queue records profiling events (for `gpu-train bench`); off by default.
    let profiling: Bool
    /// Events of kernels and copies enqueued since the last `takeProfiledSeconds()`.
    private var profiledEvents: [cl_event] = []
    private var programs: [ProgramKey: CLProgram] = [:]
    /// Built binaries on disk, or nil (off).
    let programCache: OpenCLProgramCache?
    /// Programs loaded from `programCache`, and programs compiled from source, by this device.
    private(set) var programsLoaded = 0, programsCompiled = 0

    struct ProgramKey: Hashable { let source: String; let options: String }

    init(_ info: OpenCLDeviceInfo, profiling: Bool = false, programCache: OpenCLProgramCache? = nil) throws {
        self.profiling = profiling
        self.programCache = programCache
        self.info = info
        var status: cl_int = 0
        var device: cl_device_id? = info.id
        guard let ctx = clCreateContext(nil, 1, &device, nil, nil, &status), status == CL_SUCCESS else {
            try clCheck(status == CL_SUCCESS ? CL_INVALID_CONTEXT : status, "clCreateContext", info.name)
            throw BackendError.noDevice("clCreateContext returned no context for \(info.name)")
        }
        context = ctx
        let properties = cl_command_queue_properties(profiling ? CL_QUEUE_PROFILING_ENABLE : 0)
        guard let q = clCreateCommandQueue(ctx, info.id, properties, &status), status == CL_SUCCESS else {
            clReleaseContext(ctx)
            try clCheck(status == CL_SUCCESS ? CL_INVALID_COMMAND_QUEUE : status, "clCreateCommandQueue", info.name)
            throw BackendError.noDevice("clCreateCommandQueue returned no queue for \(info.name)")
        }
        queue = q
    }

    deinit {
        clFinish(queue)
        for event in profiledEvents { clReleaseEvent(event) }
        programs.removeAll()
        clReleaseCommandQueue(queue)
        clReleaseContext(context)
    }

    /// The program built from `source` with `options`, built once and cached: for the life of
    /// this device in memory, and across runs in `programCache` when there is one.
    func program(source: String, options: String, label: String) throws -> CLProgram {
        let key = ProgramKey(source: source, options: options)
        if let p = programs[key] { return p }
        let cacheKey = programCache.map { _ in OpenCLProgramCache.key(device: info, options: options, source: source) }
        if let cache = programCache, let cacheKey, let binary = cache.load(key: cacheKey) {
            switch programFromBinary(binary, options: options, label: label) {
            case .success(let program):
                programs[key] = program
                programsLoaded += 1
                return program
            case .failure(let problem):
                cache.noteRefused(key: cacheKey, problem.reason)
            }
        }
        let program = try programFromSource(source, options: options, label: label)
        programs[key] = program
        programsCompiled += 1
        if let cache = programCache, let cacheKey {
            if let binary = binary(of: program.program) {
                cache.store(key: cacheKey, binary: binary)
            }
        }
        return program
    }

    private func programFromSource(_ source: String, options: String, label: String) throws -> CLProgram {
        var status: cl_int = 0
        let created: cl_program? = source.withCString { cstr in
            var ptr: UnsafePointer<CChar>? = cstr
            var length = strlen(cstr)
            return clCreateProgramWithSource(context, 1, &ptr, &length, &status)
        }
        guard let program = created, status == CL_SUCCESS else {
            try clCheck(status == CL_SUCCESS ? CL_INVALID_PROGRAM : status, "clCreateProgramWithSource", label)
            throw BackendError.buildFailed(program: label, device: info.name, log: "no program object")
        }
        let wrapped = CLProgram(program: program, label: label)
        var device: cl_device_id? = info.id
        let built = clBuildProgram(program, 1, &device, options, nil, nil)
        if built != CL_SUCCESS {
            let log = buildLog(program)
            if built == CL_BUILD_PROGRAM_FAILURE || built == CL_INVALID_BUILD_OPTIONS || !log.isEmpty {
                throw BackendError.buildFailed(program: "\(label) [\(options)]", device: info.name,
                                               log: "\(openCLErrorName(built)):\n\(log)")
            }
            try clCheck(built, "clBuildProgram", label)
        }
        return wrapped
    }

    /// A program from a binary this driver built before; a failure (a binary the driver refuses)
    /// is a value, so that the caller can rebuild from source.
    private func programFromBinary(_ binary: [UInt8], options: String, label: String) -> Result<CLProgram, OpenCLProgramCache.Problem> {
        var status: cl_int = 0, binaryStatus: cl_int = 0
        var device: cl_device_id? = info.id
        let created: cl_program? = binary.withUnsafeBufferPointer { buffer in
            var length = buffer.count
            var pointer: UnsafePointer<UInt8>? = buffer.baseAddress
            return clCreateProgramWithBinary(context, 1, &device, &length, &pointer, &binaryStatus, &status)
        }
        guard let program = created else {
            return .failure(.init(reason: "the driver refused the binary (\(openCLErrorName(status)))"))
        }
        let wrapped = CLProgram(program: program, label: label)
        guard status == CL_SUCCESS, binaryStatus == CL_SUCCESS else {
            return .failure(.init(reason: "the driver refused the binary (\(openCLErrorName(status == CL_SUCCESS ? binaryStatus : status)))"))
        }
        let built = clBuildProgram(program, 1, &device, options, nil, nil)
        guard built == CL_SUCCESS else {
            return .failure(.init(reason: "the cached binary did not build (\(openCLErrorName(built)))"))
        }
        return .success(wrapped)
    }

    /// The device binary of a built program (CL_PROGRAM_BINARIES), or nil if the driver gives none.
    private func binary(of program: cl_program) -> [UInt8]? {
        var size = 0
        guard clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size, &size, nil) == CL_SUCCESS,
              size > 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: size)
        let status: cl_int = bytes.withUnsafeMutableBufferPointer { buffer in
            var pointer: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARIES),
                                    MemoryLayout<UnsafeMutablePointer<UInt8>?>.size, &pointer, nil)
        }
        return status == CL_SUCCESS ? bytes : nil
    }

    private func buildLog(_ program: cl_program) -> String {
        var size = 0
        guard clGetProgramBuildInfo(program, info.id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), 0, nil, &size) == CL_SUCCESS,
              size > 0 else { return "" }
        var bytes = [CChar](repeating: 0, count: size + 1)
        guard clGetProgramBuildInfo(program, info.id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, &bytes, nil) == CL_SUCCESS
        else { return "" }
        return String(cString: bytes).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A new buffer of `bytes`; failures say how much was asked and what the device has.
    func buffer(bytes: Int) throws -> CLBuffer {
        let size = max(bytes, 4)
        let limits = "device \(info.name): \(info.globalMemoryBytes >> 20) MiB global memory, " +
            "\(info.maxAllocationBytes >> 20) MiB largest allocation"
        guard size <= info.maxAllocationBytes else {
            throw BackendError.outOfMemory(requestedBytes: size, availableBytes: info.maxAllocationBytes, detail: limits)
        }
        var status: cl_int = 0
        let mem = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), size, nil, &status)
        guard let mem, status == CL_SUCCESS else {
            if status == CL_MEM_OBJECT_ALLOCATION_FAILURE || status == CL_OUT_OF_RESOURCES ||
                status == CL_OUT_OF_HOST_MEMORY || status == CL_INVALID_BUFFER_SIZE {
                throw BackendError.outOfMemory(requestedBytes: size, availableBytes: info.globalMemoryBytes,
                                               detail: "clCreateBuffer: \(openCLErrorName(status)); \(limits)")
            }
            try clCheck(status, "clCreateBuffer", "\(size) bytes")
            throw BackendError.outOfMemory(requestedBytes: size, availableBytes: info.globalMemoryBytes, detail: limits)
        }
        return CLBuffer(mem: mem, bytes: size, context: context)
    }

    /// Enqueues `kernel` over `global` work-items (rounded up to multiples of `local`).
    func launch(_ kernel: CLKernel, _ arguments: [KernelArgument], global: [Int], local: [Int]? = nil) throws {
        for (i, argument) in arguments.enumerated() {
            let status: cl_int
            switch argument {
            case .buffer(let mem):
                var m: cl_mem? = mem
                status = clSetKernelArg(kernel.kernel, cl_uint(i), MemoryLayout<cl_mem?>.size, &m)
            case .int(let value):
                guard let v = Int32(exactly: value) else {
                    throw BackendError.invalidArgument(op: kernel.name, detail: "argument \(i) = \(value) does not fit in 32 bits")
                }
                var x = v
                status = clSetKernelArg(kernel.kernel, cl_uint(i), 4, &x)
            case .float(let value):
                var x = value
                status = clSetKernelArg(kernel.kernel, cl_uint(i), 4, &x)
            }
            try clCheck(status, "clSetKernelArg", "\(kernel.name) argument \(i)")
        }
        guard global.allSatisfy({ $0 > 0 }) else { return }
        var g = global
        if let local {
            for i in g.indices { g[i] = (g[i] + local[i] - 1) / local[i] * local[i] }
        }
        var event: cl_event?
        let status: cl_int = withEventPointer(&event) { eventPointer in
            g.withUnsafeBufferPointer { gp in
                if var l = local {
                    return l.withUnsafeMutableBufferPointer { lp in
                        clEnqueueNDRangeKernel(queue, kernel.kernel, cl_uint(g.count), nil, gp.baseAddress, lp.baseAddress, 0, nil, eventPointer)
                    }
                }
                return clEnqueueNDRangeKernel(queue, kernel.kernel, cl_uint(g.count), nil, gp.baseAddress, nil, 0, nil, eventPointer)
            }
        }
        try clCheck(status, "clEnqueueNDRangeKernel", "\(kernel.name) global \(g) local \(local.map { "\($0)" } ?? "auto")")
        if let event { profiledEvents.append(event) }
    }

    /// Calls `body` with a pointer to `event` when profiling (so the enqueue returns an event), else nil.
    private func withEventPointer(_ event: inout cl_event?, _ body: (UnsafeMutablePointer<cl_event?>?) -> cl_int) -> cl_int {
        guard profiling else { return body(nil) }
        return withUnsafeMutablePointer(to: &event) { body($0) }
    }

    /// Waits for the queue, then returns the device time (profiling END - START) summed over every
    /// kernel and copy enqueued since the last call, and forgets those events. 0 when not profiling.
    func takeProfiledSeconds() throws -> Double {
        guard profiling else { return 0 }
        try finish()
        let events = profiledEvents
        profiledEvents.removeAll(keepingCapacity: true)
        defer { for event in events { clReleaseEvent(event) } }
        var nanoseconds: UInt64 = 0
        for event in events {
            var start: cl_ulong = 0, end: cl_ulong = 0
            try clCheck(clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_START), MemoryLayout<cl_ulong>.size, &start, nil),
                        "clGetEventProfilingInfo", "CL_PROFILING_COMMAND_START")
            try clCheck(clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_END), MemoryLayout<cl_ulong>.size, &end, nil),
                        "clGetEventProfilingInfo", "CL_PROFILING_COMMAND_END")
            if end > start { nanoseconds += UInt64(end - start) }
        }
        return Double(nanoseconds) * 1e-9
    }

    /// Copies `values` into `buffer` from element `offset` on (floats, or the Int32s of a table).
    func write<T>(_ values: [T], to buffer: CLBuffer, offset: Int = 0) throws {
        let stride = MemoryLayout<T>.stride
        let status = values.withUnsafeBytes { raw in
            clEnqueueWriteBuffer(queue, buffer.mem, cl_bool(CL_TRUE), offset * stride, raw.count, raw.baseAddress, 0, nil, nil)
        }
        try clCheck(status, "clEnqueueWriteBuffer", "\(values.count) values of \(T.self)")
    }

    func read(_ buffer: CLBuffer, offset: Int, count: Int) throws -> [Float] {
        var values = [Float](repeating: 0, count: count)
        let status = values.withUnsafeMutableBytes { raw in
            clEnqueueReadBuffer(queue, buffer.mem, cl_bool(CL_TRUE), offset * 4, raw.count, raw.baseAddress, 0, nil, nil)
        }
        try clCheck(status, "clEnqueueReadBuffer", "\(count) floats")
        return values
    }

    func copy(_ source: CLBuffer, offset: Int, to destination: CLBuffer, offset destinationOffset: Int, count: Int) throws {
        guard count > 0 else { return }
        var event: cl_event?
        let status = withEventPointer(&event) {
            clEnqueueCopyBuffer(queue, source.mem, destination.mem, offset * 4, destinationOffset * 4, count * 4, 0, nil, $0)
        }
        try clCheck(status, "clEnqueueCopyBuffer", "\(count) floats")
        if let event { profiledEvents.append(event) }
    }

    func finish() throws { try clCheck(clFinish(queue), "clFinish") }
}
