import Foundation

/// The raw values of one flow that its window context is computed from, besides its identifiers.
public struct WindowFlow: Sendable, Equatable {
    /// Seconds since 1970 (the flow's `Timestamp`); NaN when unreadable: the flow then counts at
    /// the latest time seen so far.
    public var time: Double
    /// Packets from the destination back to the source (`Total Bwd packets`).
    public var backwardPackets: Float
    /// Payload bytes each way (`Total Length of Fwd Packet`, `Total Length of Bwd Packet`).
    public var forwardBytes: Float
    public var backwardBytes: Float

    public init(time: Double, backwardPackets: Float, forwardBytes: Float, backwardBytes: Float) {
        self.time = time
        self.backwardPackets = backwardPackets
        self.forwardBytes = forwardBytes
        self.backwardBytes = backwardBytes
    }

    /// A failed connection: no packet came back, or no payload byte went either way (a refused or
    /// unanswered TCP handshake, a probe, a reset before any data). Missing values count as 0.
    /// The protocol is an identifier and is not looked at.
    public var failed: Bool {
        func known(_ v: Float) -> Float { v.isNaN ? 0 : v }
        return known(backwardPackets) <= 0 || known(forwardBytes) + known(backwardBytes) <= 0
    }

    /// Payload bytes both ways (missing values count as 0).
    public var bytes: Double {
        Double(forwardBytes.isNaN ? 0 : forwardBytes) + Double(backwardBytes.isNaN ? 0 : backwardBytes)
    }
}

/// Window context of each flow, computed from the flows before it in the stream, as Kitsune's
/// AfterImage does: exponentially damped statistics per source host and per destination service
/// (destination host, port and protocol), at the time scales `timeScales`.
///
/// An attack made of ordinary flows (an SSH password guess, an HTTP request for a missing path, a
/// port probe) is a normal flow on its own; only the burst shows it. For each flow, at each time
/// scale tau, before the flow itself is counted (no look-ahead, and the flow's own values are not
/// repeated in its context):
/// - `Src Flows/s`: the source's damped flow count divided by tau (its recent rate);
/// - `Src Dst Ports`: the distinct destination ports (port and protocol) the source used, each
///   weighted exp(-age/tau) by when the source last used it (at most `maxPortsPerSource` remembered,
///   the least recently used forgotten first);
/// - `Src Failed Share`: the damped share of the source's flows that failed (`WindowFlow.failed`);
/// - `Svc Flows/s`, `Svc Failed Share`, `Svc Bytes/Flow`: the same for the destination service,
///   with its damped mean of payload bytes per flow.
/// A key with no weight yet has 0 in every feature. Until the stream has been watched for tau
/// (from its first flow's time), the features at scale tau are missing (NaN): the context before
/// the stream started is unknown, and a cold start is not a quiet network.
///
/// Damping: each key's sums are multiplied by exp(-dt/tau) where dt is the time since the key was
/// last updated; flows come in the order they are written (when they close), so timestamps can run
/// slightly backwards: dt is never negative (an older flow counts as arriving at the key's latest
/// time). Identifiers only choose the key (hashed); their values never enter a feature.
///
/// Memory is bounded: each key table holds at most `maxKeys` keys; when a new key would exceed it,
/// keys idle for more than `idleSeconds` are dropped, and if that is not enough, the least recently
/// seen keys until the table is half full. Results depend only on the sequence of flows, never on
/// how they are batched.
public struct WindowFeatures: Sendable {
    /// Time scales in seconds: a burst (1 s: scans, floods), a run (10 s: a password-guessing or
    /// path-probing session), a minute (60 s: a slow, sustained one). Longer scales would carry a
    /// source's state across unrelated activity and need a longer warm-up in every file.
    public static let timeScales: [Double] = [1, 10, 60]

    /// The kinds of window feature, each computed at every time scale.
    static let kinds = ["Src Flows/s", "Src Dst Ports", "Src Failed Share", "Svc Flows/s", "Svc Failed Share", "Svc Bytes/Flow"]

    /// The window feature names, appended to a model's feature list when they are on: kind by kind,
    /// each at every time scale (`Window Src Flows/s 1s`, ...).
    public static let names: [String] = kinds.flatMap { kind in
        timeScales.map { "Window \(kind) \(Int($0))s" }
    }

    /// Whether `name` is a window feature (computed, never read from a column).
    public static func isWindowFeature(_ name: String) -> Bool { nameIndex[name] != nil }

