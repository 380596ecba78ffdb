import Detection
import FlowData
import Foundation
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What an alert output carries.
public enum AlertEvents: String, Sendable, CaseIterable {
    /// Each flow judged malicious (its schema v1 line).
    case flows
    /// Each incident as it closes (its schema v1 line).
    case incidents
    case both
}

/// One `--alerts-to` destination: where, and which events.
public struct AlertDestination: Sendable, Equatable, CustomStringConvertible {
    public enum Target: Sendable, Equatable {
        case file(String)
        case stdout
        /// RFC 5424 messages over UDP, one per datagram.
        case syslogUDP(host: String, port: UInt16)
        /// RFC 5424 messages over TCP, octet-counted (RFC 6587).
        case syslogTCP(host: String, port: UInt16)
        /// Each event's JSON in a POST.
        case http(URL)
    }

    public var target: Target
    public var events: AlertEvents

    /// `file:PATH`, `stdout`, `syslog+udp://HOST:PORT`, `syslog+tcp://HOST:PORT` or
    /// `http://HOST:PORT/PATH` (also https), each optionally followed by `#flows`, `#incidents` or
    /// `#both` (default: incidents, the alert an operator handles).
    public init(parsing text: String) throws {
        var spec = text
        events = .incidents
        if let hash = text.lastIndex(of: "#"), !text.hasPrefix("file:") || text[text.index(after: hash)...].allSatisfy(\.isLetter) {
            let name = String(text[text.index(after: hash)...])
            guard let e = AlertEvents(rawValue: name) else {
                throw AlertError("--alerts-to \(text): '#\(name)' is not #flows, #incidents or #both")
            }
            events = e
            spec = String(text[..<hash])
        }
        func hostPort(_ rest: Substring) throws -> (String, UInt16) {
            guard let colon = rest.lastIndex(of: ":"), let port = UInt16(rest[rest.index(after: colon)...]), port > 0 else {
                throw AlertError("--alerts-to \(text): expected HOST:PORT after the scheme")
            }
            let host = rest[..<colon].trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            guard !host.isEmpty else { throw AlertError("--alerts-to \(text): no host") }
            return (host, port)
        }
        if spec == "stdout" {
            target = .stdout
        } else if spec.hasPrefix("file:") {
            let path = String(spec.dropFirst(5))
            guard !path.isEmpty else { throw AlertError("--alerts-to \(text): file: needs a path") }
            target = .file(path)
        } else if spec.hasPrefix("syslog+udp://") {
            let (h, p) = try hostPort(spec.dropFirst("syslog+udp://".count))
            target = .syslogUDP(host: h, port: p)
        } else if spec.hasPrefix("syslog+tcp://") {
            let (h, p) = try hostPort(spec.dropFirst("syslog+tcp://".count))
            target = .syslogTCP(host: h, port: p)
        } else if spec.hasPrefix("http://") || spec.hasPrefix("https://"), let url = URL(string: spec), url.host != nil {
            target = .http(url)
        } else {
            throw AlertError("--alerts-to \(text): expected file:PATH, stdout, syslog+udp://HOST:PORT, syslog+tcp://HOST:PORT or http://HOST:PORT/PATH")
        }
    }

    public var description: String {
        switch target {
        case .file(let p): return "file:\(p)"
        case .stdout: return "stdout"
        case let .syslogUDP(h, p): return "syslog+udp://\(h):\(p)"
        case let .syslogTCP(h, p): return "syslog+tcp://\(h):\(p)"
        case .http(let u): return u.absoluteString
        }
    }

    func carries(_ kind: AlertEvents) -> Bool { events == .both || events == kind }
}

/// An alert output that cannot be set up: what and why.
public struct AlertError: Error, CustomStringConvertible, LocalizedError {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}

/// Sends alerts to every destination from a bounded queue per destination, on its own thread, so
/// that scoring never waits for a slow or failing receiver: when a queue is full the alert is
/// dropped and counted. Failed sends are retried with exponential backoff (0.2 s, 0.4 s, ...)
/// before the alert is counted as failed.
public final class AlertDispatcher: @unchecked Sendable {
    public struct Counts: Sendable, Equatable {
        public var sent = 0
        /// Dropped because the queue was full (the receiver too slow).
        public var dropped = 0
        /// Given up after every retry.
        public var failed = 0
        public var retries = 0

