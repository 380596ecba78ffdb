import FlyingFox
import Foundation

/// Serves `DetectMetrics` as Prometheus text on `GET /metrics` (FlyingFox's HTTP server) while a
/// synchronous `detect` runs: the server lives on its own tasks and only reads the registry.
public final class MetricsServer: @unchecked Sendable {
    public let host: String
    public let port: UInt16
    let server: HTTPServer
    private var task: Task<Void, Error>?

    /// `listen` is "HOST:PORT": an IPv4 address, or an IPv6 one in brackets ("[::1]:9464").
    /// Port 0 picks a free port (`boundPort` says which).
    public init(listen: String, metrics: DetectMetrics) throws {
        guard let colon = listen.lastIndex(of: ":"), let port = UInt16(listen[listen.index(after: colon)...]) else {
            throw MetricsServerError("--metrics-listen \(listen): expected HOST:PORT, for example 127.0.0.1:9464")
        }
        var host = String(listen[..<colon])
        self.port = port
        let handler: @Sendable (HTTPRequest) async throws -> HTTPResponse = { _ in
            HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                         body: Data(metrics.text().utf8))
        }
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
            guard let address = try? sockaddr_in6.inet6(ip6: host, port: port) else {
                throw MetricsServerError("--metrics-listen \(listen): '\(host)' is not an IPv6 address")
            }
            server = HTTPServer(address: address, logger: .disabled)
        } else {
            guard let address = try? sockaddr_in.inet(ip4: host, port: port) else {
                throw MetricsServerError("--metrics-listen \(listen): '\(host)' is not an IPv4 address (an IPv6 one goes in brackets)")
            }
            server = HTTPServer(address: address, logger: .disabled)
        }
        self.host = host
        let routes = server
        let ready = DispatchSemaphore(value: 0)
        Task { await routes.appendRoute("GET /metrics", handler: handler); ready.signal() }
        ready.wait()
    }

    /// Starts listening; returns once the socket is bound, or throws why it could not be.
    public func start(timeout: TimeInterval = 5) throws {
        let server = self.server
        task = Task { try await server.run() }
        let result = ResultBox()
        let done = DispatchSemaphore(value: 0)
        Task {
            do { try await server.waitUntilListening(timeout: timeout) } catch { result.error = error }
            done.signal()
        }
        done.wait()
        if let error = result.error {
            task?.cancel()
            throw MetricsServerError("--metrics-listen \(host):\(port): cannot listen (\(error))")
        }
    }

    /// The port actually bound (useful with port 0).
    public var boundPort: UInt16? {
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        let server = self.server
        Task {
            if let address = await server.listeningAddress {
                switch address {
                case let .ip4(_, port): box.port = port
                case let .ip6(_, port): box.port = port
                default: break
                }
            }
            done.signal()
        }
        done.wait()
        return box.port
    }

    /// Stops serving.
    public func stop() {
        let server = self.server
        let done = DispatchSemaphore(value: 0)
        Task { await server.stop(timeout: 1); done.signal() }
        _ = done.wait(timeout: .now() + 3)
        task?.cancel()
    }

    final class ResultBox: @unchecked Sendable {
        var error: Error?
        var port: UInt16?
    }
}

/// A metrics endpoint that cannot be set up: what and why.
public struct MetricsServerError: Error, CustomStringConvertible, LocalizedError {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}
