extension CoreError {
    /// A user-supplied name or key for a one-line error: in single quotes, with control characters, quotes and
    /// backslashes escaped (`\n`, `\t`, `\u{7}`) and long text cut to `limit` characters, so an echoed value can never
    /// break the one-line error contract.
    public static func quote(_ text: String, limit: Int = 120) -> String {
        var cut = String.UnicodeScalarView()
        for scalar in text.unicodeScalars.prefix(limit) {
            if scalar == "\\" || scalar == "'" { cut.append("\\") }
            cut.append(scalar)
        }
        return "'" + escapingControlCharacters(String(cut)) + (text.unicodeScalars.count > limit ? "..." : "") + "'"
    }

    /// The text with its control characters escaped, so it stays on one line and a newline in it stays visible:
    /// newline, carriage return and tab as `\n`, `\r`, `\t`, any other control character (and the Unicode line and
    /// paragraph separators) as `\u{XX}`.
    public static func escapingControlCharacters(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}" {
                    out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
