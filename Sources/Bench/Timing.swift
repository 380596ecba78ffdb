// Timed samples: warm-up, repeats, medians.
import Backend
import Foundation

extension Benchmark {
    /// A rate from timed samples: items per second at the median, slowest and fastest sample.
    static func rate(_ t: (wall: SampleStats, device: SampleStats?), items: Int, flops: Double) -> RateBenchmark {
        let n = Double(items)
        return RateBenchmark(batch: items, perSecond: n / t.wall.median, perSecondMin: n / t.wall.max, perSecondMax: n / t.wall.min,
                             ms: t.wall.median * 1e3, deviceMs: t.device.map { $0.median * 1e3 },
                             gflops: flops / t.wall.median / 1e9, percentOfPeak: nil)
    }

    /// Warm-up, then `repeats` samples of `body` (each run enough times to last `minimumSeconds`);
    /// seconds per run by wall clock and, on a profiling OpenCL backend, by profiling events.
    static func time(repeats: Int, minimumSeconds: Double, backend: Backend?,
                     _ body: () throws -> Void) throws -> (wall: SampleStats, device: SampleStats?) {
        let profiler = (backend as? OpenCLBackend).flatMap { $0.isProfiling ? $0 : nil }
        func sample(_ runs: Int) throws -> (Double, Double) {
            try backend?.synchronize()
            _ = try profiler?.takeProfiledSeconds()
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<runs { try body() }
            try backend?.synchronize()
            let wall = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            let device = try profiler?.takeProfiledSeconds() ?? 0
            return (wall / Double(runs), device / Double(runs))
        }
        let (warm, _) = try sample(1)
        let runs = max(1, min(1000, Int((minimumSeconds / max(warm, 1e-7)).rounded(.up))))
        var walls: [Double] = [], devices: [Double] = []
        for _ in 0..<max(1, repeats) {
            let (w, d) = try sample(runs)
            walls.append(w); devices.append(d)
        }
        return (SampleStats(walls), profiler == nil ? nil : SampleStats(devices))
    }
}

