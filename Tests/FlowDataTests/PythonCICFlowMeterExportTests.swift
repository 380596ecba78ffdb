import Foundation
import XCTest
@testable import FlowData

/// A real export of the Python `cicflowmeter` package (0.5.0) of a capture whose packet times are
/// known (tools/make_python_cicflowmeter_fixture.py): its time columns, written in seconds, are read
/// as the microseconds those packet times give (issue 20, item 27).
final class PythonCICFlowMeterExportTests: XCTestCase {
    static let fixture = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent()
        .appendingPathComponent("Fixtures/python-cicflowmeter-0.5.0.csv")

    /// The capture, in seconds after its first packet:
    /// - row 0, TCP 127.0.0.1:40000 -> 127.0.0.2:8080: forward 0, 0.020, 0.100, 0.400, 0.420;
    ///   backward 0.010, 0.350, 0.410.
    /// - row 1, UDP 127.0.0.1:50000 -> 127.0.0.2:53: forward 1.000, 1.500; backward 1.200.
    /// cicflowmeter 0.5.0 counts a flow's first packet twice (Flow() keeps it, then add_packet()
    /// adds it again), hence 6 and 3 forward packets, a zero in every minimum IAT that includes
    /// the first packet, and means over one gap more than the capture has.
    func testTimesAreTheCapturesPacketTimesInMicroseconds() throws {
        let extra = ["Fwd IAT Mean", "Fwd IAT Max", "Fwd IAT Min", "Bwd IAT Mean", "Bwd IAT Max", "Bwd IAT Min"]
        let table = try FlowLoader.load(Self.fixture,
                                        options: FlowLoadOptions(features: FeatureSet.default + extra, requireLabels: false))
        XCTAssertEqual(table.dialect, .pythonCICFlowMeter)
        XCTAssertEqual(table.rowCount, 2)
        XCTAssertTrue(table.report.notes.contains(FlowDialect.pythonVersionWarning), "\(table.report.notes)")
        func value(_ row: Int, _ name: String) throws -> Double {
            Double(table.value(row: row, feature: try XCTUnwrap(table.featureNames.firstIndex(of: name), name)))
        }
        let expected: [(row: Int, name: String, microseconds: Double)] = [
            (0, "Flow Duration", 420_000),   // 0 -> 0.420
            (0, "Flow IAT Max", 250_000),    // 0.100 -> 0.350, the longest silence
            (0, "Flow IAT Min", 0),          // the first packet twice
            (0, "Flow IAT Mean", 52_500),    // 0.420 over 8 gaps
            (0, "Fwd IAT Total", 420_000),
            (0, "Fwd IAT Max", 300_000),     // 0.100 -> 0.400
            (0, "Fwd IAT Mean", 84_000),     // 0.420 over 5 gaps
            (0, "Bwd IAT Total", 400_000),   // 0.010 -> 0.410
            (0, "Bwd IAT Max", 340_000),     // 0.010 -> 0.350
            (0, "Bwd IAT Min", 60_000),      // 0.350 -> 0.410
            (0, "Bwd IAT Mean", 200_000),
            (1, "Flow Duration", 500_000),   // 1.000 -> 1.500
            (1, "Flow IAT Max", 300_000),    // 1.200 -> 1.500
            (1, "Flow IAT Mean", 500_000 / 3),
            (1, "Fwd IAT Total", 500_000),
            (1, "Fwd IAT Max", 500_000),
            (1, "Fwd IAT Mean", 250_000),
            (1, "Bwd IAT Total", 0),         // one backward packet
        ]
        for (row, name, microseconds) in expected {
            // Float32 holds these to about 6e-8 relative; the seconds were printed by Python's repr.
            XCTAssertEqual(try value(row, name), microseconds, accuracy: max(1e-6 * microseconds, 1e-3), "row \(row): \(name)")
        }
        // Packet counts and the lengths the warning names are used as written (whole frames, the
        // first packet twice): 5 + 1 forward TCP packets of 54 bytes of headers, 100 bytes of payload.
        XCTAssertEqual(try value(0, "Total Fwd Packet"), 6)
        XCTAssertEqual(try value(0, "Total Bwd packets"), 3)
        XCTAssertEqual(try value(0, "Total Length of Fwd Packet"), 6 * 54 + 100)
        XCTAssertEqual(try value(1, "Total Fwd Packet"), 3)
        // Rates are per second of the flow, and stay so: 9 packets over 0.42 s.
        XCTAssertEqual(try value(0, "Flow Packets/s"), 9 / 0.42, accuracy: 1e-4)
        // No activity or idle periods in a flow this short: zeros, converted or not.
        for name in ["Active Mean", "Active Max", "Idle Mean", "Idle Max"] {
            XCTAssertEqual(try value(0, name), 0, name)
        }
    }
}
