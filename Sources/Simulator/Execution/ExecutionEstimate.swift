import TreeCore

/// What a run of rank programs will cost, estimated before it starts from the programs themselves: operations and
/// messages (every lane of every rank walked, or, past `walkedOperations`, of at least `sampledRanks` ranks visited in
/// a spread order that no power-of-two structure lines up with, scaled to all ranks), the events they make,
/// the seconds those take at `eventsPerSecond`, and the memory the run holds. `Execution.run` checks it against
/// `TimeBudget.current` and the memory budget before simulating anything.
///
/// The time is the events at `eventsPerSecond`, a little above the release build's rate on an uncontended network:
/// contended fat trees re-share links at each event and run slower, and a debug build about ten times slower. So a
/// refusal is of a run that could not have finished on such a machine, and a run that was let through is still
/// watched while it runs (`Execution.run`).
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

    /// Ranks walked at least before the walk may stop and scale what it counted to all ranks.
    public static let sampledRanks = 16
    /// Operations walked at most (after `sampledRanks` ranks) before the walk stops and scales: below this, every rank
    /// is walked and the counts are exact.
    public static let walkedOperations = 1 << 20
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
            // A stride coprime with the rank count near the golden ratio of it: a permutation of the ranks whose
            // first ones are spread over the whole range without lining up with tree levels or servers.
            var stride = max(1, Int(Double(ranks) * 0.618_033_988_7)) | 1
            while Self.gcd(stride, ranks) != 1 { stride += 2 }
            var (o, s, t, l) = (0, 0, 0, 0)
            var samples = 0
            while samples < ranks && (samples < Self.sampledRanks || o < Self.walkedOperations) {
                let rank = Int((UInt64(samples) &* UInt64(stride)) % UInt64(ranks))
                samples += 1
                let n = phase.lanes(rank: rank)
                l += n
                for lane in 0..<n {
                    var step = 0
                    while let op = phase.operation(rank: rank, lane: lane, step: step) {
                        step += 1
                        switch op {
                        case .send, .switchFlow: s += 1
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

    /// Greatest common divisor.
    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    /// "1.2e+07 events (3.0e+06 messages)".
    public var detail: String {
        String(format: "%.2g events for %.2g messages at %.1fM events/s", events, messages, Self.eventsPerSecond / 1e6)
    }
}