    static let nameIndex: [String: Int] = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })

    /// Whether a feature list asks for window features.
    public static func isUsed(by features: [String]) -> Bool { features.contains(where: isWindowFeature) }

    /// Keys idle this long are dropped first when a table is full: exp(-10) of the longest scale is left.
    public static let idleSeconds = 10 * (timeScales.last ?? 60)
    /// At most this many keys per table, and ports per source: about 0.6 KB per source and 0.1 KB per
    /// service at most, so the state stays under 50 MB however many hosts a stream shows.
    public static let defaultMaxKeys = 65_536
    /// A scan past this many ports in the window already reads far beyond any normal source.
    public static let defaultMaxPortsPerSource = 32

    public let maxKeys: Int
    public let maxPortsPerSource: Int

    /// Damped sums of one key at the three scales.
    struct Stats {
        var last: Double
        var weight = SIMD3<Double>(repeating: 0)
        var failed = SIMD3<Double>(repeating: 0)
        /// Service keys only: damped payload bytes.
        var bytes = SIMD3<Double>(repeating: 0)
        /// Source keys only: destination ports (hashed) and when each was last used.
        var ports: [(port: UInt64, last: Double)] = []

        init(last: Double) { self.last = last }

        /// Decays the sums to time `t` (never backwards).
        mutating func decay(to t: Double) {
            let dt = t - last
            guard dt > 0 else { return }
            let f = WindowFeatures.factors(dt)
            weight *= f; failed *= f; bytes *= f
            last = t
        }
    }

    private var sources: [UInt64: Stats] = [:]
    private var services: [UInt64: Stats] = [:]
    /// The latest flow time seen (the clock for flows without a readable time).
    public private(set) var now = -Double.infinity
    /// The first flow time seen: how long the stream has been watched decides which scales are known.
    public private(set) var start: Double?
    /// Keys dropped to keep the tables bounded.
    public private(set) var evictions = 0

    public init(maxKeys: Int = WindowFeatures.defaultMaxKeys, maxPortsPerSource: Int = WindowFeatures.defaultMaxPortsPerSource) {
        self.maxKeys = max(2, maxKeys)
        self.maxPortsPerSource = max(1, maxPortsPerSource)
    }

    /// How many keys each table holds now.
    public var sourceCount: Int { sources.count }
    public var serviceCount: Int { services.count }

    static let inverseScales = SIMD3<Double>(1 / timeScales[0], 1 / timeScales[1], 1 / timeScales[2])

    /// exp(-dt / tau) at each scale.
    static func factors(_ dt: Double) -> SIMD3<Double> {
        let x = -dt * inverseScales
        return SIMD3(exp(x[0]), exp(x[1]), exp(x[2]))
    }

    /// The context of the next flow (`names.count` values, in the order of `names`) from the flows
    /// before it, then counts the flow. `source`, `service` and `port` are keys (hashes of the
    /// identifiers, `WindowKey`).
    public mutating func next(source: UInt64, service: UInt64, port: UInt64, flow: WindowFlow,
                              into out: UnsafeMutablePointer<Float>) {
        let t: Double
        if flow.time.isFinite {
            t = flow.time
            if t > now { now = t }
            if start == nil { start = t }
        } else {
            t = now.isFinite ? now : 0
        }
        defer {
            // Warm-up: before a stream has been watched for tau, what happened in the last tau is
            // unknown (the flows before the stream's start were not seen), not zero: missing values,
            // which the model's transform fills with the baseline median.
            let watched = start.map { now - $0 } ?? 0
            for (s, tau) in Self.timeScales.enumerated() where watched < tau {
                for k in 0..<Self.kinds.count { out[k * 3 + s] = .nan }
            }
        }
        let scales = 3
        let failed: Double = flow.failed ? 1 : 0
        let bytes = flow.bytes

        // Source: read, then count. (Taken out of the table while it changes, so its port list is not copied.)
        if sources[source] == nil {
            let dropped = Self.makeRoom(in: &sources, at: t, maxKeys: maxKeys)
            evictions += dropped
        }
        var src = sources.removeValue(forKey: source) ?? Stats(last: t)
        src.decay(to: t)
        let at = src.last
        var ports = SIMD3<Double>(repeating: 0)
        for p in src.ports { ports += Self.factors(at - p.last) }
        for s in 0..<scales {
            out[0 * scales + s] = Float(src.weight[s] * Self.inverseScales[s])
            out[1 * scales + s] = Float(ports[s])
            out[2 * scales + s] = src.weight[s] > 0 ? Float(src.failed[s] / src.weight[s]) : 0
        }
        src.weight += 1
        src.failed += failed
        if let i = src.ports.firstIndex(where: { $0.port == port }) {
            src.ports[i].last = at
        } else {
            if src.ports.count >= maxPortsPerSource, let oldest = src.ports.indices.min(by: { src.ports[$0].last < src.ports[$1].last }) {
                src.ports.remove(at: oldest)
            }
            src.ports.append((port, at))
        }
        sources[source] = src

        // Service: read, then count.
        if services[service] == nil {
            let dropped = Self.makeRoom(in: &services, at: t, maxKeys: maxKeys)
            evictions += dropped
        }
        var svc = services.removeValue(forKey: service) ?? Stats(last: t)
        svc.decay(to: t)
        for s in 0..<scales {
            out[3 * scales + s] = Float(svc.weight[s] * Self.inverseScales[s])
            out[4 * scales + s] = svc.weight[s] > 0 ? Float(svc.failed[s] / svc.weight[s]) : 0
            out[5 * scales + s] = svc.weight[s] > 0 ? Float(svc.bytes[s] / svc.weight[s]) : 0
        }
        svc.weight += 1
        svc.failed += failed
        svc.bytes += bytes
        services[service] = svc
    }

    /// `next` from identifier texts (as a flow meter writes them; surrounding spaces ignored).
    public mutating func next(sourceIP: String, destinationIP: String, destinationPort: String, protocolNumber: String,
                              flow: WindowFlow) -> [Float] {
        var out = [Float](repeating: 0, count: Self.names.count)
        let keys = WindowKey.keys(sourceIP: sourceIP, destinationIP: destinationIP, destinationPort: destinationPort,
                                  protocolNumber: protocolNumber)
        out.withUnsafeMutableBufferPointer { next(source: keys.source, service: keys.service, port: keys.port, flow: flow, into: $0.baseAddress!) }
        return out
    }

    /// `next` for a flow given by its identifiers as text (a flow meter in the process, rather than a
    /// file): the same keys and time as `FlowLoader` and `FlowStreamReader` take from its columns.
    public mutating func next(_ identifiers: FlowIdentifiers, backwardPackets: Float, forwardBytes: Float,
                              backwardBytes: Float) -> [Float] {
        next(sourceIP: identifiers.sourceIP, destinationIP: identifiers.destinationIP, destinationPort: identifiers.destinationPort,
             protocolNumber: identifiers.protocolNumber,
             flow: WindowFlow(time: FlowTimestamp.parse(identifiers.timestamp) ?? .nan, backwardPackets: backwardPackets,
                              forwardBytes: forwardBytes, backwardBytes: backwardBytes))
    }

    /// Before a new key goes into a full `table`: drops keys idle for `idleSeconds`, then if needed the
    /// least recently seen (ties by key, so the result never depends on the table's order) down to
    /// half of `maxKeys`. Returns how many were dropped.
    static func makeRoom(in table: inout [UInt64: Stats], at t: Double, maxKeys: Int) -> Int {
        guard table.count >= maxKeys else { return 0 }
        let before = table.count
        table = table.filter { t - $0.value.last <= idleSeconds }
        if table.count >= maxKeys {
            let keep = maxKeys / 2
            let order = table.map { ($0.key, $0.value.last) }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
            for (key, _) in order[keep...] { table[key] = nil }
        }
        return before - table.count
    }
}

