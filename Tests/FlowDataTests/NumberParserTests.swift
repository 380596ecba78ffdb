import XCTest
@testable import FlowData

final class NumberParserTests: XCTestCase {
    func parse(_ s: String) -> Float? {
        let bytes = Array(s.utf8)
        return bytes.withUnsafeBufferPointer { NumberParser.parse($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, 0, bytes.count) }
    }

    func testNumbersMatchTheStandardLibrary() {
        let cases = ["0", "1", "-1", "106.0", "21.2", "47.404641122", "1.16926543E8", "6.730718993790522",
                     "933745.7558956578", "1e-5", "-2.5e+3", "3.4028234e38", ".5", "5.", "+7", "0.000123456789",
                     "123456789012345678901234", "1.17549435e-38", "  42  ", "0.1", "9007199254740993",
                     "4.9406564584124654e-30", "7.0E-4"]
        for c in cases {
            let expected = Float(c.trimmingCharacters(in: .whitespaces))!
            let got = parse(c)
            XCTAssertNotNil(got, c)
            guard let got else { continue }
            XCTAssertLessThanOrEqual(abs(got - expected), expected.ulp, "\(c): got \(got), expected \(expected)")
        }
    }

    func testMissingSpellingsAreNaN() {
        for c in ["", " ", "Infinity", "-Infinity", "+Infinity", "NaN", "nan", "inf", "-inf", "INFINITY"] {
            XCTAssertTrue(parse(c)?.isNaN == true, "'\(c)' should be missing")
        }
        XCTAssertTrue(parse("1e400")?.isNaN == true, "overflow is missing")
        XCTAssertEqual(parse("1e-400"), 0)
    }

    func testGarbageIsRejected() {
        for c in ["abc", "1.2.3", "1e", "e5", "-", ".", "1,5", "12abc", "0x10", "Infinit", "N/A", "--1", "1e+"] {
            XCTAssertNil(parse(c), "'\(c)' should not parse")
        }
    }
}
