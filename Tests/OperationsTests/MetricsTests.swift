import Detection
import FlowData
import Foundation
import Operations
import Siamese
import TestSupport
import XCTest

/// Prometheus metrics of detect, scraped over loopback.
final class MetricsTests: XCTestCase {
    func model() -> TrainedModel {
        var o = TrainingOptions.defaults(for: .baseline)
        o.fpr = 0.01
        var m = TrainedModel(config: .default, options: o, scaler: Scaler(featureNames: ["a"], transform: .none, fillValues: [0],
                                                                          means: [0], stds: [1]),
                             support: SupportSet(features: [], malicious: [], scenarios: [], featureCount: 1), threshold: 2,
                             history: [], epochsCompleted: 0, adamStep: 0, tensors: [:])
        m.calibration = Calibration(method: .crossPeriod, periods: 3, scores: 100, fpr: 0.01, flaggedRate: 0.01)
        m.trainedAt = "2026-12-07T00:00:00.000Z"
        return m
    }

    func testBatchesBecomeCountersAHistogramAndRatios() {
        let metrics = DetectMetrics(model: model(), modelID: "sha256:0123456789abcdef")
        metrics.observe(DetectionStream.BatchObservation(scores: [0.5, 1, 3, 9], flagged: [false, false, true, true], seconds: 0.003,
                                                         badRowsSkipped: 1, incidentsOpened: 1))
        metrics.observe(DetectionStream.BatchObservation(scores: [0.1], flagged: [false], seconds: 0.001, badRowsSkipped: 3, incidentsOpened: 1))
        let text = metrics.text()
        for line in ["gpu_train_flows_total{verdict=\"benign\"} 3", "gpu_train_flows_total{verdict=\"malicious\"} 2",
                     "gpu_train_bad_rows_total 3", "gpu_train_incidents_total 1", "gpu_train_flagged_ratio 0.4",
                     "gpu_train_calibrated_flagged_ratio 0.01", "gpu_train_score_count 5", "gpu_train_batch_seconds_count 2",
                     "gpu_train_model_info{model_id=\"sha256:0123456789abcdef\",recipe=\"baseline\",encoder=\"none\",trained_at=\"2026-12-07T00:00:00.000Z\"} 1"] {
            XCTAssertTrue(text.contains(line), "missing \(line) in\n\(text)")
        }
        // The threshold (2) is a bucket edge: 3 scores at or below it.
        XCTAssertTrue(text.contains("gpu_train_score_bucket{le=\"2.0\"} 3"), text)
    }

    func testTheEndpointServesTheTextOverLoopback() throws {
        let metrics = DetectMetrics(model: model(), modelID: "sha256:0123456789abcdef")
        let server = try MetricsServer(listen: "127.0.0.1:0", metrics: metrics)
        try server.start()
        defer { server.stop() }
        let port = try XCTUnwrap(server.boundPort)
        metrics.observe(DetectionStream.BatchObservation(scores: [3], flagged: [true], seconds: 0.001, badRowsSkipped: 0, incidentsOpened: 0))
        let response = try httpGet(port: port, path: "/metrics")
        XCTAssertTrue(response.hasPrefix("HTTP/1.1 200"), response)
        XCTAssertTrue(response.lowercased().contains("content-type: text/plain; version=0.0.4"), response)
        XCTAssertTrue(response.contains("gpu_train_flows_total{verdict=\"malicious\"} 1"), response)
        XCTAssertTrue(try httpGet(port: port, path: "/other").hasPrefix("HTTP/1.1 404"))
    }

    func testBadListenAddressesSayWhatIsWrong() {
        let metrics = DetectMetrics(model: model(), modelID: "")
        for (listen, expected) in [("9464", "expected HOST:PORT"), ("localhost:9464", "not an IPv4 address"),
                                   ("127.0.0.1:99999", "expected HOST:PORT"), ("[zz]:1", "not an IPv6 address")] {
            XCTAssertThrowsError(try MetricsServer(listen: listen, metrics: metrics)) {
                XCTAssertTrue("\($0)".contains(expected), "\(listen): \($0)")
            }
        }
    }
}
