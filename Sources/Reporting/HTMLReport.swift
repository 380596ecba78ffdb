// One self-contained HTML page: inline CSS and SVG, PNGs as data URIs, nothing fetched.
import Common
import Foundation

/// An example flow image shown in the report.
public struct ExampleImage: Sendable {
    /// Short text under the image, for example "benign" or the scenario name.
    public var caption: String
    /// Images are shown in groups under this heading, in first-seen order ("Benign", "Malicious", ...).
    public var group: String
    /// A complete PNG file (FlowData's `PNG.encodeGray` makes one from a flow image).
    public var png: [UInt8]

    public init(caption: String, group: String, png: [UInt8]) {
        self.caption = caption
        self.group = group
        self.png = png
    }
}

/// An incident as the report lists it: prepared text, since Reporting knows no detector.
public struct ReportIncident: Sendable {
    /// "10.16.0.45 -> 144.122.71.36 (ports 9001)".
    public var title: String
    public var flows: Int
    public var firstSeen: String
    public var lastSeen: String
    public var maxScore: Float
    /// The highest-scoring flow's reasons in the flow meter's units, one per entry, e.g.
    /// "Total Length of Bwd Packet 18,630 vs 18,738 (nearest normal flow)".
    public var reasons: [String]
    /// Where the highest-scoring flow is ("file.csv line 1234").
    public var location: String
    /// The role of its flows when known ("attack", "background", "benign", or a mix).
    public var role: String

    public init(title: String, flows: Int, firstSeen: String, lastSeen: String, maxScore: Float, reasons: [String],
                location: String, role: String = "") {
        self.title = title
        self.flows = flows
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.maxScore = maxScore
        self.reasons = reasons
        self.location = location
        self.role = role
    }
}

/// Everything the report shows. Every field may be left empty; its section then says so.
public struct ReportContent: Sendable {
    public var title: String
    /// A line under the title: model, data, backend, date.
    public var subtitle: String
    public var evaluation: EvaluationReport?
    /// From `BinaryMetrics.rocCurve`.
    public var rocCurve: [ROCPoint]
    public var history: [EpochRecord]
    public var examples: [ExampleImage]
    /// Training and scoring options, in display order.
    public var options: [(String, String)]
    /// Phase name and duration as the caller wants it shown (for example "12.3 s").
    public var timings: [(String, String)]
    /// Free paragraphs shown at the end (how the threshold was chosen, caveats).
    public var notes: [String]
    /// Scores by role (or by label), for the histogram with the threshold marked.
    public var scoreGroups: [(name: String, scores: [Float])] = []
    /// The incidents with the highest scores, highest first.
    public var incidents: [ReportIncident] = []
    /// Whether the model has an image encoder: without one there are no images to show.
    public var showsImages = true

    public init(title: String = "gpu-train report", subtitle: String = "", evaluation: EvaluationReport? = nil,
                rocCurve: [ROCPoint] = [], history: [EpochRecord] = [], examples: [ExampleImage] = [],
                options: [(String, String)] = [], timings: [(String, String)] = [], notes: [String] = []) {
        self.title = title
        self.subtitle = subtitle
        self.evaluation = evaluation
        self.rocCurve = rocCurve
        self.history = history
        self.examples = examples
        self.options = options
        self.timings = timings
        self.notes = notes
    }
}

public enum HTMLReport {
    /// The page as text. All text from `content` is escaped.
    public static func render(_ content: ReportContent) -> String {
        var body = "<h1>\(escape(content.title))</h1>\n"
        if !content.subtitle.isEmpty { body += "<p class=\"subtitle\">\(escape(content.subtitle))</p>\n" }
        body += summary(content.evaluation)
        if let captures = content.evaluation?.captures, !captures.isEmpty {
            body += section("Per capture: attack flows detected, normal traffic flagged", perCapture(captures))
        }
        if !content.scoreGroups.isEmpty {
            body += section("Scores", "<div class=\"figure\">\(SVG.scoreHistogram(groups: content.scoreGroups, threshold: content.evaluation?.threshold ?? .nan).inlineMarkup)</div>\n")
        }
        body += section("Top incidents", incidents(content.incidents))
        body += section("Training curves", content.history.isEmpty ? empty("No training history: the model trained no network.")
            : "<div class=\"figure\">\(SVG.trainingCurves(history: content.history).inlineMarkup)</div>\n")
        body += section("ROC curve and confusion matrix", rocAndConfusion(content))
        body += section("Scenarios", scenarios(content.evaluation))
        if content.showsImages { body += section("Example images", examples(content.examples)) }
        body += section("Options", keyValues(content.options, emptyText: "No options recorded."))
        body += section("Timings", keyValues(content.timings, emptyText: "No timings recorded."))
        if !content.notes.isEmpty {
            body += section("Notes", content.notes.map { "<p>\(escape($0))</p>\n" }.joined())
        }
        return """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(content.title))</title>
        <style>\(style)</style>
        </head>
        <body>
        <main>
        \(body)</main>
        </body>
        </html>

        """
    }

