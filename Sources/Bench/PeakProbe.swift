// The machine's fp32 peak, measured: every op's GFLOP/s is shown as a share of it.
import Backend
import CKernels
import Dispatch
import Foundation

/// What the peak probe measured: FMAs on independent accumulators (Sources/CKernels/peak_probe.c)
/// on every core at once, at the highest vector level the CPU runs.
public struct PeakMeasurement: Codable, Equatable, Sendable {
    /// Best sample, GFLOP/s over all threads (a peak is a maximum: slower samples were disturbed).
    public var gflops: Double
    /// Median sample, to show how steady the machine was.
    public var gflopsMedian: Double
    public var instructionSet: String
    public var threads: Int
    public var samples: Int

    enum CodingKeys: String, CodingKey {
        case gflops, gflopsMedian = "gflops_median", instructionSet = "instruction_set", threads, samples
    }

    /// `gflops` as a share of this peak, in per cent; nil for a missing figure or an unmeasured peak.
    public func percent(_ gflops: Double?) -> Double? {
        guard let gflops, self.gflops > 0, self.gflops.isFinite else { return nil }
        return 100 * gflops / self.gflops
    }
}

public enum PeakProbe {
    /// Runs the probe on `threads` threads at once, `samples` times, each sample lasting about
    /// `seconds`; the FMA loop's rate is what the cores can sustain at most.
    public static func measure(threads: Int = ProcessInfo.processInfo.activeProcessorCount, samples: Int = 5,
                               seconds: Double = 0.1) -> PeakMeasurement {
        let isa = gt_best_isa()
        let threads = max(1, threads)
        // Calibrate: iterations per thread that take about `seconds` on one core.
        var iterations = 1 << 16
        while true {
            let start = DispatchTime.now().uptimeNanoseconds
            var sink = 0.0
            _ = gt_peak_probe_flops(isa, iterations, &sink)
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            if elapsed >= seconds / 4 || iterations >= 1 << 30 {
                iterations = max(1, Int(Double(iterations) * seconds / max(elapsed, 1e-9)))
                break
            }
            iterations *= 4
        }
        var rates: [Double] = []
        for _ in 0..<max(1, samples) {
            let flops = UnsafeMutableBufferPointer<Double>.allocate(capacity: threads)
            defer { flops.deallocate() }
            let start = DispatchTime.now().uptimeNanoseconds
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                var sink = 0.0
                flops[t] = gt_peak_probe_flops(isa, iterations, &sink)
            }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            rates.append(flops.reduce(0, +) / elapsed / 1e9)
        }
        let stats = SampleStats(rates)
        return PeakMeasurement(gflops: stats.max, gflopsMedian: stats.median,
                               instructionSet: String(cString: gt_isa_name(isa)), threads: threads, samples: rates.count)
    }
}
