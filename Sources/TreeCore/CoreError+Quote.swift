extension CoreError {
    /// A user-supplied name or key for a one-line error: in single quotes, with control characters, quotes and
    /// backslashes escaped (`\n`, `\t`, `\u{7}`) and long text cut to `limit` characters, so an echoed value can never
    /// break the one-line error contract.
    public static func quote(_ text: String, limit: Int = 120) -> String {
        var out = ""
        var n = 0
        for scalar in text.unicodeScalars {
            if n == limit { out += "..."; break }
            n += 1
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "'": out += "\\'"
            case "\\": out += "\\\\"
            default:
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\u{2028}" || scalar == "\u{2029}" {
                    out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return "'" + out + "'"
    }
}
