// A small SVG writer: documents, escaping, and line charts with axes, ticks, labels and a legend.
import Common
import Foundation

/// A finished SVG picture. `document` is a standalone file (with the SVG namespace);
/// `inlineMarkup` is the same picture for embedding in HTML5, which needs no namespace.
public struct SVGImage: Equatable, Sendable {
    public var width: Double
    public var height: Double
    /// The elements inside the root `<svg>`.
    public var content: String

    public init(width: Double, height: Double, content: String) {
        self.width = width
        self.height = height
        self.content = content
    }

    /// A standalone SVG file.
    public var document: String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + root(attributes: "xmlns=\"http://www.w3.org/2000/svg\" ")
    }

    /// The `<svg>` element for inline use in an HTML page.
    public var inlineMarkup: String { root(attributes: "") }

    /// Writes `document` to a temporary file beside `url` and renames it into place.
    public func write(to url: URL) throws {
        try AtomicFile.write(document, to: url)
    }

    private func root(attributes: String) -> String {
        "<svg \(attributes)width=\"\(SVG.number(width))\" height=\"\(SVG.number(height))\" "
            + "viewBox=\"0 0 \(SVG.number(width)) \(SVG.number(height))\" "
            + "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
            + "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n" + content + "</svg>\n"
    }
}

/// One line of a chart. Points with a non-finite coordinate are left out.
public struct ChartSeries: Sendable {
    public var name: String
    public var points: [(x: Double, y: Double)]
    /// Any SVG colour, for example "#1f77b4".
    public var color: String
    public var dashed: Bool

    public init(name: String, points: [(x: Double, y: Double)], color: String, dashed: Bool = false) {
        self.name = name
        self.points = points
        self.color = color
        self.dashed = dashed
    }

    var finitePoints: [(x: Double, y: Double)] { points.filter { $0.x.isFinite && $0.y.isFinite } }
}

/// A line chart panel. Axes fit the data with round tick values unless a domain is given.
public struct LineChart: Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    /// Series without finite points are omitted, from the plot and the legend.
    public var series: [ChartSeries]
    public var xDomain: ClosedRange<Double>?
    public var yDomain: ClosedRange<Double>?
    /// Ticks on whole numbers only, for epochs.
    public var integerXTicks = false
    /// Draws the dashed line y = x (the chance line of a ROC curve).
    public var diagonal = false

    public init(title: String, xLabel: String, yLabel: String, series: [ChartSeries],
                xDomain: ClosedRange<Double>? = nil, yDomain: ClosedRange<Double>? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.xDomain = xDomain
        self.yDomain = yDomain
    }

    /// The chart alone as a picture.
    public func image(width: Double = 480, height: Double = 340) -> SVGImage {
        SVGImage(width: width, height: height, content: render(x: 0, y: 0, width: width, height: height))
    }

    /// The chart's elements, drawn inside the box at (x, y) of the given size.
    public func render(x: Double, y: Double, width: Double, height: Double) -> String {
        let drawn = series.filter { !$0.finitePoints.isEmpty }
        let allPoints = drawn.flatMap(\.finitePoints)
        let xAxis = SVG.Axis(domain: xDomain, values: allPoints.map(\.x), integer: integerXTicks)
        let yAxis = SVG.Axis(domain: yDomain, values: allPoints.map(\.y), integer: false)
        // The plot area leaves room for the title and legend above, tick labels and axis titles around.
        let plot = (left: x + 62, top: y + 52, right: x + width - 16, bottom: y + height - 44)
        func px(_ v: Double) -> Double { plot.left + xAxis.fraction(v) * (plot.right - plot.left) }
        func py(_ v: Double) -> Double { plot.bottom - yAxis.fraction(v) * (plot.bottom - plot.top) }

        var s = "<g class=\"chart\">\n"
        s += SVG.text(title, x: x + width / 2, y: y + 18, anchor: "middle", extra: "font-size=\"14\" font-weight=\"bold\"")
        for t in xAxis.ticks {
            let p = px(t)
            s += SVG.line(p, plot.top, p, plot.bottom, stroke: "#e5e5e5")
            s += SVG.line(p, plot.bottom, p, plot.bottom + 4, stroke: "#333333")
            s += SVG.text(xAxis.label(t), x: p, y: plot.bottom + 17, anchor: "middle")
        }
        for t in yAxis.ticks {
            let p = py(t)
            s += SVG.line(plot.left, p, plot.right, p, stroke: "#e5e5e5")
            s += SVG.line(plot.left - 4, p, plot.left, p, stroke: "#333333")
            s += SVG.text(yAxis.label(t), x: plot.left - 7, y: p + 4, anchor: "end")
        }
        s += "<rect x=\"\(SVG.number(plot.left))\" y=\"\(SVG.number(plot.top))\" width=\"\(SVG.number(plot.right - plot.left))\" "
            + "height=\"\(SVG.number(plot.bottom - plot.top))\" fill=\"none\" stroke=\"#333333\"/>\n"
        s += SVG.text(xLabel, x: (plot.left + plot.right) / 2, y: y + height - 8, anchor: "middle")
        let yMid = (plot.top + plot.bottom) / 2
        s += SVG.text(yLabel, x: x + 16, y: yMid, anchor: "middle",
                      extra: "transform=\"rotate(-90 \(SVG.number(x + 16)) \(SVG.number(yMid)))\"")
        if diagonal {
            let lo = max(xAxis.lower, yAxis.lower), hi = min(xAxis.upper, yAxis.upper)
            if lo < hi { s += SVG.line(px(lo), py(lo), px(hi), py(hi), stroke: "#999999", extra: "stroke-dasharray=\"4 4\"") }
        }
        for series in drawn {
            let points = series.finitePoints
            let dash = series.dashed ? " stroke-dasharray=\"6 3\"" : ""
            let coordinates = points.map { "\(SVG.number(px($0.x))),\(SVG.number(py($0.y)))" }.joined(separator: " ")
            s += "<polyline points=\"\(coordinates)\" fill=\"none\" stroke=\"\(SVG.escape(series.color))\" stroke-width=\"2\"\(dash)/>\n"
            if points.count <= 40 {
                for p in points {
                    s += "<circle cx=\"\(SVG.number(px(p.x)))\" cy=\"\(SVG.number(py(p.y)))\" r=\"2.5\" fill=\"\(SVG.escape(series.color))\"/>\n"
                }
            }
        }
        s += legend(drawn, left: plot.left, y: y + 38)
        return s + "</g>\n"
    }

    private func legend(_ drawn: [ChartSeries], left: Double, y: Double) -> String {
        var s = ""
        var x = left
        for series in drawn {
            let dash = series.dashed ? " stroke-dasharray=\"6 3\"" : ""
            s += SVG.line(x, y - 4, x + 22, y - 4, stroke: series.color, extra: "stroke-width=\"2\"\(dash)")
            s += SVG.text(series.name, x: x + 27, y: y, anchor: "start")
            // A rough width: about 6.5 px per character at 12 px.
            x += 27 + Double(series.name.count) * 6.5 + 18
        }
        return s
    }
}

