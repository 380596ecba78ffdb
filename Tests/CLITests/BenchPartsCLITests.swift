import Foundation
import XCTest

/// `gpu-train bench --parts`: the meter part alone on a capture, and the option mixes it refuses.
final class BenchPartsCLITests: XCTestCase {
    func testMeterPartAloneAndRefusedMixes() throws {
        let r = try runGPUTrain(["bench", "--quick", "--parts", "meter", "--backend", "cpu"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("== flow meter (gpu-train flows, one thread): synthetic: 500 flows"), r.stdout)
        XCTAssertFalse(r.stdout.contains("== backend cpu"), "--parts meter measures no network: \(r.stdout)")
        for (args, message) in [
            (["--parts", "meter,gpu"], "--parts takes a comma-separated list of network, detector, meter"),
            (["--parts", "meter", "--detector-only"], "--parts replaces --detector-only and --no-detector"),
            (["--parts", "network", "--meter-flows", "10"], "--meter-pcap and --meter-flows need the meter part"),
            (["--meter-flows", "0"], "--meter-flows must be between 1 and 16000000"),
            (["--meter-pcap", "/nonexistent.pcap", "--parts", "meter"], "/nonexistent.pcap"),
        ] {
            let bad = try runGPUTrain(["bench", "--quick", "--backend", "cpu"] + args)
            XCTAssertNotEqual(bad.status, 0, "\(args)")
            XCTAssertTrue(bad.stderr.contains(message), "\(args): \(bad.stderr)")
        }
    }
}