    /// Writes the page to a temporary file beside `url` and renames it into place.
    public static func write(_ content: ReportContent, to url: URL) throws {
        try AtomicFile.write(render(content), to: url)
    }

    /// HTML and XML share the escaping rules for text and attribute values.
    public static func escape(_ text: String) -> String { SVG.escape(text) }

    // MARK: - Sections

    private static func section(_ heading: String, _ inner: String) -> String {
        "<section>\n<h2>\(escape(heading))</h2>\n\(inner)</section>\n"
    }

    private static func empty(_ text: String) -> String { "<p class=\"empty\">\(escape(text))</p>\n" }

    private static func summary(_ evaluation: EvaluationReport?) -> String {
        guard let e = evaluation else { return section("Summary", empty("No evaluation.")) }
        let rows: [(String, String)] = [
            ("Flows", String(e.flows)),
            ("ROC AUC", metric(e.auc)),
            ("PR AUC (average precision)", metric(e.prAUC)),
            ("Threshold (score ≥ threshold → malicious)", e.threshold.isFinite ? String(format: "%.6g", e.threshold) : "undefined"),
            ("Precision", metric(e.precision)),
            ("Recall", metric(e.recall)),
            ("F1", metric(e.f1)),
            ("Accuracy", metric(e.accuracy)),
            ("False-positive rate (benign flows flagged)", e.confusion.fp + e.confusion.tn > 0 ? metric(e.falsePositiveRate) : "undefined"),
        ]
        return section("Summary", keyValues(rows, emptyText: ""))
    }

    private static func rocAndConfusion(_ content: ReportContent) -> String {
        var figures = ""
        if content.rocCurve.isEmpty {
            figures += empty("No ROC curve (it needs both benign and malicious flows).")
        } else {
            figures += "<div class=\"figure\">\(SVG.rocCurve(points: content.rocCurve, auc: content.evaluation?.auc).inlineMarkup)</div>\n"
        }
        if let c = content.evaluation?.confusion {
            figures += "<div class=\"figure\">\(SVG.confusionMatrix(tp: c.tp, fp: c.fp, tn: c.tn, fn: c.fn).inlineMarkup)</div>\n"
        }
        return "<div class=\"row\">\n\(figures)</div>\n"
    }

    private static func scenarios(_ evaluation: EvaluationReport?) -> String {
        guard let e = evaluation, !e.scenarios.isEmpty else { return empty("No malicious scenarios in the data.") }
        var rows = ""
        for name in e.scenarios.keys.sorted() {
            guard let s = e.scenarios[name] else { continue }
            rows += "<tr><td>\(escape(name))</td><td class=\"num\">\(s.flows)</td><td class=\"num\">\(s.detected)</td>"
                + "<td class=\"num\">\(String(format: "%.1f%%", 100 * s.detectionRate))</td><td class=\"num\">\(metric(s.auc))</td></tr>\n"
        }
        return "<table>\n<thead><tr><th>Scenario</th><th>Flows</th><th>Detected</th><th>Detection rate</th>"
            + "<th>AUC vs benign</th></tr></thead>\n<tbody>\n\(rows)</tbody>\n</table>\n"
    }

    private static func perCapture(_ captures: [String: OperatorMetrics]) -> String {
        var rows = ""
        for name in captures.keys.sorted() {
            guard let m = captures[name] else { continue }
            rows += "<tr>" + m.tableRow(name).enumerated().map { i, cell in i == 0 ? "<td>\(escape(cell))</td>" : "<td class=\"num\">\(escape(cell))</td>" }.joined() + "</tr>\n"
        }
        let header = OperatorMetrics.tableHeader.map { "<th>\(escape($0))</th>" }.joined()
        return "<p>By each flow's role: <em>attack</em> flows are the attack itself, <em>background</em> is the cluster's own traffic "
            + "recorded while it ran (normal traffic of another period), <em>benign</em> the benign captures' flows. Rates are at the model's threshold.</p>\n"
            + "<table>\n<thead><tr>\(header)</tr></thead>\n<tbody>\n\(rows)</tbody>\n</table>\n"
    }

