import Foundation

/// Progress of a long computation whose total work is estimated beforehand (an attention run's floating-point
/// operations, `AttentionWork`): workers add what they finished from any thread, and `report` is called at most every
/// `interval` seconds, after `delay`, with the fraction done and the seconds left at the rate so far (an ETA).
///
/// `WorkProgress.current` is the process-wide sink the kernels feed (nil: no progress is kept), set by a command for
/// the length of one run.
public final class WorkProgress: @unchecked Sendable {
    /// The work expected in all (any unit; the kernels count floating-point operations).
    public let total: Double
    private let report: (_ fraction: Double, _ secondsLeft: Double?) -> Void
    private let interval: Double, delay: Double
    private let lock = NSLock()
    private var done = 0.0
    private let start = Date()
    private var last: Date

    /// A sink for `total` units of work; `report` gets the fraction done (at most 1) and the ETA in seconds.
    public init(
        total: Double, interval: Double = 2, delay: Double = 5,
        report: @escaping (_ fraction: Double, _ secondsLeft: Double?) -> Void
    ) {
        (self.total, self.interval, self.delay, self.report) = (total, interval, delay, report)
        last = start
    }

    /// The sink the kernels feed, nil when no run is being followed.
    nonisolated(unsafe) public static var current: WorkProgress?

    /// Adds `work` finished units; reports when `interval` has passed (and `delay` since the start).
    public func advance(by work: Double) {
        lock.lock()
        done += work
        let now = Date()
        let due = now.timeIntervalSince(start) >= delay && now.timeIntervalSince(last) >= interval
        if due { last = now }
        let fraction = min(1, done / max(total, 1))
        lock.unlock()
        guard due else { return }
        let elapsed = now.timeIntervalSince(start)
        report(fraction, fraction > 0 && fraction < 1 ? elapsed * (1 - fraction) / fraction : nil)
    }
}
