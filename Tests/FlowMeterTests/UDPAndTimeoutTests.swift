import Foundation
import TestSupport
import XCTest
@testable import FlowMeter

/// UDP flows, the activity timeout (Active and Idle), the flow timeout, other protocols.
final class UDPAndTimeoutTests: XCTestCase {
    let c = Conversation(clientPort: 5353, serverPort: 53)

    /// A query, its answer and a second query 1 ms later.
    func testUDPExchange() throws {
        var pcap = PcapWriter()
        pcap.add(c.udpFromClient(40), micros: t0 + 745_393)
        pcap.add(c.udpFromServer(120), micros: t0 + 745_693)
        pcap.add(c.udpFromClient(40), micros: t0 + 746_693)
        let (rows, summary) = try meter(pcap.bytes, self)
        XCTAssertEqual(summary.packets, 3)
        XCTAssertEqual(rows.count, 1)
        let f = rows[0]
        XCTAssertEqual(f["Flow ID"], "10.0.0.1-10.0.0.2-5353-53-17")
        XCTAssertEqual(f["Protocol"], "17")
        XCTAssertEqual(f["Timestamp"], "2023-03-19 15:02:18.745393")
        XCTAssertEqual(f["Flow Duration"], "1300")
        XCTAssertEqual([f["Total Fwd Packet"], f["Total Bwd packets"]], ["2", "1"])
        XCTAssertEqual([f["Total Length of Fwd Packet"], f["Total Length of Bwd Packet"]], ["80.0", "120.0"])
        XCTAssertEqual([f["Fwd Packet Length Mean"], f["Fwd Packet Length Std"]], ["40.0", "0.0"])
        // One backward packet: a standard deviation of 0, and no backward IAT (written 0).
        XCTAssertEqual([f["Bwd Packet Length Max"], f["Bwd Packet Length Std"]], ["120.0", "0.0"])
        XCTAssertEqual([f["Bwd IAT Total"], f["Bwd IAT Mean"], f["Bwd IAT Min"]], ["0", "0", "0"])
        XCTAssertEqual([f["Flow IAT Mean"], f["Flow IAT Max"], f["Flow IAT Min"]], ["650.0", "1000.0", "300.0"])
        assertClose(f.double("Flow IAT Std"), sampleStd([300, 1000]))
        XCTAssertEqual([f["Fwd IAT Total"], f["Fwd IAT Std"]], ["1300.0", "0.0"])
        assertClose(f.double("Flow Bytes/s"), 200 / 0.0013)
        XCTAssertEqual([f["Fwd Header Length"], f["Bwd Header Length"], f["Fwd Seg Size Min"]], ["16", "8", "8"])
        XCTAssertEqual([f["FWD Init Win Bytes"], f["Bwd Init Win Bytes"]], ["0", "0"])
        XCTAssertEqual(f["ACK Flag Count"], "0")
        XCTAssertEqual(f["Fwd Act Data Pkts"], "1")  // the first packet is never counted by the fork
        XCTAssertEqual(f["Down/Up Ratio"], "0.5")
        XCTAssertEqual([f["Subflow Fwd Packets"], f["Subflow Fwd Bytes"], f["Subflow Bwd Bytes"]], ["0", "26", "40"])
        XCTAssertEqual(f["Total TCP Flow Time"], "0")
    }

    /// Gaps over the 5 s activity timeout make Active and Idle periods; the flow stays one flow.
    func testActivityTimeoutSplitsActiveFromIdle() throws {
        var pcap = PcapWriter()
        for second in [0, 1, 2, 10, 11, 20] as [Int64] {
            pcap.add(c.udpFromClient(10), micros: t0 + second * 1_000_000)
        }
        let (rows, _) = try meter(pcap.bytes, self)
        XCTAssertEqual(rows.count, 1)
        let f = rows[0]
        XCTAssertEqual(f["Total Fwd Packet"], "6")
        XCTAssertEqual(f["Flow Duration"], "20000000")
        // Active 0-2 s and 10-11 s; idle 2-10 s and 11-20 s; the last period (20 s) is not closed.
        XCTAssertEqual([f["Active Mean"], f["Active Max"], f["Active Min"]], ["1500000.0", "2000000.0", "1000000.0"])
        assertClose(f.double("Active Std"), sampleStd([2e6, 1e6]))
        XCTAssertEqual([f["Idle Mean"], f["Idle Max"], f["Idle Min"]], ["8500000.0", "9000000.0", "8000000.0"])
        assertClose(f.double("Idle Std"), sampleStd([8e6, 9e6]))
        XCTAssertEqual(f["Flow IAT Max"], "9000000.0")
        XCTAssertEqual(f["Fwd IAT Total"], "2.0E7")
    }

