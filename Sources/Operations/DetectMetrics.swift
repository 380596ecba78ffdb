import Detection
import Foundation
import Prometheus

/// The metrics `detect --metrics-listen` exports in the Prometheus text format (swift-prometheus):
///
/// - `gpu_train_flows_total{verdict}`: flows scored, by verdict;
/// - `gpu_train_incidents_total`: incidents opened (with `--incidents`);
/// - `gpu_train_bad_rows_total`: input rows skipped as bad;
/// - `gpu_train_score`: a histogram of scores, with a bucket edge at the threshold;
/// - `gpu_train_batch_seconds`: time to score and write one batch (a histogram);
/// - `gpu_train_flagged_ratio` and `gpu_train_calibrated_flagged_ratio`: the share flagged so far,
///   and the share the model was calibrated to flag on normal traffic of another period;
/// - `gpu_train_model_info{model_id,recipe,encoder,trained_at}` = 1.
public final class DetectMetrics: @unchecked Sendable {
    public let registry = PrometheusCollectorRegistry()
    let benign: Counter, malicious: Counter, incidents: Counter, badRows: Counter
    let score: ValueHistogram
    let batchSeconds: DurationHistogram
    let flaggedRatio: Gauge
    private let lock = NSLock()
    private var flows = 0, flagged = 0, badRowsSeen = 0, incidentsSeen = 0

    /// A metric's name as "gpu_train_" + `name` + "_" + `unit` ("" for none), with its help text.
    static func named(_ name: String, unit: String = "", _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "gpu_train", metricName: name, unitName: unit, helpText: help)
    }

    public init(model: TrainedModel, modelID: String) {
        let flows = Self.named("flows", unit: "total", "Flows scored, by verdict.")
        benign = registry.makeCounter(descriptor: flows, labels: [("verdict", "benign")])
        malicious = registry.makeCounter(descriptor: flows, labels: [("verdict", "malicious")])
        incidents = registry.makeCounter(descriptor: Self.named("incidents", unit: "total",
                                                                "Incidents opened (flagged flows grouped by source and destination host)."))
        badRows = registry.makeCounter(descriptor: Self.named("bad_rows", unit: "total", "Input rows skipped as bad."))
        // Buckets around the threshold: a quarter of it up to four times it.
        let t = model.threshold.isFinite && model.threshold > 0 ? model.threshold : 1
        score = registry.makeValueHistogram(descriptor: Self.named("score", "Scores of the flows (the threshold is the bucket at 1x)."),
                                            buckets: [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 3, 4].map { $0 * t })
        batchSeconds = registry.makeDurationHistogram(descriptor: Self.named("batch", unit: "seconds", "Time to score and write one batch of flows."),
                                                      buckets: [.milliseconds(1), .milliseconds(5), .milliseconds(20), .milliseconds(100),
                                                                .milliseconds(500), .seconds(2), .seconds(10)])
        flaggedRatio = registry.makeGauge(descriptor: Self.named("flagged", unit: "ratio", "Share of the flows scored so far that were flagged."))
        registry.makeGauge(descriptor: Self.named("calibrated_flagged", unit: "ratio",
                                                  "Share of normal traffic of another period the model was calibrated to flag."))
            .set(to: model.calibration?.flaggedRate ?? model.options.fpr)
        registry.makeGauge(descriptor: Self.named("model", unit: "info", "The model scoring the flows."),
                           labels: [("model_id", modelID), ("recipe", model.options.recipe.rawValue),
                                    ("encoder", model.options.encoder.rawValue), ("trained_at", model.trainedAt ?? "unknown")]).set(to: 1.0)
    }

    /// Records one scored batch.
    public func observe(_ batch: DetectionStream.BatchObservation) {
        lock.lock(); defer { lock.unlock() }
        let bad = batch.flagged.filter { $0 }.count
        malicious.increment(by: Int64(bad))
        benign.increment(by: Int64(batch.flagged.count - bad))
        for s in batch.scores where s.isFinite { score.record(Double(s)) }
        batchSeconds.record(.nanoseconds(Int64(batch.seconds * 1e9)))
        flows += batch.flagged.count
        flagged += bad
        flaggedRatio.set(to: flows > 0 ? Double(flagged) / Double(flows) : 0)
        if batch.badRowsSkipped > badRowsSeen { badRows.increment(by: Int64(batch.badRowsSkipped - badRowsSeen)); badRowsSeen = batch.badRowsSkipped }
        if batch.incidentsOpened > incidentsSeen { incidents.increment(by: Int64(batch.incidentsOpened - incidentsSeen)); incidentsSeen = batch.incidentsOpened }
    }

    /// Alert outputs whose counts the scrape reports (`gpu_train_alerts_total{destination,outcome}`).
    public var alerts: AlertDispatcher?
    private var alertGauges: [String: Gauge] = [:]

    /// The Prometheus text exposition of every metric.
    public func text() -> String {
        if let alerts {
            lock.lock()
            for (destination, counts) in alerts.counts {
                for (outcome, value) in [("sent", counts.sent), ("dropped", counts.dropped), ("failed", counts.failed), ("retried", counts.retries)] {
                    let key = "\(destination)|\(outcome)"
                    let gauge = alertGauges[key] ?? registry.makeGauge(
                        descriptor: Self.named("alerts", unit: "total", "Alerts per output: sent, dropped (queue full), failed (after every retry), retried."),
                        labels: [("destination", destination.description), ("outcome", outcome)])
                    alertGauges[key] = gauge
                    gauge.set(to: Double(value))
                }
            }
            lock.unlock()
        }
        return registry.emitToString()
    }
}
