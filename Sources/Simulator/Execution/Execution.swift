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
    /// What a recording run may hold in memory (checked before it starts; see `checkRecordingMemory`).
    public var memoryBudget: MemoryBudget
    /// Called every million events with the number of events handled so far and the simulated time (progress on
    /// long runs).
    public var progress: ((_ events: Int, _ now: SimTime) -> Void)?

    /// Settings for `run`. The defaults: no recording and no breakdown, back-to-back pacing, no per-message overhead,
    /// the process-wide `MemoryBudget.current` and no progress callback.
    public init(
        recording: Bool = false, breakdown: Bool = false, pacing: ChannelPacing = .backToBack,
        messageOverhead: SimTime = .zero,
        memoryBudget: MemoryBudget = .current, progress: ((_ events: Int, _ now: SimTime) -> Void)? = nil
    ) {
        self.recording = recording
        self.breakdown = breakdown
        self.memoryBudget = memoryBudget
        self.pacing = pacing
        self.messageOverhead = messageOverhead
        self.progress = progress
    }

    /// Runs the phases (each a `RankProgram` over every GPU of the cluster, rank i on the cluster's i-th GPU) to
    /// completion. Throws on a deadlock, a send outside the program's ranks or a clock overflow.
    public func run(_ phases: [RankProgram], on cluster: Cluster) throws -> ExecutionResult {
        if recording { try checkRecordingMemory(phases, budget: memoryBudget) }
        var sim = Simulation(
            NetworkModel(
                network: FlowScheduler(network: cluster.network),
                observer: try Executor(
                    devices: cluster.gpus, phases: phases, recording: recording, breakdown: breakdown,
                    pacing: pacing,
                    messageOverhead: messageOverhead)))
        if let progress { sim.progress = { progress($0.eventsHandled, $0.now) } }
        sim.handler.observer.start(network: &sim.handler.network, queue: &sim.queue)
        sim.run()
        try sim.checkClockRange()
        return try sim.handler.observer.result(network: sim.handler.network, events: sim.eventsHandled)
    }

    /// Bytes a recorded interval or transfer costs: the record itself plus its share of the activity breakdown.
    static let bytesPerRecord = 128

    /// Refuses a recording run whose records would not fit the budget, before anything runs: counts the transfers
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
