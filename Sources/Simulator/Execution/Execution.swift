/// How to run rank programs on a cluster, and the one place that wires a simulation together: the event core, the
/// cluster's network and the executor. Collectives, decode strategies, studies and tests all run through `run`.
///
///     let result = try Execution(recording: true).run([program], on: cluster)
public struct Execution {
    /// Record every transfer and compute interval (for traces and breakdowns). Off for large benchmarks.
    public var recording: Bool
    /// When queued messages on a channel may start.
    public var pacing: ChannelPacing
    /// Software overhead per message before it enters the network (see `Executor.messageOverhead`).
    public var messageOverhead: SimTime
    /// Called every million events with the number of events handled so far and the simulated time (progress on
    /// long runs).
    public var progress: ((_ events: Int, _ now: SimTime) -> Void)?

    public init(recording: Bool = false, pacing: ChannelPacing = .backToBack, messageOverhead: SimTime = .zero,
                progress: ((_ events: Int, _ now: SimTime) -> Void)? = nil) {
        self.recording = recording
        self.pacing = pacing
        self.messageOverhead = messageOverhead
        self.progress = progress
    }

    /// Runs the phases (each a `RankProgram` over every GPU of the cluster, rank i on the cluster's i-th GPU) to
    /// completion. Throws on a deadlock, a send outside the program's ranks or a clock overflow.
    public func run(_ phases: [RankProgram], on cluster: Cluster) throws -> ExecutionResult {
        var sim = Simulation(NetworkModel(
            network: FlowScheduler(network: cluster.network),
            observer: try Executor(devices: cluster.gpus, phases: phases, recording: recording, pacing: pacing,
                                   messageOverhead: messageOverhead)))
        if let progress { sim.progress = { progress($0.eventsHandled, $0.now) } }
        sim.handler.observer.start(network: &sim.handler.network, queue: &sim.queue)
        sim.run()
        try sim.checkClockRange()
        return try sim.handler.observer.result(network: sim.handler.network, events: sim.eventsHandled)
    }
}
