import Common
import Foundation
import XCTest
@testable import FlowData

final class FileFormatTests: XCTestCase {
    /// A bit-by-bit CRC-32, independent of the encoder's table.
    func referenceCRC(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c >> 1) ^ (c & 1 == 1 ? 0xEDB8_8320 : 0) }
        }
        return ~c
    }

    func be32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }

    func testPNGChunksCRCAndStoredZlibStream() throws {
        let w = 300, h = 250  // over 65535 bytes of scanlines: several stored blocks
        let pixels = (0..<(w * h)).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let png = PNG.encodeGray(width: w, height: h, pixels: pixels)
        XCTAssertEqual(Array(png[0..<8]), PNG.signature)
        var i = 8
        var chunks: [String] = []
        var idat: [UInt8] = []
        while i < png.count {
            let length = Int(be32(png, i))
            let type = String(decoding: png[i + 4 ..< i + 8], as: UTF8.self)
            let crc = be32(png, i + 8 + length)
            XCTAssertEqual(crc, referenceCRC(png[i + 4 ..< i + 8 + length]), "CRC of \(type)")
            if type == "IHDR" {
                XCTAssertEqual(be32(png, i + 8), UInt32(w))
                XCTAssertEqual(be32(png, i + 12), UInt32(h))
                XCTAssertEqual(Array(png[i + 16 ..< i + 21]), [8, 0, 0, 0, 0])
            }
            if type == "IDAT" { idat += png[i + 8 ..< i + 8 + length] }
            chunks.append(type)
            i += 12 + length
        }
        XCTAssertEqual(chunks, ["IHDR", "IDAT", "IEND"])
        // Inflate the stored blocks by hand.
        XCTAssertEqual((UInt32(idat[0]) << 8 | UInt32(idat[1])) % 31, 0, "zlib header check bits")
        XCTAssertEqual(idat[0] & 0x0F, 8, "deflate")
        var p = 2
        var raw: [UInt8] = []
        var final = false
        while !final {
            final = idat[p] & 1 == 1
            XCTAssertEqual(idat[p] >> 1 & 3, 0, "stored block")
            let len = Int(idat[p + 1]) | Int(idat[p + 2]) << 8
            let nlen = Int(idat[p + 3]) | Int(idat[p + 4]) << 8
            XCTAssertEqual(len ^ 0xFFFF, nlen)
            raw += idat[p + 5 ..< p + 5 + len]
            p += 5 + len
        }
        var a: UInt32 = 1, b: UInt32 = 0
        for x in raw { a = (a + UInt32(x)) % 65521; b = (b + a) % 65521 }
        XCTAssertEqual(be32(idat, p), b << 16 | a, "Adler-32")
        XCTAssertEqual(p + 4, idat.count)
        XCTAssertEqual(raw.count, (w + 1) * h)
        for y in 0..<h {
            XCTAssertEqual(raw[y * (w + 1)], 0)
            XCTAssertEqual(Array(raw[y * (w + 1) + 1 ..< (y + 1) * (w + 1)]), Array(pixels[y * w ..< (y + 1) * w]))
        }
    }

    func testPNGDecodesWithPythonZlib() throws {
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else { throw XCTSkip("python3 not available") }
        let dir = try temporaryFolder(self)
        let url = dir.appendingPathComponent("g.png")
        let pixels = (0..<(40 * 30)).map { UInt8($0 % 251) }
        try AtomicFile.write(PNG.encodeGray(width: 40, height: 30, pixels: pixels), to: url)
        let script = """
        import sys, struct, zlib
        d = open(sys.argv[1], 'rb').read(); i = 8; idat = b''
        while i < len(d):
            n, = struct.unpack('>I', d[i:i+4]); t = d[i+4:i+8]
            assert zlib.crc32(d[i+4:i+8+n]) == struct.unpack('>I', d[i+8+n:i+12+n])[0], t
            if t == b'IDAT': idat += d[i+8:i+8+n]
            i += 12 + n
        raw = zlib.decompress(idat)
        rows = [raw[y*41+1:(y+1)*41] for y in range(30)]
        assert b''.join(rows) == bytes(k % 251 for k in range(1200))
        print('ok')
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script, url.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 0, output)
        XCTAssertEqual(output, "ok\n")
    }

    func testNPYHeader() {
        let bytes = NPY.encode(float32: [1, 2, 3, 4, 5, 6], shape: [2, 1, 3])
        XCTAssertEqual(Array(bytes[0..<8]), [0x93] + Array("NUMPY".utf8) + [1, 0])
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0)
        let header = String(decoding: bytes[10 ..< 10 + headerLength], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1, 3), }"), header)
        XCTAssertTrue(header.hasSuffix(" \n"))
        XCTAssertEqual(bytes.count, 10 + headerLength + 24)
        XCTAssertEqual(Array(bytes[(10 + headerLength)...].prefix(4)), [0, 0, 0x80, 0x3F])  // 1.0f little-endian
        let labels = NPY.encode(int64: [1, -2], shape: [2])
        let lh = Int(labels[8]) | Int(labels[9]) << 8
        XCTAssertTrue(String(decoding: labels[10 ..< 10 + lh], as: UTF8.self).hasPrefix("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }"))
        XCTAssertEqual(Array(labels[(10 + lh)...]), [1, 0, 0, 0, 0, 0, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        let ints = NPY.encode(int32: [7], shape: [1])
        XCTAssertEqual(Array(ints.suffix(4)), [7, 0, 0, 0])
    }
}
