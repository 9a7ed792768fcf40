/// A phase made of repeated steps that can be cut after its first k (a K/V ring's hops): what `StepExtrapolation`
/// needs.
public protocol SteppedProgram: RankProgram {
    /// Steps of the whole program; nil when it cannot be cut (its steps differ, e.g. a causal ring's blocks).
    var steps: Int? { get }
    /// The same program stopped after its first `steps` steps (with the work that closes them, e.g. the last block).
    func prefix(steps: Int) -> RankProgram
}

/// Simulates a long stepped program (a ring over tens of thousands of GPUs: p(p-1) messages) by simulating its first
/// k1 = r + W, k2 = r + 2W and k3 = r + 3W steps in full (every message through the network, with contention and ECMP;
/// r = h mod W, so that every prefix ends in the same phase of any pattern that repeats every W steps, as the whole
/// run does) and, once the makespan grows by the same amount over both windows (the pipeline's steady state, within
/// `tolerance`), extending that line to all h steps:
///
///     M(h) = M(k3) + (h - k3) (M(k3) - M(k2)) / W
///
/// When the two windows disagree, W doubles; when k3 reaches h, nothing is extrapolated (the caller runs the whole
/// program). Rank finish times, bytes per rank and per link class, messages and the breakdown are extended along
/// the same line (messages and total bytes are exactly linear in the steps: each step moves every chunk once; bytes per
/// rank and per link class to within one token's share when the split is uneven); `events`
/// counts the events actually simulated. `Tests/SimulatorTests/StepExtrapolationTests.swift` checks the result against
/// the whole simulation on flat, star and fat-tree clusters.
public struct StepExtrapolation: Sendable {
    /// Steps of the first window W (doubled until the windows agree).
    public var firstWindow: Int
    /// Largest relative difference allowed between the two windows' per-step increments.
    public var tolerance: Double
    /// The longest prefix tried, as a fraction of the steps: when the windows have not agreed by then, give up (and
    /// run the whole program), so a ring that never settles costs at most about this fraction of h steps more.
    public var longestPrefix: Double

    /// Defaults: a first window of 16 steps (at least 1 whatever is given), a relative tolerance of 1e-6 and
    /// prefixes up to the whole program.
    public init(firstWindow: Int = 16, tolerance: Double = 1e-6, longestPrefix: Double = 1) {
        self.firstWindow = max(1, firstWindow)
        self.tolerance = tolerance
        self.longestPrefix = longestPrefix
    }

    /// Whether a program of `h` steps is long enough for the first windows (else it is run whole).
    public func canGain(steps h: Int) -> Bool { h % firstWindow + 3 * firstWindow < h }

    /// An extrapolated run and how it was obtained.
    public struct Outcome: Sendable {
        /// The run of all the steps, extended along the line through the last two prefixes (its `events` are the
        /// events actually simulated, over every prefix).
        public var result: ExecutionResult
        /// The step counts simulated (k1, k2, k3) and the program's steps.
        public var simulatedSteps: [Int]
        /// Steps of the whole program (h), which `result` stands for.
        public var totalSteps: Int
        /// Relative difference of the two windows' per-step increments.
        public var agreement: Double

        /// One line for reports.
        public var note: String {
            "extrapolated from simulated prefixes of \(simulatedSteps.map(String.init).joined(separator: ", ")) of its \(totalSteps) steps "
                + "(per-step increments agree to \(agreement == 0 ? "0" : String(format: "%.1e", agreement)); "
                + "--ring-simulation exact simulates every step)"
        }
    }

    /// The steps shared by every stepped phase of `phases`, nil if there is none or they differ.
    public static func steps(of phases: [RankProgram]) -> Int? {
        let counts = phases.compactMap { ($0 as? SteppedProgram).map { $0.steps } }
        guard let first = counts.first, let h = first, counts.allSatisfy({ $0 == h }) else { return nil }
        return h
    }

    /// The extrapolated run, or nil when the program is too short to gain or never settles into a steady state
    /// (then run it whole).
    public func run(_ phases: [RankProgram], on cluster: Cluster, execution: Execution) throws -> Outcome? {
        guard let h = Self.steps(of: phases), canGain(steps: h) else { return nil }
        var execution = execution
        execution.recording = false
        var simulated: [Int: ExecutionResult] = [:]
        func result(_ k: Int) throws -> ExecutionResult {
            if let r = simulated[k] { return r }
            let cut = phases.map { phase -> RankProgram in (phase as? SteppedProgram)?.prefix(steps: k) ?? phase }
            let r = try execution.run(cut, on: cluster)
            simulated[k] = r
            return r
        }
        // Windows of W steps ending on steps congruent to h mod W, so that a pattern repeating every few steps (the
        // GPUs of a server, the servers of a leaf) ends the prefixes where it ends the whole run.
        var w = firstWindow
        while true {
            let r = h % w
            let (k1, k2, k3) = (r + w, r + 2 * w, r + 3 * w)
            guard k3 < h, w == firstWindow || Double(k3) <= longestPrefix * Double(h) else { return nil }
            let (m1, m2, m3) = (try result(k1), try result(k2), try result(k3))
            let d1 = Double(m2.makespan.picoseconds - m1.makespan.picoseconds)
            let d2 = Double(m3.makespan.picoseconds - m2.makespan.picoseconds)
            let agreement = d2 > 0 ? abs(d2 - d1) / d2 : .infinity
            if agreement <= tolerance {
                let events = simulated.values.reduce(0) { $0 + $1.events }
                return Outcome(
                    result: try Self.extend(m2, m3, from: k2, k3, to: h, events: events),
                    simulatedSteps: [k1, k2, k3], totalSteps: h, agreement: agreement)
            }
            w *= 2
        }
    }

    /// The run of `h` steps on the line through `a` (`ka` steps) and `b` (`kb` steps). Throws the clock-range error
    /// when the line leaves the clock's range (as a whole run would).
    static func extend(_ a: ExecutionResult, _ b: ExecutionResult, from ka: Int, _ kb: Int, to h: Int, events: Int)
        throws -> ExecutionResult
    {
        let t = Double(h - kb) / Double(kb - ka)
        func line(_ x: Double, _ y: Double) -> Double { y + t * (y - x) }
        func line(_ x: SimTime, _ y: SimTime) throws -> SimTime {
            let ps = (Double(y.picoseconds) + t * Double(y.picoseconds - x.picoseconds)).rounded()
            guard ps < Double(SimTime.range.picoseconds) else { throw SimulatorError.clockRange }
            return SimTime(picoseconds: Int64(max(0, ps)))
        }
        var r = b
        r.makespan = try line(a.makespan, b.makespan)
        r.rankFinish = try zip(a.rankFinish, b.rankFinish).map { try line($0, $1) }
        r.bytesSent = zip(a.bytesSent, b.bytesSent).map { line($0, $1) }
        r.bytesPerLinkClass = zip(a.bytesPerLinkClass, b.bytesPerLinkClass).map { ($1.name, line($0.bytes, $1.bytes)) }
        r.messages = b.messages + Int((t * Double(b.messages - a.messages)).rounded())
        r.events = events
        if let x = a.breakdown, let y = b.breakdown {
            r.breakdown = ActivityBreakdown(
                compute: line(x.compute, y.compute), communication: line(x.communication, y.communication),
                overhead: line(x.overhead, y.overhead), idle: line(x.idle, y.idle))
        }
        return r
    }
}
