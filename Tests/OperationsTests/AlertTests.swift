import Detection
import FlyingFox
import Foundation
import Operations
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `--alerts-to`: real receivers on loopback (UDP and TCP syslog listeners, an HTTP server that
/// fails or stalls), a bounded queue that never blocks scoring, retries and counters.
final class AlertTests: XCTestCase {
    let incident = "{\"schema\":\"gpu-train.incident/v1\",\"incident_id\":\"inc-000000000001\"}\n"

    func testDestinationsParseAndBadOnesSayWhy() throws {
        XCTAssertEqual(try AlertDestination(parsing: "stdout").target, .stdout)
        XCTAssertEqual(try AlertDestination(parsing: "file:/tmp/a#b.jsonl").target, .file("/tmp/a#b.jsonl"))
        let udp = try AlertDestination(parsing: "syslog+udp://127.0.0.1:514#both")
        XCTAssertEqual(udp.target, .syslogUDP(host: "127.0.0.1", port: 514))
        XCTAssertEqual(udp.events, .both)
        XCTAssertEqual(try AlertDestination(parsing: "syslog+tcp://[::1]:6514").target, .syslogTCP(host: "::1", port: 6514))
        XCTAssertEqual(try AlertDestination(parsing: "http://127.0.0.1:8080/hook#flows").events, .flows)
        XCTAssertEqual(try AlertDestination(parsing: "http://127.0.0.1:8080/hook").events, .incidents)
        for (bad, expected) in [("syslog://x:1", "expected file:PATH"), ("syslog+udp://127.0.0.1", "HOST:PORT"),
                                ("stdout#alerts", "is not #flows"), ("file:", "needs a path"), ("ftp://h/x", "expected file:PATH")] {
            XCTAssertThrowsError(try AlertDestination(parsing: bad)) { XCTAssertTrue("\($0)".contains(expected), "\(bad): \($0)") }
        }
    }

    func testSyslogOverUDPIsRFC5424WithTheSeverity() throws {
        let (fd, port) = try udpListener()
        defer { Glibc.close(fd) }
        let alerts = try AlertDispatcher(destinations: [try AlertDestination(parsing: "syslog+udp://127.0.0.1:\(port)#both")])
        alerts.post(.incidents, json: incident, severity: .high)
        alerts.post(.flows, json: "{\"schema\":\"gpu-train.flow/v1\"}\n", severity: .low)
        var received: [String] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<2 {
            let n = recv(fd, &buffer, buffer.count, 0)
            XCTAssertGreaterThan(n, 0)
            if n > 0 { received.append(String(decoding: buffer[0..<n], as: UTF8.self)) }
        }
        alerts.finish()
        // local0 (16): <130> is critical (high), <132> warning (low); then version 1, time, host, app, pid, msgid.
        XCTAssertTrue(received[0].hasPrefix("<130>1 "), received[0])
        XCTAssertTrue(received[0].contains(" gpu-train \(getpid()) incident - {\"schema\":\"gpu-train.incident/v1\""), received[0])
        XCTAssertTrue(received[1].hasPrefix("<132>1 ") && received[1].contains(" flow - {"), received[1])
        XCTAssertEqual(alerts.counts[0].counts.sent, 2)
    }

    func testSyslogOverTCPIsOctetCounted() throws {
        let (listener, port) = try tcpListener()
        defer { Glibc.close(listener) }
        let alerts = try AlertDispatcher(destinations: [try AlertDestination(parsing: "syslog+tcp://127.0.0.1:\(port)")])
        alerts.post(.incidents, json: incident, severity: .medium)
        alerts.post(.incidents, json: incident, severity: .medium)
        alerts.post(.flows, json: "{}", severity: .low)   // not carried: incidents only by default
        let client = accept(listener, nil, nil)
        XCTAssertGreaterThanOrEqual(client, 0)
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        alerts.finish()
        while true {
            let n = recv(client, &buffer, buffer.count, 0)
            if n <= 0 { break }
            data.append(buffer, count: n)
        }
        Glibc.close(client)
        // Frames: "LEN SP MSG", twice.
        var text = Substring(String(decoding: data, as: UTF8.self))
        var messages: [String] = []
        while let space = text.firstIndex(of: " "), let length = Int(text[..<space]) {
            let start = text.index(after: space)
            let message = String(decoding: Array(text[start...].utf8.prefix(length)), as: UTF8.self)
            messages.append(message)
            text = text[text.utf8.index(start, offsetBy: length)...]
        }
        XCTAssertEqual(messages.count, 2, String(decoding: data, as: UTF8.self))
        XCTAssertTrue(messages.allSatisfy { $0.hasPrefix("<131>1 ") && $0.hasSuffix("\"inc-000000000001\"}") }, "\(messages)")
        XCTAssertEqual(alerts.counts[0].counts, AlertDispatcher.Counts(sent: 2, dropped: 0, failed: 0, retries: 0))
    }

    /// An HTTP server on 127.0.0.1 whose handler is given; returns it and its port.
    func httpServer(_ handler: @Sendable @escaping (HTTPRequest) async throws -> HTTPResponse) async throws -> (HTTPServer, UInt16) {
        let server = HTTPServer(address: try .inet(ip4: "127.0.0.1", port: 0), logger: .disabled)
        await server.appendRoute("POST /hook", handler: handler)
        Task { try await server.run() }
        try await server.waitUntilListening()
        guard case let .ip4(_, port)? = await server.listeningAddress else { throw AlertError("no port") }
        return (server, port)
    }

    final class Counter: @unchecked Sendable {
        let lock = NSLock()
        var requests = 0
        var bodies: [String] = []
        func next(_ body: String) -> Int { lock.lock(); defer { lock.unlock() }; requests += 1; bodies.append(body); return requests }
    }

    func testAFailingHTTPReceiverIsRetriedWithBackoff() async throws {
        let counter = Counter()
        let (server, port) = try await httpServer { request in
            let body = String(decoding: try await request.bodyData, as: UTF8.self)
            return HTTPResponse(statusCode: counter.next(body) <= 2 ? .internalServerError : .ok)
        }
        let alerts = try AlertDispatcher(destinations: [try AlertDestination(parsing: "http://127.0.0.1:\(port)/hook")], backoff: 0.05)
        alerts.post(.incidents, json: incident, severity: .high)
        alerts.finish(timeout: 10)
        await server.stop()
        XCTAssertEqual(alerts.counts[0].counts, AlertDispatcher.Counts(sent: 1, dropped: 0, failed: 0, retries: 2))
        XCTAssertEqual(counter.requests, 3)
        XCTAssertEqual(counter.bodies.last, incident)
    }

    func testASlowReceiverNeverBlocksTheSenderAndDropsAreCounted() async throws {
        let (server, port) = try await httpServer { _ in
            try await Task.sleep(nanoseconds: 300_000_000)
            return HTTPResponse(statusCode: .ok)
        }
        let alerts = try AlertDispatcher(destinations: [try AlertDestination(parsing: "http://127.0.0.1:\(port)/hook")], queueCapacity: 3)
        let started = Date()
        for _ in 0..<200 { alerts.post(.incidents, json: incident, severity: .low) }
        XCTAssertLessThan(Date().timeIntervalSince(started), 0.5, "posting never waits for the receiver")
        alerts.finish(timeout: 10)
        await server.stop()
        let c = alerts.counts[0].counts
        XCTAssertEqual(c.sent + c.dropped + c.failed, 200)
        XCTAssertGreaterThanOrEqual(c.dropped, 190, "\(c)")
        XCTAssertGreaterThanOrEqual(c.sent, 1, "\(c)")
    }

    func testNoReceiverFailsAfterTheRetriesAndIsCounted() throws {
        // A port nothing listens on: bind one, close it, use it.
        let (fd, port) = try udpListener()
        Glibc.close(fd)
        let alerts = try AlertDispatcher(destinations: [try AlertDestination(parsing: "syslog+tcp://127.0.0.1:\(port)")], retries: 2, backoff: 0.01)
        alerts.post(.incidents, json: incident, severity: .high)
        alerts.finish(timeout: 10)
        XCTAssertEqual(alerts.counts[0].counts, AlertDispatcher.Counts(sent: 0, dropped: 0, failed: 1, retries: 2))
    }

    func testAFileOutputAppendsOneLinePerAlert() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("alerts-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        try "earlier\n".write(to: url, atomically: true, encoding: .utf8)
        let alerts = try AlertDispatcher(destinations: [try AlertDestination(parsing: "file:\(url.path)#both")])
        alerts.post(.incidents, json: incident, severity: .high)
        alerts.post(.flows, json: "{\"f\":1}", severity: .low)
        alerts.finish()
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "earlier\n" + incident + "{\"f\":1}\n")
    }
}
