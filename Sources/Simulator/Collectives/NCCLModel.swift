/// Closed-form model of NCCL's tuner (src/graph/tuning.cc): time = baseLat + steps * hwLat + bytes / algBw.
/// Latencies are NCCL's tables (microseconds); the bandwidth side is simplified (documented in
/// docs/simulator.md): bus bandwidth = min(intra-server GPU bandwidth, inter-server bandwidth per GPU times GPUs
/// per server), scaled by a protocol factor (LL 1/4, LL128 0.92, Simple 1) and, for Tree, 0.92; then converted to
/// algorithm bandwidth with NCCL's ratios (ring p/nsteps, tree 1/2). Not modelled: NVLS/CollNet/PAT, the LL
/// bandwidth caps (llMaxBws), per-channel caps and NCCL's tuning overrides.
public enum NCCLModel {
    /// NCCL's collective algorithms the model covers.
    public enum Algorithm: String, Sendable, CaseIterable {
        /// Ring: 2(p-1) steps for all-reduce, p-1 for all-gather and reduce-scatter, p for broadcast.
        case ring
        /// Tree (all-reduce only): a latency that grows with the GPUs per server and log2 of the servers.
        case tree
    }
    /// NCCL's wire protocols (raw values as NCCL names them), each scaling the bus bandwidth by a factor.
    public enum WireProtocol: String, Sendable, CaseIterable {
        /// LL (low latency): a quarter of the bandwidth.
        case ll = "LL"
        /// LL128: 0.92 of the bandwidth.
        case ll128 = "LL128"
        /// Simple: the full bandwidth.
        case simple = "Simple"
        var bandwidthFactor: Double {
            switch self {
            case .ll: return 0.25
            case .ll128: return 0.92
            case .simple: return 1
            }
        }
    }
    /// Hardware class of a hop, as in NCCL's hwLat table.
    public enum Hardware: String, Sendable {
        /// NVLink (or xGMI) between the GPUs of a server.
        case nvlink
        /// PCIe between the GPUs of a server.
        case pcie
        /// The network between servers.
        case network
    }

    /// Base latency (us), indexed [algorithm][protocol] (LL, LL128, Simple).
    public static func baseLatency(_ a: Algorithm, _ p: WireProtocol) -> Double {
        switch (a, p) {
        case (.tree, .ll): return 6.8
        case (.tree, .ll128): return 14.0
        case (.tree, .simple): return 8.4
        case (.ring, .ll): return 6.6
        case (.ring, .ll128): return 14.0
        case (.ring, .simple): return 8.4
        }
    }

    /// Per-step hardware latency (us).
    public static func hardwareLatency(_ h: Hardware, _ a: Algorithm, _ p: WireProtocol) -> Double {
        let table: [Hardware: [Algorithm: [Double]]] = [
            .nvlink: [.tree: [0.6, 1.25, 4.0], .ring: [0.6, 1.9, 3.4]],
            .pcie: [.tree: [1.0, 1.9, 4.0], .ring: [1.0, 2.5, 5.7]],
            .network: [.tree: [5.0, 8.5, 14.0], .ring: [2.7, 4.0, 14.0]],
        ]
        let i = p == .ll ? 0 : p == .ll128 ? 1 : 2
        return table[h]![a]![i]
    }

    /// The inputs the model needs, usually derived from a cluster by `Inputs(cluster:)`.
    public struct Inputs: Equatable, Sendable {
        /// Number of ranks (GPUs).
        public var ranks: Int
        /// Number of servers.
        public var servers: Int
        /// Hardware class of the hops within a server (sets their per-step latency).
        public var intraHardware: Hardware
        /// Bottleneck bandwidth between two GPUs of one server, bytes/s.
        public var intraBandwidth: Double
        /// Bottleneck bandwidth between GPUs of different servers, bytes/s (per GPU; multiplied by GPUs per server).
        public var interBandwidth: Double

        /// Inputs with every field given (bandwidths in bytes/s); `init(cluster:)` derives them from a cluster.
        public init(ranks: Int, servers: Int, intraHardware: Hardware, intraBandwidth: Double, interBandwidth: Double) {
            self.ranks = ranks
            self.servers = servers
            self.intraHardware = intraHardware
            self.intraBandwidth = intraBandwidth
            self.interBandwidth = interBandwidth
        }
    }

    /// One prediction.
    public struct Prediction: Equatable, Sendable {
        /// The algorithm predicted (the tuner's choice when none was given).
        public var algorithm: Algorithm
        /// The wire protocol predicted (the tuner's choice when none was given).
        public var proto: WireProtocol
        /// The latency term: NCCL's base latency plus the per-step hardware latencies.
        public var latency: SimTime
        /// Algorithm bandwidth, bytes/s.
        public var algorithmBandwidth: Double
        /// Predicted time: `latency` plus bytes over `algorithmBandwidth` (zero for one rank).
        public var time: SimTime
    }

