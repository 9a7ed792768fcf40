import TreeCore

/// What a run of rank programs will cost, estimated before it starts from the programs themselves: operations and
/// messages (every lane of up to `sampledRanks` evenly spaced ranks walked, scaled to all ranks), the events they make,
/// the seconds those take at `eventsPerSecond`, and the memory the run holds. `Execution.run` checks it against
/// `TimeBudget.current` and the memory budget before simulating anything.
///
/// The time is an optimistic estimate: `eventsPerSecond` is the event rate of the release build on an uncontended
/// network (measured with `treeattn bench simulator`); contended fat trees re-share links at each event and run
/// slower, and a debug build about ten times slower. So a refusal is certain to be right, and a run that was let
/// through is still stopped by the deadline check if it outlives the limit.
public struct ExecutionEstimate: Sendable, Equatable {
    /// Operations of every lane of every rank (sends, receives, computes, ...).
    public var operations: Double
    /// Messages sent.
    public var messages: Double
    /// Events the run handles: two per message (transmission end and arrival; a message crossing several
    /// store-and-forward segments makes two per segment), one per timed operation.
    public var events: Double
    /// Bytes the run holds: the flow tables per link, the executor's per-rank state and its in-flight messages.
    public var bytes: Int

    /// Ranks walked in full to estimate the operations (the programs are symmetric or nearly so).
    public static let sampledRanks = 16
    /// Events per second assumed for the time estimate: a little above the release build on an uncontended network
    /// (measured: 4.6M events/s for an exact K/V ring over 4,096 H100s on one 2-core VM, where the estimate of 50.3M
    /// events matched the run's).
    public static let eventsPerSecond = 5e6

    /// Seconds the events take at `eventsPerSecond`.
    public var seconds: Double { events / Self.eventsPerSecond }

    /// Walks the phases' operations on sampled ranks; `links` sizes the network's share of the memory.
    public init(_ phases: [RankProgram], links: Int) {
        var operations = 0.0, sends = 0.0, timed = 0.0, lanes = 0.0
        for phase in phases {
            let ranks = phase.ranks
            guard ranks > 0 else { continue }
            let samples = min(ranks, Self.sampledRanks)
            var (o, s, t, l) = (0, 0, 0, 0)
            for i in 0..<samples {
                let rank = i * ranks / samples
                let n = phase.lanes(rank: rank)
                l += n
                for lane in 0..<n {
                    var step = 0
                    while let op = phase.operation(rank: rank, lane: lane, step: step) {
                        step += 1
                        switch op {
                        case .send: s += 1
                        case .compute(let d, _), .overhead(let d, _), .modelledCommunication(let d, _):
                            if d.picoseconds > 0 { t += 1 }
                        case .recv, .waitSends: break
                        }
                    }
                    o += step
                }
            }
            let scale = Double(ranks) / Double(samples)
            operations += Double(o) * scale
            sends += Double(s) * scale
            timed += Double(t) * scale
            lanes += Double(l) * scale
        }
        self.operations = operations
        messages = sends
        events = 2 * sends + timed
        // Flow tables and link state per link; per lane its process and two messages in flight; per message a
        // mailbox slot while it waits (bounded by the lanes' sends in flight).
        let estimate = Double(links) * 192 + lanes * 3 * 256
        bytes = estimate < 9e18 ? Int(estimate) : Int.max
    }

    /// "1.2e+07 events (3.0e+06 messages)".
    public var detail: String {
        String(format: "%.2g events for %.2g messages at %.1fM events/s", events, messages, Self.eventsPerSecond / 1e6)
    }
}
