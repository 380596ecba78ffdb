@testable import Backend
import Foundation
import XCTest

/// Built programs on disk: the entry format, where the cache lives, and on the test machine's
/// OpenCL device (PoCL here) a second backend loading what the first built, with the same
/// results, and damaged entries rebuilt.
final class OpenCLProgramCacheTests: XCTestCase {
    func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kernel-cache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        return folder
    }

    func testEntryFormatRoundTripsAndRejectsDamage() {
        let key = Array("device: D\nsource:\nkernel".utf8), binary: [UInt8] = [1, 2, 3, 250]
        let entry = OpenCLProgramCache.encode(key: key, binary: binary)
        // magic (26 bytes) + three 8-byte words + key + binary
        XCTAssertEqual(entry.count, 26 + 24 + key.count + 4)
        XCTAssertEqual(Array(entry[26..<34]), [UInt8(key.count), 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(Array(entry[34..<42]), [4, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(try OpenCLProgramCache.decode(entry, key: key).get(), binary)

        func reason(_ bytes: [UInt8], key: [UInt8] = key) -> String {
            if case .failure(let p) = OpenCLProgramCache.decode(bytes, key: key) { return p.reason }
            return "accepted"
        }
        XCTAssert(reason(Array(entry.prefix(20))).hasPrefix("truncated"))
        XCTAssert(reason(Array(entry.dropLast())).hasPrefix("truncated"))
        XCTAssert(reason(entry + [0]).hasPrefix("truncated or padded"))
        var flipped = entry
        flipped[flipped.count - 1] ^= 0x10
        XCTAssertEqual(reason(flipped), "checksum mismatch")
        var foreign = entry
        foreign[0] = UInt8(ascii: "G")
        XCTAssertEqual(reason(foreign), "not a gpu-train cache entry")
        XCTAssertEqual(reason(entry, key: Array("another".utf8)), "an entry for another program (hash collision)")
        // FNV-1a 64 of "a" (the published test vector).
        XCTAssertEqual(OpenCLProgramCache.fnv1a(Array("a".utf8)), 0xaf63_dc4c_8601_ec8c)
    }

    func testWhereTheCacheLives() {
        typealias C = OpenCLProgramCache
        XCTAssertNil(C.fromEnvironment(["GPU_TRAIN_KERNEL_CACHE": "off", "HOME": "/home/u"]))
        XCTAssertNil(C.fromEnvironment(["GPU_TRAIN_KERNEL_CACHE": "OFF"]))
        XCTAssertEqual(C.fromEnvironment(["GPU_TRAIN_KERNEL_CACHE": "/tmp/k", "HOME": "/home/u"])?.folder.path, "/tmp/k")
        XCTAssertEqual(C.fromEnvironment(["XDG_CACHE_HOME": "/x/cache", "HOME": "/home/u"])?.folder.path, "/x/cache/gpu-train/kernels")
        XCTAssertEqual(C.fromEnvironment(["XDG_CACHE_HOME": "relative", "HOME": "/home/u"])?.folder.path, "/home/u/.cache/gpu-train/kernels")
        XCTAssertEqual(C.fromEnvironment(["HOME": "/home/u"])?.folder.path, "/home/u/.cache/gpu-train/kernels")
        XCTAssertNil(C.fromEnvironment([:]))
    }

    /// One GEMM and a bias + ReLU on a fresh backend: the programs it built or loaded, and the
    /// results. Three programs: elementwise.cl without defines (makeTensor's fill),
    /// gemm_registers, and elementwise.cl with ACTIVATION=1 (add_bias).
    func run(_ environment: [String: String]) throws -> (backend: OpenCLBackend, values: [Float]) {
        let backend = try OpenCLBackend(tuning: .cpu, environment: environment)
        var rng = SeededGenerator(seed: 11)
        let a = try backend.makeTensor([9, 70]), b = try backend.makeTensor([70, 33]), c = try backend.makeTensor([9, 33])
        try backend.upload((0..<a.count).map { _ in rng.uniform(-1, 1) }, to: a)
        try backend.upload((0..<b.count).map { _ in rng.uniform(-1, 1) }, to: b)
        try backend.gemm(a, transposeA: false, b, transposeB: false, into: c, alpha: 1, beta: 0)
        let bias = try backend.makeTensor([33])
        try backend.upload((0..<33).map { Float($0) / 33 - 0.5 }, to: bias)
        try backend.addBias(bias, to: c, activation: .relu)
        return (backend, try backend.download(c))
    }

    func entries(_ folder: URL) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "clbin" }.sorted { $0.path < $1.path }
    }

    func testSecondBackendLoadsFromTheCacheWithIdenticalResults() throws {
        _ = try openCLOrSkip()
        let folder = try temporaryFolder()
        let env = [OpenCLProgramCache.variable: folder.path]
        let first = try run(env)
        // Three programs (N = 33 is under gemm_registers' 64-column stripe, so one GEMM launch),
        // each compiled and stored.
        XCTAssertEqual(first.backend.cl.programsCompiled, 3)
        XCTAssertEqual(first.backend.cl.programsLoaded, 0)
        XCTAssertEqual(try entries(folder).count, 3)
        let second = try run(env)
        XCTAssertEqual(second.backend.cl.programsLoaded, 3)
        XCTAssertEqual(second.backend.cl.programsCompiled, 0)
        XCTAssertEqual(second.values, first.values)  // bit for bit
        XCTAssertEqual(second.backend.cl.programCache?.notes, [])

        let off = try run([OpenCLProgramCache.variable: "off"])
        XCTAssertNil(off.backend.cl.programCache)
        XCTAssertEqual(off.backend.cl.programsCompiled, 3)
        XCTAssertEqual(off.values, first.values)
    }

    func testDamagedEntriesAreRebuiltAndRewritten() throws {
        _ = try openCLOrSkip()
        let folder = try temporaryFolder()
        let env = [OpenCLProgramCache.variable: folder.path]
        let reference = try run(env).values
        let files = try entries(folder)
        XCTAssertEqual(files.count, 3)
        // One entry truncated, one with a flipped bit in its binary, one with a foreign header.
        let truncated = try Data(contentsOf: files[0])
        try truncated.prefix(truncated.count / 2).write(to: files[0])
        var flipped = [UInt8](try Data(contentsOf: files[1]))
        flipped[flipped.count - 3] ^= 0x01
        try Data(flipped).write(to: files[1])
        try Data("not a cache entry at all, but long enough to hold a header.....".utf8).write(to: files[2])

        let damaged = try run(env)
        XCTAssertEqual(damaged.values, reference)
        XCTAssertEqual(damaged.backend.cl.programsCompiled, 3)
        XCTAssertEqual(damaged.backend.cl.programsLoaded, 0)
        let notes = damaged.backend.cl.programCache?.notes ?? []
        XCTAssertEqual(notes.count, 3, "\(notes)")
        XCTAssertEqual(notes.filter { $0.contains("truncated") }.count, 1, "\(notes)")
        XCTAssertEqual(notes.filter { $0.contains("checksum mismatch") }.count, 1, "\(notes)")
        XCTAssertEqual(notes.filter { $0.contains("not a gpu-train cache entry") }.count, 1, "\(notes)")
        XCTAssert(notes.allSatisfy { $0.hasPrefix("kernel cache: \(folder.path)/") && $0.hasSuffix("rebuilding it") }, "\(notes)")

        // Rewritten: the next backend loads all three.
        let repaired = try run(env)
        XCTAssertEqual(repaired.backend.cl.programsLoaded, 3)
        XCTAssertEqual(repaired.values, reference)
    }

    func testAnUnwritableCacheNeverFailsTheRun() throws {
        _ = try openCLOrSkip()
        let folder = try temporaryFolder()
        let file = folder.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        // A folder below a regular file cannot be made, not even by root.
        let result = try run([OpenCLProgramCache.variable: file.appendingPathComponent("kernels").path])
        XCTAssertEqual(result.backend.cl.programsCompiled, 3)
        let notes = result.backend.cl.programCache?.notes ?? []
        XCTAssertEqual(notes.count, 3)
        XCTAssert(notes.allSatisfy { $0.contains("cannot write") && $0.contains("without the cache") }, "\(notes)")
    }
}