    private static func incidents(_ list: [ReportIncident]) -> String {
        guard !list.isEmpty else { return empty("No incidents: no flow was flagged.") }
        var rows = ""
        for i in list {
            let reasons = i.reasons.map { "<li>\(escape($0))</li>" }.joined()
            rows += "<tr><td>\(escape(i.title))" + (i.role.isEmpty ? "" : "<br><span class=\"empty\">\(escape(i.role))</span>") + "</td>"
                + "<td class=\"num\">\(i.flows)</td><td>\(escape(i.firstSeen))<br>\(escape(i.lastSeen))</td>"
                + "<td class=\"num\">\(String(format: "%.3f", i.maxScore))</td><td><ul>\(reasons)</ul>\(escape(i.location))</td></tr>\n"
        }
        return "<p>Flagged flows grouped by source and destination host, each within the incident window of the last; the reasons are "
            + "the highest-scoring flow's features that differ most from its nearest normal flow, in the flow meter's units (flow vs nearest normal flow).</p>\n"
            + "<table>\n<thead><tr><th>Incident</th><th>Flows</th><th>First / last seen</th><th>Highest score</th><th>Why (flow vs normal)</th></tr></thead>\n"
            + "<tbody>\n\(rows)</tbody>\n</table>\n"
    }

    private static func examples(_ images: [ExampleImage]) -> String {
        guard !images.isEmpty else { return empty("No example images.") }
        var groups: [String] = []
        for image in images where !groups.contains(image.group) { groups.append(image.group) }
        var html = ""
        for group in groups {
            html += "<h3>\(escape(group))</h3>\n<div class=\"gallery\">\n"
            for image in images where image.group == group {
                html += "<figure><img alt=\"\(escape(image.caption))\" src=\"data:image/png;base64,"
                    + Data(image.png).base64EncodedString() + "\"><figcaption>\(escape(image.caption))</figcaption></figure>\n"
            }
            html += "</div>\n"
        }
        return html
    }

    private static func keyValues(_ pairs: [(String, String)], emptyText: String) -> String {
        guard !pairs.isEmpty else { return empty(emptyText) }
        let rows = pairs.map { "<tr><th>\(escape($0.0))</th><td>\(escape($0.1))</td></tr>\n" }.joined()
        return "<table class=\"kv\">\n<tbody>\n\(rows)</tbody>\n</table>\n"
    }

    private static func metric(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "undefined" }
        return String(format: "%.4f", v)
    }

    private static let style = """
    body { margin: 0; background: #f6f7f9; color: #1d2330;
           font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; font-size: 15px; line-height: 1.45; }
    main { max-width: 1040px; margin: 0 auto; padding: 24px 28px 48px; }
    h1 { font-size: 26px; margin: 8px 0 4px; }
    h2 { font-size: 19px; margin: 0 0 12px; border-bottom: 1px solid #e1e4ea; padding-bottom: 6px; }
    h3 { font-size: 15px; margin: 12px 0 6px; }
    .subtitle { color: #5a6375; margin: 0 0 18px; }
    section { background: #ffffff; border: 1px solid #e1e4ea; border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
    table { border-collapse: collapse; }
    th, td { padding: 5px 12px; border-bottom: 1px solid #eceff3; text-align: left; vertical-align: top; }
    thead th { background: #f0f2f5; }
    table.kv th { font-weight: 600; color: #3b4355; }
    td.num { text-align: right; font-variant-numeric: tabular-nums; }
    .row { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
    .figure svg { max-width: 100%; height: auto; }
    .gallery { display: flex; flex-wrap: wrap; gap: 12px; }
    figure { margin: 0; text-align: center; }
    figure img { width: 96px; height: 96px; image-rendering: pixelated; border: 1px solid #d0d4dc; }
    figcaption { font-size: 12px; color: #5a6375; max-width: 96px; overflow-wrap: anywhere; }
    .empty { color: #8a92a3; font-style: italic; }
    """
}
