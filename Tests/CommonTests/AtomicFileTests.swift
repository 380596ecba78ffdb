@testable import Common
import Foundation
import XCTest

/// Outputs: regular files replaced atomically, symbolic links written through, devices and FIFOs
/// written in place, temporary files created exclusively under unpredictable names.
final class AtomicFileTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpu-train-atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(at: dir) } }

    func read(_ url: URL) throws -> String { try String(contentsOf: url, encoding: .utf8) }
    func kind(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : 0
    }
    func leftovers() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }
    }

    func testARegularFileIsReplacedKeepingItsPermissions() throws {
        let out = dir.appendingPathComponent("out.csv")
        try "old\n".write(to: out, atomically: false, encoding: .utf8)
        chmod(out.path, 0o640)
        try AtomicFile.write("new\n", to: out)
        XCTAssertEqual(try read(out), "new\n")
        var info = stat()
        stat(out.path, &info)
        XCTAssertEqual(info.st_mode & 0o777, 0o640)
        XCTAssertEqual(try leftovers(), [])
    }

    func testASymbolicLinkIsWrittenThroughAndStaysALink() throws {
        let sub = dir.appendingPathComponent("real")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        let target = sub.appendingPathComponent("target.csv")
        try "old\n".write(to: target, atomically: false, encoding: .utf8)
        let link = dir.appendingPathComponent("link.csv"), chain = dir.appendingPathComponent("chain.csv")
        XCTAssertEqual(symlink("real/target.csv", link.path), 0)  // relative, as users make them
        XCTAssertEqual(symlink(link.path, chain.path), 0)
        try AtomicFile.write("through the link\n", to: link)
        XCTAssertEqual(kind(link.path), S_IFLNK)
        XCTAssertEqual(try read(target), "through the link\n")
        try AtomicFile.write("through two links\n", to: chain)
        XCTAssertEqual(kind(chain.path), S_IFLNK)
        XCTAssertEqual(kind(link.path), S_IFLNK)
        XCTAssertEqual(try read(target), "through two links\n")
        // A dangling link is written through too, as a shell's > would.
        let dangling = dir.appendingPathComponent("dangling.csv")
        XCTAssertEqual(symlink("real/new.csv", dangling.path), 0)
        try AtomicFile.write("created\n", to: dangling)
        XCTAssertEqual(kind(dangling.path), S_IFLNK)
        XCTAssertEqual(try read(sub.appendingPathComponent("new.csv")), "created\n")
        XCTAssertEqual(try leftovers(), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: sub.path).filter { $0.hasPrefix(".") }, [])
    }

    func testAFIFOIsWrittenInPlace() throws {
        let fifo = dir.appendingPathComponent("pipe")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        final class Box: @unchecked Sendable { var data = Data() }
        let box = Box(), done = DispatchSemaphore(value: 0)
        let path = fifo.path
        Thread.detachNewThread {
            if let handle = FileHandle(forReadingAtPath: path) { box.data = handle.readDataToEndOfFile() }
            done.signal()
        }
        try AtomicFile.write("through the pipe\n", to: fifo)
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(String(decoding: box.data, as: UTF8.self), "through the pipe\n")
        XCTAssertEqual(kind(fifo.path), S_IFIFO, "the FIFO is still a FIFO")
        XCTAssertEqual(try leftovers(), [])
    }

    func testADeviceIsWrittenInPlace() throws {
        // A null device of our own, so that a regression cannot replace the machine's /dev/null.
        let device = dir.appendingPathComponent("null")
        guard mknod(device.path, S_IFCHR | 0o666, dev_t(1 << 8 | 3)) == 0 else {  // makedev(1, 3)
            throw XCTSkip("making a device node needs root (mknod: \(String(cString: strerror(errno))))")
        }
        try AtomicFile.write("discarded\n", to: device)
        XCTAssertEqual(kind(device.path), S_IFCHR, "the device node is still a device")
        let link = dir.appendingPathComponent("to-null")
        XCTAssertEqual(symlink(device.path, link.path), 0)
        try AtomicFile.write("discarded\n", to: link)
        XCTAssertEqual(kind(device.path), S_IFCHR)
        XCTAssertEqual(kind(link.path), S_IFLNK)
        XCTAssertEqual(try leftovers(), [])
    }

    func testAPlantedSymbolicLinkIsNeverFollowed() throws {
        // The old predictable name: .NAME.tmp-PID. A link planted there must not lead the write.
        let victim = dir.appendingPathComponent("victim.txt")
        try "precious\n".write(to: victim, atomically: false, encoding: .utf8)
        let out = dir.appendingPathComponent("out.csv")
        XCTAssertEqual(symlink(victim.path, dir.appendingPathComponent(".out.csv.tmp-\(getpid())").path), 0)
        try AtomicFile.write("output\n", to: out)
        XCTAssertEqual(try read(victim), "precious\n")
        XCTAssertEqual(try read(out), "output\n")
        // Temporary names are random and short.
        var seen: [String] = []
        for _ in 0..<3 {
            let output = try AtomicOutput(out) { seen.append(URL(fileURLWithPath: $0).lastPathComponent) }
            output.abandon()
        }
        XCTAssertEqual(Set(seen).count, 3, "\(seen)")
        XCTAssert(seen.allSatisfy { $0.hasPrefix(".gt-") && $0.count == 10 }, "\(seen)")
        XCTAssertEqual(try leftovers(), [".out.csv.tmp-\(getpid())"], "abandoned temporary files are removed")
    }

    func testAnExistingTemporaryNameIsNeverReused() throws {
        // Whatever is at a candidate name (file or link) makes O_EXCL fail, and another name is tried.
        let out = dir.appendingPathComponent("out.csv")
        var first: String?
        let a = try AtomicOutput(out) { first = $0 }
        var tried: [String] = []
        let b = try AtomicOutput(out) { tried.append($0) }
        XCTAssertNotEqual(b.temporary?.path, first)
        XCTAssertFalse(tried.isEmpty)
        a.abandon()
        b.abandon()
    }

    func testALongFileNameStillWorks() throws {
        let out = dir.appendingPathComponent(String(repeating: "n", count: 246) + ".csv")
        try AtomicFile.write("long\n", to: out)
        XCTAssertEqual(try read(out), "long\n")
    }

    func testAFolderIsRefusedAndNothingIsLeft() throws {
        let folder = dir.appendingPathComponent("folder")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        XCTAssertThrowsError(try AtomicFile.write("x", to: folder)) { error in
            XCTAssert("\(error)".contains("is a folder"), "\(error)")
        }
        XCTAssertEqual(try leftovers(), [])
    }

    /// Foundation's file errors (NSCocoaErrorDomain 512 and friends) become the path and the
    /// system's reason.
    func testFoundationFileErrorsBecomeThePathAndTheReason() {
        let underlying = NSError(domain: NSPOSIXErrorDomain, code: Int(ENOSPC))
        let raw = NSError(domain: NSCocoaErrorDomain, code: NSFileWriteUnknownError,
                          userInfo: [NSFilePathErrorKey: "/out/x.csv", NSUnderlyingErrorKey: underlying])
        XCTAssertEqual("\(FileError.readable(raw))", "/out/x.csv: cannot write: No space left on device")
        let noReason = NSError(domain: NSCocoaErrorDomain, code: NSFileWriteUnknownError, userInfo: [:])
        XCTAssertFalse("\(FileError.readable(noReason))".contains("NSCocoaErrorDomain"))
        struct Other: Error {}
        XCTAssertTrue(FileError.readable(Other()) is Other)
    }
}
