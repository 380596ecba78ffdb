// The report's charts: training curves, ROC curve and confusion matrix.
import Foundation

extension SVG {
    static let trainColor = "#1f77b4"
    static let validationColor = "#ff7f0e"

    /// Two panels side by side, like the two Keras figures of the original work: accuracy per
    /// epoch and loss per epoch, each for training and validation. A validation series with no
    /// finite values is left out.
    public static func trainingCurves(history: [EpochRecord], panelWidth: Double = 480, height: Double = 340) -> SVGImage {
        func series(_ name: String, _ color: String, _ value: (EpochRecord) -> Double?) -> ChartSeries {
            ChartSeries(name: name, points: history.compactMap { r in value(r).map { (Double(r.epoch), $0) } }, color: color)
        }
        var accuracy = LineChart(title: "Model accuracy", xLabel: "Epoch", yLabel: "Accuracy",
                                 series: [series("train", trainColor, { $0.accuracy }),
                                          series("validation", validationColor, { $0.valAccuracy })])
        var loss = LineChart(title: "Model loss", xLabel: "Epoch", yLabel: "Loss",
                             series: [series("train", trainColor, { $0.loss }),
                                      series("validation", validationColor, { $0.valLoss })])
        accuracy.integerXTicks = true
        loss.integerXTicks = true
        let content = accuracy.render(x: 0, y: 0, width: panelWidth, height: height)
            + loss.render(x: panelWidth, y: 0, width: panelWidth, height: height)
        return SVGImage(width: 2 * panelWidth, height: height, content: content)
    }

    /// The ROC curve on the unit square with the chance diagonal; the title gives the AUC
    /// ("undefined" when `auc` is nil or not finite).
    public static func rocCurve(points: [ROCPoint], auc: Double?, width: Double = 420, height: Double = 400) -> SVGImage {
        let aucText = auc.flatMap { $0.isFinite ? String(format: "%.4f", $0) : nil } ?? "undefined"
        var chart = LineChart(title: "ROC curve (AUC = \(aucText))", xLabel: "False positive rate", yLabel: "True positive rate",
                              series: [ChartSeries(name: "model", points: points.map { ($0.fpr, $0.tpr) }, color: trainColor)],
                              xDomain: 0...1, yDomain: 0...1)
        chart.diagonal = true
        return chart.image(width: width, height: height)
    }

    /// A 2x2 confusion matrix: rows are the true class, columns the prediction. Each cell shows
    /// its count and its share of the row, shaded by that share.
    public static func confusionMatrix(tp: Int, fp: Int, tn: Int, fn: Int) -> SVGImage {
        let cell = 120.0, left = 130.0, top = 64.0
        let rows: [(name: String, cells: [Int])] = [("benign", [tn, fp]), ("malicious", [fn, tp])]
        var s = text("Confusion matrix", x: left + cell, y: 20, anchor: "middle", extra: "font-size=\"14\" font-weight=\"bold\"")
        s += text("Predicted", x: left + cell, y: 40, anchor: "middle", extra: "font-weight=\"bold\"")
        for (column, name) in ["benign", "malicious"].enumerated() {
            s += text(name, x: left + (Double(column) + 0.5) * cell, y: top - 8, anchor: "middle")
        }
        let actualY = top + cell
        s += text("Actual", x: 22, y: actualY, anchor: "middle",
                  extra: "font-weight=\"bold\" transform=\"rotate(-90 22 \(number(actualY)))\"")
        for (r, row) in rows.enumerated() {
            let y = top + Double(r) * cell
            s += text(row.name, x: left - 10, y: y + cell / 2 + 4, anchor: "end")
            let total = row.cells.reduce(0, +)
            for (c, count) in row.cells.enumerated() {
                let x = left + Double(c) * cell
                let share = total == 0 ? 0 : Double(count) / Double(total)
                s += "<rect x=\"\(number(x))\" y=\"\(number(y))\" width=\"\(number(cell))\" height=\"\(number(cell))\" "
                    + "fill=\"\(shade(share))\" stroke=\"#ffffff\" stroke-width=\"2\"/>\n"
                let ink = share > 0.5 ? "#ffffff" : "#222222"
                s += text(String(count), x: x + cell / 2, y: y + cell / 2, anchor: "middle",
                          extra: "font-size=\"20\" fill=\"\(ink)\"")
                s += text(String(format: "%.1f%%", 100 * share), x: x + cell / 2, y: y + cell / 2 + 20, anchor: "middle",
                          extra: "fill=\"\(ink)\"")
            }
        }
        return SVGImage(width: left + 2 * cell + 20, height: top + 2 * cell + 20, content: s)
    }

    /// White at 0 to a deep blue at 1.
    private static func shade(_ share: Double) -> String {
        let from = (r: 247.0, g: 251.0, b: 255.0), to = (r: 8.0, g: 48.0, b: 107.0)
        let t = min(max(share, 0), 1)
        func mix(_ a: Double, _ b: Double) -> Int { Int((a + (b - a) * t).rounded()) }
        return String(format: "#%02x%02x%02x", mix(from.r, to.r), mix(from.g, to.g), mix(from.b, to.b))
    }

    /// Score histograms, one line per group (attack, background, benign ...), each as the share of
    /// its own flows per bin so that a group of ten flows shows beside one of thousands, with the
    /// threshold as a dashed vertical line. Scores above the 99.5th percentile of all finite scores
    /// (and infinite ones) go into the last bin.
    public static func scoreHistogram(groups: [(name: String, scores: [Float])], threshold: Double, bins: Int = 40,
                                      width: Double = 900, height: Double = 360) -> SVGImage {
        let colors = ["#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd"]
        let finite = groups.flatMap(\.scores).filter(\.isFinite).map(Double.init).sorted()
        let top = max(finite.isEmpty ? 1 : finite[min(finite.count - 1, Int(Double(finite.count) * 0.995))],
                      threshold.isFinite ? threshold * 1.5 : 0, 1e-6)
        let width1 = top / Double(bins)
        var series: [ChartSeries] = []
        var highest = 0.0
        for (index, group) in groups.enumerated() where !group.scores.isEmpty {
            var counts = [Double](repeating: 0, count: bins)
            for v in group.scores where !v.isNaN {
                let b = v.isFinite ? min(bins - 1, max(0, Int(Double(v) / width1))) : bins - 1
                counts[b] += 1
            }
            let shares = counts.map { $0 / Double(group.scores.count) }
            highest = max(highest, shares.max() ?? 0)
            // A step outline: each bin's share across its width.
            var points: [(x: Double, y: Double)] = [(0, 0)]
            for (b, share) in shares.enumerated() {
                points.append((Double(b) * width1, share))
                points.append((Double(b + 1) * width1, share))
            }
            points.append((top, 0))
            series.append(ChartSeries(name: "\(group.name) (\(group.scores.count))", points: points, color: colors[index % colors.count]))
        }
        if threshold.isFinite {
            series.append(ChartSeries(name: String(format: "threshold %.3g", threshold),
                                      points: [(threshold, 0), (threshold, max(highest, 0.01))], color: "#222222", dashed: true))
        }
        let chart = LineChart(title: "Scores by role (share of each role's flows per bin; the last bin holds the rest)",
                              xLabel: "Score (distance to normal traffic)", yLabel: "Share of flows", series: series,
                              xDomain: 0...top, yDomain: 0...max(highest * 1.05, 0.01))
        return chart.image(width: width, height: height)
    }
}
