import Simulator

/// The overhead model of a prediction, as explicit named parameters. `idealised` is the physical lower bound
/// (every overhead zero, every efficiency 1); `paperCode` is the one calibration used for every row of the paper
/// reproduction, with each value justified in docs/paper-reproduction.md. There is no per-row adjustment.
public struct Calibration: Equatable, Sendable {
    /// The calibration's name, shown in reports (e.g. "idealised").
    public var name: String
    /// Fixed cost of every kernel (launch and dispatch).
    public var kernelLaunch: SimTime
    /// Fixed cost of every collective call (dispatch and synchronisation), on every rank.
    public var collectiveCall: SimTime
    /// Fixed cost of every point-to-point message (ring hops).
    public var perMessage: SimTime
    /// Fraction of peak HBM bandwidth reached by memory-bound kernels.
    public var memoryEfficiency: Double
    /// Fraction of every link's bandwidth reached by transfers (the cluster's links are scaled by it).
    public var linkEfficiency: Double
    /// Fraction of peak BF16 FLOP/s reached by the weight GEMMs (projections, MLP, LM head).
    public var matmulEfficiency: Double
    /// Fraction of peak BF16 FLOP/s reached by attention kernels (prefill flash attention, decode flash-decoding).
    public var attentionEfficiency: Double
    /// Kernels per layer outside attention per forward pass (norms, projections, RoPE, MLP, residuals), each paying
    /// `kernelLaunch` (model-level workloads only).
    public var kernelsPerLayer: Int
    /// Collective calls per layer per decode step that both strategies make (the paper's code broadcasts the query
    /// from the last rank and then calls a barrier: 2).
    public var syncCallsPerLayer: Int
    /// Extra collective calls per layer per decode step that only Ring makes (the paper's code all-reduces the
    /// shard length before every ring decode: 1).
    public var ringExtraCallsPerLayer: Int
    /// Attention kernels read K/V expanded to n_h heads (the paper's code calls repeat_kv before attention, for
    /// both strategies) instead of the n_kv heads stored.
    public var attentionOnExpandedKV: Bool

    /// A calibration with the given values (defaults: the idealised ones). Throws `StudyError.invalidArgument` when
    /// an efficiency is outside (0, 1] or a count is negative.
    public init(
        name: String, kernelLaunch: SimTime = .zero, collectiveCall: SimTime = .zero, perMessage: SimTime = .zero,
        memoryEfficiency: Double = 1, linkEfficiency: Double = 1, matmulEfficiency: Double = 1,
        attentionEfficiency: Double = 1, kernelsPerLayer: Int = 0, syncCallsPerLayer: Int = 0,
        ringExtraCallsPerLayer: Int = 0, attentionOnExpandedKV: Bool = false
    ) throws {
        for (v, what) in [
            (memoryEfficiency, "memory efficiency"), (linkEfficiency, "link efficiency"),
            (matmulEfficiency, "matmul efficiency"), (attentionEfficiency, "attention efficiency"),
        ] {
            guard v > 0 && v <= 1 else { throw StudyError.invalidArgument("\(what) must be in (0, 1], got \(v)") }
        }
        guard kernelsPerLayer >= 0, syncCallsPerLayer >= 0, ringExtraCallsPerLayer >= 0 else {
            throw StudyError.invalidArgument("call and kernel counts must be >= 0")
        }
        self.name = name
        self.kernelLaunch = kernelLaunch
        self.collectiveCall = collectiveCall
        self.perMessage = perMessage
        self.memoryEfficiency = memoryEfficiency
        self.linkEfficiency = linkEfficiency
        self.matmulEfficiency = matmulEfficiency
        self.attentionEfficiency = attentionEfficiency
        self.kernelsPerLayer = kernelsPerLayer
        self.syncCallsPerLayer = syncCallsPerLayer
        self.ringExtraCallsPerLayer = ringExtraCallsPerLayer
        self.attentionOnExpandedKV = attentionOnExpandedKV
    }

    /// Zero overheads, full efficiency, native K/V: the bandwidth/latency lower bound.
    public static let idealised = try! Calibration(name: "idealised")

    /// The single calibration of docs/paper-reproduction.md (justifications there):
    /// launch 4 us (anchors: 3-5 us), collective call 10 us (NCCL base latency 6.6-14 us), per message 10 us
    /// (one NCCL point-to-point call), 80% of HBM bandwidth, 80% of link bandwidth (NCCL's own model: 20.6 of
    /// 25 GB/s per NVLink, 24 of 31.5 GB/s PCIe), 60% of peak for GEMMs and 40% for flash attention, 40 kernels per
    /// layer outside attention (counted in the paper's PyTorch Llama layer), the paper code's 2 sync calls per
    /// layer (+1 for ring) and its repeat_kv before attention.
    public static let paperCode = try! Calibration(
        name: "calibrated", kernelLaunch: .microseconds(4), collectiveCall: .microseconds(10),
        perMessage: .microseconds(10),
        memoryEfficiency: 0.8, linkEfficiency: 0.8, matmulEfficiency: 0.6, attentionEfficiency: 0.4,
        kernelsPerLayer: 40,
        syncCallsPerLayer: 2, ringExtraCallsPerLayer: 1, attentionOnExpandedKV: true)

    /// The decode-step options this calibration implies (ring always sends expanded K/V, as the paper's code).
    public var decodeOptions: DecodeOptions {
        var o = DecodeOptions()
        o.kernelLaunch = kernelLaunch
        o.collectiveCall = collectiveCall
        o.perMessage = perMessage
        o.memoryEfficiency = memoryEfficiency
        o.computeEfficiency = attentionEfficiency
        o.ringSendsExpandedKV = true
        return o
    }

    /// The cluster with every link's bandwidth scaled by `linkEfficiency` (same nodes, classes, latencies, ranks).
    public func apply(to cluster: Cluster) throws -> Cluster {
        guard linkEfficiency != 1 else { return cluster }
        let old = cluster.network
        var net = Network()
        for n in old.nodes { _ = try net.addNode(n.name, kind: n.kind, reduces: n.reduces) }
        for c in old.linkClasses { _ = try net.addLinkClass(c) }
        for l in old.links {
            _ = try net.addLink(
                from: l.from, to: l.to, bandwidth: l.bandwidth * linkEfficiency, latency: l.latency,
                linkClass: l.linkClass)
        }
        return try Cluster(
            name: cluster.name, gpu: cluster.gpu, network: net, gpus: cluster.gpus, serverOf: cluster.serverOf,
            overheads: cluster.overheads)
    }

    /// "name: key value, ..." for documents and captions.
    public var summary: String {
        "launch \(kernelLaunch), collective call \(collectiveCall), per message \(perMessage), eta_mem \(memoryEfficiency), "
            + "eta_link \(linkEfficiency), eta_gemm \(matmulEfficiency), eta_attn \(attentionEfficiency), "
            + "\(kernelsPerLayer) kernels/layer, \(syncCallsPerLayer) sync calls/layer (+\(ringExtraCallsPerLayer) ring), "
            + "attention on \(attentionOnExpandedKV ? "expanded" : "native") K/V"
    }
}
