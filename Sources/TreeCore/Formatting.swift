import Foundation

// The formatters every report shares (simulator reports, studies, benchmarks and the command line): byte counts,
// bandwidths and left-aligned text tables. Deterministic and locale-free.

/// "123.40 GB/s" (GB = 1e9 bytes).
public func formatBandwidth(_ bytesPerSecond: Double) -> String {
    String(format: "%.2f GB/s", bytesPerSecond / 1e9)
}

/// "1.049 MB" style byte counts with decimal units (kB, MB, GB, TB; "512 B" below 1 kB).
public func formatBytes(_ bytes: Double) -> String {
    let units: [(Double, String)] = [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")]
    for (scale, unit) in units where abs(bytes) >= scale { return String(format: "%.4g %@", bytes / scale, unit) }
    return String(format: "%.0f B", bytes)
}

/// A left-aligned text table: the header, a rule of dashes, then one line per row; columns two spaces apart, each as
/// wide as its widest cell, trailing spaces trimmed.
public func renderTable(_ header: [String], _ rows: [[String]]) -> String {
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
            .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }
    return ([line(header), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line)).joined(
        separator: "\n")
}
