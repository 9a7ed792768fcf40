/// Closed-form model of NCCL's tuner (src/graph/tuning.cc, NCCL 2.30): time = baseLat + steps * hwLat + bytes / algBw,
/// plus our one calibrated term, the pipeline fill D: time = latency + (sqrt(bytes / algBw) + sqrt(D))^2
/// (`calibratedPipelineFill`). Latencies are NCCL's tables (microseconds). Bandwidth: the bus bandwidth is
/// min(intra-server GPU bandwidth, inter-server bandwidth per GPU times GPUs per server), then NCCL's refinements per
/// algorithm and protocol (`busBandwidth`: ring LL min(llMaxBw, 0.5 busBw), ring LL128 0.92, tree 0.92 then LL
/// min(busBw/3.8, llMaxBw) or LL128 7/9 on one server and 120/128 across), converted to algorithm bandwidth with NCCL's
/// ratios (ring, NVLS and NVLS_TREE p/nsteps, tree 1/2; none for NVLS all-gather and reduce-scatter). With a known GPU
/// generation (`Inputs.architecture`) the intra-server bandwidth is NCCL's own per-NVLink speed times the links (A100
/// 20.0, H100/H200 20.6, B200 40.1 GB/s per link: 240, 370.8 and 721.8 GB/s), capped by the cluster's, and NVLink
/// SHARP is offered on Hopper and later where the GPUs of a server meet in an NVSwitch: `nvls` for all-reduce,
/// all-gather and reduce-scatter in one server (`nvls(_:_:)`), `nvlsTree` for all-reduce across servers
/// (`nvlsTree(_:)`). Not modelled: CollNet, PAT, the per-channel caps (perChMax*: they need the channel count of
/// NCCL's graph search), the tree's 0.85 for NCCL_TOPO_PATTERN_TREE, the network's graph latency (latencyInter),
/// AMD CPUs' llMaxBw row (Intel's is taken across servers) and NCCL's tuning overrides.
public enum NCCLModel {
    /// NCCL's collective algorithms the model covers.
    public enum Algorithm: String, Sendable, CaseIterable {
        /// Ring: 2(p-1) steps for all-reduce, p-1 for all-gather and reduce-scatter, p for broadcast.
        case ring
        /// Tree (all-reduce only): a latency that grows with the GPUs per server and log2 of the servers.
        case tree
        /// NVLink SHARP in one NVSwitch domain (all-reduce, all-gather, reduce-scatter; Hopper and later, Simple
        /// protocol only): the switch reduces and multicasts, so each GPU sends and receives its data about once
        /// (`NCCLModel.nvls(_:_:)`).
        case nvls
        /// NVLS inside each server and a tree of the servers over the network (all-reduce across servers, Hopper and
        /// later, Simple only; `NCCLModel.nvlsTree(_:)`).
        case nvlsTree = "nvls-tree"
    }

    /// GPU generations as NCCL's tables index them (compute capability 7.x, 8.x, 9.x, 10.x).
    public enum Architecture: String, Sendable, CaseIterable {
        /// V100 (sm70).
        case volta
        /// A100 (sm80).
        case ampere
        /// H100, H200 (sm90).
        case hopper
        /// B200, GB200 (sm100).
        case blackwell

        /// NCCL's model of one NVLink's bandwidth, GB/s (src/graph/topo.h: SM80 20.0, SM90 20.6, SM100 40.1).
        public var nvlinkGBps: Double {
            switch self {
            case .volta: return 20.0
            case .ampere: return 20.0
            case .hopper: return 20.6
            case .blackwell: return 40.1
            }
        }

        /// NVLinks per GPU of the generation's SXM parts (V100 6, A100 12, H100/H200/B200 18).
        public var nvlinks: Int {
            switch self {
            case .volta: return 6
            case .ampere: return 12
            case .hopper, .blackwell: return 18
            }
        }

