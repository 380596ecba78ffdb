// `gpu-train bench`'s flow-meter part: packets/s of gpu-train's own flow meter (FlowMeter) on a
// capture file, one thread, every flow's CSV line formatted (and dropped).
import Common
import FlowMeter
import Foundation

/// What the flow-meter part of a bench run measures.
public struct MeterBenchSettings: Sendable, Equatable {
    /// Flows of the synthetic capture (all open at once), when no capture is given.
    public var flows: Int
    /// A capture to meter instead of the synthetic one.
    public var capture: String?
    public var repeats: Int
    public var seed: UInt64 = 1

    /// 100,000 concurrent flows, about 1.1 M packets (issue 21's size: at least 1 M packets).
    public static func standard(repeats: Int = 5, flows: Int = 100_000, capture: String? = nil) -> MeterBenchSettings {
        MeterBenchSettings(flows: flows, capture: capture, repeats: repeats)
    }

    /// A small capture, for tests (the figures mean nothing).
    public static func quick(repeats: Int = 1, capture: String? = nil) -> MeterBenchSettings {
        MeterBenchSettings(flows: 500, capture: capture, repeats: repeats)
    }
}

/// The flow meter's figures: medians over the repeats of one capture.
public struct MeterBenchmark: Codable, Equatable, Sendable {
    /// "synthetic: N flows, seed S" or the capture's path.
    public var capture: String
    public var packets: Int
    public var bytes: Int
    public var flows: Int
    public var packetsPerS: Double
    public var flowsPerS: Double
    public var megabytesPerS: Double
    /// Every sample's packets/s, in the order run.
    public var samplesPacketsPerS: [Double]
    /// The most flows open at once in the flow table.
    public var peakOpenFlows: Int
    /// The process's peak resident set (getrusage) right after the meter part, which runs first.
    public var processPeakRSSMB: Double
    public var threads: Int

    enum CodingKeys: String, CodingKey {
        case capture, packets, bytes, flows, packetsPerS = "packets_per_s", flowsPerS = "flows_per_s",
             megabytesPerS = "mb_per_s", samplesPacketsPerS = "samples_packets_per_s", peakOpenFlows = "peak_open_flows",
             processPeakRSSMB = "process_peak_rss_mb", threads
    }
}

/// A capture of `flows` flows all open at once, for timing a flow meter: Ethernet + IPv4, 85% TCP
/// (handshake, 2-6 data segments each way with ACKs, FIN both ways, the last ACK) and 15% UDP (a
/// request and a reply, one to three times), starting within the first 20 s and lasting tens of
/// seconds; clients 10.x.y.z, servers 172.16.x.y; seeded. The same traffic model as
/// scripts/make-bench-pcap.py (not the same bytes). Only writes a file.
public enum SyntheticCapture {
    /// One packet, before its frame is built: 24 bytes, so a million sort in tens of MB.
    private struct Packet {
        var time: Int64
        var flow: Int32
        var payload: UInt16
        var flags: UInt8
        /// Bit 0: from the server; bit 1: UDP.
        var kind: UInt8
    }

    private static let fin: UInt8 = 0x01, syn: UInt8 = 0x02, psh: UInt8 = 0x08, ack: UInt8 = 0x10

