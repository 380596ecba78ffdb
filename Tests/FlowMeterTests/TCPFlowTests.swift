import Foundation
import TestSupport
import XCTest
@testable import FlowMeter

/// A TCP connection metered packet by packet, every column checked against values worked out by
/// hand from the fork's definitions.
final class TCPFlowTests: XCTestCase {
    let c = Conversation()

    /// Handshake, 100 bytes up, 300 bytes down, FIN from both sides, the last ACK; then a SYN
    /// from the server side on the same ports, which closes the first flow (it is ready for
    /// termination) and opens a second one.
    func session() -> PcapWriter {
        var pcap = PcapWriter()
        pcap.add(c.tcpFromClient(Frame.syn, window: 64240, options: 20), micros: t0)                      // 1 fwd
        pcap.add(c.tcpFromServer(Frame.syn | Frame.ack, window: 65160, options: 20), micros: t0 + 100)   // 2 bwd
        pcap.add(c.tcpFromClient(Frame.ack, window: 502), micros: t0 + 250)                              // 3 fwd
        pcap.add(c.tcpFromClient(Frame.psh | Frame.ack, window: 502, payload: 100), micros: t0 + 400)    // 4 fwd
        pcap.add(c.tcpFromServer(Frame.ack, window: 509), micros: t0 + 1000)                             // 5 bwd
        pcap.add(c.tcpFromServer(Frame.psh | Frame.ack, window: 509, payload: 300), micros: t0 + 1500)   // 6 bwd
        pcap.add(c.tcpFromClient(Frame.ack, window: 501), micros: t0 + 1600)                             // 7 fwd
        pcap.add(c.tcpFromClient(Frame.fin | Frame.ack, window: 501), micros: t0 + 2000)                 // 8 fwd
        pcap.add(c.tcpFromServer(Frame.fin | Frame.ack, window: 508), micros: t0 + 2100)                 // 9 bwd
        pcap.add(c.tcpFromClient(Frame.ack, window: 501), micros: t0 + 2200)                             // 10 fwd
        pcap.add(c.tcpFromServer(Frame.syn, window: 1000, payload: 7), micros: t0 + 5_000)               // new flow
        return pcap
    }

