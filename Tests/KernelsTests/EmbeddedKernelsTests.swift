import Foundation
import Kernels
import XCTest

/// The sources the EmbedKernels plugin embeds at build time are kernels/*.cl, byte for byte, and
/// every family the backend names has one.
final class EmbeddedKernelsTests: XCTestCase {
    let kernelsDir = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("kernels")

    func testEmbeddedSourcesMatchKernelFiles() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: kernelsDir.path)
            .filter { $0.hasSuffix(".cl") }.sorted()
        let names = files.map { String($0.dropLast(3)) }
        XCTAssertEqual(names, KernelSources.embedded.keys.sorted(),
                       "kernels/ and the embedded set differ")
        XCTAssertEqual(names, KernelSources.families.sorted())
        for (file, name) in zip(files, names) {
            let text = try String(contentsOf: kernelsDir.appendingPathComponent(file), encoding: .utf8)
            XCTAssertEqual(KernelSources.embedded[name], text,
                           "kernels/\(file) differs from its embedded copy")
        }
    }

    func testOverrideFolderReplacesOneFamily() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kernels-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "// override\n".write(to: dir.appendingPathComponent("pool.cl"), atomically: true, encoding: .utf8)
        let env = [KernelSources.overrideVariable: dir.path]
        XCTAssertEqual(KernelSources.source(named: "pool", environment: env)?.text, "// override\n")
        XCTAssertEqual(KernelSources.source(named: "gemm_tiled", environment: env)?.origin, "embedded")
        XCTAssertNil(KernelSources.source(named: "nope", environment: [:]))
    }
}
