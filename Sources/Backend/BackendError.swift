/// Errors raised by backends: each names the op or call and what was wrong.
public enum BackendError: Error, CustomStringConvertible, Equatable {
    /// Tensor shapes do not fit the op.
    case shapeMismatch(op: String, detail: String)
    /// A tensor made by another backend was passed in.
    case foreignTensor(op: String, backend: String)
    /// An argument is out of range (for example an even kernel size).
    case invalidArgument(op: String, detail: String)
    /// An OpenCL call returned an error status.
    case openCL(call: String, code: Int32, name: String, detail: String)
    /// An OpenCL program failed to build; carries the build log.
    case buildFailed(program: String, device: String, log: String)
    /// No OpenCL platform or no device matched the selection.
    case noDevice(String)
    /// A device or host allocation failed.
    case outOfMemory(requestedBytes: Int, availableBytes: Int, detail: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(op, detail):
            return "\(op): shape mismatch: \(detail)"
        case let .foreignTensor(op, backend):
            return "\(op): tensor was not created by the \(backend) backend"
        case let .invalidArgument(op, detail):
            return "\(op): \(detail)"
        case let .openCL(call, code, name, detail):
            return "\(call) failed with \(name) (\(code))" + (detail.isEmpty ? "" : ": \(detail)")
        case let .buildFailed(program, device, log):
            return "OpenCL program '\(program)' failed to build on \(device):\n\(log)"
        case let .noDevice(message):
            return message
        case let .outOfMemory(requested, available, detail):
            let mib = { (b: Int) in String(format: "%.1f MiB", Double(b) / 1_048_576) }
            return "out of memory: asked for \(mib(requested)) with \(mib(available)) available" +
                (detail.isEmpty ? "" : " (\(detail))")
        }
    }
}