    func testHandshakeDataBothWaysAndFIN() throws {
        let (rows, summary) = try meter(session().bytes, self)
        XCTAssertEqual(summary.packets, 11)
        XCTAssertEqual(rows.count, 2)
        let f = rows[0]
        XCTAssertEqual(f["Flow ID"], "10.0.0.1-10.0.0.2-40000-80-6")
        XCTAssertEqual(f["Src IP"], "10.0.0.1")
        XCTAssertEqual(f["Src Port"], "40000")
        XCTAssertEqual(f["Dst IP"], "10.0.0.2")
        XCTAssertEqual(f["Dst Port"], "80")
        XCTAssertEqual(f["Protocol"], "6")
        XCTAssertEqual(f["Timestamp"], "2023-03-19 15:02:18")
        XCTAssertEqual(f["Flow Duration"], "2200")
        XCTAssertEqual(f["Total Fwd Packet"], "6")
        XCTAssertEqual(f["Total Bwd packets"], "4")
        XCTAssertEqual(f["Total Length of Fwd Packet"], "100.0")
        XCTAssertEqual(f["Total Length of Bwd Packet"], "300.0")
        // Forward payloads 0 0 100 0 0 0; backward 0 0 300 0.
        XCTAssertEqual(f["Fwd Packet Length Max"], "100.0")
        XCTAssertEqual(f["Fwd Packet Length Min"], "0.0")
        assertClose(f.double("Fwd Packet Length Mean"), 100.0 / 6)
        assertClose(f.double("Fwd Packet Length Std"), sampleStd([0, 0, 100, 0, 0, 0]))
        XCTAssertEqual(f["Bwd Packet Length Max"], "300.0")
        XCTAssertEqual(f["Bwd Packet Length Mean"], "75.0")
        XCTAssertEqual(f["Bwd Packet Length Std"], "150.0")
        assertClose(f.double("Flow Bytes/s"), 400 / 0.0022)
        assertClose(f.double("Flow Packets/s"), 10 / 0.0022)
        let flowIAT: [Double] = [100, 150, 150, 600, 500, 100, 400, 100, 100]
        assertClose(f.double("Flow IAT Mean"), 2200.0 / 9)
        assertClose(f.double("Flow IAT Std"), sampleStd(flowIAT))
        XCTAssertEqual(f["Flow IAT Max"], "600.0")
        XCTAssertEqual(f["Flow IAT Min"], "100.0")
        // Forward at 0 250 400 1600 2000 2200; backward at 100 1000 1500 2100.
        XCTAssertEqual(f["Fwd IAT Total"], "2200.0")
        // 440, by the incremental mean the fork's statistics use: 439.99999999999994.
        assertClose(f.double("Fwd IAT Mean"), 440)
        assertClose(f.double("Fwd IAT Std"), sampleStd([250, 150, 1200, 400, 200]))
        XCTAssertEqual(f["Fwd IAT Max"], "1200.0")
        XCTAssertEqual(f["Fwd IAT Min"], "150.0")
        XCTAssertEqual(f["Bwd IAT Total"], "2000.0")
        assertClose(f.double("Bwd IAT Mean"), 2000.0 / 3)
        XCTAssertEqual(f["Bwd IAT Max"], "900.0")
        XCTAssertEqual(f["Bwd IAT Min"], "500.0")
        XCTAssertEqual([f["Fwd PSH Flags"], f["Bwd PSH Flags"], f["Fwd URG Flags"], f["Bwd URG Flags"]], ["1", "1", "0", "0"])
        XCTAssertEqual([f["Fwd RST Flags"], f["Bwd RST Flags"]], ["0", "0"])
        // TCP headers: the SYNs 40 bytes, the rest 32.
        XCTAssertEqual(f["Fwd Header Length"], "200")
        XCTAssertEqual(f["Bwd Header Length"], "136")
        assertClose(f.double("Fwd Packets/s"), 6 / 0.0022)
        assertClose(f.double("Bwd Packets/s"), 4 / 0.0022)
        XCTAssertEqual(f["Packet Length Min"], "0.0")
        XCTAssertEqual(f["Packet Length Max"], "300.0")
        XCTAssertEqual(f["Packet Length Mean"], "40.0")
        assertClose(f.double("Packet Length Std"), sampleStd([0, 0, 0, 100, 0, 300, 0, 0, 0, 0]))
        assertClose(f.double("Packet Length Variance"), 84000.0 / 9)
        XCTAssertEqual(["FIN", "SYN", "RST", "PSH", "ACK", "URG", "CWR", "ECE"].map { f["\($0) Flag Count"] },
                       ["2", "2", "0", "2", "9", "0", "0", "0"])
        XCTAssertEqual(f["Down/Up Ratio"], "0.6666666666666666")
        XCTAssertEqual(f["Average Packet Size"], "40.0")
        XCTAssertEqual(f["Fwd Segment Size Avg"], "16.666666666666668")
        XCTAssertEqual(f["Bwd Segment Size Avg"], "75.0")
        for column in ["Fwd Bytes/Bulk Avg", "Fwd Packet/Bulk Avg", "Fwd Bulk Rate Avg",
                       "Bwd Bytes/Bulk Avg", "Bwd Packet/Bulk Avg", "Bwd Bulk Rate Avg"] {
            XCTAssertEqual(f[column], "0", column)
        }
        // The fork counts a subflow per packet (10): totals divided by 10, in integers.
        XCTAssertEqual([f["Subflow Fwd Packets"], f["Subflow Fwd Bytes"], f["Subflow Bwd Packets"], f["Subflow Bwd Bytes"]],
                       ["0", "10", "0", "30"])
        XCTAssertEqual(f["FWD Init Win Bytes"], "64240")
        // The fork keeps the last backward packet's window (the FIN's 508), not the SYN-ACK's.
        XCTAssertEqual(f["Bwd Init Win Bytes"], "508")
        XCTAssertEqual(f["Fwd Act Data Pkts"], "1")
        XCTAssertEqual(f["Fwd Seg Size Min"], "32")
        for column in ["Active Mean", "Active Std", "Active Max", "Active Min", "Idle Mean", "Idle Std", "Idle Max", "Idle Min"] {
            XCTAssertEqual(f[column], "0", column)
        }
        XCTAssertEqual(f["Total TCP Flow Time"], "2200")
        XCTAssertEqual(f["Label"], "NeedManualLabel")

        // The SYN from the server opens a fresh flow in its own direction under the key's Flow ID.
        let g = rows[1]
        XCTAssertEqual(g["Flow ID"], "10.0.0.1-10.0.0.2-40000-80-6")
        XCTAssertEqual(g["Src IP"], "10.0.0.2")
        XCTAssertEqual(g["Src Port"], "80")
        XCTAssertEqual(g["Timestamp"], "2023-03-19 15:02:18.005")
        XCTAssertEqual(g["Flow Duration"], "0")
        XCTAssertEqual(g["Total Fwd Packet"], "1")
        XCTAssertEqual(g["Total Bwd packets"], "0")
        XCTAssertEqual(g["Total Length of Bwd Packet"], "0.0")
        XCTAssertEqual(g["Bwd Packet Length Max"], "0")
        XCTAssertEqual(g["Fwd Packet Length Std"], "0.0")
        XCTAssertEqual(g["Flow Bytes/s"], "Infinity")
        XCTAssertEqual(g["Flow Packets/s"], "Infinity")
        XCTAssertEqual([g["Flow IAT Mean"], g["Flow IAT Std"], g["Flow IAT Max"], g["Flow IAT Min"]], ["NaN", "NaN", "NaN", "NaN"])
        XCTAssertEqual(g["Fwd Packets/s"], "0.0")
        XCTAssertEqual(g["FWD Init Win Bytes"], "1000")
        XCTAssertEqual(g["Fwd Seg Size Min"], "32")
        XCTAssertEqual(g["Subflow Fwd Bytes"], "7")
        XCTAssertEqual(g["Total TCP Flow Time"], "0")
    }

