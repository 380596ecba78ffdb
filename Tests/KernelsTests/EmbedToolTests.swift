import Foundation
import XCTest

/// The embed-kernels tool the EmbedKernels plugin runs: raw-string fences that no kernel text can
/// end early, and clear refusals.
final class EmbedToolTests: XCTestCase {
    /// The tool as the build left it beside the test bundle (the plugin's host build, or the target's).
    static var tool: URL? {
        var url = Bundle(for: EmbedToolTests.self).bundleURL
        for _ in 0..<2 {
            for name in ["embed-kernels-tool", "embed-kernels"] {
                let candidate = url.appendingPathComponent(name)
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            }
            url = url.deletingLastPathComponent()
        }
        return nil
    }

    func run(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let tool = try XCTUnwrap(Self.tool, "embed-kernels is not built beside the tests")
        let p = Process()
        p.executableURL = tool
        p.arguments = arguments
        let err = Pipe()
        p.standardError = err
        try p.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testFencesOutnumberEveryHashRunAndRefusalsNameTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("embed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let output = dir.appendingPathComponent("Embedded.swift")
        // "b" holds a triple quote followed by two #s and a backslash followed by one: three #s needed.
        let a = "// plain\n", b = "x = \"\"\"## \\#y\n// no final newline"
        try a.write(to: dir.appendingPathComponent("a.cl"), atomically: true, encoding: .utf8)
        try b.write(to: dir.appendingPathComponent("b.cl"), atomically: true, encoding: .utf8)
        let ok = try run([output.path, dir.appendingPathComponent("b.cl").path, dir.appendingPathComponent("a.cl").path])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        let text = try String(contentsOf: output, encoding: .utf8)
        XCTAssert(text.contains("        \"a\": #\"\"\"\n// plain\n\n\"\"\"#,\n"), text)
        XCTAssert(text.contains("        \"b\": ###\"\"\"\n\(b)\n\"\"\"###,\n"), text)
        XCTAssertLessThan(try XCTUnwrap(text.range(of: "\"a\":")).lowerBound, try XCTUnwrap(text.range(of: "\"b\":")).lowerBound,
                          "sorted by name")

        try Data("one\r\ntwo\n".utf8).write(to: dir.appendingPathComponent("crlf.cl"))
        let crlf = try run([output.path, dir.appendingPathComponent("crlf.cl").path])
        XCTAssertEqual(crlf.status, 1)
        XCTAssert(crlf.stderr.contains("crlf.cl:1: carriage return"), crlf.stderr)
        let notCL = try run([output.path, dir.appendingPathComponent("Embedded.swift").path])
        XCTAssert(notCL.stderr.contains("Embedded.swift: not a .cl file"), notCL.stderr)
        let missing = try run([output.path, dir.appendingPathComponent("none.cl").path])
        XCTAssert(missing.stderr.contains("none.cl: cannot open"), missing.stderr)
        XCTAssertEqual(try String(contentsOf: output, encoding: .utf8), text, "a failed run leaves the last output alone")
    }
}
