/// Text from input (file names, labels, header names, values) made safe to print on a terminal:
/// control characters are written as Swift escapes (`\u{1B}`), so an ANSI or OSC sequence in a
/// label is shown, not run, and a line break in a file name cannot forge a line of output. The
/// one helper for every message that quotes input; the output printed is already clean, so
/// escaping twice changes nothing.
public enum TerminalText {
    /// `s` with every control character (C0, DEL, C1), line or paragraph separator and
    /// bidirectional override written `\u{XX}`; with `keepingLineBreaks`, line feeds and tabs stay
    /// (for whole messages that hold several lines of their own).
    public static func escaped(_ s: String, keepingLineBreaks: Bool = false) -> String {
        guard s.unicodeScalars.contains(where: { needsEscape($0, keepingLineBreaks) }) else { return s }
        var out = String.UnicodeScalarView()
        for scalar in s.unicodeScalars {
            if needsEscape(scalar, keepingLineBreaks) {
                out.append(contentsOf: "\\u{\(String(scalar.value, radix: 16, uppercase: true))}".unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    static func needsEscape(_ scalar: Unicode.Scalar, _ keepingLineBreaks: Bool) -> Bool {
        switch scalar.value {
        case 0x0A, 0x09: return !keepingLineBreaks
        case 0x00...0x1F, 0x7F...0x9F: return true
        case 0x2028, 0x2029, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }
}
