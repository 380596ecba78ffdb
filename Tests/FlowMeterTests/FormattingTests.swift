import Foundation
import XCTest
@testable import FlowMeter

/// Numbers and times spelled as the fork (Java) spells them.
final class FormattingTests: XCTestCase {
    func testJavaDoubles() {
        let cases: [(Double, String)] = [
            (0, "0.0"), (106, "106.0"), (21.2, "21.2"), (47.40464112299554, "47.40464112299554"),
            (1.17265842e8, "1.17265842E8"), (1e7, "1.0E7"), (9_999_999, "9999999.0"), (2e7, "2.0E7"),
            (0.001, "0.001"), (0.0009, "9.0E-4"), (1.5e-5, "1.5E-5"), (0.40932589355096394, "0.40932589355096394"),
            (676880.2228412257, "676880.2228412257"), (-3.5, "-3.5"), (.nan, "NaN"), (.infinity, "Infinity"),
            (-.infinity, "-Infinity"), (123456789012.5, "1.234567890125E11"), (1e22, "1.0E22"),
            (1.7976931348623157e308, "1.7976931348623157E308"),
        ]
        for (value, text) in cases {
            XCTAssertEqual(FlowCSVLine.javaDouble(value), text, "\(value)")
        }
        // Where 17 digits are needed, Java 8-17 sometimes picks another last digit of the same double
        // (the shared data has 24.299999999999995); the meter writes the closest one, which reads back
        // to the same double.
        let text = FlowCSVLine.javaDouble(24.299999999999995)
        XCTAssertEqual(Double(text), 24.299999999999995)
        XCTAssertEqual(text, "24.299999999999994")
    }

    func testTimestamps() {
        XCTAssertEqual(FlowCSVLine.timestamp(1_679_238_138_745_393), "2023-03-19 15:02:18.745393")
        XCTAssertEqual(FlowCSVLine.timestamp(1_679_238_138_745_000), "2023-03-19 15:02:18.745")
        XCTAssertEqual(FlowCSVLine.timestamp(1_679_238_138_000_000), "2023-03-19 15:02:18")
        XCTAssertEqual(FlowCSVLine.timestamp(1_679_238_138_000_010), "2023-03-19 15:02:18.000010")
    }

    func testAddresses() {
        XCTAssertEqual(FlowCSVLine.address(high: 0, low: 0x0A10_0004, isV6: false), "10.16.0.4")
        XCTAssertEqual(FlowCSVLine.address(high: 0x2001_0DB8_0000_0000, low: 1, isV6: true), "2001:db8::1")
    }

    /// The running statistics against the textbook formulas.
    func testRunningStats() {
        var stats = RunningStats()
        XCTAssertTrue(stats.mean.isNaN)
        XCTAssertTrue(stats.standardDeviation.isNaN)
        stats.add(4)
        XCTAssertEqual(stats.variance, 0)
        for value in [8.0, 15, 16, 23, 42] { stats.add(value) }
        XCTAssertEqual(stats.count, 6)
        XCTAssertEqual(stats.sum, 108)
        XCTAssertEqual(stats.mean, 18, accuracy: 1e-12)
        XCTAssertEqual(stats.variance, (196.0 + 100 + 9 + 4 + 25 + 576) / 5, accuracy: 1e-9)
        XCTAssertEqual([stats.minimum, stats.maximum], [4, 42])
    }

    func testHeaderIsTheSharedData() throws {
        XCTAssertEqual(CICFlowMeterCSV.header.count, 87)
        XCTAssertEqual(CICFlowMeterCSV.header.last, "Label")
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("../shared/data/kubernetes-dataset/benign").standardized
        guard let file = try? FileManager.default.contentsOfDirectory(atPath: folder.path).first(where: { $0.hasSuffix(".csv") }) else {
            throw XCTSkip("../shared/data is absent: the header is checked against the shared data only where it exists")
        }
        let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
        XCTAssertEqual(text.prefix { $0 != "\n" && $0 != "\r" }, Substring(CICFlowMeterCSV.headerLine))
    }
}
