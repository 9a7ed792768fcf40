/// The one place text is escaped for where it goes: a one-line error (control characters made visible), a quoted
/// name echoed from a file, a JSON string literal, XML content and a CSV cell. Every module uses these; none writes
/// its own.
public enum TextEscaping {
    /// A user-supplied name or key for a one-line error: in single quotes, with control characters, quotes and
    /// backslashes escaped (`\n`, `\t`, `\u{7}`) and long text cut to `limit` characters, so an echoed value can never
    /// break the one-line error contract.
    public static func quoted(_ text: String, limit: Int = 120) -> String {
        var cut = String.UnicodeScalarView()
        for scalar in text.unicodeScalars.prefix(limit) {
            if scalar == "\\" || scalar == "'" { cut.append("\\") }
            cut.append(scalar)
        }
        return "'" + controlCharacters(String(cut)) + (text.unicodeScalars.count > limit ? "..." : "") + "'"
    }

    /// The text with its control characters escaped, so it stays on one line and a newline in it stays visible:
    /// newline, carriage return and tab as `\n`, `\r`, `\t`, any other control character (and the Unicode line and
    /// paragraph separators) as `\u{XX}`.
    public static func controlCharacters(_ text: String) -> String {
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

    /// A JSON string literal (with its quotes) holding `text`, with the escapes JSON requires: quote, backslash,
    /// `\n`, `\r`, `\t`, and `\u00XX` for the other characters below U+0020.
    public static func jsonLiteral(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// Text for XML content and attribute values: `&`, `<`, `>`, `"` and `'` as entities.
    public static func xml(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(c)
            }
        }
        return out
    }

    /// A CSV cell (RFC 4180): quoted, with quotes doubled, when it holds a comma, a quote or a line break; as is
    /// otherwise.
    public static func csvCell(_ cell: String) -> String {
        guard cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return cell }
        return "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
