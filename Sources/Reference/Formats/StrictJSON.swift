/// A strict JSON (RFC 8259) parser for file headers: keeps integers apart from other numbers (`4` is not `4.0`),
/// keeps object keys in order and refuses repeated keys, invalid UTF-8, control characters in strings, lone surrogates
/// and anything after the value but whitespace. Errors are one-line phrases with the byte offset.
enum StrictJSON: Equatable {
    case object([(key: String, value: StrictJSON)])
    case array([StrictJSON])
    case string(String)
    /// A number written without fraction or exponent that fits in Int.
    case integer(Int)
    /// Any other number (with a fraction or exponent, or too large for Int), with its text.
    case number(String)
    case bool(Bool)
    case null

    static func == (a: StrictJSON, b: StrictJSON) -> Bool {
        switch (a, b) {
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case (.array(let x), .array(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.integer(let x), .integer(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.bool(let x), .bool(let y)): return x == y
        case (.null, .null): return true
        default: return false
        }
    }

    struct ParseError: Error { let message: String }

    /// A short name of the value's kind for messages ("an integer", "the number 4.0", "a string").
    var kind: String {
        switch self {
        case .object: return "an object"
        case .array: return "a list"
        case .string(let s): return "the string " + TextEscaping.quoted(s, limit: 40)
        case .integer(let i): return "the integer \(i)"
        case .number(let t): return "the number \(t.prefix(40))"
        case .bool(let b): return "\(b)"
        case .null: return "null"
        }
    }

    static func parse<C: Collection>(_ bytes: C, maxDepth: Int = 64) throws -> StrictJSON where C.Element == UInt8 {
        var p = Parser(bytes: Array(bytes), maxDepth: maxDepth)
        p.skipWhitespace()
        let value = try p.value(depth: 0)
        p.skipWhitespace()
        guard p.at == p.bytes.count else {
            throw ParseError(message: "unexpected text after the JSON value at byte \(p.at)")
        }
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        let maxDepth: Int
        var at = 0

        func fail(_ what: String) -> ParseError { ParseError(message: "\(what) at byte \(at)") }

        mutating func skipWhitespace() {
            while at < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[at]) { at += 1 }
        }

        mutating func expect(_ literal: String) throws {
            let l = Array(literal.utf8)
            guard at + l.count <= bytes.count, Array(bytes[at..<at + l.count]) == l else {
                throw fail("invalid JSON literal")
            }
            at += l.count
        }

        mutating func value(depth: Int) throws -> StrictJSON {
            guard depth < maxDepth else { throw fail("JSON nested too deeply") }
            guard at < bytes.count else { throw fail("unexpected end of JSON") }
            switch bytes[at] {
            case UInt8(ascii: "{"):
                at += 1
                var pairs: [(key: String, value: StrictJSON)] = []
                var keys = Set<String>()
                skipWhitespace()
                if at < bytes.count, bytes[at] == UInt8(ascii: "}") {
                    at += 1
                    return .object(pairs)
                }
                while true {
                    skipWhitespace()
                    guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                    let key = try string()
                    guard keys.insert(key).inserted else { throw fail("repeated key \(TextEscaping.quoted(key))") }
                    skipWhitespace()
                    guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                    at += 1
                    skipWhitespace()
                    pairs.append((key, try value(depth: depth + 1)))
                    skipWhitespace()
                    guard at < bytes.count else { throw fail("unexpected end of JSON") }
                    if bytes[at] == UInt8(ascii: ",") {
                        at += 1
                        continue
                    }
                    guard bytes[at] == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
                    at += 1
                    return .object(pairs)
                }
            case UInt8(ascii: "["):
                at += 1
                var items: [StrictJSON] = []
                skipWhitespace()
                if at < bytes.count, bytes[at] == UInt8(ascii: "]") {
                    at += 1
                    return .array(items)
                }
                while true {
                    skipWhitespace()
                    items.append(try value(depth: depth + 1))
                    skipWhitespace()
                    guard at < bytes.count else { throw fail("unexpected end of JSON") }
                    if bytes[at] == UInt8(ascii: ",") {
                        at += 1
                        continue
                    }
                    guard bytes[at] == UInt8(ascii: "]") else { throw fail("expected ',' or ']'") }
                    at += 1
                    return .array(items)
                }
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"):
                try expect("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try expect("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try expect("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw fail("unexpected character")
            }
        }

        mutating func digits() -> Int {
            let start = at
            while at < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[at]) { at += 1 }
            return at - start
        }

        mutating func number() throws -> StrictJSON {
            let start = at
            if bytes[at] == UInt8(ascii: "-") { at += 1 }
            let intStart = at
            let n = digits()
            guard n > 0 else { throw fail("invalid number") }
            guard !(n > 1 && bytes[intStart] == UInt8(ascii: "0")) else { throw fail("invalid number (leading zero)") }
            var integral = true
            if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
                at += 1
                integral = false
                guard digits() > 0 else { throw fail("invalid number") }
            }
            if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
                at += 1
                integral = false
                if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
                guard digits() > 0 else { throw fail("invalid number") }
            }
            let text = String(decoding: bytes[start..<at], as: UTF8.self)
            if integral, let i = Int(text) { return .integer(i) }
            return .number(text)
        }

        mutating func hex4() throws -> UInt32 {
            guard at + 4 <= bytes.count else { throw fail("truncated \\u escape") }
            guard let v = UInt32(String(decoding: bytes[at..<at + 4], as: UTF8.self), radix: 16),
                bytes[at..<at + 4].allSatisfy({ $0 != UInt8(ascii: "+") && $0 != UInt8(ascii: "-") })
            else {
                throw fail("invalid \\u escape")
            }
            at += 4
            return v
        }

        mutating func string() throws -> String {
            at += 1  // opening quote
            var raw: [UInt8] = []
            while true {
                guard at < bytes.count else { throw fail("unterminated string") }
                let c = bytes[at]
                switch c {
                case UInt8(ascii: "\""):
                    at += 1
                    guard let s = String(validating: raw, as: UTF8.self) else {
                        throw fail("string is not valid UTF-8")
                    }
                    return s
                case UInt8(ascii: "\\"):
                    at += 1
                    guard at < bytes.count else { throw fail("unterminated string") }
                    let e = bytes[at]
                    at += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): raw.append(e)
                    case UInt8(ascii: "b"): raw.append(0x08)
                    case UInt8(ascii: "f"): raw.append(0x0C)
                    case UInt8(ascii: "n"): raw.append(0x0A)
                    case UInt8(ascii: "r"): raw.append(0x0D)
                    case UInt8(ascii: "t"): raw.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800..<0xDC00).contains(scalar) {
                            guard at + 2 <= bytes.count, bytes[at] == UInt8(ascii: "\\"),
                                bytes[at + 1] == UInt8(ascii: "u")
                            else {
                                throw fail("lone surrogate in \\u escape")
                            }
                            at += 2
                            let low = try hex4()
                            guard (0xDC00..<0xE000).contains(low) else { throw fail("lone surrogate in \\u escape") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let u = Unicode.Scalar(scalar) else { throw fail("lone surrogate in \\u escape") }
                        raw.append(contentsOf: Array(String(Character(u)).utf8))
                    default: throw fail("invalid escape")
                    }
                default:
                    guard c >= 0x20 else { throw fail("control character in a string") }
                    raw.append(c)
                    at += 1
                }
            }
        }
    }
}
