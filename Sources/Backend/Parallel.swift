import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Splits 0..<count into at most `Parallel.workers` contiguous chunks and runs them concurrently.
enum Parallel {
    static let workers: Int = {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 4
        #endif
    }()

    /// Runs body(range) over chunks; runs inline when the work is too small to pay for threads.
    @inline(__always)
    static func forEachChunk(_ count: Int, minimumChunk: Int = 1 << 15, _ body: (Range<Int>) -> Void) {
        let chunks = min(workers, max(1, count / minimumChunk))
        if chunks <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        let size = (count + chunks - 1) / chunks
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = c * size, hi = min(count, lo + size)
            if lo < hi { body(lo..<hi) }
        }
    }
}
