import Backend
import Foundation
import Bench
import CKernels
import Siamese
import XCTest

/// `gpu-train bench`'s library in quick mode: the JSON schema of issue 7 (plus the measured peak
/// of issue 14) and sane numbers (no speed asserted).
final class BenchmarkTests: XCTestCase {
    /// The commit comes from the checkout the binary was built in, even when run from elsewhere.
    func testCommitIsFoundFromTheBinaryOutsideTheCheckout() throws {
        let here = FileManager.default.currentDirectoryPath
        defer { FileManager.default.changeCurrentDirectoryPath(here) }
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath("/"))
        let commit = MachineInfo.commit()
        XCTAssertFalse(commit.hasPrefix("unknown"), commit)
        XCTAssertNotNil(commit.range(of: "^[0-9a-f]{7,}", options: .regularExpression), commit)
        let nowhere = MachineInfo.commit(executable: URL(fileURLWithPath: "/nonexistent/bin/gpu-train"))
        XCTAssertTrue(nowhere.hasPrefix("unknown ("), nowhere)
    }

    /// The meter part: the synthetic capture holds the flows it says (every one metered as one
    /// flow, all open at once) and the figures are positive; the report's JSON carries them.
    func testMeterPartMetersTheSyntheticCaptureItWrites() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bench-capture-\(UUID().uuidString).pcap")
        defer { try? FileManager.default.removeItem(at: url) }
        let packets = try SyntheticCapture.write(to: url, flows: 300, seed: 7)
        XCTAssertGreaterThan(packets, 300 * 2)
        let m = try Benchmark.meter(settings: MeterBenchSettings.quick(repeats: 2, capture: url.path))
        XCTAssertEqual(m.packets, packets)
        XCTAssertEqual(m.flows, 300)
        XCTAssertEqual(m.peakOpenFlows, 300, "every flow starts within 20 s and lasts longer")
        XCTAssertEqual(m.samplesPacketsPerS.count, 2)
        XCTAssertTrue(m.packetsPerS > 0 && m.packetsPerS.isFinite)
        XCTAssertEqual(m.capture, url.path)
        // Seeded: the same arguments give the same bytes.
        let again = url.deletingLastPathComponent().appendingPathComponent("again-\(UUID().uuidString).pcap")
        defer { try? FileManager.default.removeItem(at: again) }
        XCTAssertEqual(try SyntheticCapture.write(to: again, flows: 300, seed: 7), packets)
        XCTAssertEqual(try Data(contentsOf: url), try Data(contentsOf: again))
        let report = try Benchmark.report(backends: [], settings: .quick(repeats: 1), network: false,
                                          meter: MeterBenchSettings.quick(repeats: 1))
        XCTAssertEqual(report.parts, ["meter"])
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: report.json()) as? [String: Any])
        let meter = try XCTUnwrap(json["meter"] as? [String: Any])
        XCTAssertEqual(meter["flows"] as? Int, 500)
        XCTAssertTrue(report.text.contains("== flow meter (gpu-train flows, one thread): synthetic: 500 flows, seed 1"), report.text)
    }

    func testLoadAboveHalfTheCoresWarns() {
        XCTAssertNil(MachineInfo.loadWarning(oneMinuteLoad: 0.9, cores: 2))
        XCTAssertNil(MachineInfo.loadWarning(oneMinuteLoad: nil, cores: 2))
        let warning = MachineInfo.loadWarning(oneMinuteLoad: 1.5, cores: 2)
        XCTAssertTrue(warning?.contains("load average is 1.50 on 2 cores") == true, warning ?? "nil")
    }

    func testQuickCPURunWritesTheSchemaWithPositiveFiniteNumbers() throws {
        let report = try Benchmark.report(backends: [CPUBackend()], settings: .quick(repeats: 5))
        let object = try JSONSerialization.jsonObject(with: report.json())
        let root = try XCTUnwrap(object as? [String: Any])
        for key in ["machine", "commit", "csv_mb_per_s", "backends", "peak"] { XCTAssertNotNil(root[key], "missing \(key)") }
        let peak = try XCTUnwrap(root["peak"] as? [String: Any])
        assertPositive(peak["gflops"], "peak.gflops")
        XCTAssertFalse(try XCTUnwrap(peak["instruction_set"] as? String).isEmpty)
        XCTAssertEqual(peak["threads"] as? Int, ProcessInfo.processInfo.activeProcessorCount)
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
        // 4 convs (forward, ReLU backward, filter, bias; input for all but the first), 3 pools x 2,
        // 3 fused conv + pool forwards x 2 (training, inference), dense x 3, Adam.
        XCTAssertEqual(ops.count, 4 * 4 + 3 + 3 * 2 + 3 * 2 + 3 + 1)
        XCTAssertEqual(ops.filter { ($0["op"] as? String)?.hasPrefix("conv_forward+bias+relu+pool") == true }.count, 6)
        for row in ops {
            let name = "\(row["op"] ?? "?") \(row["layer"] ?? "?")"
            for key in ["op", "layer", "ms", "gflops"] { XCTAssertTrue(row.keys.contains(key), "\(name): missing \(key)") }
            assertPositive(row["ms"], "\(name) ms")
            // gflops (and its share of the peak) is null exactly for the memory-bound rows, which report GB/s instead.
            if row["gflops"] is NSNull {
                assertPositive(row["gb_per_s"], "\(name) gb_per_s")
                XCTAssertTrue(row["percent_of_peak"] is NSNull, "\(name): a memory-bound row has no share of the peak")
            } else {
                assertPositive(row["gflops"], "\(name) gflops")
                let gflops = try XCTUnwrap((row["gflops"] as? NSNumber)?.doubleValue)
                let percent = try XCTUnwrap((row["percent_of_peak"] as? NSNumber)?.doubleValue, "\(name) percent_of_peak")
                XCTAssertEqual(percent, 100 * gflops / report.peak.gflops, accuracy: 1e-9 * percent, name)
            }
        }
        let names = Set(ops.map { "\($0["op"] ?? "") \($0["layer"] ?? "")" })
        for expected in ["conv_forward+bias+relu conv1", "conv_backward_input conv2", "conv_backward_filter conv4",
                         "pool_forward pool3", "dense_backward_weight embed"] {
            XCTAssertTrue(names.contains(expected), "missing row \(expected)")
        }
        XCTAssertFalse(names.contains("conv_backward_input conv1"), "conv1 needs no input gradient")
        XCTAssertTrue(report.text.contains("backend cpu"))
        XCTAssertTrue(report.text.contains("fp32 peak"))
        let inference = try XCTUnwrap(cpu["inference"] as? [String: Any])
        assertPositive(inference["percent_of_peak"], "inference percent_of_peak")
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

    /// The probe's FLOP count is the loop's arithmetic (2 per lane per FMA, 12 accumulators), and
    /// a measurement on this machine is positive and finite at every level it reports.
    func testPeakProbeCountsItsFlopsAndMeasuresSomething() {
        var checksum = 0.0
        XCTAssertEqual(gt_peak_probe_flops(Int32(GT_ISA_PORTABLE), 1000, &checksum), 2 * 4 * 12 * 1000)
        XCTAssertTrue(checksum.isFinite && checksum > 0)
        let best = gt_best_isa()
        XCTAssertEqual(gt_peak_probe_flops(best, 10, nil), Double(2 * Int(gt_peak_probe_lanes(best)) * 12 * 10))
        let peak = PeakProbe.measure(threads: 2, samples: 2, seconds: 0.005)
        XCTAssertTrue(peak.gflops.isFinite && peak.gflops > 0, "\(peak)")
        XCTAssertGreaterThanOrEqual(peak.gflops, peak.gflopsMedian)
        XCTAssertEqual(peak.threads, 2)
        XCTAssertEqual(peak.percent(peak.gflops / 2) ?? 0, 50, accuracy: 1e-9)
        XCTAssertNil(peak.percent(nil))
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
