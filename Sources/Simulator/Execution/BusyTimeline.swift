import DequeModule

/// The activity breakdown accumulated while a run goes, in memory that does not grow with the number of messages:
/// per rank, the union of its compute intervals, of compute and overhead, and of everything (compute, overhead and
/// message transfers), each a short sorted list of disjoint spans. Spans that end before the *frontier* (no interval
/// still to come can start earlier: the current time, or the start of the oldest message still in flight) are folded
/// into a running total, so a list holds only the recent past. Gives exactly what `ActivityBreakdown(records)`
/// computes from the recorded intervals (the same integer picosecond measures), which the tests check on every
/// strategy.
struct BusyTimeline {
    /// The union of a set of intervals [start, end) in picoseconds: a measure already folded (`closed`) plus sorted,
    /// disjoint, non-touching spans (flat start/end pairs).
    struct IntervalUnion {
        var closed: Int64 = 0
        var spans: [Int64] = []
        /// Fold spans once the list holds this many (doubled when folding frees little: the frontier lags).
        var foldAt: Int32 = 16

        var count: Int { spans.count / 2 }

        mutating func insert(_ s: Int64, _ e: Int64) {
            guard e > s else { return }
            let n = count
            // In-order arrivals (the common case) extend or follow the last span.
            if n == 0 || s > spans[2 * n - 1] {
                if n > 0 && s == spans[2 * n - 1] {
                    spans[2 * n - 1] = e
                } else {
                    spans.append(s)
                    spans.append(e)
                }
                return
            }
            if s >= spans[2 * n - 2] {
                spans[2 * n - 1] = max(spans[2 * n - 1], e)
                return
            }
            // First span whose end reaches s; every span from there that starts at or before e merges.
            var lo = 0, hi = n
            while lo < hi {
                let mid = (lo + hi) / 2
                if spans[2 * mid + 1] < s { lo = mid + 1 } else { hi = mid }
            }
            var last = lo
            while last < n && spans[2 * last] <= e { last += 1 }
            if last == lo {
                spans.insert(contentsOf: [s, e], at: 2 * lo)
            } else {
                let merged = [min(s, spans[2 * lo]), max(e, spans[2 * last - 1])]
                spans.replaceSubrange((2 * lo)..<(2 * last), with: merged)
            }
        }

        /// Folds the spans that end at or before `frontier` into `closed`.
        mutating func fold(before frontier: Int64) {
            var k = 0
            while k < count && spans[2 * k + 1] <= frontier {
                closed += spans[2 * k + 1] - spans[2 * k]
                k += 1
            }
            if k > 0 { spans.removeFirst(2 * k) }
            if Int32(count) * 2 > foldAt { foldAt *= 2 }
        }

        var measure: Int64 {
            var total = closed
            for k in 0..<count { total += spans[2 * k + 1] - spans[2 * k] }
            return total
        }
    }

    /// Per rank: compute; compute and overhead; everything.
    private var compute: [IntervalUnion], computeOverhead: [IntervalUnion], all: [IntervalUnion]
    /// Messages in flight in the order they entered the network (which is also the order of their start times): the
    /// start of each and whether it has been delivered; `firstSerial` is the serial of the front.
    private var inFlight = Deque<(start: Int64, delivered: Bool)>()
    private var firstSerial = 0
    private var nextSerial = 0

    init(ranks: Int) {
        compute = [IntervalUnion](repeating: IntervalUnion(), count: ranks)
        computeOverhead = compute
        all = compute
    }

    /// The earliest time an interval still to come can start.
    private func frontier(now: Int64) -> Int64 { min(now, inFlight.first?.start ?? now) }

    /// The most spans any list has held (what the lists cost; the tests check it stays small).
    private(set) var spanHighWater = 0

    private static func add(
        _ u: inout IntervalUnion, _ s: Int64, _ e: Int64, highWater: inout Int, frontier: () -> Int64
    ) {
        u.insert(s, e)
        highWater = max(highWater, u.count)
        if Int32(u.count) > u.foldAt { u.fold(before: frontier()) }
    }

    mutating func addCompute(rank: Int, start: SimTime, end: SimTime, now: SimTime) {
        let s = start.picoseconds, e = end.picoseconds, front = frontier(now: now.picoseconds)
        Self.add(&compute[rank], s, e, highWater: &spanHighWater) { front }
        Self.add(&computeOverhead[rank], s, e, highWater: &spanHighWater) { front }
        Self.add(&all[rank], s, e, highWater: &spanHighWater) { front }
    }

    mutating func addOverhead(rank: Int, start: SimTime, end: SimTime, now: SimTime) {
        let front = frontier(now: now.picoseconds)
        Self.add(&computeOverhead[rank], start.picoseconds, end.picoseconds, highWater: &spanHighWater) { front }
        Self.add(&all[rank], start.picoseconds, end.picoseconds, highWater: &spanHighWater) { front }
    }

    mutating func addCommunication(rank: Int, start: SimTime, end: SimTime, now: SimTime) {
        let front = frontier(now: now.picoseconds)
        Self.add(&all[rank], start.picoseconds, end.picoseconds, highWater: &spanHighWater) { front }
    }

    /// A message entered the network at `start` (the current time); returns its serial for `delivered`.
    mutating func injected(start: SimTime) -> Int {
        inFlight.append((start.picoseconds, false))
        nextSerial += 1
        return nextSerial - 1
    }

    /// The message with this serial has been delivered (after its intervals were added).
    mutating func delivered(serial: Int) {
        inFlight[serial - firstSerial].delivered = true
        while let front = inFlight.first, front.delivered {
            inFlight.removeFirst()
            firstSerial += 1
        }
    }

    /// The breakdown over [0, makespan], averaged over ranks (as `ActivityBreakdown(records)`).
    func breakdown(makespan: SimTime) -> ActivityBreakdown {
        var b = ActivityBreakdown()
        let total = Double(makespan.picoseconds)
        for r in compute.indices {
            let c = Double(compute[r].measure), co = Double(computeOverhead[r].measure), a = Double(all[r].measure)
            b.compute += c
            b.overhead += co - c
            b.communication += a - co
            b.idle += total - a
        }
        guard !compute.isEmpty else { return b }
        let scale = 1e-12 / Double(compute.count)
        b.compute *= scale
        b.overhead *= scale
        b.communication *= scale
        b.idle *= scale
        return b
    }
}
