import Foundation

extension GoldenChecker {
    /// The text table `treeattn check` prints: per case and tensor the max abs, max rel and normwise relative
    /// errors, the tolerance, the worst index (bhsd), PASS or FAIL and how the result was read; then the counts.
    public static func table(_ rows: [Row]) -> String {
        let nameWidth = max(4, rows.map(\.caseName.count).max() ?? 4)
        var lines = [
            "case".padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                + "  tensor  max abs     max rel     normwise    tolerance   worst index       result"
        ]
        for r in rows {
            let cells = [r.maxAbs, r.maxRel, r.normwiseRel, r.atol].map { String(format: "%-10.3e", $0) }.joined(
                separator: "  ")
            lines.append(
                r.caseName.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  "
                    + r.tensor.padding(toLength: 6, withPad: " ", startingAt: 0) + "  " + cells + "  "
                    + r.worstIndex.map(String.init).joined(separator: ",").padding(
                        toLength: 16, withPad: " ", startingAt: 0)
                    + "  " + (r.passed ? "PASS" : "FAIL") + "  (" + r.note + ")")
        }
        let failed = rows.filter { !$0.passed }.count
        lines.append("\(rows.count - failed) passed, \(failed) failed")
        return lines.joined(separator: "\n")
    }
}
