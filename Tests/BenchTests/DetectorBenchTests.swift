import Backend
import Bench
import FlowData
import Foundation
import XCTest

/// The detector part of `gpu-train bench`: its settings, data and JSON (no speed asserted).
final class DetectorBenchTests: XCTestCase {
    func testQueriesPerRunFollowThePairBudgets() {
        let s = DetectorBenchSettings.standard()
        // 1e10 pairs for the fast search: 100k queries up to a 100k bank, then 1e10 / bank.
        XCTAssertEqual(s.queries(bank: 20_000, pairs: s.fastPairs), 100_000)
        XCTAssertEqual(s.queries(bank: 100_000, pairs: s.fastPairs), 100_000)
        XCTAssertEqual(s.queries(bank: 1_000_000, pairs: s.fastPairs), 10_000)
        // 1e9 pairs for the slow methods: 50k, 10k and 1k queries.
        XCTAssertEqual(s.queries(bank: 20_000, pairs: s.slowPairs), 50_000)
        XCTAssertEqual(s.queries(bank: 100_000, pairs: s.slowPairs), 10_000)
        XCTAssertEqual(s.queries(bank: 1_000_000, pairs: s.slowPairs), 1_000)
        // Never fewer than 1000 (unless fewer are asked for).
        XCTAssertEqual(s.queries(bank: 16_000_000, pairs: s.slowPairs), 1_000)
        XCTAssertEqual(DetectorBenchSettings.standard(queries: 300).queries(bank: 16_000_000, pairs: s.slowPairs), 300)
    }

    func testBankSizesParseOrSayWhatIsWrong() throws {
        XCTAssertEqual(try DetectorBenchSettings.parseBankSizes("20000,100000"), [20_000, 100_000])
        XCTAssertEqual(try DetectorBenchSettings.parseBankSizes(" 500 "), [500])
        for (text, message) in [("0", "'0' is not a bank size"), ("20k", "'20k' is not a bank size"), ("", "'' is not a bank size"),
                                ("5,5", "5 is given twice"), ("99999999", "'99999999' is not a bank size")] {
            XCTAssertThrowsError(try DetectorBenchSettings.parseBankSizes(text), text) {
                XCTAssert("\($0)".contains(message), "\(text): \($0)")
            }
        }
    }

    func testFlowMixtureIsSeededBoundedAndPlacesAnomalies() {
        let mixture = FlowMixture(features: 19)
        let a = mixture.sample(500, seed: 3, anomalyEvery: 100), b = mixture.sample(500, seed: 3, anomalyEvery: 100)
        XCTAssertEqual(a, b, "the same seed gives the same rows")
        XCTAssertNotEqual(a, mixture.sample(500, seed: 4, anomalyEvery: 100))
        XCTAssertEqual(a.count, 500 * 19)
        XCTAssertTrue(a.allSatisfy { abs($0) <= FlowMixture.range }, "values stay in the transform's range")
        // Feature 2 is discrete: a cluster's rows share its centre's value, so ordinary rows take at most
        // 200 distinct values there, while the anomalies (rows 99, 199, ...) are continuous draws.
        let ordinary = (0..<500).filter { $0 % 100 != 99 }.map { a[$0 * 19 + 2] }
        XCTAssertLessThanOrEqual(Set(ordinary).count, FlowMixture.clusters)
        XCTAssertLessThan(Set(ordinary).count, ordinary.count / 2, "clusters repeat")
        // The same mixture from another instance: the centres come from the mixture's own seed.
        XCTAssertEqual(FlowMixture(features: 19).sample(10, seed: 1), mixture.sample(10, seed: 1))
    }