/// Helpers shared by the charts.
public enum SVG {
    /// Escapes text for XML content and attribute values, and drops characters XML 1.0 forbids.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                let v = scalar.value
                let allowed = (v >= 0x20 && v < 0xD800) || (v >= 0xE000 && v <= 0xFFFD) || v >= 0x10000
                if allowed { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }

    /// A coordinate with at most two decimals.
    static func number(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        let s = String(format: "%.2f", v)
        return s.hasSuffix(".00") ? String(s.dropLast(3)) : s
    }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, extra: String = "") -> String {
        "<line x1=\"\(number(x1))\" y1=\"\(number(y1))\" x2=\"\(number(x2))\" y2=\"\(number(y2))\" "
            + "stroke=\"\(escape(stroke))\"\(extra.isEmpty ? "" : " " + extra)/>\n"
    }

    static func text(_ content: String, x: Double, y: Double, anchor: String, extra: String = "") -> String {
        "<text x=\"\(number(x))\" y=\"\(number(y))\" text-anchor=\"\(anchor)\"\(extra.isEmpty ? "" : " " + extra)>"
            + escape(content) + "</text>\n"
    }

    /// An axis with round tick values (1, 2 or 5 times a power of ten) covering the data.
    struct Axis {
        var lower: Double
        var upper: Double
        var step: Double
        var ticks: [Double]

        init(domain: ClosedRange<Double>?, values: [Double], integer: Bool) {
            var lo = domain?.lowerBound ?? values.min() ?? 0
            var hi = domain?.upperBound ?? values.max() ?? 1
            if !(hi > lo) {
                let pad = lo == 0 ? 1 : abs(lo) * 0.1
                lo -= pad
                hi += pad
            }
            let raw = (hi - lo) / 5
            let magnitude = pow(10, (log10(raw)).rounded(.down))
            let f = raw / magnitude
            var step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * magnitude
            if integer { step = max(1, step.rounded()) }
            if domain == nil {
                lo = (lo / step).rounded(.down) * step
                hi = (hi / step).rounded(.up) * step
            }
            lower = lo
            upper = hi
            self.step = step
            let first = (lo / step - 1e-9).rounded(.up)
            let last = (hi / step + 1e-9).rounded(.down)
            ticks = first <= last ? stride(from: first, through: last, by: 1).map { $0 * step } : []
        }

        func fraction(_ v: Double) -> Double { (v - lower) / (upper - lower) }

        func label(_ v: Double) -> String {
            let decimals = max(0, Int((-log10(step)).rounded(.up)))
            // A tick computed as -1e-17 would otherwise print as "-0.0".
            return String(format: "%.\(decimals)f", abs(v) < step * 1e-6 ? 0 : v)
        }
    }
}
