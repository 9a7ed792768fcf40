import Foundation

/// Simulated time: an integer number of picoseconds (no floating-point drift, deterministic ordering).
/// Int64 picoseconds cover about 106 days.
public struct SimTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The time in picoseconds.
    public var picoseconds: Int64

    /// A time of exactly `picoseconds` ps.
    public init(picoseconds: Int64) { self.picoseconds = picoseconds }

    /// Time zero, where every run starts.
    public static let zero = SimTime(picoseconds: 0)
    /// The end of the clock's usable range, 2^62 ps (about 53 days). Sums saturate instead of trapping; a run whose
    /// events reach this time is stopped and reported as an error (`Simulation.checkClockRange`), never clamped
    /// silently.
    public static let range = SimTime(picoseconds: 1 << 62)

    /// Rounds to the nearest picosecond. Negative or non-finite inputs are a programming error upstream and are
    /// clamped to zero / Int64.max.
    public init(seconds: Double) {
        let ps = (seconds * 1e12).rounded()
        if !(ps > 0) {
            picoseconds = 0
        } else if ps >= 9.2e18 {
            picoseconds = Int64.max
        } else {
            picoseconds = Int64(ps)
        }
    }

    /// A time of `s` seconds, rounded to the nearest picosecond (as `init(seconds:)`).
    public static func seconds(_ s: Double) -> SimTime { SimTime(seconds: s) }
    /// A time of `ms` milliseconds, rounded to the nearest picosecond.
    public static func milliseconds(_ ms: Double) -> SimTime { SimTime(seconds: ms * 1e-3) }
    /// A time of `us` microseconds, rounded to the nearest picosecond.
    public static func microseconds(_ us: Double) -> SimTime { SimTime(seconds: us * 1e-6) }
    /// A time of `ns` nanoseconds, rounded to the nearest picosecond.
    public static func nanoseconds(_ ns: Double) -> SimTime { SimTime(seconds: ns * 1e-9) }

    /// The time in seconds.
    public var seconds: Double { Double(picoseconds) * 1e-12 }
    /// The time in microseconds (the unit of Chrome trace timestamps).
    public var microseconds: Double { Double(picoseconds) * 1e-6 }
    /// The time in nanoseconds.
    public var nanoseconds: Double { Double(picoseconds) * 1e-3 }

    /// Orders by picoseconds.
    public static func < (a: SimTime, b: SimTime) -> Bool { a.picoseconds < b.picoseconds }
    /// Saturating at Int64.max (far beyond `range`), so an absurd duration becomes a clear error, not a trap.
    @inlinable
    public static func + (a: SimTime, b: SimTime) -> SimTime {
        let (sum, overflow) = a.picoseconds.addingReportingOverflow(b.picoseconds)
        return SimTime(picoseconds: overflow ? (b.picoseconds > 0 ? Int64.max : Int64.min) : sum)
    }
    /// The difference `a - b` in picoseconds (negative when `b` is later; not saturating).
    public static func - (a: SimTime, b: SimTime) -> SimTime { SimTime(picoseconds: a.picoseconds - b.picoseconds) }
    /// Adds `b` to `a`, saturating as `+` does.
    public static func += (a: inout SimTime, b: SimTime) { a = a + b }

    /// True when the time lies beyond the clock's usable range.
    public var exceedsRange: Bool { picoseconds >= SimTime.range.picoseconds }

    /// Human-readable with an explicit unit, e.g. "20.031 us", "1.250 ms", "2.000 s".
    public var description: String { Self.format(seconds: seconds) }

    /// Formats a duration in seconds with an SI unit (s, ms, us, ns, ps) and 4 significant digits.
    public static func format(seconds s: Double) -> String {
        let a = abs(s)
        let (value, unit): (Double, String)
        if a == 0 { return "0 s" }
        if a >= 1 {
            (value, unit) = (s, "s")
        } else if a >= 1e-3 {
            (value, unit) = (s * 1e3, "ms")
        } else if a >= 1e-6 {
            (value, unit) = (s * 1e6, "us")
        } else if a >= 1e-9 {
            (value, unit) = (s * 1e9, "ns")
        } else {
            (value, unit) = (s * 1e12, "ps")
        }
        return formatSignificant(value, digits: 4) + " " + unit
    }
}

/// Formats with `digits` significant digits, no exponent for the ranges used by `SimTime.format`.
func formatSignificant(_ value: Double, digits: Int) -> String {
    let a = abs(value)
    let intDigits = a < 1 ? 1 : Int(log10(a).rounded(.down)) + 1
    let decimals = max(0, digits - intDigits)
    return String(format: "%.\(decimals)f", value)
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SimTime: Codable {
    /// Decodes the integer picoseconds `encode(to:)` wrote.
    public init(from decoder: Decoder) throws {
        picoseconds = try decoder.singleValueContainer().decode(Int64.self)
    }

    /// Encodes the time as its integer picoseconds (exact).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(picoseconds)
    }
}
