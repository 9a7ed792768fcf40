import TreeCore

/// The decode-step model: a workload on the first `gpus` GPUs of a cluster, with explicit options. This is the
/// library entry point a sweep or calibration layer calls:
///
///     let model = try DecodeModel(cluster: try Cluster.resolve("dgx-h100:2"), workload: w, options: DecodeOptions())
///     let reports = try model.compare([.tree(collective: .tree), .ring(overlap: true)])
public struct DecodeModel: Sendable {
    public var cluster: Cluster
    public var workload: DecodeWorkload
    public var options: DecodeOptions

    /// `gpus` nil uses every GPU of the cluster.
    public init(cluster: Cluster, workload: DecodeWorkload, options: DecodeOptions = DecodeOptions(), gpus: Int? = nil) throws {
        self.cluster = try gpus.map { try cluster.prefix($0) } ?? cluster
        self.workload = workload
        self.options = options
        _ = try roofline()
    }

    public var gpus: Int { cluster.gpuCount }

    public func roofline() throws -> Roofline {
        try Roofline(gpu: cluster.gpu, memoryEfficiency: options.memoryEfficiency,
                     computeEfficiency: options.computeEfficiency, kernelLaunch: options.kernelLaunch)
    }

    /// Token counts per rank (Reference's even split: the first N mod p ranks get one extra token).
    public func shardTokens(ranks p: Int) throws -> [Int] {
        do {
            return try ShardLayout(keys: workload.sequenceLength, shards: p).ranges.map(\.count)
        } catch {
            throw SimulatorError.invalidArgument("\(error)")
        }
    }

    /// Runs every strategy; speedups are against `ring` (overlapped), which is run as a baseline if absent.
    public func compare(_ strategies: [DecodeStrategy], recording: Bool = true) throws -> [DecodeReport] {
        var reports = try strategies.map { try run($0, recording: recording) }
        let baseline = try reports.first(where: { $0.strategy == "ring" })?.latency ?? run(.ring(overlap: true), recording: false).latency
        for i in reports.indices where reports[i].latency.picoseconds > 0 {
            reports[i].speedupVsRing = baseline.seconds / reports[i].latency.seconds
        }
        return reports
    }