    /// The same session in a pcapng file gives the same lines.
    func testPcapngGivesTheSameFlows() throws {
        var ng = PcapngWriter()
        var pcap = PcapWriter()
        for (frame, micros) in sessionFrames() {
            ng.add(frame, micros: micros)
            pcap.add(frame, micros: micros)
        }
        let (fromPcap, _) = try meter(pcap.bytes, self)
        let (fromNg, summary) = try meter(ng.bytes, self, name: "capture.pcapng")
        XCTAssertEqual(summary.packets, 11)
        XCTAssertEqual(fromNg.map(\.fields), fromPcap.map(\.fields))
        XCTAssertEqual(fromNg.count, 2)
    }

    func sessionFrames() -> [([UInt8], Int64)] {
        // Re-read the classic file's records: 24-byte header, then 16-byte record headers.
        let bytes = session().bytes
        var frames: [([UInt8], Int64)] = []
        var offset = 24
        func le32(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 }
        while offset < bytes.count {
            let micros = Int64(le32(offset)) * 1_000_000 + Int64(le32(offset + 4))
            let length = le32(offset + 8)
            frames.append((Array(bytes[(offset + 16)..<(offset + 16 + length)]), micros))
            offset += 16 + length
        }
        return frames
    }

    /// A SYN answered by a RST: the flow is ready for termination; a later ACK still joins it, and
    /// the next SYN starts a new flow.
    func testRST() throws {
        var pcap = PcapWriter()
        pcap.add(c.tcpFromClient(Frame.syn, window: 64240, options: 20), micros: t0)
        pcap.add(c.tcpFromServer(Frame.rst | Frame.ack, window: 0, options: 0), micros: t0 + 50)
        pcap.add(c.tcpFromClient(Frame.ack, window: 502, options: 0), micros: t0 + 70)
        pcap.add(c.tcpFromClient(Frame.syn, window: 64240, options: 20), micros: t0 + 1_000_000)
        let (rows, _) = try meter(pcap.bytes, self)
        XCTAssertEqual(rows.count, 2)
        let f = rows[0]
        XCTAssertEqual(f["Flow Duration"], "70")
        XCTAssertEqual(f["Total Fwd Packet"], "2")
        XCTAssertEqual(f["Total Bwd packets"], "1")
        XCTAssertEqual([f["Fwd RST Flags"], f["Bwd RST Flags"], f["RST Flag Count"]], ["0", "1", "1"])
        XCTAssertEqual([f["SYN Flag Count"], f["ACK Flag Count"]], ["1", "2"])
        XCTAssertEqual(f["Fwd Header Length"], "60")
        XCTAssertEqual(f["Bwd Header Length"], "20")
        XCTAssertEqual(f["Bwd Init Win Bytes"], "0")
        XCTAssertEqual(f["Fwd Seg Size Min"], "20")
        XCTAssertEqual(f["Bwd IAT Total"], "0")
        XCTAssertEqual(f["Fwd IAT Total"], "70.0")
        XCTAssertEqual(f["Total TCP Flow Time"], "70")
        let g = rows[1]
        XCTAssertEqual(g["Src IP"], "10.0.0.1")
        XCTAssertEqual(g["Timestamp"], "2023-03-19 15:02:19")
        XCTAssertEqual(g["Total Fwd Packet"], "1")
    }

