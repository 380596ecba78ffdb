@testable import Common
import XCTest

/// Control characters from input are shown, never run by the terminal.
final class TerminalTextTests: XCTestCase {
    func testControlCharactersAreEscapedAndTheRestKept() {
        XCTAssertEqual(TerminalText.escaped("plain, é 中 text"), "plain, é 中 text")
        XCTAssertEqual(TerminalText.escaped("a\u{1B}[31mred\u{1B}[0m"), "a\\u{1B}[31mred\\u{1B}[0m")
        XCTAssertEqual(TerminalText.escaped("\u{1B}]0;title\u{07}"), "\\u{1B}]0;title\\u{7}")
        XCTAssertEqual(TerminalText.escaped("two\nlines\r\t\u{7F}\u{9B}"), "two\\u{A}lines\\u{D}\\u{9}\\u{7F}\\u{9B}")
        XCTAssertEqual(TerminalText.escaped("bidi \u{202E}txt.exe"), "bidi \\u{202E}txt.exe")
        XCTAssertEqual(TerminalText.escaped("keep\nlines\tand \u{1B}", keepingLineBreaks: true), "keep\nlines\tand \\u{1B}")
        let once = TerminalText.escaped("x\u{1B}y\n")
        XCTAssertEqual(TerminalText.escaped(once), once, "escaping twice changes nothing")
    }
}