        /// NCCL's NVLS efficiency (tuning.cc nvlsEfficiency: Volta 0, Ampere 0, Hopper 0.85, Blackwell 0.74).
        public var nvlsEfficiency: Double {
            switch self {
            case .volta, .ampere: return 0
            case .hopper: return 0.85
            case .blackwell: return 0.74
            }
        }

        /// The per-channel speeds NCCL's graph search tries for an NVLS graph, GB/s, fastest first (search.cc:
        /// sm90SpeedArrayIntra, sm100SpeedArrayIntra).
        var nvlsSpeeds: [Double] {
            switch self {
            case .volta, .ampere: return []
            case .hopper: return [60, 50, 40, 30, 24, 20, 15, 12, 11, 6, 3]
            case .blackwell: return [90, 80, 70, 60, 50, 45, 40, 30, 24, 20, 19, 18]
            }
        }

        /// NCCL's llMaxBws row of one server, GB/s (tuning.cc: Volta 39.0, Ampere 87.7, Hopper 141.0, Blackwell 282.0);
        /// across servers NCCL indexes the rows by CPU vendor, and the model takes Intel's (39.0 for two servers, 20.4
        /// for more).
        var llMaxOneServer: Double {
            switch self {
            case .volta: return 39.0
            case .ampere: return 87.7
            case .hopper: return 141.0
            case .blackwell: return 282.0
            }
        }

        /// NCCL's perChMaxNVLSTreeBws for 2 servers and for 4 or more, GB/s per channel (tuning.cc: Hopper 57.7,
        /// 45.5; Blackwell 96.0, 80.0).
        var nvlsTreePerChannelMax: (two: Double, more: Double) {
            switch self {
            case .volta: return (18.5, 10.0)
            case .ampere: return (23.6, 17.8)
            case .hopper: return (57.7, 45.5)
            case .blackwell: return (96.0, 80.0)
            }
        }

        /// The generation of a built-in GPU, by name (A100, H100, H200, B200, GB200); nil for others.
        public init?(gpuName: String) {
            let n = gpuName.uppercased()
            if n.hasPrefix("A100") {
                self = .ampere
            } else if n.hasPrefix("H100") || n.hasPrefix("H200") {
                self = .hopper
            } else if n.hasPrefix("B200") || n.hasPrefix("GB200") {
                self = .blackwell
            } else if n.hasPrefix("V100") {
                self = .volta
            } else {
                return nil
            }
        }
    }
    /// NCCL's wire protocols (raw values as NCCL names them); their bandwidths are `busBandwidth`'s.
    public enum WireProtocol: String, Sendable, CaseIterable {
        /// LL (low latency): a quarter of the bandwidth.
        case ll = "LL"
        /// LL128: 0.92 of the bandwidth.
        case ll128 = "LL128"
        /// Simple: the full bandwidth.
        case simple = "Simple"
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
        case (.nvls, _), (.nvlsTree, _): return 0
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
            .nvlink: [
                .tree: [0.6, 1.25, 4.0], .ring: [0.6, 1.9, 3.4], .nvls: [0, 0, 25], .nvlsTree: [0, 0, 25],
            ],
            .pcie: [.tree: [1.0, 1.9, 4.0], .ring: [1.0, 2.5, 5.7], .nvls: [0, 0, 0], .nvlsTree: [0, 0, 0]],
            .network: [
                .tree: [5.0, 8.5, 14.0], .ring: [2.7, 4.0, 14.0], .nvls: [0, 0, 18], .nvlsTree: [0, 0, 20.9],
            ],
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
        /// The GPUs' generation, when known: NCCL's own NVLink speeds then set the intra-server bandwidth, and NVLS
        /// is offered where `switchReduction` allows it; nil keeps the simplified bandwidth model.
        public var architecture: Architecture?
        /// Whether the GPUs of a server meet in an NVSwitch (NVLS needs one, and Hopper or later).
        public var switchReduction = false
        /// The pipeline fill D of each algorithm, seconds (`NCCLModel.pipelineFill`); zero for NCCL's tuner as it is.
        public var pipelineFill: [Algorithm: Double] = NCCLModel.calibratedPipelineFill

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
        /// Predicted time: `latency` plus (sqrt(bytes / `algorithmBandwidth`) + sqrt(D))^2, D the algorithm's pipeline
        /// fill (zero for one rank).
        public var time: SimTime
    }

