// Tolerance, Comparison and compare() live in Backend (Tolerance.swift) so that
// `gpu-train verify` and the tests share one helper; re-exported here for tests.
@_exported import Backend
import Foundation

/// Deterministic random arrays for tests.
public struct TestRandom {
    public var generator: SeededGenerator
    public init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    public mutating func uniform(_ count: Int, _ low: Float = -1, _ high: Float = 1) -> [Float] {
        (0..<count).map { _ in generator.uniform(low, high) }
    }

    public mutating func labels(_ count: Int) -> [Float] {
        (0..<count).map { _ in Float(generator.next() & 1) }
    }
}

/// Where the shared dataset is: ../shared/data/kubernetes-dataset beside the package root, or nil.
public func sharedDatasetURL() -> URL? {
    let root = packageRoot()
    let url = root.deletingLastPathComponent().appendingPathComponent("shared/data/kubernetes-dataset")
    return FileManager.default.fileExists(atPath: url.path) ? url : nil
}

/// The package root, found from this source file's location.
public func packageRoot(file: StaticString = #filePath) -> URL {
    URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// Uploads `values` into a new tensor of `shape` on `backend`.
public func makeTensor(_ backend: Backend, _ shape: [Int], _ values: [Float]) throws -> Tensor {
    let t = try backend.makeTensor(shape)
    try backend.upload(values, to: t)
    return t
}

/// The OpenCL backend on the default device, or nil (with the reason) when there is none.
public func openCLBackend() -> (Backend?, String) {
    do { return (try OpenCLBackend(), "") } catch { return (nil, "\(error)") }
}

/// A minimal HTTP/1.1 GET over a TCP socket to 127.0.0.1 (so the test depends on no HTTP client).
public func httpGet(port: UInt16, path: String, timeout: Double = 10) throws -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw NSError(domain: "socket", code: Int(errno)) }
    defer { close(fd) }
    var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw NSError(domain: "connect", code: Int(errno)) }
    let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    _ = request.withCString { send(fd, $0, strlen($0), 0) }
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = recv(fd, &buffer, buffer.count, 0)
        if n <= 0 { break }
        data.append(buffer, count: n)
    }
    return String(decoding: data, as: UTF8.self)
}

/// A UDP socket bound to 127.0.0.1 on a free port (receives time out after 10 s), and the port.
public func udpListener() throws -> (Int32, UInt16) { try loopbackSocket(Int32(SOCK_DGRAM.rawValue)) }

/// A listening TCP socket on 127.0.0.1 on a free port, and the port.
public func tcpListener() throws -> (Int32, UInt16) {
    let (fd, port) = try loopbackSocket(Int32(SOCK_STREAM.rawValue))
    listen(fd, 4)
    return (fd, port)
}

/// A socket of `type` bound to 127.0.0.1 on a port the kernel picks (receives time out after 10 s).
func loopbackSocket(_ type: Int32) throws -> (Int32, UInt16) {
    let fd = socket(AF_INET, type, 0)
    guard fd >= 0 else { throw NSError(domain: "socket", code: Int(errno)) }
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    var tv = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    return (fd, UInt16(bigEndian: a.sin_port))
}
