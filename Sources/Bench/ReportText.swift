// The tables `gpu-train bench` prints.
import Foundation
import Reporting


extension BenchmarkReport {
    /// The tables `gpu-train bench` prints.
    public var text: String {
        var out = """
            gpu-train bench
            machine: \(machine)
            commit:  \(commit)
            date:    \(date)
            method:  \(method)
            fp32 peak: \(String(format: "%.1f", peak.gflops)) GFLOP/s measured (\(peak.instructionSet) multiply-add loop on \(peak.threads) threads, best of \(peak.samples); median \(String(format: "%.1f", peak.gflopsMedian)))

            CSV parsing: \(String(format: "%.1f", csvMBPerS)) MB/s (\(csvBytes) bytes, median)

            """
        for name in backends.keys.sorted(by: { ($0 == "cpu" ? 0 : 1, $0) < ($1 == "cpu" ? 0 : 1, $1) }) {
            guard let b = backends[name] else { continue }
            out += "\n== backend \(name): \(b.device)\n"
            out += b.text(name: name)
        }
        if let detector { out += detector.text }
        if let meter {
            out += "\n== flow meter (gpu-train flows, one thread): \(meter.capture)\n"
            out += String(format: "%.0f packets/s, %.0f flows/s, %.1f MB/s (median of %d; %d packets, %d flows, %d open at most; "
                          + "process peak RSS after it %.0f MB)\n",
                          meter.packetsPerS, meter.flowsPerS, meter.megabytesPerS, meter.samplesPacketsPerS.count,
                          meter.packets, meter.flows, meter.peakOpenFlows, meter.processPeakRSSMB)
        }
        out += String(format: "\nprocess peak RSS (getrusage ru_maxrss, whole run): %.0f MB\n", processPeakRSSMB)
        return out
    }
}

extension BackendBenchmark {
    func text(name: String) -> String {
        let hasDevice = ops.contains { $0.deviceMs != nil }
        func f(_ v: Double?, _ format: String) -> String { v.map { String(format: format, $0) } ?? "-" }
        var header = ["op", "layer", "shape", "ms med", "ms min", "ms max", "GFLOP/s", "% peak", "GB/s"]
        if hasDevice { header += ["event ms med", "min", "max"] }
        let rows = ops.map { o -> [String] in
            var r = [o.op, o.layer, o.shape, f(o.ms, "%.3f"), f(o.msMin, "%.3f"), f(o.msMax, "%.3f"),
                     f(o.gflops, "%.1f"), f(o.percentOfPeak, "%.0f%%"), f(o.gbPerS, "%.1f")]
            if hasDevice { r += [f(o.deviceMs, "%.3f"), f(o.deviceMsMin, "%.3f"), f(o.deviceMsMax, "%.3f")] }
            return r
        }
        var out = "per op (wall clock" + (hasDevice ? "; event = OpenCL profiling events" : "") + "):\n"
        out += TextTable.render(header: header, rows: rows)
        out += String(format: "sum of per-op medians: %.1f ms\n", ops.reduce(0) { $0 + $1.ms })
        if ops.contains(where: { $0.shape.contains("[winograd]") }) {
            out += "GFLOP/s and % peak count a convolution's direct FLOPs (2 N Co Ci K^2 H W) on every path: "
                + "[winograd] does 2.25x fewer multiplies, so its rates can pass the peak\n"
        }
        var e2e: [[String]] = []
        for key in train.keys.sorted(by: { (Int($0) ?? 0) < (Int($1) ?? 0) }) {
            guard let t = train[key] else { continue }
            e2e.append(["train step, batch \(key) pairs", f(t.perSecond, "%.1f") + " pairs/s",
                        f(t.perSecondMin, "%.1f"), f(t.perSecondMax, "%.1f"), f(t.ms, "%.1f"), f(t.deviceMs, "%.1f"),
                        f(t.gflops, "%.1f"), f(t.percentOfPeak, "%.0f%%")])
        }
        let i = inference
        e2e.append(["inference, batch \(i.batch) images", f(i.perSecond, "%.1f") + " images/s",
                    f(i.perSecondMin, "%.1f"), f(i.perSecondMax, "%.1f"), f(i.ms, "%.1f"), f(i.deviceMs, "%.1f"),
                    f(i.gflops, "%.1f"), f(i.percentOfPeak, "%.0f%%")])
        out += "\nend to end (rate from the median sample; min/max from the slowest/fastest):\n"
        out += TextTable.render(header: ["", "median", "min", "max", "ms/step", "event ms", "GFLOP/s", "% peak"], rows: e2e)
        out += String(format: "peak RSS: %.0f MB (%@)\n", peakRSSMB, peakRSSNote)
        return out
    }
}
