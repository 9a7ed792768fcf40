/// A CSV table (RFC 4180): a header and rows of cells. Cells holding a comma, a quote or a line break are quoted,
/// quotes doubled. Lines end with "\n"; the output ends with a newline.
public struct CSVTable: Equatable, Sendable {
    /// Column names, written as the first line.
    public var header: [String]
    /// Data rows, each with one cell per column of `header`.
    public var rows: [[String]]

    /// A table with the given column names and rows (rows are not checked against the header here; `append` checks).
    public init(header: [String], rows: [[String]] = []) {
        self.header = header
        self.rows = rows
    }

    /// Appends a row; it must have one cell per column.
    public mutating func append(_ row: [String]) throws {
        guard row.count == header.count else {
            throw CoreError.invalidArgument("CSV row has \(row.count) cells for \(header.count) columns")
        }
        rows.append(row)
    }

    /// The table as CSV text: one line per row (the header first), cells escaped by `TextEscaping.csvCell`, every
    /// line ending in a newline.
    public func render() -> String {
        ([header] + rows).map { $0.map(TextEscaping.csvCell).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    /// Shortest round-trip text of a number (deterministic); "" for nil; non-finite values as "nan"/"inf".
    public static func number(_ x: Double?) -> String {
        guard let x else { return "" }
        if x.isNaN { return "nan" }
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return "\(x)"
    }
}

/// Splits one CSV line produced by `CSVTable.render` (quoted cells allowed, no embedded line breaks).
public func parseCSVLine(_ line: String) -> [String] {
    var cells: [String] = [], cell = "", quoted = false, chars = Array(line), i = 0
    while i < chars.count {
        let c = chars[i]
        if quoted {
            if c == "\"" {
                if i + 1 < chars.count && chars[i + 1] == "\"" {
                    cell.append("\"")
                    i += 1
                } else {
                    quoted = false
                }
            } else {
                cell.append(c)
            }
        } else if c == "\"" {
            quoted = true
        } else if c == "," {
            cells.append(cell)
            cell = ""
        } else {
            cell.append(c)
        }
        i += 1
    }
    cells.append(cell)
    return cells
}
