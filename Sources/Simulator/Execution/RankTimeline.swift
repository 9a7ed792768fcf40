/// Each rank's [0, makespan] of a recorded run cut into consecutive segments of one activity each, by the breakdown's
/// precedence: compute over overhead over communication, and idle where none of them is active. A picture of what
/// `ActivityBreakdown` sums: per activity, the segments' lengths averaged over ranks are its shares (the tests check
/// this against `ActivityBreakdown(_:ranks:)`, which measures unions instead of sweeping boundaries). Draws the
/// per-GPU timelines of `treeattn explain --html`.
public struct RankTimeline: Sendable, Equatable {
    /// What a rank does during a segment, in the breakdown's precedence order.
    public enum Activity: Int, Sendable, CaseIterable, Codable {
        /// Local kernels, reductions and merges.
        case compute
        /// A fixed or per-message overhead while not computing.
        case overhead
        /// A message in flight (sender until its last byte left, receiver until delivered) or modelled communication,
        /// while neither computing nor in an overhead.
        case communication
        /// None of the above: waiting.
        case idle

        /// The activity's name: "compute", "overhead", "communication" or "idle".
        public var name: String { ["compute", "overhead", "communication", "idle"][rawValue] }
    }

    /// One stretch of a rank's time doing one activity.
    public struct Segment: Sendable, Equatable {
        /// What the rank does.
        public var activity: Activity
        /// When the stretch begins.
        public var start: SimTime
        /// When it ends (after `start`).
        public var end: SimTime
    }

    /// The run's makespan: every rank's segments cover [0, makespan] without gaps or overlaps.
    public var makespan: SimTime
    /// Each rank's segments in time order; adjacent segments differ in activity.
    public var ranks: [[Segment]]

    /// From the records of a run with `recording` on (`ExecutionResult.activities` and `transfers`).
    public init(_ result: ExecutionResult, ranks count: Int) {
        makespan = result.makespan
        // Per rank, the boundaries of its intervals: +1 at a start and -1 at an end, per activity.
        var edges = [[(time: Int64, activity: Int, delta: Int)]](repeating: [], count: max(count, 0))
        func add(_ rank: Int, _ activity: Activity, _ start: SimTime, _ end: SimTime) {
            guard edges.indices.contains(rank), end > start else { return }
            edges[rank].append((start.picoseconds, activity.rawValue, 1))
            edges[rank].append((end.picoseconds, activity.rawValue, -1))
        }
        for a in result.activities {
            let activity: Activity =
                switch a.kind {
                case .compute: .compute
                case .overhead: .overhead
                case .communication: .communication
                }
            add(a.rank, activity, a.start, a.end)
        }
        for t in result.transfers {
            add(t.sourceRank, .communication, t.start, t.transmitted)
            add(t.destinationRank, .communication, t.start, t.delivered)
        }
        let end = result.makespan.picoseconds
        self.ranks = edges.map { rankEdges in
            var segments: [Segment] = []
            func append(_ activity: Activity, _ s: Int64, _ e: Int64) {
                guard e > s else { return }
                if let last = segments.last, last.activity == activity, last.end.picoseconds == s {
                    segments[segments.count - 1].end = SimTime(picoseconds: e)
                } else {
                    segments.append(
                        Segment(activity: activity, start: SimTime(picoseconds: s), end: SimTime(picoseconds: e)))
                }
            }
            var active = [Int](repeating: 0, count: 3)
            var now: Int64 = 0
            let sorted = rankEdges.sorted { $0.time < $1.time }
            var i = 0
            while i < sorted.count {
                let time = sorted[i].time, t = min(time, end)
                append(Activity(rawValue: active.firstIndex { $0 > 0 } ?? 3)!, now, t)
                now = max(now, t)
                while i < sorted.count && sorted[i].time == time {
                    active[sorted[i].activity] += sorted[i].delta
                    i += 1
                }
            }
            append(.idle, now, end)
            return segments
        }
    }

    /// Mean time per rank spent in `activity`, picoseconds (the breakdown's share of that activity).
    public func meanPicoseconds(_ activity: Activity) -> Double {
        guard !ranks.isEmpty else { return 0 }
        let total = ranks.reduce(Int64(0)) { sum, segments in
            segments.reduce(sum) { $1.activity == activity ? $0 + ($1.end.picoseconds - $1.start.picoseconds) : $0 }
        }
        return Double(total) / Double(ranks.count)
    }
}
