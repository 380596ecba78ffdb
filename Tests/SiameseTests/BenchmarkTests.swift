import Backend
import Foundation
import Siamese
import XCTest

/// `gpu-train bench`'s library in quick mode: the JSON schema of issue 7 and sane numbers (no speed asserted).
final class BenchmarkTests: XCTestCase {
    func testQuickCPURunWritesTheSchemaWithPositiveFiniteNumbers() throws {
        let report = try Benchmark.report(backends: [CPUBackend()], settings: .quick(repeats: 5))
        let object = try JSONSerialization.jsonObject(with: report.json())
        let root = try XCTUnwrap(object as? [String: Any])
        for key in ["machine", "commit", "csv_mb_per_s", "backends"] { XCTAssertNotNil(root[key], "missing \(key)") }
        XCTAssertFalse(try XCTUnwrap(root["machine"] as? String).isEmpty)
        XCTAssertFalse(try XCTUnwrap(root["commit"] as? String).isEmpty)
        assertPositive(root["csv_mb_per_s"], "csv_mb_per_s")

        let backends = try XCTUnwrap(root["backends"] as? [String: Any])
        let cpu = try XCTUnwrap(backends["cpu"] as? [String: Any])
        XCTAssertNil(backends["opencl"])
        for key in ["device", "train_pairs_per_s", "inference_images_per_s", "peak_rss_mb", "ops"] {
            XCTAssertNotNil(cpu[key], "missing backends.cpu.\(key)")
        }
        XCTAssertFalse(try XCTUnwrap(cpu["device"] as? String).isEmpty)
        let train = try XCTUnwrap(cpu["train_pairs_per_s"] as? [String: Any])
        XCTAssertEqual(Set(train.keys), ["5", "32", "128"])
        for (batch, value) in train { assertPositive(value, "train_pairs_per_s.\(batch)") }
        assertPositive(cpu["inference_images_per_s"], "inference_images_per_s")
        assertPositive(cpu["peak_rss_mb"], "peak_rss_mb")

        let ops = try XCTUnwrap(cpu["ops"] as? [[String: Any]])
        // 4 convs (forward, ReLU backward, filter, bias; input for all but the first), 3 pools x 2, dense x 3, Adam.
        XCTAssertEqual(ops.count, 4 * 4 + 3 + 3 * 2 + 3 + 1)
        for row in ops {
            let name = "\(row["op"] ?? "?") \(row["layer"] ?? "?")"
            for key in ["op", "layer", "ms", "gflops"] { XCTAssertTrue(row.keys.contains(key), "\(name): missing \(key)") }
            assertPositive(row["ms"], "\(name) ms")
            // gflops is null exactly for the memory-bound rows, which report GB/s instead.
            if row["gflops"] is NSNull { assertPositive(row["gb_per_s"], "\(name) gb_per_s") } else {
                assertPositive(row["gflops"], "\(name) gflops")
            }
        }
        let names = Set(ops.map { "\($0["op"] ?? "") \($0["layer"] ?? "")" })
        for expected in ["conv_forward+bias+relu conv1", "conv_backward_input conv2", "conv_backward_filter conv4",
                         "pool_forward pool3", "dense_backward_weight embed"] {
            XCTAssertTrue(names.contains(expected), "missing row \(expected)")
        }
        XCTAssertFalse(names.contains("conv_backward_input conv1"), "conv1 needs no input gradient")
        XCTAssertTrue(report.text.contains("backend cpu"))
    }

    func testOpenCLProfilingEventsReportDeviceTimeOnlyWhenAskedFor() throws {
        guard (try? OpenCLDevices.all())?.isEmpty == false else { throw XCTSkip("no OpenCL device") }
        let profiled = try OpenCLBackend(profiling: true)
        XCTAssertTrue(profiled.isProfiling)
        let t = try profiled.makeTensor([1 << 16])
        _ = try profiled.takeProfiledSeconds()
        try profiled.fill(t, with: 2)
        let seconds = try profiled.takeProfiledSeconds()
        XCTAssertTrue(seconds.isFinite && seconds > 0, "\(seconds)")
        XCTAssertEqual(try profiled.takeProfiledSeconds(), 0, "events are forgotten once taken")
        XCTAssertEqual(try profiled.download(t).first, 2)

        let plain = try OpenCLBackend()
        XCTAssertFalse(plain.isProfiling)
        try plain.fill(try plain.makeTensor([16]), with: 1)
        XCTAssertEqual(try plain.takeProfiledSeconds(), 0)
    }

    func testSampleStatsMedianMinMax() {
        let s = SampleStats([3, 1, 2, 10])
        XCTAssertEqual(s.median, 2.5)
        XCTAssertEqual(s.min, 1)
        XCTAssertEqual(s.max, 10)
        XCTAssertEqual(SampleStats([4, 1, 9]).median, 4)
    }

    private func assertPositive(_ value: Any?, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let number = value as? NSNumber else { return XCTFail("\(what) is not a number: \(String(describing: value))", file: file, line: line) }
        let x = number.doubleValue
        XCTAssertTrue(x.isFinite && x > 0, "\(what) = \(x)", file: file, line: line)
    }
}