    /// A UDP flow past the 120 s flow timeout: the first flow closes; the next one takes its
    /// direction from its own first packet (here the server's) but keeps the key's Flow ID.
    func testFlowTimeoutSplit() throws {
        var pcap = PcapWriter()
        pcap.add(c.udpFromClient(10), micros: t0)
        pcap.add(c.udpFromServer(20), micros: t0 + 60_000_000)
        pcap.add(c.udpFromServer(30), micros: t0 + 125_000_000)
        pcap.add(c.udpFromClient(40), micros: t0 + 130_000_000)
        let (rows, _) = try meter(pcap.bytes, self)
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(rows[0]["Flow Duration"], "60000000")
        XCTAssertEqual([rows[0]["Total Fwd Packet"], rows[0]["Total Bwd packets"]], ["1", "1"])
        let g = rows[1]
        XCTAssertEqual(g["Flow ID"], "10.0.0.1-10.0.0.2-5353-53-17")
        XCTAssertEqual([g["Src IP"], g["Src Port"], g["Dst IP"]], ["10.0.0.2", "53", "10.0.0.1"])
        XCTAssertEqual(g["Timestamp"], "2023-03-19 15:04:23")
        XCTAssertEqual([g["Total Fwd Packet"], g["Total Bwd packets"]], ["1", "1"])
        XCTAssertEqual([g["Total Length of Fwd Packet"], g["Total Length of Bwd Packet"]], ["30.0", "40.0"])
        XCTAssertEqual(g["Flow Duration"], "5000000")
    }

    /// A shorter flow timeout from the options.
    func testFlowTimeoutOption() throws {
        var pcap = PcapWriter()
        for second in 0..<10 as Range<Int64> { pcap.add(c.udpFromClient(10), micros: t0 + second * 1_000_000) }
        let (rows, _) = try meter(pcap.bytes, self, options: MeterOptions(flowTimeout: 3.5))
        // Flows start at 0, 4 and 8 s: 4, 4 and 2 packets.
        XCTAssertEqual(rows.map { $0["Total Fwd Packet"] }, ["4", "4", "2"])
    }

    /// ICMP is metered as protocol 0 with ports 0, as the fork meters any IPv4 packet that is not
    /// TCP or UDP; ARP is not IP and is only counted.
    func testOtherProtocolsAndNonIP() throws {
        var pcap = PcapWriter()
        let icmp: [UInt8] = [8, 0, 0, 0, 0, 1, 0, 1] + [UInt8](repeating: 0, count: 56)
        pcap.add(Frame.ethernet(Frame.ipv4("10.0.0.1", "10.0.0.2", protocol: 1, icmp)), micros: t0)
        pcap.add(Frame.ethernet(Frame.ipv4("10.0.0.2", "10.0.0.1", protocol: 1, icmp)), micros: t0 + 500)
        pcap.add(Frame.ethernet([UInt8](repeating: 0, count: 28), etherType: 0x0806), micros: t0 + 600)
        // A later fragment of a UDP datagram carries no ports: protocol 0 as well.
        pcap.add(Frame.ethernet(Frame.ipv4("10.0.0.1", "10.0.0.2", protocol: 17, [UInt8](repeating: 0, count: 40),
                                           fragmentOffset: 185)), micros: t0 + 700)
        let (rows, summary) = try meter(pcap.bytes, self)
        XCTAssertEqual(summary.packets, 4)
        XCTAssertEqual(summary.skipped, 1)
        XCTAssertEqual(summary.otherProtocol, 3)
        XCTAssertEqual(rows.count, 1)
        let f = rows[0]
        XCTAssertEqual(f["Flow ID"], "10.0.0.1-10.0.0.2-0-0-0")
        XCTAssertEqual([f["Src Port"], f["Dst Port"], f["Protocol"]], ["0", "0", "0"])
        XCTAssertEqual([f["Total Fwd Packet"], f["Total Bwd packets"]], ["2", "1"])
        XCTAssertEqual([f["Total Length of Fwd Packet"], f["Fwd Header Length"]], ["0.0", "0"])
        XCTAssertEqual(f["Flow Duration"], "700")
    }

    /// Many short flows, one every 100 ms of packet time, with a 10 s flow timeout: the table never
    /// holds more than the flows of the last 10 s (about 100), however long the capture.
    func testMemoryIsBoundedByTheFlowTimeout() throws {
        var pcap = PcapWriter()
        let flows = 3000
        for i in 0..<flows {
            let client = "10.1.\(i / 250).\(i % 250 + 1)"
            let conversation = Conversation(client: client, clientPort: UInt16(20000 + i % 1000), serverPort: 53)
            let start = t0 + Int64(i) * 100_000
            pcap.add(conversation.udpFromClient(30), micros: start)
            pcap.add(conversation.udpFromServer(90), micros: start + 2_000)
        }
        let (rows, summary) = try meter(pcap.bytes, self, options: MeterOptions(flowTimeout: 10))
        XCTAssertEqual(rows.count, flows)
        XCTAssertEqual(summary.packets, 2 * flows)
        // A flow leaves once its start is more than 10 s behind the clock: at most 101 flows start
        // within any 10 s window, plus the one being opened.
        XCTAssertLessThanOrEqual(summary.peakOpenFlows, 102)
        XCTAssertGreaterThanOrEqual(summary.peakOpenFlows, 100)
        // Written oldest first as they expire.
        XCTAssertEqual(rows.first?["Src IP"], "10.1.0.1")
    }
}
