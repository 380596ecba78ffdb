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

    /// How many chunks `forEachChunk` makes of `count` items: one per worker, none smaller than
    /// `minimumChunk` (the work too small to pay for a thread), at least one.
    static func chunkCount(_ count: Int, minimumChunk: Int) -> Int {
        min(workers, max(1, count / max(1, minimumChunk)))
    }

    /// Runs body(range) over chunks; runs inline when the work is too small to pay for threads.
    @inline(__always)
    static func forEachChunk(_ count: Int, minimumChunk: Int = 1 << 15, _ body: (Range<Int>) -> Void) {
        forEachChunkIndexed(count, minimumChunk: minimumChunk) { _, range in body(range) }
    }

    /// Runs body(chunk index, range) over `chunkCount(count, minimumChunk:)` chunks, so that each
    /// chunk can own a slice of a scratch buffer (index in 0..<chunkCount).
    @inline(__always)
    static func forEachChunkIndexed(_ count: Int, minimumChunk: Int = 1 << 15, _ body: (Int, Range<Int>) -> Void) {
        let chunks = chunkCount(count, minimumChunk: minimumChunk)
        if chunks <= 1 {
            if count > 0 { body(0, 0..<count) }
            return
        }
        let size = (count + chunks - 1) / chunks
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = c * size, hi = min(count, lo + size)
            if lo < hi { body(c, lo..<hi) }
        }
    }
}
