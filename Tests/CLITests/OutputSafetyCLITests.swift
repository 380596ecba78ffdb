import Foundation
import XCTest

/// Outputs never replace an input, a device or a symbolic link (issue 20, items B1 and B2). Both
/// run as root in a private mount namespace on a tmpfs (PrivateNamespace), skipped otherwise.
extension CLITests {
    func testNoCommandWritesOverOneOfItsInputs() throws {
        if try PrivateNamespace.runTest(self, mountPoint: dir) { return }
        let data = dir.appendingPathComponent("data"), sub = dir.appendingPathComponent("run")
        for folder in [data, sub] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        var files: [URL: String] = [:]
        func put(_ url: URL) throws {
            files[url] = "the contents of \(url.lastPathComponent)\n"
            try files[url]!.write(to: url, atomically: false, encoding: .utf8)
        }
        let flows = dir.appendingPathComponent("flows.csv"), baseline = dir.appendingPathComponent("b.csv")
        let model = dir.appendingPathComponent("m.safetensors"), inFolder = data.appendingPathComponent("x.csv")
        let examples = data.appendingPathComponent("examples.csv"), history = sub.appendingPathComponent("history.csv")
        for url in [flows, baseline, model, inFolder, examples, history] { try put(url) }
        let symlink = dir.appendingPathComponent("link.csv"), hardlink = dir.appendingPathComponent("hard.csv")
        try FileManager.default.createSymbolicLink(at: symlink, withDestinationURL: flows)
        try FileManager.default.linkItem(at: flows, to: hardlink)
        let cases: [([String], String, String)] = [
            (["train", "--data", flows.path, "--out", flows.path], flows.path, flows.path),
            (["train", "--data", flows.path, "--out", symlink.path], symlink.path, flows.path),
            (["train", "--data", flows.path, "--out", hardlink.path], hardlink.path, flows.path),
            (["train", "--data", data.path, "--out", inFolder.path], inFolder.path, data.path),
            (["train", "--data", flows.path, "--baseline", baseline.path, "--out", baseline.path], baseline.path, baseline.path),
            // (train --out into a --data folder writes no history.csv there: ModelOptionsCLITests.)
            (["evaluate", "--model", model.path, "--data", flows.path, "--json", flows.path], flows.path, flows.path),
            (["evaluate", "--model", model.path, "--data", flows.path, "--roc", model.path], model.path, model.path),
            (["report", "--model", model.path, "--data", flows.path, "--out", flows.path], flows.path, flows.path),
            (["crossval", "--data", data.path, "--json", inFolder.path], inFolder.path, data.path),
            (["convert", "--data", data.path, "--out", data.path], examples.path, data.path),
            (["detect", "--model", model.path, "--input", flows.path, "--output", model.path], model.path, model.path),
            (["detect", "--model", model.path, "--input", flows.path, "--output", hardlink.path], hardlink.path, flows.path),
        ]
        for (args, output, input) in cases {
            let r = try run(args + ["--backend", "cpu"].filter { _ in args[0] != "convert" })
            XCTAssertNotEqual(r.status, 0, "\(args)")
            XCTAssertTrue(r.stderr.contains("the output is the input file"), "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(output) && r.stderr.contains(input), "\(args) names both: \(r.stderr)")
            for (url, text) in files { XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), text, "\(args): \(url.path)") }
            XCTAssertEqual((try? FileManager.default.destinationOfSymbolicLink(atPath: symlink.path)), flows.path)
            let all = FileManager.default.enumerator(atPath: dir.path)?.allObjects as? [String] ?? []
            XCTAssertEqual(all.filter { $0.contains(".gt-") || $0.hasSuffix(".svg") || $0.hasSuffix(".json") }, [], "\(args)")
        }
    }

    func testOutputsWriteDevicesInPlaceAndSymbolicLinksThrough() throws {
        if try PrivateNamespace.runTest(self, mountPoint: dir) { return }
        let data = dir.appendingPathComponent("flows").path
        XCTAssertEqual(try run(["synth", "--out", data, "--benign", "60", "--seed", "4"]).status, 0)
        let model = dir.appendingPathComponent("m.safetensors").path
        let train = try run(["train", "--data", data, "--out", model, "--backend", "cpu"])
        XCTAssertEqual(train.status, 0, train.stderr)
        let benign = dir.appendingPathComponent("flows/benign")
        let input = benign.appendingPathComponent(try FileManager.default.contentsOfDirectory(atPath: benign.path).sorted()[0]).path

        // A symbolic link to a regular file: written through, the link stays.
        let real = dir.appendingPathComponent("real.csv"), link = dir.appendingPathComponent("link.csv")
        try "old\n".write(to: real, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "real.csv")
        let viaLink = try run(["detect", "--model", model, "--input", input, "--output", link.path, "--backend", "cpu"])
        XCTAssertEqual(viaLink.status, 0, viaLink.stderr)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link.path), "real.csv")
        XCTAssertTrue(try String(contentsOf: real, encoding: .utf8).hasPrefix("row,"))
        // The model through a link too: train writes the file the link leads to.
        let modelLink = dir.appendingPathComponent("model-link.safetensors")
        try FileManager.default.createSymbolicLink(atPath: modelLink.path, withDestinationPath: model)
        let before = try Data(contentsOf: URL(fileURLWithPath: model))
        let retrain = try run(["train", "--data", data, "--out", modelLink.path, "--fpr", "0.1", "--backend", "cpu"])
        XCTAssertEqual(retrain.status, 0, retrain.stderr)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: modelLink.path), model)
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: model)), before)

        // /dev/stdout: written in place (here a pipe), never replaced.
        let stdout = try run(["detect", "--model", model, "--input", input, "--output", "/dev/stdout", "--backend", "cpu"])
        XCTAssertEqual(stdout.status, 0, stdout.stderr)
        XCTAssertTrue(stdout.stdout.hasPrefix("row,"), stdout.stdout)

        // A device (our own null device, so a regression cannot replace the machine's /dev/null).
        let device = dir.appendingPathComponent("null")
        guard mknod(device.path, S_IFCHR | 0o666, dev_t(1 << 8 | 3)) == 0 else {
            throw XCTSkip("making a device node needs root (mknod: \(String(cString: strerror(errno))))")
        }
        for args in [["detect", "--model", model, "--input", input, "--output", device.path],
                     ["evaluate", "--model", model, "--data", data, "--json", device.path, "--roc", device.path],
                     ["report", "--model", model, "--data", data, "--out", device.path]] {
            let r = try run(args + ["--backend", "cpu"])
            XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)")
            var info = stat()
            XCTAssertEqual(lstat(device.path, &info), 0)
            XCTAssertEqual(info.st_mode & S_IFMT, S_IFCHR, "\(args): the device is still a device")
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".gt-") }
        XCTAssertEqual(leftovers, [])
    }
}