    /// Writes the capture; returns the number of packets.
    @discardableResult
    public static func write(to url: URL, flows: Int, seed: UInt64 = 1) throws -> Int {
        guard (1...16_000_000).contains(flows) else { throw BenchError.badSetting("a synthetic capture of \(flows) flows (1 to 16000000)") }
        var rng = SeededGenerator(seed: seed)
        func uniform(_ range: Range<Int64>) -> Int64 { Int64.random(in: range, using: &rng) }
        var packets: [Packet] = []
        packets.reserveCapacity(flows * 12)
        var servers = [UInt16](repeating: 0, count: flows)
        var serverPorts = [UInt16](repeating: 0, count: flows)
        let base: Int64 = 1_679_238_138_000_000
        for i in 0..<flows {
            var t = base + uniform(0..<20_000_000)
            servers[i] = UInt16(truncatingIfNeeded: uniform(0..<256) << 8 | uniform(1..<255))
            let f = Int32(i)
            func add(_ from: UInt8, _ flags: UInt8, _ payload: Int, udp: Bool = false) {
                packets.append(Packet(time: t, flow: f, payload: UInt16(payload), flags: flags, kind: from | (udp ? 2 : 0)))
            }
            if uniform(0..<100) < 85 {
                serverPorts[i] = [80, 443, 22, 6379, 8080][Int(uniform(0..<5))]
                add(0, syn, 0)
                t += uniform(50..<2000); add(1, syn | ack, 0)
                t += uniform(50..<2000); add(0, ack, 0)
                for _ in 0..<uniform(2..<7) {
                    t += uniform(200..<400_000); add(0, psh | ack, Int(uniform(1..<1400)))
                    t += uniform(50..<5000); add(1, ack, 0)
                    t += uniform(200..<400_000); add(1, psh | ack, Int(uniform(1..<1400)))
                }
                t += uniform(200..<400_000); add(0, fin | ack, 0)
                t += uniform(50..<2000); add(1, fin | ack, 0)
                t += uniform(50..<2000); add(0, ack, 0)
            } else {
                serverPorts[i] = [53, 123, 5353][Int(uniform(0..<3))]
                for _ in 0..<uniform(1..<4) {
                    t += uniform(1000..<3_000_000); add(0, 0, Int(uniform(20..<200)), udp: true)
                    t += uniform(100..<50_000); add(1, 0, Int(uniform(40..<600)), udp: true)
                }
            }
        }
        packets.sort { ($0.time, $0.flow) < ($1.time, $1.flow) }
        guard let stream = OutputStream(url: url, append: false) else {
            throw BenchError.cannotWrite(url.path)
        }
        stream.open()
        defer { stream.close() }
        var out: [UInt8] = []
        out.reserveCapacity(1 << 20)
        func le32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func be16(_ v: UInt16) { out.append(UInt8(v >> 8)); out.append(UInt8(v & 0xFF)) }
        func flush() throws {
            let n = out.withUnsafeBufferPointer { stream.write($0.baseAddress!, maxLength: $0.count) }
            guard n == out.count else { throw BenchError.cannotWrite(url.path) }
            out.removeAll(keepingCapacity: true)
        }
        le32(0xA1B2_C3D4); out += [2, 0, 4, 0]; le32(0); le32(0); le32(65535); le32(1)
        for p in packets {
            let udp = p.kind & 2 != 0, fromServer = p.kind & 1 != 0
            let transport = (udp ? 8 : 20) + Int(p.payload)
            let frame = 14 + 20 + transport
            le32(UInt32(p.time / 1_000_000)); le32(UInt32(p.time % 1_000_000)); le32(UInt32(frame)); le32(UInt32(frame))
            out += [0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00]
            out += [0x45, 0]; be16(UInt16(20 + transport)); out += [0, 0, 0, 0, 64, udp ? 17 : 6, 0, 0]
            let i = Int(p.flow)
            let client: [UInt8] = [10, UInt8((i >> 16) & 0xFF), UInt8((i >> 8) & 0xFF), UInt8(i & 0xFF)]
            let server: [UInt8] = [172, 16, UInt8(servers[i] >> 8), UInt8(servers[i] & 0xFF)]
            out += fromServer ? server + client : client + server
            let clientPort = UInt16(1024 + (i * 7919) % 60000), serverPort = serverPorts[i]
            be16(fromServer ? serverPort : clientPort); be16(fromServer ? clientPort : serverPort)
            if udp {
                be16(UInt16(transport)); be16(0)
            } else {
                le32(0x0100_0000); le32(0x0100_0000)  // sequence and acknowledgement numbers 1
                out += [5 << 4, p.flags]; be16(fromServer ? 65160 : 64240); be16(0); be16(0)
            }
            out += repeatElement(udp ? 0x62 : 0x61, count: Int(p.payload))
            if out.count >= 1 << 20 { try flush() }
        }
        try flush()
        return packets.count
    }
}

public enum BenchError: Error, CustomStringConvertible {
    case cannotWrite(String)
    case badSetting(String)
    public var description: String {
        switch self {
        case .cannotWrite(let path): return "bench: cannot write the synthetic capture to \(path)"
        case .badSetting(let what): return "bench: \(what) cannot be measured"
        }
    }
}

extension Benchmark {
    /// Meters the capture (`settings.capture`, or a synthetic one in a temporary file) `repeats`
    /// times after one warm-up, on this thread.
    public static func meter(settings: MeterBenchSettings, progress: (String) -> Void = { _ in }) throws -> MeterBenchmark {
        guard settings.repeats >= 1 else { throw BenchError.badSetting("the meter part with \(settings.repeats) repeats (at least 1)") }
        var temporary: URL?
        defer { if let temporary { try? FileManager.default.removeItem(at: temporary) } }
        let path: String
        if let capture = settings.capture {
            path = capture
        } else {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("gpu-train-bench-\(getpid())-\(UUID().uuidString).pcap")
            progress("flow meter: writing a synthetic capture of \(settings.flows) flows")
            temporary = url
            let count = try SyntheticCapture.write(to: url, flows: settings.flows, seed: settings.seed)
            progress("flow meter: \(count) packets in \(url.path)")
            path = url.path
        }
        var samples: [Double] = []
        var last = MeterSummary()
        for run in 0...settings.repeats {
            let summary = try meterFilesForBenchmark([path])
            if run > 0 { samples.append(summary.packetsPerSecond) }
            last = summary
        }
        let median = samples.sorted()[samples.count / 2]
        let seconds = Double(last.packets) / max(median, 1e-9)
        progress(String(format: "flow meter: %.0f packets/s (%d packets, %d flows, %d open at most)",
                        median, last.packets, last.flows, last.peakOpenFlows))
        return MeterBenchmark(capture: settings.capture ?? "synthetic: \(settings.flows) flows, seed \(settings.seed)",
                              packets: last.packets, bytes: last.bytes, flows: last.flows, packetsPerS: median,
                              flowsPerS: Double(last.flows) / seconds, megabytesPerS: Double(last.bytes) / seconds / 1e6,
                              samplesPacketsPerS: samples, peakOpenFlows: last.peakOpenFlows,
                              processPeakRSSMB: PeakRSS.processMegabytes, threads: 1)
    }
}
