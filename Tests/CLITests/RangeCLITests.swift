import Foundation
import XCTest

/// Negative, NaN and infinite numbers are range errors at parse time (exit 64), never a trap or
/// "Missing value" (issue 20, item B6).
extension CLITests {
    func testNegativeAndNonFiniteNumbersAreRangeErrors() throws {
        let data = dir.appendingPathComponent("none.csv").path, model = dir.appendingPathComponent("m").path
        let cases: [([String], String)] = [
            (["crossval", "--data", data, "--baseline-fraction", "nan"], "--baseline-fraction must be in (0, 1), got nan"),
            (["crossval", "--data", data, "--baseline-fraction", "inf"], "--baseline-fraction must be in (0, 1), got inf"),
            (["crossval", "--data", data, "--baseline-fraction", "-0.5"], "--baseline-fraction must be in (0, 1), got -0.5"),
            (["crossval", "--data", data, "--baseline-fraction", "1"], "--baseline-fraction must be in (0, 1), got 1.0"),
            (["crossval", "--data", data, "--seeds", "-1"], "--seeds must be between 1 and 1000, got -1"),
            (["crossval", "--data", data, "--seeds", "9223372036854775807"], "--seeds must be between 1 and 1000"),
            (["train", "--data", data, "--out", model, "--encoder", "siamese", "--channels", "-1,8,8,16"],
             "--channels needs 4 positive integers, got '-1,8,8,16'"),
            (["detect", "--model", model, "--input", data, "--batch-size", "-1"], "--batch-size must be at least 1"),
            (["detect", "--model", model, "--input", data, "--follow", "--poll-interval", "-1"], "--poll-interval must be in (0, 60]"),
            (["detect", "--model", model, "--input", data, "--follow", "--poll-interval", "nan"], "--poll-interval must be in (0, 60]"),
        ]
        for (args, expected) in cases {
            let r = try run(args + ["--backend", "cpu"])
            XCTAssertEqual(r.status, 64, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(expected), "\(args): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("Missing value"), "\(args): \(r.stderr)")
        }
    }

    func testABaselineFractionThatLeavesTooFewFlowsSaysSo() throws {
        let data = dir.appendingPathComponent("flows").path
        XCTAssertEqual(try run(["synth", "--out", data, "--benign", "40", "--seed", "2"]).status, 0)
        let r = try run(["crossval", "--data", data, "--baseline-fraction", "0.001", "--encoders", "none", "--backend", "cpu"])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("--baseline-fraction 0.001 leaves 0 of the"), r.stderr)
        XCTAssertTrue(r.stderr.contains("too few"), r.stderr)
        XCTAssertFalse(r.stderr.contains("no benign flows"), r.stderr)
    }
}