    /// The pipeline fill D calibrated on published nccl-tests curves (docs/validation-published.md, its calibration
    /// rows; `PublishedValidation.fitPipelineFill` refits them): NVLS 3.67 us on Azure ND H100 v5's all-reduce curve,
    /// ring 7.93 us on an 8-GPU A100-40GB curve; tree none measured (0).
    ///
    /// Why the term: NCCL moves a buffer as a pipeline of chunks through its channels. A pipeline of depth k whose
    /// chunks each cost a fixed o beyond their bytes takes (n/c + k - 1)(o + c/B) for chunk size c; at the best c that
    /// is (sqrt(n/B) + sqrt(D))^2 with D = (k - 1) o (the optimum of a segmented pipeline, as in MPI's pipelined
    /// broadcasts). NCCL's tuner leaves it out (time = latency + n/B), which puts its bus bandwidth 35-50% above
    /// measured curves from 1 to 64 MB; with D its latency and bandwidth stay NCCL's own.
    public static let calibratedPipelineFill: [Algorithm: Double] = [.nvls: 3.67e-6, .ring: 7.93e-6, .tree: 0]

    /// The pipelined time of `bytes` at `algBw` with fill `fill` (seconds): (sqrt(bytes / algBw) + sqrt(fill))^2.
    static func pipelined(_ bytes: Double, _ algBw: Double, _ fill: Double) -> Double {
        let s = (bytes / algBw).squareRoot() + max(0, fill).squareRoot()
        return s * s
    }

    /// Predicts one (algorithm, protocol), or the fastest over the allowed ones when nil (NCCL's tuner choice).
    public static func predict(
        _ op: CollectiveOperation, bytes: Double, inputs: Inputs, algorithm: Algorithm? = nil,
        proto: WireProtocol? = nil
    ) throws -> Prediction {
        if algorithm == .tree && op != .allreduce {
            throw SimulatorError.unsupported("NCCL's tree algorithm only implements allreduce, not \(op)")
        }
        let offered = offeredSHARP(op, inputs)
        if let algorithm, algorithm == .nvls || algorithm == .nvlsTree {
            guard offered.contains(algorithm) else {
                throw SimulatorError.unsupported(
                    algorithm == .nvls
                        ? "NVLS (NVLink SHARP) is modelled for allreduce, allgather and reducescatter in one NVSwitch domain of Hopper or later GPUs, not \(op) on this cluster"
                        : "NVLS_TREE is modelled for allreduce across servers whose Hopper or later GPUs meet in an NVSwitch, not \(op) on this cluster"
                )
            }
            if let proto, proto != .simple {
                throw SimulatorError.unsupported(
                    "\(algorithm == .nvls ? "NVLS" : "NVLS_TREE") runs the Simple protocol only, not \(proto.rawValue)")
            }
        }
        let algorithms = algorithm.map { [$0] } ?? ((op == .allreduce ? [.ring, .tree] : [.ring]) + offered)
        var best: Prediction?
        for a in algorithms {
            for p in proto.map({ [$0] }) ?? (a == .nvls || a == .nvlsTree ? [.simple] : WireProtocol.allCases) {
                let candidate = predictOne(op, bytes: bytes, inputs: inputs, a, p)
                if best == nil || candidate.time < best!.time { best = candidate }
            }
        }
        return best!
    }

    /// The NVLink SHARP algorithms NCCL would consider for `op` here: `nvls` in one server (all-reduce, all-gather,
    /// reduce-scatter), `nvlsTree` across servers (all-reduce); none before Hopper or without an NVSwitch.
    static func offeredSHARP(_ op: CollectiveOperation, _ x: Inputs) -> [Algorithm] {
        guard op != .broadcast, nvlsGraph(x) != nil else { return [] }
        if x.servers == 1 { return [.nvls] }
        return op == .allreduce && nvlsTree(x) != nil ? [.nvlsTree] : []
    }

