import Foundation
import XCTest

/// Escape sequences in labels, file names and values are shown escaped, never sent raw to the
/// terminal (issue 20, item B5).
extension CLITests {
    func testEscapeSequencesFromInputNeverReachTheTerminal() throws {
        let data = dir.appendingPathComponent("flows")
        XCTAssertEqual(try run(["synth", "--out", data.path, "--benign", "60", "--seed", "6"]).status, 0)
        let malicious = data.appendingPathComponent("malicious")
        let files = try FileManager.default.contentsOfDirectory(atPath: malicious.path).sorted()
        // A scenario named after a file whose name holds an OSC sequence (it sets the terminal's title).
        let pods = try XCTUnwrap(files.first { $0.hasPrefix("attack-pods") })
        try FileManager.default.moveItem(at: malicious.appendingPathComponent(pods),
                                         to: malicious.appendingPathComponent("\u{1B}]0;pwned\u{07}pods_x.csv"))
        // A text label holding a colour sequence.
        let scan = malicious.appendingPathComponent(try XCTUnwrap(files.first { $0.hasPrefix("reconnaissance") }))
        let lines = try String(contentsOf: scan, encoding: .utf8).split(separator: "\n").map(String.init)
        let relabelled = [lines[0]] + lines.dropFirst().map { line -> String in
            var fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            fields[fields.count - 1] = "\u{1B}[31mRED"
            return fields.joined(separator: ",")
        }
        try (relabelled.joined(separator: "\n") + "\n").write(to: scan, atomically: true, encoding: .utf8)

        func clean(_ r: CLIResult, _ what: String) {
            for (name, text) in [("stdout", r.stdout), ("stderr", r.stderr)] {
                XCTAssertFalse(text.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{07}" }, "\(what) \(name): \(text)")
            }
        }
        let model = dir.appendingPathComponent("m.safetensors").path
        let train = try run(["train", "--data", data.path, "--out", model, "--backend", "cpu"])
        XCTAssertEqual(train.status, 0, train.stderr)
        clean(train, "train")
        XCTAssertTrue(train.stderr.contains("\\u{1B}[31mRED"), train.stderr)
        let evaluate = try run(["evaluate", "--model", model, "--data", data.path, "--backend", "cpu"])
        XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
        clean(evaluate, "evaluate")
        XCTAssertTrue(evaluate.stdout.contains("\\u{1B}]0;pwned\\u{7}pods"), evaluate.stdout)

        // A value that is not a number: the error quotes it, escaped.
        var bad = lines
        var fields = bad[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        fields[8] = "\u{1B}[2J"
        bad[1] = fields.joined(separator: ",")
        let badFile = dir.appendingPathComponent("bad.csv")
        try (bad.joined(separator: "\n") + "\n").write(to: badFile, atomically: true, encoding: .utf8)
        let refused = try run(["train", "--data", badFile.path, "--out", model, "--backend", "cpu"])
        XCTAssertNotEqual(refused.status, 0)
        clean(refused, "train on a bad value")
        XCTAssertTrue(refused.stderr.contains("\\u{1B}[2J"), refused.stderr)
    }
}
