/// The outcome of one simulated (or modelled) collective, with nccl-tests bandwidth conventions.
public struct CollectiveReport: Sendable {
    /// Name of the cluster the collective ran on.
    public var cluster: String
    /// Number of ranks (the cluster's GPUs).
    public var ranks: Int
    /// The collective operation.
    public var operation: CollectiveOperation
    /// The algorithm's name (`CollectiveAlgorithm.description`).
    public var algorithm: String
    /// "event-simulation" or "nccl-model".
    public var method: String
    /// Size of the collective, bytes (nccl-tests convention, see `CollectiveOperation`).
    public var bytes: Double
    /// Completion time, per-call overhead included: the simulation's makespan, or the NCCL model's time.
    public var time: SimTime
    /// bytes / time, bytes/s.
    public var algorithmBandwidth: Double
    /// algorithmBandwidth * operation.busBandwidthFactor, bytes/s.
    public var busBandwidth: Double
    /// Events the simulation handled (0 for the NCCL model).
    public var events: Int
    /// Point-to-point messages sent (0 for the NCCL model).
    public var messages: Int
    /// Bytes carried per link class, in class order (a message crossing h links of a class counts h times); empty
    /// for the NCCL model.
    public var bytesPerLinkClass: [(name: String, bytes: Double)]
    /// Extra explanation (e.g. the NCCL protocol the model chose).
    public var note: String
    /// The underlying execution (nil for the NCCL model).
    public var execution: ExecutionResult?
}

extension Collective {
    /// Simulates the collective on all GPUs of `cluster` (use `Cluster.prefix` for fewer).
    /// `progress` is called every second of a long run with the events handled, the events expected and the simulated
    /// time.
    public func run(
        on cluster: Cluster, recording: Bool = false,
        progress: ((_ events: Int, _ expected: Double, _ now: SimTime) -> Void)? = nil
    ) throws -> CollectiveReport {
        let p = cluster.gpuCount
        if case .nccl(let a) = algorithm {
            guard options.pacing == CollectiveOptions().pacing, options.segments == nil else {
                throw SimulatorError.unsupported(
                    "the NCCL model is closed-form: --pacing and --segments do not apply to it")
            }
            let inputs = try NCCLModel.Inputs(cluster: cluster)
            let prediction = try NCCLModel.predict(operation, bytes: bytes, inputs: inputs, algorithm: a)
            let time = prediction.time + options.callOverhead
            guard !time.exceedsRange, prediction.time.seconds.isFinite else {
                throw SimulatorError.invalidArgument(
                    "the NCCL model's time exceeds the clock's range (2^62 ps, about 53 days)")
            }
            return report(
                cluster, time: time, method: "nccl-model", events: 0, messages: 0, linkBytes: [],
                note: "NCCL model chose \(prediction.algorithm.rawValue)/\(prediction.proto.rawValue): "
                    + "latency \(prediction.latency), algBw \(formatBandwidth(prediction.algorithmBandwidth)); "
                    + "intra-server hardware \(inputs.intraHardware.rawValue)", execution: nil)
        }
        let phases = try self.phases(ranks: p, serverGroups: cluster.serverGroups)
        let result = try Execution(recording: recording, pacing: options.pacing, progress: progress).run(
            phases, on: cluster)
        var note = ""
        if case .hierarchical = algorithm, cluster.serverCount == 1 {
            note = "single server: hierarchical reduces to ring reduce-scatter + ring all-gather"
        }
        return report(
            cluster, time: result.makespan, method: "event-simulation", events: result.events,
            messages: result.messages, linkBytes: result.bytesPerLinkClass, note: note, execution: result)
    }

    private func report(
        _ cluster: Cluster, time: SimTime, method: String, events: Int, messages: Int,
        linkBytes: [(name: String, bytes: Double)], note: String, execution: ExecutionResult?
    ) -> CollectiveReport {
        let algBw = time.picoseconds > 0 ? bytes / time.seconds : 0
        return CollectiveReport(
            cluster: cluster.name, ranks: cluster.gpuCount, operation: operation,
            algorithm: algorithm.description, method: method, bytes: bytes, time: time,
            algorithmBandwidth: algBw, busBandwidth: algBw * operation.busBandwidthFactor(ranks: cluster.gpuCount),
            events: events, messages: messages, bytesPerLinkClass: linkBytes, note: note, execution: execution)
    }
}
