/// How to run rank programs on a cluster, and the one place that wires a simulation together: the event core, the
/// cluster's network and the executor. Collectives, decode strategies, studies and tests all run through `run`.
///
///     let result = try Execution(recording: true).run([program], on: cluster)
public struct Execution {
    /// Record every transfer and compute interval (for traces and breakdowns). Off for large benchmarks.
    public var recording: Bool
    /// Accumulate the compute / communication / overhead / idle breakdown while running (`ExecutionResult.breakdown`;
    /// memory independent of the message count, unlike `recording`).
    public var breakdown: Bool
    /// When queued messages on a channel may start.
    public var pacing: ChannelPacing
    /// Software overhead per message before it enters the network (see `Executor.messageOverhead`).
    public var messageOverhead: SimTime
    /// What a run may hold in memory (checked before it starts: `ExecutionEstimate.bytes`, and for a recording run
    /// `checkRecordingMemory`).
    public var memoryBudget: MemoryBudget
    /// How long the run may take: its estimate (`ExecutionEstimate`) is checked against the time left before it starts,
    /// and the deadline every `Simulation.watchdogInterval` events while it runs.
    public var timeBudget: TimeBudget
    /// Called about every second with the number of events handled so far, the number expected
    /// (`ExecutionEstimate.events`) and the simulated time (progress on long runs, with an ETA).
    public var progress: ((_ events: Int, _ expected: Double, _ now: SimTime) -> Void)?
    /// The event rate the check before a run assumes (`ExecutionEstimate.eventsPerSecond`). Tests raise it to let a
    /// run through its estimate and reach the deadline while it runs, whatever the build's speed.
    var assumedEventsPerSecond = ExecutionEstimate.eventsPerSecond

    /// Settings for `run`. The defaults: no recording and no breakdown, back-to-back pacing, no per-message overhead,
    /// the process-wide `MemoryBudget.current` and `TimeBudget.current`, and no progress callback.
    public init(
        recording: Bool = false, breakdown: Bool = false, pacing: ChannelPacing = .backToBack,
        messageOverhead: SimTime = .zero,
        memoryBudget: MemoryBudget = .current, timeBudget: TimeBudget = .current,
        progress: ((_ events: Int, _ expected: Double, _ now: SimTime) -> Void)? = nil
    ) {
        self.recording = recording
        self.breakdown = breakdown
        self.memoryBudget = memoryBudget
        self.timeBudget = timeBudget
        self.pacing = pacing
        self.messageOverhead = messageOverhead
        self.progress = progress
    }

    /// Runs the phases (each a `RankProgram` over every GPU of the cluster, rank i on the cluster's i-th GPU) to
    /// completion. Throws on a deadlock, a send outside the program's ranks or a clock overflow; refuses a run whose
    /// estimate (`ExecutionEstimate`) does not fit the memory or the time left, and stops one that passes the
    /// time limit.
    public func run(_ phases: [RankProgram], on cluster: Cluster) throws -> ExecutionResult {
        let network = cluster.network
        let estimate = ExecutionEstimate(phases, links: network.links.count)
        try memoryBudget.check(estimate.bytes, for: "simulating \(cluster.gpuCount) GPUs")
        try timeBudget.check(
            estimate.events / assumedEventsPerSecond, for: "simulating \(cluster.gpuCount) GPUs",
            detail: estimate.detail)
        if recording {
            try checkRecordingMemory(
                phases, budget: MemoryBudget(limitBytes: max(0, memoryBudget.limitBytes - estimate.bytes)))
        }
        var sim = Simulation(
            NetworkModel(
                network: FlowScheduler(network: cluster.network),
                observer: try Executor(
                    devices: cluster.gpus, phases: phases, recording: recording, breakdown: breakdown,
                    pacing: pacing,
                    messageOverhead: messageOverhead)))
        let budget = timeBudget
        var started = budget.elapsedSeconds, lastProgress = started, projected: Double? = nil
        sim.watchdog = { sim in
            let now = budget.elapsedSeconds
            if now > budget.limitSeconds { return false }
            // After a few seconds, the rate so far projects the whole run: one that will not finish in the time left
            // stops now rather than at the limit.
            let done = Double(sim.eventsHandled) / max(estimate.events, 1)
            if now - started >= Self.projectionDelay, done > 0, done < 1 {
                let total = (now - started) / done
                if total - (now - started) > budget.limitSeconds - now {
                    projected = total
                    return false
                }
            }
            if let progress, now - lastProgress >= 1 {
                lastProgress = now
                progress(sim.eventsHandled, estimate.events, sim.now)
            }
            return true
        }
        let what = "simulating \(cluster.gpuCount) GPUs"
        guard sim.handler.observer.start(network: &sim.handler.network, queue: &sim.queue, stop: { budget.expired })
        else {
            try budget.checkDeadline(for: what, done: "starting the ranks' first operations")
            throw CoreError.tooLarge("\(what) was stopped before it finished")
        }
        started = budget.elapsedSeconds
        sim.run()
        try sim.checkClockRange()
        if sim.stoppedByWatchdog {
            // Stopped early: always an error, never a partial result.
            if let projected {
                throw budget.tooLong(
                    projected, for: what,
                    detail: String(
                        format: "projected from its first %d of about %.2g events", sim.eventsHandled, estimate.events))
            }
            try budget.checkDeadline(
                for: what, done: String(format: "%d of about %.2g events", sim.eventsHandled, estimate.events))
            throw CoreError.tooLarge("\(what) was stopped before it finished")
        }
        return try sim.handler.observer.result(network: sim.handler.network, events: sim.eventsHandled)
    }

    /// Seconds a run goes before its rate so far is used to project its whole length (`run`).
    static let projectionDelay = 3.0

    /// Bytes a recorded interval or transfer costs: the record itself plus its share of the activity breakdown.
    static let bytesPerRecord = 128

    /// Refuses a recording run whose records would not fit the budget (what the run's own state leaves of
    /// `memoryBudget`), before anything runs: counts the transfers
    /// and intervals the programs will record (stopping as soon as the count is over the budget).
    func checkRecordingMemory(_ phases: [RankProgram], budget: MemoryBudget) throws {
        let cap = budget.limitBytes / Self.bytesPerRecord
        var records = 0
        for phase in phases {
            for rank in 0..<phase.ranks {
                for lane in 0..<phase.lanes(rank: rank) {
                    var step = 0
                    while let op = phase.operation(rank: rank, lane: lane, step: step) {
                        step += 1
                        switch op {
                        case .send: records += messageOverhead.picoseconds > 0 ? 2 : 1
                        case .switchFlow(let flow):
                            records += flow.destinations.count + (messageOverhead.picoseconds > 0 ? 1 : 0)
                        case .compute(let t, _), .overhead(let t, _), .modelledCommunication(let t, _):
                            if t.picoseconds > 0 { records += 1 }
                        case .recv, .waitSends: break
                        }
                        if records > cap {
                            throw CoreError.tooLarge(
                                "recording every transfer and interval of this run needs more than "
                                    + "\(MemoryBudget.format(budget.limitBytes)) (over \(cap) records at \(Self.bytesPerRecord) bytes; "
                                    + "--max-memory to change the limit, or a smaller cluster)")
                        }
                    }
                }
            }
        }
    }
}