    /// Simulates one strategy.
    public func run(_ strategy: DecodeStrategy, recording: Bool = true) throws -> DecodeReport {
        let w = workload
        let roof = try roofline()
        var target = cluster
        if case .singleGPU = strategy { target = try cluster.prefix(1) }
        let p = target.gpuCount
        let tokens = try shardTokens(ranks: p)
        var notes: [String] = []
        var phases: [RankProgram] = []
        var sentElementBytes = Double(w.partialElementBytes)
        var modelled = SimTime.zero

        switch strategy {
        case .singleGPU:
            phases = [ListProgram(singleLane: [[.compute(roof.flashDecode(tokens: w.sequenceLength, w), label: "flash-decode")]])]
        case .tree(let algorithm):
            phases.append(ListProgram(singleLane: tokens.map { [.compute(roof.flashDecode(tokens: $0, w), label: "flash-decode")] }))
            let sizes: [(String, Double)] = [("allreduce max", Double(w.batch * w.heads)),
                                             ("allreduce numerator", Double(w.batch * w.modelDim)),
                                             ("allreduce denominator", Double(w.batch * w.heads))]
            var collectiveOptions = options.collective
            collectiveOptions.callOverhead = options.collectiveCall
            if collectiveOptions.segments != nil && !Collective.pipelines(algorithm) {
                collectiveOptions.segments = nil
                notes.append("segments do not apply to '\(algorithm)' all-reduces (not pipelined)")
            }
            for (i, (label, elements)) in sizes.enumerated() {
                let c = try Collective(.allreduce, algorithm: algorithm, bytes: elements * 4, options: collectiveOptions)
                if case .nccl(let a) = algorithm {
                    let prediction = try NCCLModel.predict(.allreduce, bytes: c.bytes, inputs: NCCLModel.Inputs(cluster: target), algorithm: a)
                    let t = prediction.time + options.collectiveCall
                    modelled += t
                    phases.append(ListProgram(singleLane: Array(repeating: [.modelledCommunication(t, label: label)], count: p)))
                    if i == 0 { notes.append("collectives from the NCCL model (\(prediction.algorithm.rawValue)/\(prediction.proto.rawValue)); no network events") }
                } else {
                    phases.append(contentsOf: try c.phases(ranks: p, serverGroups: target.serverGroups))
                    if i == 0, case .hierarchical = algorithm, target.serverCount == 1 {
                        notes.append("one server: the hierarchical all-reduce is its ring reduce-scatter and all-gather only")
                    }
                }
                if i == 0 {  // rescale numerator and denominator by exp(lse - m)
                    phases.append(ListProgram(singleLane: Array(repeating: [.compute(roof.elementwise(w.partialElements), label: "rescale")], count: p)))
                }
            }
            phases.append(ListProgram(singleLane: Array(repeating: [.compute(roof.elementwise(Double(w.batch * w.modelDim)), label: "divide")], count: p)))
        case .ring(let overlap):
            let sendHeads = options.ringSendsExpandedKV ? w.heads : w.kvHeads
            let chunkBytes = tokens.map { 2 * Double(w.batch * $0 * sendHeads * w.headDim * w.elementBytes) }
            sentElementBytes = Double(w.elementBytes)
            let compute = tokens.map { roof.flashDecode(tokens: $0, w) }
            if options.ringSendsExpandedKV && w.groupSize > 1 {
                notes.append("K/V sent expanded to \(w.heads) heads (GQA repeat factor \(w.groupSize))")
            }
            var ops = [[RankOperation]](repeating: [], count: p)
            for r in 0..<p {
                let next = (r + 1) % p, prev = (r + p - 1) % p
                for s in 0..<p {
                    let origin = (r - s + p * p) % p  // chunk held at step s
                    if overlap {
                        if s > 0 { ops[r].append(.recv(from: prev, tag: Int64(s - 1))) }
                        if s < p - 1 { ops[r].append(.send(to: next, bytes: chunkBytes[origin], tag: Int64(s))) }
                        ops[r].append(.compute(compute[origin], label: "flash-decode"))
                    } else {
                        ops[r].append(.compute(compute[origin], label: "flash-decode"))
                        if p > 1 {
                            ops[r].append(.send(to: next, bytes: chunkBytes[origin], tag: Int64(s)))
                            ops[r].append(.recv(from: prev, tag: Int64(s)))
                        }
                    }
                }
            }
            phases = [ListProgram(singleLane: ops)]
        case .passPartials:
            let bytes = w.partialElements * Double(w.partialElementBytes)
            phases = [ListProgram(singleLane: (0..<p).map { r in
                var ops: [RankOperation] = [.compute(roof.flashDecode(tokens: tokens[r], w), label: "flash-decode")]
                if r > 0 { ops += [.recv(from: r - 1, tag: 0), .compute(roof.merge(partials: 2, w), label: "merge")] }
                if r < p - 1 { ops.append(.send(to: r + 1, bytes: bytes, tag: 0)) }
                return ops
            })]
        case .gatherToOne:
            let bytes = w.partialElements * Double(w.partialElementBytes)
            phases = [ListProgram(singleLane: (0..<p).map { r in
                var ops: [RankOperation] = [.compute(roof.flashDecode(tokens: tokens[r], w), label: "flash-decode")]
                if r == 0 {
                    ops += (1..<max(p, 1)).map { .recv(from: $0, tag: 0) }
                    ops.append(.compute(roof.merge(partials: p, w), label: "merge"))
                } else {
                    ops.append(.send(to: 0, bytes: bytes, tag: 0))
                }
                return ops
            })]
        }

        let result = try Execution(recording: recording, pacing: options.collective.pacing,
                                   messageOverhead: options.perMessage).run(phases, on: target)
        let breakdown = recording ? ActivityBreakdown(result, ranks: p) : ActivityBreakdown()
        let memory = peakMemory(strategy, p: p, tokens: tokens)
        var report = DecodeReport(
            strategy: strategy.description, gpus: p, latency: result.makespan,
            compute: .seconds(breakdown.compute), communication: .seconds(breakdown.communication),
            overhead: .seconds(breakdown.overhead), idle: .seconds(breakdown.idle),
            bytesPerLinkClass: result.bytesPerLinkClass,
            elementsSentPerDevice: result.bytesSent.reduce(0, +) / Double(p) / sentElementBytes,
            paperVolumeElements: paperVolume(strategy, p: p), peakMemoryElements: memory.elements,
            peakMemoryBytes: memory.bytes, paperPeakMemoryElements: paperMemory(strategy, p: p),
            fitsInMemory: memory.bytes <= target.gpu.memoryBytes, speedupVsRing: nil, events: result.events,
            messages: result.messages, notes: notes, execution: recording ? result : nil)
        if modelled.picoseconds > 0 {
            report.elementsSentPerDevice = 2 * Double(p - 1) / Double(p) * (Double(w.batch * w.modelDim) + 2 * Double(w.batch * w.heads))
            report.notes.append("elements sent per device assume a ring all-reduce inside NCCL")
        }
        if !report.fitsInMemory {
            report.notes.append("needs \(formatBytes(memory.bytes)) per device, more than the \(formatBytes(target.gpu.memoryBytes)) of a \(target.gpu.name)")
        }
        return report
    }

