import Foundation
import Simulator

/// Scale of a plot axis.
public enum AxisScale: String, Equatable, Sendable {
    /// Linear: equal distances for equal differences.
    case linear
    /// Base-10 logarithmic: equal distances for equal ratios. Values <= 0 cannot be drawn.
    case log
}

/// How tick labels are written.
public enum TickFormat: Equatable, Sendable {
    /// Plain decimal, trailing zeros trimmed; powers of ten below 1e-3 or from 1e6 as "1e-4", "1e6".
    case plain
    /// SI suffixes for large values: 80k, 1.28M, 5G (token counts, hidden sizes).
    case si
}

/// One axis: its scale, the data range it covers (after rounding out to ticks) and its ticks.
public struct PlotAxis: Equatable, Sendable {
    /// The axis label, units included (e.g. "latency (s)").
    public var label: String
    /// Linear or logarithmic.
    public var scale: AxisScale
    /// How the tick labels are written.
    public var format: TickFormat
    /// Lower end of the covered range (the first tick unless explicit ticks are given).
    public var lower: Double
    /// Upper end of the covered range (the last tick unless explicit ticks are given).
    public var upper: Double
    /// Tick positions in data units, ascending.
    public var ticks: [Double]

    /// Builds an axis covering `values`. `explicitTicks` (e.g. GPU counts 8, 64, 128) replace the computed ticks.
    public init(
        label: String, scale: AxisScale, format: TickFormat = .plain, values: [Double], explicitTicks: [Double]? = nil
    ) throws {
        let usable = values.filter { $0.isFinite && (scale == .linear || $0 > 0) }
        guard let lo = usable.min(), let hi = usable.max() else {
            throw StudyError.invalidArgument("axis '\(label)': no drawable values")
        }
        self.label = label
        self.scale = scale
        self.format = format
        if let given = explicitTicks?.filter({ $0.isFinite && (scale == .linear || $0 > 0) }).sorted(), !given.isEmpty {
            ticks = given
            lower = min(lo, given[0])
            upper = max(hi, given[given.count - 1])
            if lower == upper { (lower, upper) = scale == .log ? (lower / 2, upper * 2) : (lower - 1, upper + 1) }
        } else {
            ticks = scale == .log ? PlotAxis.logTicks(lo, hi) : PlotAxis.linearTicks(lo, hi)
            lower = ticks[0]
            upper = ticks[ticks.count - 1]
        }
    }

    /// Ticks at powers of ten covering [lo, hi] (rounded out to whole decades). When that gives fewer than three
    /// ticks, 2x and 5x multiples inside the range are added.
    public static func logTicks(_ lo: Double, _ hi: Double) -> [Double] {
        precondition(lo > 0 && hi >= lo)
        var first = Int(Foundation.log10(lo).rounded(.down))
        var last = Int(Foundation.log10(hi).rounded(.up))
        // Guard against log10 rounding (e.g. log10(1000) = 2.9999999999999996).
        if pow10(first + 1) <= lo * (1 + 1e-12) { first += 1 }
        if pow10(last - 1) >= hi * (1 - 1e-12) { last -= 1 }
        if last == first { last += 1 }
        var ticks = (first...last).map(pow10)
        if ticks.count < 3 {
            var extra: [Double] = []
            for k in first..<last { for m in [2.0, 5.0] { extra.append(m * pow10(k)) } }
            ticks = (ticks + extra).sorted()
        }
        return ticks
    }

    /// "Nice" linear ticks (steps of 1, 2 or 5 times a power of ten, about five intervals) covering [lo, hi].
    public static func linearTicks(_ lo: Double, _ hi: Double) -> [Double] {
        var (a, b) = (lo, hi)
        if a == b { (a, b) = (min(0, a), max(0, b)) }  // one value: span from zero to it
        if a == b { b = a + 1 }  // all zeros
        let raw = (b - a) / 5
        let magnitude = pow10(Int(Foundation.log10(raw).rounded(.down)))
        let norm = raw / magnitude
        let step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude
        let start = (a / step + 1e-9).rounded(.down), end = (b / step - 1e-9).rounded(.up)
        return stride(from: start, through: end, by: 1).map { ($0 * step * 1e12).rounded() / 1e12 }
    }

    static func pow10(_ k: Int) -> Double { Foundation.pow(10.0, Double(k)) }

    /// Position of `value` in [0, 1] along the axis (may fall outside for out-of-range values).
    public func fraction(_ value: Double) -> Double {
        switch scale {
        case .linear: return (value - lower) / (upper - lower)
        case .log:
            return (Foundation.log10(value) - Foundation.log10(lower))
                / (Foundation.log10(upper) - Foundation.log10(lower))
        }
    }

    /// The label of a tick at `value`, written in this axis's `format`.
    public func tickLabel(_ value: Double) -> String { PlotAxis.formatTick(value, format) }

    /// Tick label text, deterministic.
    public static func formatTick(_ value: Double, _ format: TickFormat) -> String {
        if value == 0 { return "0" }
        let a = abs(value)
        if format == .si && a >= 1000 {
            for (factor, suffix) in [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")] where a >= factor {
                return trimmed(value / factor) + suffix
            }
        }
        let exponent = Int(Foundation.log10(a).rounded(.down))
        if a < 1e-3 || a >= 1e6, abs(value / pow10(exponent) - 1) < 1e-9 || abs(value / pow10(exponent) + 1) < 1e-9 {
            return (value < 0 ? "-" : "") + "1e\(exponent)"
        }
        if a < 1e-3 || a >= 1e6 {
            let mantissa = value / pow10(exponent)
            return trimmed(mantissa) + "e\(exponent)"
        }
        return trimmed(value)
    }

    /// Up to 6 significant digits, trailing zeros and a trailing point removed.
    static func trimmed(_ value: Double) -> String {
        var text = String(format: "%.6g", value)
        if text.contains("e") { return text }
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }
}
