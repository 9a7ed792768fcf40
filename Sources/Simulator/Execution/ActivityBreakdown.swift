/// Each device's timeline [0, makespan] split into compute, exposed communication, overhead and idle (seconds,
/// averaged over devices), using the union of intervals so that overlapped communication is not double counted. A
/// message's transfer counts as communication on both ends from when it entered the network (on the sender until its
/// last byte left); the per-message overhead before that is an `overhead` interval of the sender, so it is overhead,
/// not idle. A run with `Execution.breakdown` on accumulates it as it goes (`BusyTimeline`, memory independent of the
/// message count); `init(_:ranks:)` computes the same numbers from a recorded run's intervals (the tests' oracle).
public struct ActivityBreakdown: Sendable, Equatable {
    /// Mean time a device spends computing, seconds.
    public var compute = 0.0
    /// Mean time a device has a message in flight (as sender or receiver) or modelled communication while neither
    /// computing nor in an overhead, seconds.
    public var communication = 0.0
    /// Mean time a device spends in fixed or per-message overheads while not computing, seconds.
    public var overhead = 0.0
    /// Mean time of [0, makespan] a device spends in none of the above (waiting), seconds.
    public var idle = 0.0

    /// A breakdown with every share zero (what a run with no ranks gives).
    public init() {}

    /// A breakdown with the given shares, seconds each (e.g. extrapolated ones).
    public init(compute: Double, communication: Double, overhead: Double, idle: Double) {
        (self.compute, self.communication, self.overhead, self.idle) = (compute, communication, overhead, idle)
    }

    /// From the records of a run with `recording` on: sorts each rank's intervals and measures their union.
    public init(_ result: ExecutionResult, ranks: Int) {
        guard ranks > 0 else { return }
        var computeIntervals = [[(Int64, Int64)]](repeating: [], count: ranks)
        var overheadIntervals = computeIntervals, commIntervals = computeIntervals
        for a in result.activities {
            let iv = (a.start.picoseconds, a.end.picoseconds)
            switch a.kind {
            case .compute: computeIntervals[a.rank].append(iv)
            case .overhead: overheadIntervals[a.rank].append(iv)
            case .communication: commIntervals[a.rank].append(iv)
            }
        }
        for t in result.transfers {
            commIntervals[t.sourceRank].append((t.start.picoseconds, t.transmitted.picoseconds))
            commIntervals[t.destinationRank].append((t.start.picoseconds, t.delivered.picoseconds))
        }
        let total = Double(result.makespan.picoseconds)
        for r in 0..<ranks {
            let c = Self.measure(computeIntervals[r])
            let co = Self.measure(computeIntervals[r] + overheadIntervals[r])
            let all = Self.measure(computeIntervals[r] + overheadIntervals[r] + commIntervals[r])
            compute += c
            overhead += co - c
            communication += all - co
            idle += total - all
        }
        let scale = 1e-12 / Double(ranks)
        compute *= scale
        overhead *= scale
        communication *= scale
        idle *= scale
    }

    /// Total length of the union of intervals, picoseconds.
    static func measure(_ intervals: [(Int64, Int64)]) -> Double {
        let sorted = intervals.filter { $0.1 > $0.0 }.sorted { $0.0 < $1.0 }
        var total: Int64 = 0
        var current: (Int64, Int64)? = nil
        for iv in sorted {
            if let c = current, iv.0 <= c.1 {
                current = (c.0, max(c.1, iv.1))
            } else {
                if let c = current { total += c.1 - c.0 }
                current = iv
            }
        }
        if let c = current { total += c.1 - c.0 }
        return Double(total)
    }
}
