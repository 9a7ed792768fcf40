import Foundation

/// The time a run may take, the companion of `MemoryBudget`: commands whose work can be estimated before it starts
/// (a simulation's events, an attention's floating-point operations and loops) check the estimate against the time
/// left and refuse with one line naming the estimate and the limit; their long loops (simulation events, kernel tiles,
/// generated values) also check the deadline while they run (`checkDeadline`).
///
/// The CLI's `--max-time` sets `TimeBudget.current` for the whole process, counted from that moment; commands that
/// take it default to `defaultLimitSeconds` (30 minutes). Until a command sets it, `current` is unlimited (a library
/// user, a test, or a command documented to run long such as `treeattn-mpi validate`).
public struct TimeBudget: Equatable, Sendable {
    /// Seconds the run may take in all.
    public var limitSeconds: Double
    /// When the budget started (`DispatchTime` uptime nanoseconds).
    public var startNanoseconds: UInt64

    /// The default limit: 30 minutes (a long simulation or a large reference run; `--max-time` for more).
    public static let defaultLimitSeconds = 1800.0

    /// A budget of `limitSeconds` seconds starting now.
    public init(limitSeconds: Double = defaultLimitSeconds) {
        self.limitSeconds = limitSeconds
        startNanoseconds = DispatchTime.now().uptimeNanoseconds
    }

    /// The process-wide budget the libraries check against: unlimited until the CLI sets it, before any work.
    nonisolated(unsafe) public static var current = TimeBudget(limitSeconds: .infinity)

    /// Parses a duration: "90", "90s", "10m", "2h", "1.5h" (seconds without a unit).
    public init(parsing text: String) throws {
        let units: [(String, Double)] = [("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)]
        var number = text.trimmingCharacters(in: [" "]), scale = 1.0
        for (suffix, factor) in units where number.hasSuffix(suffix) {
            number = String(number.dropLast(suffix.count)).trimmingCharacters(in: [" "])
            scale = factor
            break
        }
        guard let value = Double(number), value.isFinite, value > 0, value * scale < 1e9 else {
            throw CoreError.invalidOption("cannot read '\(text)' as a duration (e.g. 90s, 10m, 2h)")
        }
        self.init(limitSeconds: value * scale)
    }

    /// Seconds since the budget started.
    public var elapsedSeconds: Double {
        Double(DispatchTime.now().uptimeNanoseconds &- startNanoseconds) / 1e9
    }

    /// Seconds left before the limit (negative once it has passed).
    public var remainingSeconds: Double { limitSeconds - elapsedSeconds }

    /// Whether the limit has passed.
    public var expired: Bool { remainingSeconds < 0 }

    /// Throws a one-line error when `seconds` (an estimate of what `what` will take) exceeds the time left.
    public func check(_ seconds: Double, for what: String, detail: String = "") throws {
        guard seconds <= remainingSeconds else { throw tooLong(seconds, for: what, detail: detail) }
    }

    /// The one-line refusal of work estimated (or projected) at `seconds`, more than the time left.
    public func tooLong(_ seconds: Double, for what: String, detail: String = "") -> CoreError {
        // The time left, once a noticeable part of the limit has gone (so the estimate and the limit never seem to
        // contradict each other).
        let left =
            remainingSeconds < limitSeconds - min(1, limitSeconds / 100)
            ? ", \(Self.format(max(0, remainingSeconds))) left" : ""
        return CoreError.tooLarge(
            "\(what) would take about \(Self.format(seconds))\(detail.isEmpty ? "" : " (\(detail))"), more than "
                + "the \(Self.format(limitSeconds)) time limit\(left) (--max-time to change it)")
    }

    /// Throws a one-line error when the limit has passed while `what` ran (`done` says how far it got).
    public func checkDeadline(for what: String, done: String) throws {
        guard !expired else {
            throw CoreError.tooLarge(
                "\(what) passed the \(Self.format(limitSeconds)) time limit after \(done) (--max-time to change it)")
        }
    }

    /// "850 ms", "12.0 s", "4.5 min", "2.3 h", "3.1 days".
    public static func format(_ seconds: Double) -> String {
        if !seconds.isFinite { return "forever" }
        if seconds < 1 { return String(format: "%.0f ms", seconds * 1e3) }
        if seconds < 120 { return String(format: "%.1f s", seconds) }
        if seconds < 7200 { return String(format: "%.1f min", seconds / 60) }
        if seconds < 172_800 { return String(format: "%.1f h", seconds / 3600) }
        return String(format: "%.1f days", seconds / 86_400)
    }
}
