import Foundation
import XCTest

/// The CLI path-safety cases run in a private mount namespace (`unshare --mount --propagation
/// private`) when the tests run as root: a tmpfs mounted there is seen by nothing else and goes
/// away with the namespace, so a regression that writes over a device, through a link or over an
/// input can only damage the tmpfs, never the real filesystem. Not root, or no namespace or mount
/// permitted (an unprivileged container): the case is skipped with a message.
enum PrivateNamespace {
    /// Set (to the tmpfs folder) in a test process running inside the namespace.
    static let variable = "GPU_TRAIN_TEST_PRIVATE_TMPFS"

    /// Whether this process runs inside the namespace (started by `runTest`).
    static var isInside: Bool { ProcessInfo.processInfo.environment[variable] != nil }

    /// Runs `script` with `sh -c` in a new private mount namespace; `arguments` are its `$1`, `$2`...
    /// Returns its status and its output (stdout and stderr together). The script exits 99 when a
    /// mount it needs is refused. Throws XCTSkip when not root, or when unshare cannot start or is
    /// refused.
    static func run(script: String, arguments: [String] = [], environment: [String: String] = [:]) throws
        -> (status: Int32, output: String) {
        guard getuid() == 0 else {
            throw XCTSkip("the path-safety cases run in a private mount namespace with a tmpfs: they need root")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // The script says first that it runs: when it does not, unshare itself was refused.
        let entered = "gpu-train-tests: in a private mount namespace"
        p.arguments = ["unshare", "--mount", "--propagation", "private", "sh", "-c", "echo '\(entered)'\n" + script, "sh"]
            + arguments
        var variables = ProcessInfo.processInfo.environment
        for (key, value) in environment { variables[key] = value }
        p.environment = variables
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { throw XCTSkip("unshare is not available: \(error)") }
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard output.hasPrefix(entered + "\n") else {
            throw XCTSkip("a private mount namespace is not permitted here (unshare --mount): \(output)")
        }
        return (p.terminationStatus, String(output.dropFirst(entered.utf8.count + 1)))
    }

    /// Outside the namespace: runs `test` again, alone, in this test binary inside a private mount
    /// namespace, with a tmpfs mounted on `mountPoint` (an empty folder) as its temporary folder
    /// (TMPDIR), reports its failures here and returns true: the caller returns. Inside: checks
    /// that `mountPoint` (there the test's own folder) is on the tmpfs and returns false, and the
    /// caller runs the test's body.
    static func runTest(_ test: XCTestCase, mountPoint: URL, file: StaticString = #filePath, line: UInt = #line) throws -> Bool {
        if let tmpfs = ProcessInfo.processInfo.environment[variable] {
            // Inside: the test's folder is on the namespace's tmpfs.
            let mounts = (try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? ""
            XCTAssertTrue(mounts.split(separator: "\n").contains { $0.hasPrefix("tmpfs \(tmpfs) tmpfs ") },
                          "no tmpfs on \(tmpfs) in this namespace", file: file, line: line)
            XCTAssertTrue(mountPoint.path.hasPrefix(tmpfs + "/"), "\(mountPoint.path) is not on the tmpfs", file: file, line: line)
            return false
        }
        // XCTest names a test "CLITests.testX" (Linux) or "-[CLITests testX]"; its filter wants "Module.Class/testX".
        let method = test.name.split(whereSeparator: { " .]".contains($0) }).last.map(String.init) ?? test.name
        let filter = String(reflecting: type(of: test)) + "/" + method.replacingOccurrences(of: "()", with: "")
        let executable = CommandLine.arguments[0]
        let script = """
            mount -t tmpfs -o size=512m,mode=0700 tmpfs "$1" || exit 99
            exec "$2" "$3"
            """
        let r = try run(script: script, arguments: [mountPoint.path, executable, filter],
                        environment: [variable: mountPoint.path, "TMPDIR": mountPoint.path])
        if r.status == 99 { throw XCTSkip("a private mount namespace with a tmpfs is not permitted here: \(r.output)") }
        let failures = r.output.split(separator: "\n").filter { $0.contains("error:") || $0.contains("XCTAssert") }
        XCTAssertEqual(r.status, 0, "\(filter) in a private mount namespace:\n" + failures.joined(separator: "\n"),
                       file: file, line: line)
        XCTAssertTrue(r.output.contains("Executed 1 test"), "\(filter) did not run in the namespace:\n\(r.output.suffix(2000))",
                      file: file, line: line)
        if r.output.contains("' skipped") { throw XCTSkip("skipped in the namespace:\n\(r.output.suffix(1000))") }
        // The tmpfs went away with the namespace: nothing may be left on the real filesystem.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: mountPoint.path), [],
                       "\(filter) wrote outside its tmpfs", file: file, line: line)
        return true
    }
}
