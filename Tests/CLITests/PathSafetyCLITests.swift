import Foundation
import XCTest

/// Path safety beyond the output-is-input and device cases of OutputSafetyCLITests: a path too
/// long for the system, messages, and a full disk. Every case runs in a private mount namespace
/// (PrivateNamespace: `unshare --mount --propagation private`, so a tmpfs mounted there is seen by
/// nothing else and goes away with the namespace): the first two run whole on a tmpfs, the
/// full-disk one runs its commands on a small filled tmpfs. They skip with a message when not root
/// or when the namespace or the mount is not permitted (an unprivileged container).
final class PathSafetyCLITests: XCTestCase {
    var dir: URL!
    var data = "", model = "", input = ""

    override func setUpWithError() throws {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: CLITests.binary.path), "gpu-train is not built")
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpu-train-paths-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    /// Flows, a model and an input file in `dir`: made by each test, once it runs where it writes.
    func prepare() throws {
        data = dir.appendingPathComponent("flows").path
        XCTAssertEqual(try runGPUTrain(["synth", "--out", data, "--benign", "60", "--seed", "4"]).status, 0)
        model = dir.appendingPathComponent("m.safetensors").path
        let train = try runGPUTrain(["train", "--data", data, "--out", model, "--backend", "cpu"])
        XCTAssertEqual(train.status, 0, train.stderr)
        let benign = dir.appendingPathComponent("flows/benign")
        input = benign.appendingPathComponent(try FileManager.default.contentsOfDirectory(atPath: benign.path).sorted()[0]).path
    }

    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(at: dir) } }

    /// Every command that writes, with its output(s) placed in `folder` (`existing` names a file
    /// there that is already an output of the command, to check it stays intact).
    func writers(in folder: String, existing: String) -> [[String]] {
        [
            ["synth", "--out", folder + "/new-flows", "--benign", "5"],
            ["train", "--data", data, "--out", folder + "/new/m.safetensors", "--backend", "cpu"],
            ["train", "--data", data, "--out", existing, "--backend", "cpu"],
            ["update", "--model", model, "--baseline", input, "--out", folder + "/new/u.safetensors", "--backend", "cpu"],
            ["evaluate", "--model", model, "--data", data, "--json", folder + "/new/e.json", "--backend", "cpu"],
            ["evaluate", "--model", model, "--data", data, "--roc", folder + "/new/roc.svg", "--backend", "cpu"],
            ["evaluate", "--model", model, "--data", data, "--roc", existing, "--backend", "cpu"],
            ["report", "--model", model, "--data", data, "--out", folder + "/new/r.html", "--backend", "cpu"],
            ["detect", "--model", model, "--input", input, "--output", folder + "/new/d.csv", "--backend", "cpu"],
            ["detect", "--model", model, "--input", input, "--output", existing, "--backend", "cpu"],
            ["convert", "--data", data, "--out", folder + "/new-images"],
        ]
    }

    /// A path longer than PATH_MAX is refused before any folder is made (it used to leave a chain
    /// of empty folders behind).
    func testAPathLongerThanPATH_MAXIsRefusedBeforeAnyFolderIsCreated() throws {
        if try PrivateNamespace.runTest(self, mountPoint: dir) { return }
        try prepare()
        let top = dir.appendingPathComponent("long").path
        let folder = top + String(repeating: "/" + String(repeating: "d", count: 200), count: 21)
        XCTAssertGreaterThan(folder.utf8.count, Int(PATH_MAX))
        for args in writers(in: folder, existing: folder + "/old.csv") {
            let r = try runGPUTrain(args)
            XCTAssertNotEqual(r.status, 0, "\(args[0])")
            XCTAssertTrue(r.stderr.contains("PATH_MAX"), "\(args[0]): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: top), "\(args[0]) created folders")
            try? FileManager.default.removeItem(atPath: top)
        }
    }

    /// An output below a regular file, and a model that is not there: the path and the system's
    /// reason, never "NSCocoaErrorDomain error 512" or "The operation could not be completed".
    func testMessagesNameThePathAndTheReason() throws {
        if try PrivateNamespace.runTest(self, mountPoint: dir) { return }
        try prepare()
        let file = dir.appendingPathComponent("a-file").path
        try "x\n".write(toFile: file, atomically: false, encoding: .utf8)
        for args in writers(in: file + "/sub", existing: file + "/old.csv") {
            let r = try runGPUTrain(args)
            XCTAssertNotEqual(r.status, 0, "\(args[0])")
            XCTAssertTrue(r.stderr.contains("\(file): is a file, so it cannot hold the output"), "\(args[0]): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("NSCocoaErrorDomain") || r.stderr.contains("could not be completed"), r.stderr)
        }
        let missing = try runGPUTrain(["detect", "--model", dir.appendingPathComponent("none").path, "--input", input,
                                       "--backend", "cpu"])
        XCTAssertTrue(missing.stderr.contains("cannot read it (No such file or directory)"), missing.stderr)
    }

    /// A full disk (a 1 MiB tmpfs, filled): every command that writes fails with the system's "No
    /// space left on device", leaves no temporary file and no folder it created, and an output
    /// that was there stays intact.
    func testAFullDiskFailsClearlyAndLeavesNothingBehind() throws {
        guard getuid() == 0 else { throw XCTSkip("the full-disk cases mount a tmpfs in a private mount namespace: they need root") }
        try prepare()
        let full = dir.appendingPathComponent("full").path, results = dir.appendingPathComponent("results").path
        for folder in [full, results] { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        let existing = full + "/old.out"
        let cases = writers(in: full, existing: existing)
        // One shell in the namespace: mount, write the old output, fill the disk, then run each
        // case and record its status, stderr and what the folder holds afterwards.
        var script = """
            set -u
            mount -t tmpfs -o size=1m tmpfs '\(full)' || exit 99
            printf 'the old output\\n' > '\(existing)'
            head -c 4M /dev/zero > '\(full)/fill' 2>/dev/null
            ls -A '\(full)' > '\(results)/before'

            """
        for (i, args) in cases.enumerated() {
            let quoted = ([CLITests.binary.path] + args).map { "'" + $0 + "'" }.joined(separator: " ")
            script += """
                \(quoted) > /dev/null 2> '\(results)/\(i).err' < /dev/null; echo $? > '\(results)/\(i).rc'
                ls -A '\(full)' > '\(results)/\(i).ls'; cat '\(existing)' > '\(results)/\(i).old'

                """
        }
        let r = try PrivateNamespace.run(script: script)
        if r.status == 99 || !FileManager.default.fileExists(atPath: results + "/before") {
            throw XCTSkip("a private mount namespace with a tmpfs is not permitted here: \(r.output)")
        }
        let before = try String(contentsOfFile: results + "/before", encoding: .utf8)
        XCTAssertEqual(before, "fill\nold.out\n")
        for (i, args) in cases.enumerated() {
            let name = args.prefix(1).joined() + " " + args.filter { $0.hasPrefix(full) }.joined(separator: " ")
            let rc = try String(contentsOfFile: results + "/\(i).rc", encoding: .utf8)
            let stderr = try String(contentsOfFile: results + "/\(i).err", encoding: .utf8)
            XCTAssertNotEqual(rc, "0\n", "\(name) succeeded on a full disk")
            XCTAssertTrue(stderr.contains("No space left on device"), "\(name): \(stderr)")
            XCTAssertFalse(stderr.contains("NSCocoaErrorDomain"), "\(name): \(stderr)")
            XCTAssertEqual(try String(contentsOfFile: results + "/\(i).ls", encoding: .utf8), before,
                           "\(name) left a temporary file or a folder")
            XCTAssertEqual(try String(contentsOfFile: results + "/\(i).old", encoding: .utf8), "the old output\n", name)
        }
    }
}
