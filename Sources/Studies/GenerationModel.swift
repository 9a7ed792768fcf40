import Simulator

/// "Prefill N tokens, then generate": the paper's model-level benchmark (Table 1, Table 2). The paper's
/// `generate(x, num_new_tokens=10)` runs one prefill forward (which yields the first new token) and then
/// `newTokens - 1` single-token decode forwards.
public struct GenerationWorkload: Equatable, Sendable {
    /// The model generating.
    public var model: ModelSpec
    /// Prompt length N in tokens, processed by the prefill (at least 1).
    public var promptTokens: Int
    /// Tokens generated (at least 1): the first by the prefill, the rest by decode steps.
    public var newTokens: Int
    /// Sequences generated at once (at least 1).
    public var batch: Int

    /// Throws `StudyError.invalidArgument` when `promptTokens`, `newTokens` or `batch` is below 1.
    public init(model: ModelSpec, promptTokens: Int, newTokens: Int = 10, batch: Int = 1) throws {
        guard promptTokens >= 1, newTokens >= 1, batch >= 1 else {
            throw StudyError.invalidArgument("prompt tokens, new tokens and batch must be >= 1")
        }
        self.model = model
        self.promptTokens = promptTokens
        self.newTokens = newTokens
        self.batch = batch
    }

    /// Decode forwards after the prefill.
    public var decodeSteps: Int { newTokens - 1 }
}

/// Times of one generation run. `total = prefill + decodeSteps x decodeStep`.
public struct GenerationReport: Sendable, Equatable {
    /// The decode strategy's name (`DecodeStrategy.description`, e.g. "tree", "ring").
    public var strategy: String
    /// Number of GPUs (ranks) the run uses.
    public var gpus: Int
    /// Ring-attention prefill of all layers (attention part), on the busiest rank.
    public var prefillAttention: SimTime
    /// Prefill outside attention: every layer's weights over N/p tokens plus the LM head (0 if not included).
    public var prefillOther: SimTime
    /// One decode layer's attention (the simulated decode step) plus its sync calls.
    public var decodeAttentionPerLayer: SimTime
    /// One decode forward outside attention (weights read for one token, kernel launches, LM head).
    public var decodeOtherPerStep: SimTime
    /// Decode forwards after the prefill (`newTokens - 1`).
    public var decodeSteps: Int

    /// The whole prefill: attention plus the rest.
    public var prefill: SimTime { prefillAttention + prefillOther }
    /// One decode forward: every layer's attention plus the work outside attention.
    public var decodeStep: SimTime {
        SimTime(picoseconds: decodeAttentionPerLayer.picoseconds * Int64(layers)) + decodeOtherPerStep
    }
    /// The whole generation: the prefill plus `decodeSteps` decode forwards.
    public var total: SimTime { prefill + SimTime(picoseconds: decodeStep.picoseconds * Int64(decodeSteps)) }
    /// Transformer layers of the model (each decode forward runs `decodeAttentionPerLayer` this many times).
    public var layers: Int
}

/// The model-level workload on a cluster, under one calibration. Per layer (all layers identical, run back to back):
///
/// - prefill attention: causal ring attention over p ranks with t = N/p tokens each, simulated on the network
///   (`KVRingProgram`, the same K/V ring as the `ring` decode strategy):
///   at step s every rank sends its current K/V chunk (K and V as two messages, expanded to n_h heads as the
///   paper's code does) to the next rank and computes one block: the causal diagonal block at s = 0 (half the
///   FLOPs), full blocks for s <= rank, nothing for s > rank (the paper's code skips them). Block time =
///   launch + max(bytes / (HBM bw eta_mem), 4 b n_h t^2 d_h / (peak eta_attn)).
/// - decode attention: `DecodeModel.run` of one decode step at sequence length N, plus the sync calls.
/// - outside attention (optional, `includeNonAttention`): a roofline of the layer's weights over the rank's tokens,
///   max(weight bytes / (HBM bw eta_mem), 2 x weights x tokens / (peak eta_gemm)) + kernelsPerLayer x launch, and
///   the LM head once per forward (weights + fp32 logits written). Activations' memory traffic is not counted.
///   Every rank runs the whole model on its own tokens (sequence parallelism, as the paper's code).
public struct GenerationModel: Sendable {
    /// The cluster simulated: the first `gpus` GPUs, links scaled by the calibration's link efficiency.
    public var cluster: Cluster
    /// The generation simulated.
    public var workload: GenerationWorkload
    /// The overheads and efficiencies applied.
    public var calibration: Calibration
    /// Whether work outside attention (layer weights, LM head) is counted; false gives attention alone.
    public var includeNonAttention: Bool

    /// `gpus` nil uses every GPU of the cluster. The calibration's link efficiency is applied to the cluster here.
    public init(
        cluster: Cluster, gpus: Int? = nil, workload: GenerationWorkload, calibration: Calibration,
        includeNonAttention: Bool = true
    ) throws {
        let c = try gpus.map { try cluster.prefix($0) } ?? cluster
        self.cluster = try calibration.apply(to: c)
        self.workload = workload
        self.calibration = calibration
        self.includeNonAttention = includeNonAttention
        guard workload.promptTokens >= self.cluster.gpuCount else {
            throw StudyError.invalidArgument(
                "prompt of \(workload.promptTokens) tokens is shorter than \(self.cluster.gpuCount) GPUs")
        }
    }