/// Hashes of identifier text that group flows for `WindowFeatures`: a 64-bit FNV-1a of the bytes,
/// with surrounding spaces and quotes trimmed, so the same text gives the same key in every reader.
public enum WindowKey {
    static let offset: UInt64 = 0xCBF2_9CE4_8422_2325
    static let prime: UInt64 = 0x100_0000_01B3

    /// Mixes bytes `s..<e` of `p` (trimmed) into `h`, then a separator.
    @inline(__always)
    static func mix(_ h: inout UInt64, _ p: UnsafePointer<UInt8>, _ s0: Int, _ e0: Int) {
        var s = s0, e = e0
        while s < e && (p[s] == 0x20 || p[s] == 0x09 || p[s] == 0x22) { s += 1 }
        while e > s && (p[e - 1] == 0x20 || p[e - 1] == 0x09 || p[e - 1] == 0x22) { e -= 1 }
        for i in s..<e { h = (h ^ UInt64(p[i])) &* prime }
        h = (h ^ 0xFF) &* prime
    }

    static func mix(_ h: inout UInt64, _ text: String) {
        let bytes = Array(text.utf8) + [0]
        bytes.withUnsafeBufferPointer { mix(&h, $0.baseAddress!, 0, $0.count - 1) }
    }

    /// Keys from byte ranges of a record: source host; service (destination host, port, protocol); port.
    static func keys(_ p: UnsafePointer<UInt8>, source: (Int, Int), destination: (Int, Int), port: (Int, Int),
                     protocolNumber: (Int, Int)) -> (source: UInt64, service: UInt64, port: UInt64) {
        var src = offset, svc = offset, prt = offset
        mix(&src, p, source.0, source.1)
        mix(&svc, p, destination.0, destination.1)
        mix(&svc, p, port.0, port.1)
        mix(&svc, p, protocolNumber.0, protocolNumber.1)
        mix(&prt, p, port.0, port.1)
        mix(&prt, p, protocolNumber.0, protocolNumber.1)
        return (src, svc, prt)
    }

    public static func keys(sourceIP: String, destinationIP: String, destinationPort: String,
                            protocolNumber: String) -> (source: UInt64, service: UInt64, port: UInt64) {
        var src = offset, svc = offset, prt = offset
        mix(&src, sourceIP)
        mix(&svc, destinationIP); mix(&svc, destinationPort); mix(&svc, protocolNumber)
        mix(&prt, destinationPort); mix(&prt, protocolNumber)
        return (src, svc, prt)
    }
}
