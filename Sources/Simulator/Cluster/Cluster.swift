/// A validated cluster: a network whose GPU nodes are the ranks, the device model (a GPU or a CPU rank,
/// `GPUSpec.kind`), the grouping of ranks into servers (machines, e.g. DGX nodes) used by topology-aware algorithms,
/// and optionally the calibrated overheads its file gives.
public struct Cluster: Sendable {
    /// Name shown in outputs: the preset's description (e.g. "dgx-h100:2"), the file's `name:` or its path;
    /// `prefix(_:)` notes the GPUs kept.
    public var name: String
    /// The device of every rank.
    public var gpu: GPUSpec
    /// The network graph: the ranks' GPU nodes, the switches, NICs and hosts, and their links.
    public var network: Network
    /// Network node of each GPU, in rank order.
    public var gpus: [Int]
    /// Server (machine) index of each GPU.
    public var serverOf: [Int]
    /// Calibrated overheads from the cluster file's `overheads:` mapping (nil: none given). `DecodeOptions(cluster:)`
    /// applies them; `simulate decode` and `sweep` use them as their defaults.
    public var overheads: ClusterOverheads?
    /// The fat tree the network was generated from (nil: a preset or a file's explicit links).
    public var fatTree: FatTreeSpec?

    /// Validates: at least one GPU, server indices given per GPU, every GPU reaches every other.
    public init(
        name: String, gpu: GPUSpec, network: Network, gpus: [Int]? = nil, serverOf: [Int]? = nil,
        overheads: ClusterOverheads? = nil
    ) throws {
        let gpus = gpus ?? network.gpuNodes
        guard !gpus.isEmpty else { throw SimulatorError.cluster("'\(name)': a cluster needs at least one GPU") }
        for g in gpus where !network.nodes.indices.contains(g) || network.nodes[g].kind != .gpu {
            throw SimulatorError.cluster("'\(name)': rank node \(g) is not a GPU")
        }
        let servers = serverOf ?? [Int](repeating: 0, count: gpus.count)
        guard servers.count == gpus.count else {
            throw SimulatorError.cluster(
                "'\(name)': server assignment has \(servers.count) entries for \(gpus.count) GPUs")
        }
        try network.validateGPUConnectivity()
        self.name = name
        self.gpu = gpu
        self.network = network
        self.gpus = gpus
        self.serverOf = servers
        self.overheads = overheads
    }

    /// Number of ranks (GPUs, or CPU ranks).
    public var gpuCount: Int { gpus.count }
    /// Number of distinct servers the ranks are on.
    public var serverCount: Int { Set(serverOf).count }

    /// The first `count` GPUs as a smaller cluster sharing the same network (for `--gpus`).
    public func prefix(_ count: Int) throws -> Cluster {
        guard count >= 1 && count <= gpuCount else {
            throw SimulatorError.invalidArgument("--gpus must be in 1...\(gpuCount) for \(name), got \(count)")
        }
        var c = self
        c.gpus = Array(gpus.prefix(count))
        c.serverOf = Array(serverOf.prefix(count))
        c.name = count == gpuCount ? name : "\(name) (first \(count) GPUs)"
        return c
    }

    /// Rank groups by server, in rank order.
    public var serverGroups: [[Int]] {
        var order: [Int] = []
        var groups: [Int: [Int]] = [:]
        for (rank, s) in serverOf.enumerated() {
            if groups[s] == nil { order.append(s) }
            groups[s, default: []].append(rank)
        }
        return order.map { groups[$0]! }
    }
}
