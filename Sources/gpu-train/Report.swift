import ArgumentParser
import Backend
import FlowData
import Foundation
import Reporting
import Detection
import Siamese

/// `gpu-train report`: one self-contained HTML page about a model on some data.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a self-contained HTML report: per-capture detection and normal traffic flagged, scores by role, top incidents with their reasons, curves, ROC, options.")

    @Option(help: "Model file written by `gpu-train train`.") var model: String
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "HTML file to write.") var out: String
    @Option(help: "Per-flow roles (CSV: file,row,role with role attack or background): per-capture table and scores by role.")
    var flowRoles: String?
    @Option(help: "How many incidents the report lists, highest score first.") var incidents = 10
    @Option(help: "Seconds of quiet that close an incident.") var incidentWindow = IncidentGrouper.defaultWindow
    @Option(name: .customLong("k8s-pods"), help: "The JSON of `kubectl get pods -A -o json`: incidents name their ends by namespace and workload.")
    var k8sPods: String?
    @OptionGroup var backendOptions: BackendOptions

    func validate() throws {
        guard (0...1000).contains(incidents) else { throw ValidationError("--incidents must be between 0 and 1000, got \(incidents)") }
        guard incidentWindow.isFinite, incidentWindow > 0 else { throw ValidationError("--incident-window must be a positive number of seconds") }
    }

    func run() throws {
        try refuseOverwritingInputs()
        let trained = try TrainedModel.read(URL(fileURLWithPath: model), optimizerState: false)
        let table = try dataOptions.load(features: trained.scaler.featureNames, readEndpoints: true)
        let backend = try backendOptions.make()
        let detector = try Detector(model: trained, backend: backend)
        let roles = try flowRoles.map { try FlowRoles.read(URL(fileURLWithPath: $0)).roles(for: table) }
        let result = try Evaluation.run(detector: detector, table: table, roles: roles)
        // Scores by role (by label without roles), and the top incidents with reasons in raw units.
        let truth = roles.map { CrossValidation.truth(table: table, roles: $0) }
        var groups: [(name: String, scores: [Float])] = []
        for name in truth == nil ? ["malicious", "benign"] : ["attack", "background", "benign"] {
            let scores = result.rows.indices.filter { i in
                let r = result.rows[i]
                if let truth { return truth[r]?.rawValue == name }
                return (table.isMalicious(r) ? "malicious" : "benign") == name
            }.map { result.scores[$0] }
            if !scores.isEmpty { groups.append((name, scores)) }
        }
        let names = try k8sPods.map { try KubernetesDirectory(path: $0) }
        let topIncidents = try incidentList(detector: detector, table: table, result: result, truth: truth, names: names)
        var examples: [ExampleImage] = []
        for (group, rows) in trained.usesNetwork ? [("benign", table.benignRows), ("malicious", table.maliciousRows)] : [] {
            // Evenly spaced examples, so every scenario tends to appear.
            let picks = rows.isEmpty ? [] : (0..<min(6, rows.count)).map { rows[$0 * rows.count / min(6, rows.count)] }
            for r in picks {
                // Only the example rows are scaled here; Evaluation.run scaled the table for scoring.
                let image = FlowImage.render(trained.scaler.scaleRow(table.row(r)))
                let factor = 4
                let png = PNG.encodeGray(width: 32 * factor, height: 32 * factor,
                                         pixels: FlowImage.grayPixels(image[...], factor: factor))
                let file = table.rowFiles[r] >= 0 ? URL(fileURLWithPath: table.sourceFiles[Int(table.rowFiles[r])]).lastPathComponent : "?"
                examples.append(ExampleImage(caption: "\(table.scenarioNames[r]), \(file) line \(table.rowLines[r])", group: group, png: png))
            }
        }
        let o = trained.options
        var options: [(String, String)] = [("model file", model), ("data", dataOptions.data), ("recipe", o.recipe.rawValue),
                                           ("window features", o.windowFeatures ? "on" : "off")]
        switch o.recipe {
        case .baseline:
            options += [("encoder", o.encoder.rawValue), ("memory bank", "\(trained.bank?.count ?? 0) baseline flows"),
                        ("score", "distance to the k-th nearest bank flow, k = \(o.k)"),
                        ("malicious shots", "\(trained.support.count)")]
            if o.encoder == .siamese {
                options += [("loss", trained.config.loss.rawValue), ("channels", trained.config.channels.map(String.init).joined(separator: ",")),
                            ("embedding", "\(trained.config.embedding)"), ("pairs per epoch", "\(o.pairsPerEpoch)"),
                            ("learning rate", "\(o.learningRate)"), ("batch size", "\(o.batchSize)"),
                            ("epochs", "\(trained.epochsCompleted) of \(o.epochs)")]
            }
        case .seed:
            options += [("loss", trained.config.loss.rawValue), ("channels", trained.config.channels.map(String.init).joined(separator: ",")),
                        ("embedding", "\(trained.config.embedding)"), ("benign shots", "\(o.benignShots)"),
                        ("malicious shots", "\(o.maliciousShots)"), ("pair malicious", "\(o.pairMalicious)"),
                        ("learning rate", "\(o.learningRate)"), ("batch size", "\(o.batchSize)"),
                        ("epochs", "\(trained.epochsCompleted) of \(o.epochs)"), ("validation split", "\(o.valSplit)"),
                        ("patience", "\(o.patience)"), ("score", detector.method.rawValue)]
        }
        let rule = o.recipe == .baseline
            ? (trained.calibration.map { "calibrated " + $0.summary } ?? String(format: "flag at most %.3f of the baseline's leave-one-out scores", o.fpr))
                + (o.thresholdRule == .supportF1 ? ", F1-best cut against the shots" : "")
            : (o.thresholdRule == .fpr ? String(format: "flag at most %.3f of the benign supports' leave-one-out scores", o.fpr)
               : "F1-best cut of the support set's leave-one-out scores")
        options += [("seed", "\(o.seed)"), ("transform", o.transform.rawValue),
                    ("threshold", String(format: "%.6g (%@)", trained.threshold, rule)),
                    ("false-positive rate here", String(format: "%.4f of %d benign flows", result.report.falsePositiveRate,
                                                        result.report.confusion.fp + result.report.confusion.tn)),
                    ("backend", "\(backend.name): \(backend.deviceDescription)"), ("gpu-train", GPUTrain.version)]
        var timings: [(String, String)] = trained.timings.sorted { $0.key < $1.key }.map { ($0.key, String(format: "%.2f s", $0.value)) }
        timings.append(("evaluation", String(format: "%.2f s for %d flows", result.seconds, result.scores.count)))
        var content = ReportContent(
            title: "gpu-train report", subtitle: "\(URL(fileURLWithPath: model).lastPathComponent) on \(dataOptions.data)",
            evaluation: result.report, rocCurve: result.rocCurve, history: trained.history, examples: examples,
            options: options, timings: timings,
            notes: result.supportRowsExcluded > 0 ? ["\(result.supportRowsExcluded) flows identical to the model's own training flows (support set, shots or memory bank) were left out of the evaluation."] : [])
        content.scoreGroups = groups
        content.incidents = topIncidents
        content.showsImages = trained.usesNetwork
        try HTMLReport.write(content, to: URL(fileURLWithPath: out))
        print(result.report.textSummary)
        print("report: \(out)")
    }

    /// The `incidents` incidents with the highest scores among the flagged flows, each with its
    /// top flow's reasons in raw units beside the nearest baseline flow's values.
    func incidentList(detector: Detector, table: FlowTable, result: EvaluationResult, truth: [FlowTruth?]?,
                      names: KubernetesDirectory? = nil) throws -> [ReportIncident] {
        guard incidents > 0 else { return [] }
        var flagged: [(endpoint: String, time: Double, score: Float, row: Int)] = []
        for (i, r) in result.rows.enumerated() where detector.isMalicious(result.scores[i]) {
            flagged.append((table.endpoints?[r] ?? "\(table.location(ofRow: r))>?:?", table.timestamps?[r] ?? .nan, result.scores[i], r))
        }
        let all = IncidentGrouper.group(flagged, window: incidentWindow)
        let top = all.sorted { $0.maxScore != $1.maxScore ? $0.maxScore > $1.maxScore : $0.number < $1.number }.prefix(incidents)
        // Roles of each incident's flows.
        var rolesOf: [String: Set<String>] = [:]
        if let truth {
            var key: [Int: String] = [:]
            for f in flagged {
                let (s, d, _) = IncidentGrouper.split(endpoint: f.endpoint)
                key[f.row] = s + ">" + d
            }
            for f in flagged { if let k = key[f.row] { rolesOf[k, default: []].insert(truth[f.row]?.rawValue ?? "unknown") } }
        }
        return try top.map { incident in
            let r = incident.maxScoreRow
            let raw = table.row(r)
            let scaled = detector.model.scaler.scaleRow(raw)
            let nearest = try detector.scoresAndNeighbors(scaledRows: scaled, count: 1).nearest[0]
            let reasons = detector.rawExplanation(rawRow: raw, scaledRow: scaled[...], nearest: nearest).map {
                "\($0.feature) \(Detector.readable($0.value)) vs \(Detector.readable($0.baseline))"
            }
            let ports = incident.destinationPorts.prefix(8).joined(separator: ", ") + (incident.destinationPorts.count > 8 ? ", ..." : "")
            func time(_ t: Double) -> String { t.isFinite ? FlowTimestamp.iso8601(t) : "-" }
            // With a pod list, each end as "namespace/Kind/workload (address)".
            func end(_ address: String) -> String { names?.name(of: address).map { "\($0.workloadKey) (\(address))" } ?? address }
            return ReportIncident(title: "\(end(incident.sourceIP)) -> \(end(incident.destinationIP)) (port\(incident.destinationPorts.count == 1 ? "" : "s") \(ports))",
                                  flows: incident.flows, firstSeen: time(incident.firstSeen), lastSeen: time(incident.lastSeen),
                                  maxScore: incident.maxScore, reasons: reasons.isEmpty ? ["equal to a normal flow in every feature"] : reasons,
                                  location: table.location(ofRow: r).split(separator: "/").last.map(String.init) ?? "",
                                  role: (rolesOf[incident.sourceIP + ">" + incident.destinationIP] ?? []).sorted().joined(separator: " + "))
        }
    }
}