    /// Number of GPUs (ranks) of the cluster.
    public var gpus: Int { cluster.gpuCount }

    func roofline(efficiency: Double) throws -> Roofline {
        try Roofline(
            gpu: cluster.gpu, memoryEfficiency: calibration.memoryEfficiency, computeEfficiency: efficiency,
            kernelLaunch: calibration.kernelLaunch)
    }

    /// Time of one layer's weights (outside attention) over `tokens` tokens per rank.
    public func layerOther(tokens: Int) throws -> SimTime {
        guard includeNonAttention else { return .zero }
        let m = workload.model, e = Double(try m.decodeWorkload(sequenceLength: 1).elementBytes)
        let roof = try roofline(efficiency: calibration.matmulEfficiency)
        let t = Double(tokens * workload.batch)
        let weights =
            roof.time(bytes: m.layerParameters * e, flops: 2 * m.layerParameters * t) - calibration.kernelLaunch
        return weights + SimTime(picoseconds: calibration.kernelLaunch.picoseconds * Int64(calibration.kernelsPerLayer))
    }

    /// The LM head over `tokens` tokens per rank (weights read, fp32 logits written).
    public func head(tokens: Int) throws -> SimTime {
        guard includeNonAttention else { return .zero }
        let m = workload.model, e = Double(try m.decodeWorkload(sequenceLength: 1).elementBytes)
        let t = Double(tokens * workload.batch)
        return try roofline(efficiency: calibration.matmulEfficiency)
            .time(bytes: m.headParameters * e + t * Double(m.vocab) * 4, flops: 2 * m.headParameters * t)
    }

    /// Tokens per rank in the prefill (the paper's code: N // p, the same on every rank).
    public var prefillTokensPerRank: Int { workload.promptTokens / gpus }

    /// One layer of causal ring-attention prefill, simulated (makespan over ranks).
    public func prefillAttentionLayer() throws -> SimTime {
        let p = gpus, t = prefillTokensPerRank, m = workload.model, b = workload.batch
        let w = try m.decodeWorkload(
            sequenceLength: workload.promptTokens, batch: b, expandedKV: calibration.attentionOnExpandedKV)
        let e = Double(w.elementBytes)
        let roof = try roofline(efficiency: calibration.attentionEfficiency)
        let blockFlops = 4 * Double(b * m.heads) * Double(t) * Double(t) * Double(m.headDim)
        let blockBytes = Double(b * t) * Double(m.headDim) * (Double(2 * m.heads) + 2 * Double(w.kvHeads)) * e
        let full = roof.time(bytes: blockBytes, flops: blockFlops)
        let diagonal = roof.time(bytes: blockBytes, flops: blockFlops / 2)
        // K and V chunks travel expanded to n_h heads (repeat_kv runs before ring_attention in the paper's code).
        let messageBytes = Double(b * t * m.heads * m.headDim) * e
        let ring = try KVRingProgram(
            ranks: p, overlap: true, messagesPerChunk: 2,
            chunkBytes: Array(repeating: 2 * messageBytes, count: p),
            blocks: .causal(diagonal: diagonal, full: full))
        return try Execution(messageOverhead: calibration.perMessage).run([ring], on: cluster).makespan
    }

    /// One decode layer's attention with `strategy` (simulated), plus the sync calls the calibration names.
    public func decodeAttentionLayer(_ strategy: DecodeStrategy) throws -> SimTime {
        let w = try workload.model.decodeWorkload(
            sequenceLength: workload.promptTokens, batch: workload.batch,
            expandedKV: calibration.attentionOnExpandedKV)
        let model = try DecodeModel(cluster: cluster, workload: w, options: calibration.decodeOptions)
        var calls = calibration.syncCallsPerLayer
        if case .ring = strategy { calls += calibration.ringExtraCallsPerLayer }
        return try model.run(strategy, recording: false).latency
            + SimTime(picoseconds: calibration.collectiveCall.picoseconds * Int64(calls))
    }

    /// Simulates the whole generation with `strategy` for decode (the prefill is the ring for every strategy).
    public func run(_ strategy: DecodeStrategy) throws -> GenerationReport {
        let layers = Int64(workload.model.layers)
        let prefillAttention = SimTime(picoseconds: try prefillAttentionLayer().picoseconds * layers)
        let prefillOther =
            SimTime(picoseconds: try layerOther(tokens: prefillTokensPerRank).picoseconds * layers)
            + (try head(tokens: prefillTokensPerRank))
        let decodeOther = SimTime(picoseconds: try layerOther(tokens: 1).picoseconds * layers) + (try head(tokens: 1))
        return GenerationReport(
            strategy: strategy.description, gpus: gpus, prefillAttention: prefillAttention,
            prefillOther: prefillOther, decodeAttentionPerLayer: try decodeAttentionLayer(strategy),
            decodeOtherPerStep: decodeOther, decodeSteps: workload.decodeSteps,
            layers: workload.model.layers)
    }
}