    /// NCCL's NVLS graph for a server's GPUs: h = min(32, GPUs per server) channels (every GPU a head) at the fastest
    /// per-channel speed s (GB/s) of the generation's list for which (h + 1) s fits the GPU's NVLink bandwidth (NCCL's
    /// links x speed; the head's traffic counts twice); nil where NCCL builds none (before Hopper, no NVSwitch, one
    /// GPU per server).
    static func nvlsGraph(_ x: Inputs) -> (heads: Int, speed: Double, efficiency: Double)? {
        let ppn = max(1, x.ranks / max(1, x.servers))
        guard let arch = x.architecture, x.switchReduction, ppn > 1, arch.nvlsEfficiency > 0 else { return nil }
        let heads = min(32, ppn)
        let links = min(x.intraBandwidth / 1e9, Double(arch.nvlinks) * arch.nvlinkGBps)
        guard let speed = arch.nvlsSpeeds.first(where: { Double(heads + 1) * $0 <= links }) else { return nil }
        return (heads, speed, arch.nvlsEfficiency)
    }

    /// NVLS bus bandwidth (bytes/s) in one server as NCCL's tuner models it (tuning.cc since 2.28.3), or nil where NCCL
    /// builds no NVLS graph or there is more than one server: per channel s x efficiency x (h - 1)/h, twice that for
    /// all-reduce ("AllReduce pipelines two operations"), times (ppn - 1)/ppn for all-gather and reduce-scatter; times
    /// h channels. All-reduce on 8 H100: 2 x 0.85 x 7/8 x 8 x 40 = 476 GB/s (measured ~480); 8 B200: 2 x 0.74 x 7/8 x 8
    /// x 80 = 828.8 GB/s (measured 830+); all-gather on 8 H100: 0.85 x 7/8 x 7/8 x 8 x 40 = 208.25 GB/s.
    public static func nvls(_ x: Inputs, _ op: CollectiveOperation = .allreduce) -> Double? {
        guard x.servers == 1, x.ranks > 1, op != .broadcast, let g = nvlsGraph(x) else { return nil }
        let h = Double(g.heads), ppn = Double(x.ranks)
        let perChannel = g.speed * g.efficiency * (h - 1) / h * (op == .allreduce ? 2 : (ppn - 1) / ppn)
        return h * perChannel * 1e9
    }

    /// NVLS_TREE all-reduce bus bandwidth (bytes/s) across servers as NCCL's tuner models it, or nil (one server, or no
    /// NVLS graph): h channels, each min(2 s x efficiency x (h - 1)/h, the network per GPU (twice that for two
    /// servers), NCCL's per-channel cap perChMaxNVLSTreeBw). 2 x 8 H100 with 400 Gb/s per GPU: 8 x min(59.5, 100, 57.7)
    /// = 461.6 GB/s; 4 or more servers: 8 x min(59.5, 50, 45.5) = 364 GB/s.
    public static func nvlsTree(_ x: Inputs) -> Double? {
        guard x.servers > 1, let arch = x.architecture, let g = nvlsGraph(x) else { return nil }
        let h = Double(g.heads)
        let intra = 2 * g.speed * g.efficiency * (h - 1) / h
        let inter = x.interBandwidth / 1e9 * (x.servers <= 2 ? 2 : 1)
        let cap = x.servers <= 2 ? arch.nvlsTreePerChannelMax.two : arch.nvlsTreePerChannelMax.more
        return h * min(intra, inter, cap) * 1e9
    }