    func testQuickDetectorRunWritesItsSchema() throws {
        let settings = DetectorBenchSettings.quick(bankSizes: [400, 1500], queries: 120)
        let report = try Benchmark.report(backends: [CPUBackend()], settings: .quick(repeats: 1), network: false, detector: settings)
        let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: report.json()) as? [String: Any])
        XCTAssertEqual(root["parts"] as? [String], ["detector"])
        XCTAssertEqual((root["backends"] as? [String: Any])?.count, 0, "no network figures with network: false")
        let detector = try XCTUnwrap(root["detector"] as? [String: Any])
        XCTAssertEqual(detector["bank_sizes"] as? [Int], [400, 1500])
        XCTAssertEqual(detector["features"] as? Int, 19)
        let rates = try XCTUnwrap(detector["rates"] as? [[String: Any]])
        // Per bank: the fast search with the clip and without, and the direct scan.
        XCTAssertEqual(rates.map { "\($0["method"]!) \($0["bank"]!)" },
                       ["cpu 400", "cpu 400", "cpu-direct 400", "cpu 1500", "cpu 1500", "cpu-direct 1500"])
        for r in rates {
            let flows = try XCTUnwrap((r["flows_per_s"] as? NSNumber)?.doubleValue)
            XCTAssertTrue(flows.isFinite && flows > 0, "\(r)")
            let queries = try XCTUnwrap(r["queries"] as? Int), bank = try XCTUnwrap(r["bank"] as? Int)
            // quick budgets: 600000 pairs fast (at most 120 queries), 200000 slow (at least 50).
            XCTAssertEqual(queries, r["method"] as? String == "cpu" ? min(120, max(50, 600_000 / bank)) : min(120, max(50, 200_000 / bank)))
            if r["method"] as? String == "cpu" {
                let share = try XCTUnwrap((r["proved_share"] as? NSNumber)?.doubleValue)
                XCTAssertTrue(share >= 0 && share <= 1, "\(share)")
            } else {
                XCTAssertTrue(r["proved_share"] is NSNull)
            }
        }
        XCTAssertEqual(rates.filter { $0["method"] as? String == "cpu" }.map { $0["clip"] is NSNull }, [false, true, false, true])
        XCTAssertEqual(Set((detector["flows_per_s"] as? [String: Any] ?? [:]).keys), ["400", "1500"])
        XCTAssertEqual(Set((detector["flows_per_s_euclidean"] as? [String: Any] ?? [:]).keys), ["400", "1500"])
        XCTAssertEqual(Set((detector["flows_per_s_direct"] as? [String: Any] ?? [:]).keys), ["400", "1500"])
        XCTAssertEqual((detector["flows_per_s_opencl"] as? [String: Any])?.count, 0)
        let quantile = try XCTUnwrap((detector["quantile_rows_per_s"] as? NSNumber)?.doubleValue)
        XCTAssertTrue(quantile.isFinite && quantile > 0)
        XCTAssertTrue(report.text.contains("== detector"), report.text)
        XCTAssertTrue(report.text.contains("quantile transform:"), report.text)
    }

    func testDetectorDataIsWrittenForTheReferences() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("detector-data-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let settings = DetectorBenchSettings.quick(bankSizes: [64, 100], queries: 30)
        try Benchmark.writeDetectorData(settings, to: folder)
        let manifest = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("manifest.json")))
                                     as? [String: Any])
        XCTAssertEqual(manifest["features"] as? Int, 19)
        XCTAssertEqual(manifest["queries"] as? Int, 30)
        let banks = try XCTUnwrap(manifest["banks"] as? [[String: Any]])
        XCTAssertEqual(banks.map { $0["file"] as? String }, ["bank_64.npy", "bank_100.npy"])
        XCTAssertEqual(banks.map { $0["fast_queries"] as? Int }, [30, 30])
        // The files hold exactly the rows the run searches: the NPY payload is the bank's floats.
        let mixture = FlowMixture(features: 19)
        let bank = Benchmark.detectorBank(settings, mixture: mixture, size: 100)
        let bytes = try Data(contentsOf: folder.appendingPathComponent("bank_100.npy"))
        XCTAssertEqual(bytes.count % 64, (100 * 19 * 4) % 64)
        let payload = bytes.suffix(100 * 19 * 4)
        let values = payload.withUnsafeBytes { raw in (0..<100 * 19).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) } }
        XCTAssertEqual(values, bank)
        let header = String(decoding: bytes.prefix(bytes.count - payload.count), as: UTF8.self)
        XCTAssertTrue(header.contains("'shape': (100, 19)"), header)
        let queries = try Data(contentsOf: folder.appendingPathComponent("queries.npy"))
        XCTAssertTrue(String(decoding: queries.prefix(128), as: UTF8.self).contains("'shape': (30, 19)"))
    }
}