    /// Predicts one (algorithm, protocol), or the fastest over the allowed ones when nil (NCCL's tuner choice).
    public static func predict(
        _ op: CollectiveOperation, bytes: Double, inputs: Inputs, algorithm: Algorithm? = nil,
        proto: WireProtocol? = nil
    ) throws -> Prediction {
        if algorithm == .tree && op != .allreduce {
            throw SimulatorError.unsupported("NCCL's tree algorithm only implements allreduce, not \(op)")
        }
        let algorithms = algorithm.map { [$0] } ?? (op == .allreduce ? [.ring, .tree] : [.ring])
        let protocols = proto.map { [$0] } ?? WireProtocol.allCases
        var best: Prediction?
        for a in algorithms {
            for p in protocols {
                let candidate = predictOne(op, bytes: bytes, inputs: inputs, a, p)
                if best == nil || candidate.time < best!.time { best = candidate }
            }
        }
        return best!
    }

    static func predictOne(
        _ op: CollectiveOperation, bytes: Double, inputs x: Inputs, _ a: Algorithm, _ p: WireProtocol
    ) -> Prediction {
        let nRanks = max(1, x.ranks), nNodes = max(1, x.servers)
        let ppn = max(1, nRanks / nNodes)
        // tuning.cc: "if (comm->nNodes > 1 && p == NCCL_PROTO_LL) intraLat *= 1.8;" (LL across servers).
        let intraLat = hardwareLatency(x.intraHardware, a, p) * (nNodes > 1 && p == .ll ? 1.8 : 1)
        let interLat = hardwareLatency(.network, a, p)
        var latency = baseLatency(a, p)
        let nsteps: Int, nInterSteps: Int
        switch op {
        case .allreduce:
            nsteps = 2 * (nRanks - 1)
            nInterSteps = 2 * (nNodes - 1)
        case .allgather, .reducescatter:
            nsteps = nRanks - 1
            nInterSteps = nNodes - 1
        case .broadcast:
            nsteps = nRanks
            nInterSteps = nNodes
        }
        if a == .ring {
            latency += Double(nsteps - nInterSteps) * intraLat + Double(nInterSteps) * interLat
        } else {
            let log2Nodes = Double(Int.bitWidth - 1 - nNodes.leadingZeroBitCount)
            latency += 2 * (Double(ppn - 1) * intraLat + log2Nodes * interLat)
        }
        var busBw = x.intraBandwidth
        if nNodes > 1 { busBw = min(busBw, x.interBandwidth * Double(ppn)) }
        busBw *= p.bandwidthFactor
        if a == .tree { busBw *= 0.92 }
        let ratio = a == .ring ? Double(nRanks) / Double(max(1, nsteps)) : 0.5
        let algBw = busBw * ratio
        let seconds = nRanks == 1 ? 0 : latency * 1e-6 + bytes / algBw
        return Prediction(
            algorithm: a, proto: p, latency: .microseconds(latency), algorithmBandwidth: algBw,
            time: .seconds(seconds))
    }
}

extension NCCLModel.Inputs {
    /// Derives the model inputs from routes between rank 0 and its neighbours. The intra-server hardware class is
    /// read from the first link class on the route: names containing "nvlink" or "xgmi" count as NVLink, "pcie" as
    /// PCIe, anything else as network.
    public init(cluster: Cluster) throws {
        let net = cluster.network
        let groups = cluster.serverGroups
        var intraBw = Double.infinity, interBw = Double.infinity
        var hardware = NCCLModel.Hardware.nvlink
        if let g = groups.first, g.count > 1 {
            let r = try net.route(from: cluster.gpus[g[0]], to: cluster.gpus[g[1]])
            intraBw = r.links.map { net.links[$0].bandwidth }.min() ?? .infinity
            let cls = net.linkClasses[net.links[r.links[0]].linkClass].name.lowercased()
            hardware =
                cls.contains("nvlink") || cls.contains("xgmi") ? .nvlink : cls.contains("pcie") ? .pcie : .network
        }
        if groups.count > 1 {
            let r = try net.route(from: cluster.gpus[groups[0][0]], to: cluster.gpus[groups[1][0]])
            interBw = r.links.map { net.links[$0].bandwidth }.min() ?? .infinity
        }
        if !intraBw.isFinite { intraBw = interBw.isFinite ? interBw * Double(groups.first?.count ?? 1) : 1e12 }
        self.init(
            ranks: cluster.gpuCount, servers: groups.count, intraHardware: hardware, intraBandwidth: intraBw,
            interBandwidth: interBw.isFinite ? interBw : intraBw)
    }
}