    /// NCCL's bus bandwidth of ring or tree with protocol `p` from the link bus bandwidth `busBw` (bytes/s): ring LL
    /// min(llMaxBw, busBw / 2), ring LL128 0.92 busBw, ring Simple busBw; tree x 0.92, then LL min(that / 3.8,
    /// llMaxBw), LL128 x 7/9 on one server and 120/128 across. llMaxBw is the generation's row on one server, Intel's
    /// across servers (39.0 GB/s for two, 20.4 for more); without a known generation, Hopper's.
    static func busBandwidth(_ a: Algorithm, _ p: WireProtocol, busBw: Double, x: Inputs) -> Double {
        let servers = max(1, x.servers)
        let llMax =
            (servers == 1 ? (x.architecture ?? .hopper).llMaxOneServer : servers == 2 ? 39.0 : 20.4) * 1e9
        switch (a, p) {
        case (.ring, .ll): return min(llMax, busBw * 0.5)
        case (.ring, .ll128): return busBw * 0.92
        case (.tree, .ll): return min(busBw * 0.92 / 3.8, llMax)
        case (.tree, .ll128): return busBw * 0.92 * (servers == 1 ? 7.0 / 9.0 : 120.0 / 128.0)
        case (.tree, .simple): return busBw * 0.92
        default: return busBw
        }
    }

    static func predictOne(
        _ op: CollectiveOperation, bytes: Double, inputs x: Inputs, _ a: Algorithm, _ p: WireProtocol
    ) -> Prediction {
        let nRanks = max(1, x.ranks), nNodes = max(1, x.servers)
        let ppn = max(1, nRanks / nNodes)
        // tuning.cc: "if (comm->nNodes > 1 && p == NCCL_PROTO_LL) intraLat *= 1.8;" (LL across servers).
        let intraLat = hardwareLatency(x.intraHardware, a, p) * (nNodes > 1 && p == .ll ? 1.8 : 1)
        let interLat = hardwareLatency(.network, a, p)
        if a == .nvls || a == .nvlsTree {
            // NVLS: latency NCCL's NVLink hwLat (25 us, base 0); NVLS_TREE adds 2 log2(servers) network latencies
            // (NCCL's NVLSTree 20.9 us; NVLS needs two GPUs per server). Algorithm bandwidth by the ring's
            // ratio p/nsteps, as NCCL and nccl-tests convert it, except NVLS all-gather and reduce-scatter (none).
            let busBw = (a == .nvls ? nvls(x, op) : nvlsTree(x)) ?? 0
            let log2Nodes = Double(Int.bitWidth - 1 - nNodes.leadingZeroBitCount)
            let latency = 25 + (a == .nvlsTree ? 2 * log2Nodes * interLat : 0)
            let steps = op == .allreduce ? 2 * (nRanks - 1) : nRanks - 1
            let algBw = op == .allreduce ? busBw * Double(nRanks) / Double(steps) : busBw
            return Prediction(
                algorithm: a, proto: p, latency: .microseconds(latency), algorithmBandwidth: algBw,
                time: .seconds(latency * 1e-6 + pipelined(bytes, algBw, x.pipelineFill[a] ?? 0)))
        }
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
        if let arch = x.architecture, x.intraHardware == .nvlink {
            // NCCL's own NVLink speed times the links, capped by the cluster's link.
            busBw = min(busBw, Double(arch.nvlinks) * arch.nvlinkGBps * 1e9)
        }
        if nNodes > 1 { busBw = min(busBw, x.interBandwidth * Double(ppn)) }
        busBw = busBandwidth(a, p, busBw: busBw, x: x)
        let ratio = a == .ring ? Double(nRanks) / Double(max(1, nsteps)) : 0.5
        let algBw = busBw * ratio
        let seconds = nRanks == 1 ? 0 : latency * 1e-6 + pipelined(bytes, algBw, x.pipelineFill[a] ?? 0)
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
        var intraRoute: Route? = nil
        if let g = groups.first, g.count > 1 {
            let r = try net.route(from: cluster.gpus[g[0]], to: cluster.gpus[g[1]])
            intraRoute = r
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
        architecture = cluster.gpu.kind == .gpu ? NCCLModel.Architecture(gpuName: cluster.gpu.name) : nil
        // NVLS needs the server's GPUs to meet in a switch: the route between two of them passes one.
        if let r = intraRoute, hardware == .nvlink {
            switchReduction = r.links.dropLast().contains { net.nodes[net.links[$0].to].kind == .switch }
        }
    }
}
