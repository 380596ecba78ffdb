import Foundation
import TestSupport

/// Traffic for the CLI tests of detect --pcap and train --baseline on captures, written with
/// TestSupport's `PcapWriter` and `Frame`: IPv4 over Ethernet, TCP and UDP (checksums left zero:
/// the meter does not check them).
enum PcapTraffic {
    static let fin: UInt8 = 0x01, syn: UInt8 = 0x02, rst: UInt8 = 0x04, psh: UInt8 = 0x08, ack: UInt8 = 0x10

    static func micros(_ seconds: Double) -> Int64 { Int64((seconds * 1_000_000).rounded()) }

    static func tcp(_ w: inout PcapWriter, _ time: Double, _ src: String, _ sport: UInt16, _ dst: String, _ dport: UInt16,
                    flags: UInt8, payload: Int = 0, window: UInt16 = 64240) {
        w.add(Frame.ethernet(Frame.ipv4(src, dst, protocol: 6, Frame.tcp(sport, dport, flags: flags, window: window, payload: payload))),
              micros: micros(time))
    }

    static func udp(_ w: inout PcapWriter, _ time: Double, _ src: String, _ sport: UInt16, _ dst: String, _ dport: UInt16, payload: Int) {
        w.add(Frame.ethernet(Frame.ipv4(src, dst, protocol: 17, Frame.udp(sport, dport, payload: payload))), micros: micros(time))
    }

    /// Normal traffic of one period: HTTP requests (handshake, request, response, FIN both ways)
    /// and DNS lookups from a few clients, `count` exchanges from `start`, seeded.
    static func normal(count: Int, start: Double, seed: UInt64) -> Data {
        var w = PcapWriter()
        var state = seed
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        for k in 0..<count {
            let t = start + Double(k) * 0.7
            let client = "10.1.1.\(2 + next(5))", port = UInt16(30000 + next(20000))
            if next(2) == 0 {
                let q = 30 + next(20), a = 90 + next(60)
                udp(&w, t, client, port, "10.96.0.10", 53, payload: q)
                udp(&w, t + 0.0004 + Double(next(100)) / 1_000_000, "10.96.0.10", 53, client, port, payload: a)
            } else {
                let server = "10.1.2.7", rtt = 0.0002 + Double(next(100)) / 1_000_000
                let request = 200 + next(300), response = 1000 + next(3000), think = 0.01 + Double(next(50)) / 1000
                tcp(&w, t, client, port, server, 8080, flags: syn)
                tcp(&w, t + rtt, server, 8080, client, port, flags: syn | ack, window: 65160)
                tcp(&w, t + 2 * rtt, client, port, server, 8080, flags: ack)
                tcp(&w, t + 2 * rtt + 0.0001, client, port, server, 8080, flags: psh | ack, payload: request)
                tcp(&w, t + 3 * rtt + think, server, 8080, client, port, flags: psh | ack, payload: response)
                tcp(&w, t + 4 * rtt + think, client, port, server, 8080, flags: ack)
                tcp(&w, t + 4 * rtt + think + 0.001, client, port, server, 8080, flags: fin | ack)
                tcp(&w, t + 5 * rtt + think + 0.001, server, 8080, client, port, flags: fin | ack)
                tcp(&w, t + 6 * rtt + think + 0.001, client, port, server, 8080, flags: ack)
            }
        }
        return Data(w.bytes)
    }

    /// A SYN scan: one SYN to each of `count` ports of one host, each answered by a reset.
    static func scan(count: Int, start: Double) -> Data {
        var w = PcapWriter()
        for k in 0..<count {
            let t = start + Double(k) * 0.01, port = UInt16(1 + k * 7)
            tcp(&w, t, "10.9.9.9", 40000, "10.1.2.7", port, flags: syn, window: 1024)
            tcp(&w, t + 0.0001, "10.1.2.7", port, "10.9.9.9", 40000, flags: rst | ack, window: 0)
        }
        return Data(w.bytes)
    }
}