    /// The paper's communication volume (elements), for tree and ring.
    public func paperVolume(_ strategy: DecodeStrategy, p: Int) -> Double? {
        let w = workload
        let b = Double(w.batch), d = Double(w.modelDim), nh = Double(w.heads), P = Double(p)
        switch strategy {
        case .tree: return 2 * (P - 1) / P * (b * d + 2 * b * nh)
        case .ring: return 2 * b * (Double(w.sequenceLength) / P) * d * P
        default: return nil
        }
    }

    /// The paper's peak memory per device (elements), for tree and ring.
    public func paperMemory(_ strategy: DecodeStrategy, p: Int) -> Double? {
        let w = workload
        let b = Double(w.batch), d = Double(w.modelDim), nh = Double(w.heads), t = Double(w.sequenceLength) / Double(p)
        switch strategy {
        case .tree: return 2 * b * t * d + 2 * b * d + 2 * b * nh
        case .ring: return 4 * b * t * d + 2 * b * d
        default: return nil
        }
    }

    /// Our accounting of attention buffers on the busiest device: K/V (as stored or as sent), q and output in the
    /// model dtype; partial statistics in fp32.
    func peakMemory(_ strategy: DecodeStrategy, p: Int, tokens: [Int]) -> (elements: Double, bytes: Double) {
        let w = workload
        let b = Double(w.batch), d = Double(w.modelDim), nh = Double(w.heads)
        let e = Double(w.elementBytes), f = Double(w.partialElementBytes)
        let t = tokens.max() ?? 0
        let kvStored = w.kvElements(tokens: t)
        switch strategy {
        case .singleGPU:
            let kv = w.kvElements(tokens: w.sequenceLength)
            return (kv + 2 * b * d, (kv + 2 * b * d) * e)
        case .tree:
            return (kvStored + 2 * b * d + 2 * b * nh, (kvStored + b * d) * e + (b * d + 2 * b * nh) * f)
        case .ring:
            let heads = options.ringSendsExpandedKV ? w.heads : w.kvHeads
            let buffer = 2 * b * Double(t) * Double(heads * w.headDim)
            return (2 * buffer + 2 * b * d, (2 * buffer + 2 * b * d) * e)
        case .passPartials:
            return (kvStored + 2 * b * d + 2 * b * nh + w.partialElements,
                    (kvStored + b * d) * e + (b * d + 2 * b * nh + w.partialElements) * f)
        case .gatherToOne:
            let gathered = Double(p) * w.partialElements
            return (kvStored + 2 * b * d + gathered, (kvStored + b * d) * e + (b * d + gathered) * f)
        }
    }
}

extension ActivityBreakdown {
    init() {}
}