        public init(sent: Int = 0, dropped: Int = 0, failed: Int = 0, retries: Int = 0) {
            self.sent = sent
            self.dropped = dropped
            self.failed = failed
            self.retries = retries
        }
    }

    final class Output: @unchecked Sendable {
        let destination: AlertDestination
        let capacity: Int
        var queue: [(kind: AlertEvents, json: String, severity: Severity)] = []
        var counts = Counts()
        var closing = false
        /// Set by `finish`: retries stop once this passes.
        var giveUpAt = Date.distantFuture
        let condition = NSCondition()
        var thread: Thread?
        var tcp: Int32 = -1
        var fileHandle: FileHandle?

        init(destination: AlertDestination, capacity: Int) {
            self.destination = destination
            self.capacity = capacity
        }
    }

    let outputs: [Output]
    public let retries: Int
    public let backoff: Double
    let hostname: String

    public init(destinations: [AlertDestination], queueCapacity: Int = 1000, retries: Int = 4, backoff: Double = 0.2) throws {
        outputs = destinations.map { Output(destination: $0, capacity: max(1, queueCapacity)) }
        self.retries = max(0, retries)
        self.backoff = max(0, backoff)
        var name = [CChar](repeating: 0, count: 256)
        hostname = gethostname(&name, name.count) == 0 ? String(cString: name) : "-"
        for output in outputs {
            if case .file(let path) = output.destination.target {
                let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw AlertError("--alerts-to file:\(path): cannot open (\(String(cString: strerror(errno))))") }
                output.fileHandle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
            }
            let thread = Thread { [weak self] in self?.run(output) }
            thread.name = "alerts \(output.destination)"
            output.thread = thread
            thread.start()
        }
    }

    /// Queues an event for every destination that carries its kind; never blocks.
    public func post(_ kind: AlertEvents, json: String, severity: Severity) {
        for output in outputs where output.destination.carries(kind) {
            output.condition.lock()
            if output.queue.count >= output.capacity {
                output.counts.dropped += 1
            } else {
                output.queue.append((kind, json, severity))
                output.condition.signal()
            }
            output.condition.unlock()
        }
    }

    /// Counts per destination, in the order given.
    public var counts: [(destination: AlertDestination, counts: Counts)] {
        outputs.map { o in
            o.condition.lock(); defer { o.condition.unlock() }
            return (o.destination, o.counts)
        }
    }

    /// Sends what is queued (waiting at most `timeout` seconds), then stops the threads; what is
    /// still queued then is counted as dropped.
    public func finish(timeout: Double = 5) {
        let deadline = Date().addingTimeInterval(timeout)
        for o in outputs {
            o.condition.lock()
            o.closing = true
            o.giveUpAt = deadline
            o.condition.broadcast()
            while !o.queue.isEmpty || o.thread != nil, Date() < deadline { _ = o.condition.wait(until: min(deadline, Date().addingTimeInterval(0.05))) }
            o.counts.dropped += o.queue.count
            o.queue.removeAll()
            o.condition.unlock()
        }
    }

    private func run(_ o: Output) {
        while true {
            o.condition.lock()
            while o.queue.isEmpty && !o.closing { o.condition.wait() }
            if o.queue.isEmpty && o.closing {
                o.thread = nil
                o.condition.broadcast()
                o.condition.unlock()
                if o.tcp >= 0 { Glibc.close(o.tcp) }
                return
            }
            let event = o.queue.removeFirst()
            o.condition.unlock()
            var attempt = 0
            var delivered = false
            while true {
                if send(event, to: o) { delivered = true; break }
                o.condition.lock()
                let giveUpAt = o.giveUpAt
                o.condition.unlock()
                if attempt >= retries || Date() >= giveUpAt { break }
                o.condition.lock(); o.counts.retries += 1; o.condition.unlock()
                Thread.sleep(forTimeInterval: backoff * pow(2, Double(attempt)))
                attempt += 1
            }
            o.condition.lock()
            if delivered { o.counts.sent += 1 } else { o.counts.failed += 1 }
            o.condition.broadcast()
            o.condition.unlock()
        }
    }

    /// RFC 5424: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID - MSG`, facility local0, severity from the
    /// alert's (high -> critical, medium -> error, low -> warning, info -> informational).
    func syslogMessage(_ event: (kind: AlertEvents, json: String, severity: Severity)) -> String {
        let level: Int
        switch event.severity { case .high: level = 2; case .medium: level = 3; case .low: level = 4; case .info: level = 6 }
        let time = FlowTimestamp.iso8601(Date().timeIntervalSince1970)
        let msgid = event.kind == .flows ? "flow" : "incident"
        let json = event.json.hasSuffix("\n") ? String(event.json.dropLast()) : event.json
        return "<\(16 * 8 + level)>1 \(time) \(hostname) gpu-train \(getpid()) \(msgid) - \(json)"
    }

    private func send(_ event: (kind: AlertEvents, json: String, severity: Severity), to o: Output) -> Bool {
        let line = event.json.hasSuffix("\n") ? event.json : event.json + "\n"
        switch o.destination.target {
        case .stdout:
            FileHandle.standardOutput.write(Data(line.utf8))
            return true
        case .file:
            do { try o.fileHandle?.write(contentsOf: Data(line.utf8)); return true } catch { return false }
        case let .syslogUDP(host, port):
            return Self.udpSend(Data(syslogMessage(event).utf8), host: host, port: port)
        case let .syslogTCP(host, port):
            if o.tcp < 0 { o.tcp = Self.tcpConnect(host: host, port: port) }
            guard o.tcp >= 0 else { return false }
            let message = Data(syslogMessage(event).utf8)
            let framed = Data("\(message.count) ".utf8) + message
            if Self.writeAll(o.tcp, framed) { return true }
            Glibc.close(o.tcp)
            o.tcp = -1
            return false
        case .http(let url):
            return Self.post(Data(line.utf8), to: url)
        }
    }

    static func address(_ host: String, _ port: UInt16) -> (storage: sockaddr_storage, length: socklen_t, family: Int32)? {
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else { return nil }
        defer { freeaddrinfo(result) }
        var storage = sockaddr_storage()
        memcpy(&storage, info.pointee.ai_addr, Int(info.pointee.ai_addrlen))
        return (storage, info.pointee.ai_addrlen, info.pointee.ai_family)
    }

    static func udpSend(_ data: Data, host: String, port: UInt16) -> Bool {
        guard var a = address(host, port) else { return false }
        let fd = socket(a.family, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { Glibc.close(fd) }
        let sent = data.withUnsafeBytes { bytes in
            withUnsafePointer(to: &a.storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes.baseAddress, bytes.count, 0, $0, a.length) }
            }
        }
        return sent == data.count
    }

    static func tcpConnect(host: String, port: UInt16) -> Int32 {
        guard var a = address(host, port) else { return -1 }
        let fd = socket(a.family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let ok = withUnsafePointer(to: &a.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, a.length) }
        }
        if ok != 0 { Glibc.close(fd); return -1 }
        return fd
    }

    static func writeAll(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Foundation.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }

    /// A JSON POST through Foundation's URLSession; 2xx is success. 5 seconds at most.
    static func post(_ body: Data, to url: URL) -> Bool {
        var request = URLRequest(url: url, timeoutInterval: 5)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = body
        let done = DispatchSemaphore(value: 0)
        final class Box: @unchecked Sendable { var ok = false }
        let box = Box()
        URLSession.shared.dataTask(with: request) { _, response, error in
            if error == nil, let status = (response as? HTTPURLResponse)?.statusCode, (200..<300).contains(status) { box.ok = true }
            done.signal()
        }.resume()
        return done.wait(timeout: .now() + 6) == .success && box.ok
    }
}
