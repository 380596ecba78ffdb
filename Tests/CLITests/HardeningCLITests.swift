import Foundation
import XCTest

/// Absurd option values, output folders and model paths, as a careless or hostile user would
/// pass them (issue 13, items 1 and 7).
extension CLITests {
    func testAbsurdOptionValuesAreUsageErrorsNamingTheOption() throws {
        let out = dir.appendingPathComponent("new/m.safetensors")
        let cases: [([String], String)] = [
            (["--embedding", "4611686018427387904"], "--embedding 4611686018427387904 is too large"),
            (["--batch-size", "9223372036854775807", "--epochs", "1"], "--batch-size must be between 1 and 16383"),
            (["--channels", "4611686018427387904,1,1,1"], "--channels 4611686018427387904,1,1,1 is too large"),
            (["--epochs", "9223372036854775807"], "--epochs must be between 1 and 1000000"),
            (["--benign-shots", "9223372036854775807"], "--benign-shots must be between 2 and 10000"),
            (["--lr", "-1"], "--lr must be a positive number, got -1.0"),
            (["--lr", "nan"], "--lr must be a positive number"),
            (["--patience", "-3"], "--patience must be 0 or more, got -3"),
            (["--val-split", "-0.5"], "--val-split must be in [0, 1), got -0.5"),
        ]
        for (args, expected) in cases {
            let r = try run(["train", "--data", dir.appendingPathComponent("none").path, "--out", out.path,
                             "--backend", "cpu"] + args)
            // 64 is ArgumentParser's usage error; a crash would end with a signal instead.
            XCTAssertEqual(r.status, 64, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(expected), "\(args): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("Missing value"), "\(args): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.deletingLastPathComponent().path),
                           "\(args): a refused run creates no folder")
        }
        let synth = try run(["synth", "--out", dir.appendingPathComponent("s").path, "--benign", "9223372036854775807"])
        XCTAssertEqual(synth.status, 64, synth.stderr)
        XCTAssertTrue(synth.stderr.contains("--benign must be between 1 and 10000000"), synth.stderr)
        let convert = try run(["convert", "--data", "x", "--out", "y", "--count", "-1"])
        XCTAssertTrue(convert.stderr.contains("--count must be 0 or more"), convert.stderr)
    }

    func testAFailedTrainLeavesNoFolderItCreated() throws {
        let out = dir.appendingPathComponent("a/b/m.safetensors")
        let r = try run(["train", "--data", dir.appendingPathComponent("missing").path, "--out", out.path] + tiny)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("a").path), r.stderr)
        // A folder that was already there stays.
        let existing = dir.appendingPathComponent("kept")
        try FileManager.default.createDirectory(at: existing, withIntermediateDirectories: true)
        let again = try run(["train", "--data", dir.appendingPathComponent("missing").path,
                             "--out", existing.appendingPathComponent("m.safetensors").path] + tiny)
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: existing.path))
    }

    func testAModelPathThatIsAFolderGetsAClearError() throws {
        let r = try run(["detect", "--model", dir.path, "--input", "-", "--backend", "cpu"], stdin: Data())
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("\(dir.path): not a usable gpu-train model: it is a folder"), r.stderr)
        XCTAssertFalse(r.stderr.contains("NSCocoaErrorDomain"), r.stderr)
    }
}