    /// A TCP connection quiet past the flow timeout: the first flow closes at the timeout and the
    /// next packet, from the server, continues the connection in the client's direction with the
    /// Total TCP Flow Time running on (10 s, then 10 s + the 120 s gap).
    func testFlowTimeoutContinuesTheConnection() throws {
        var pcap = PcapWriter()
        pcap.add(c.tcpFromClient(Frame.syn, window: 64240, options: 20), micros: t0)
        pcap.add(c.tcpFromServer(Frame.ack, window: 700), micros: t0 + 10_000_000)
        // Another conversation moves the clock past the timeout, so the first flow is swept out.
        pcap.add(Conversation(client: "10.0.0.9").udpFromClient(10), micros: t0 + 125_000_000)
        pcap.add(c.tcpFromServer(Frame.ack, window: 800, payload: 5), micros: t0 + 130_000_000)
        let (rows, summary) = try meter(pcap.bytes, self)
        XCTAssertEqual(summary.flows, 3)
        let first = rows[0], continued = rows.first { $0["Timestamp"] == "2023-03-19 15:04:28" }
        XCTAssertEqual(first["Total TCP Flow Time"], "10000000")
        XCTAssertEqual(first["Flow Duration"], "10000000")
        let next = try XCTUnwrap(continued)
        XCTAssertEqual(next["Flow ID"], "10.0.0.1-10.0.0.2-40000-80-6")
        XCTAssertEqual(next["Src IP"], "10.0.0.1")
        XCTAssertEqual(next["Total Fwd Packet"], "0")
        XCTAssertEqual(next["Total Bwd packets"], "1")
        XCTAssertEqual(next["FWD Init Win Bytes"], "0")
        XCTAssertEqual(next["Bwd Init Win Bytes"], "800")
        XCTAssertEqual(next["Fwd Seg Size Min"], "0")
        XCTAssertEqual(next["Total TCP Flow Time"], "130000000")
    }

    /// The same with no other traffic: the late packet itself moves the clock past the timeout.
    func testFlowTimeoutWithNoOtherTraffic() throws {
        var pcap = PcapWriter()
        pcap.add(c.tcpFromClient(Frame.syn, window: 64240, options: 20), micros: t0)
        pcap.add(c.tcpFromServer(Frame.ack, window: 700), micros: t0 + 10_000_000)
        pcap.add(c.tcpFromServer(Frame.ack, window: 800, payload: 5), micros: t0 + 130_000_000)
        let (rows, _) = try meter(pcap.bytes, self)
        XCTAssertEqual(rows.map { $0["Total TCP Flow Time"] }, ["10000000", "130000000"])
        XCTAssertEqual(rows.map { $0["Src IP"] }, ["10.0.0.1", "10.0.0.1"])
    }

    /// A connection quiet for 5 minutes after its flow closed is still continued (its key is
    /// remembered 10 minutes by default); with no memory of closed keys, the late packet opens a
    /// fresh flow in its own direction.
    func testClosedKeyMemory() throws {
        var pcap = PcapWriter()
        pcap.add(c.tcpFromClient(Frame.syn, window: 64240, options: 20), micros: t0)
        pcap.add(c.tcpFromServer(Frame.ack, window: 700), micros: t0 + 10_000_000)
        // Other traffic moves the clock on: the flow closes at 120 s, its key is then remembered.
        pcap.add(Conversation(client: "10.0.0.9").udpFromClient(10), micros: t0 + 200_000_000)
        pcap.add(Conversation(client: "10.0.0.9").udpFromClient(10), micros: t0 + 400_000_000)
        pcap.add(c.tcpFromServer(Frame.ack, window: 800, payload: 5), micros: t0 + 430_000_000)
        func tcpOnly(_ rows: [Row]) -> [Row] { rows.filter { $0["Protocol"] == "6" } }
        let remembered = tcpOnly(try meter(pcap.bytes, self).0)
        XCTAssertEqual(remembered.map { $0["Src IP"] }, ["10.0.0.1", "10.0.0.1"])
        XCTAssertEqual(remembered.map { $0["Total TCP Flow Time"] }, ["10000000", "430000000"])
        let forgotten = tcpOnly(try meter(pcap.bytes, self, options: MeterOptions(closedKeyMemory: 0)).0)
        XCTAssertEqual(forgotten.map { $0["Src IP"] }, ["10.0.0.1", "10.0.0.2"])
        XCTAssertEqual(forgotten.map { $0["Flow ID"] }, ["10.0.0.1-10.0.0.2-40000-80-6", "10.0.0.2-10.0.0.1-80-40000-6"])
        XCTAssertEqual(forgotten.map { $0["Total TCP Flow Time"] }, ["10000000", "0"])
    }
}
