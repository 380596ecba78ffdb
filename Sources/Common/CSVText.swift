/// Fields of the CSV files gpu-train writes (detect's verdicts, convert's examples.csv).
public enum CSVText {
    /// RFC 4180: a field holding a comma, a quote or a line break is quoted, its quotes doubled.
    public static func quoted(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
    static let formulaStarts: Set<Character> = ["=", "+", "-", "@", "\t", "\r"]

    /// Text copied from input (an identifier, a name, a label) with a single quote put before a
    /// leading `=`, `+`, `-`, `@`, tab or carriage return, so that a spreadsheet shows
    /// `=HYPERLINK(...)` as text instead of running it (OWASP's advice). Never for numbers: a
    /// negative score is written as it is.
    public static func neutralized(_ s: String) -> String {
        guard let first = s.unicodeScalars.first, formulaStarts.contains(Character(first)) else { return s }
        return "'" + s
    }

    /// A text field: neutralized, then quoted.
    public static func textField(_ s: String) -> String { quoted(neutralized(s)) }
}
