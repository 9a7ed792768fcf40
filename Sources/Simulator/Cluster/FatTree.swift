/// A fat-tree cluster as datacenters build them (see docs/simulator.md, "Fat trees"): servers of `gpusPerNode` GPUs
/// on an NVSwitch, one NIC per GPU, and a folded-Clos fabric of `tiers.count` (2 or 3) switch tiers built from
/// switches of `radix` ports. Each tier below the top splits its switch's ports into down and up ports by its
/// oversubscription ratio (down:up, 1 = non-blocking); the top tier uses all its ports downwards.
///
/// Wiring, per plane (rail-optimised: one plane per rail, i.e. NIC index, as NCCL's PXN keeps inter-node traffic on
/// the destination's rail; otherwise one plane holding every NIC, server by server):
/// - leaf `l` holds endpoints (NICs) `l*d1 ..< (l+1)*d1`;
/// - 2 tiers: `u1` spines; every leaf has one link to every spine;
/// - 3 tiers: pods of `d2` leaves with `u1` spines each (every leaf to every spine of its pod); `u1` core groups of
///   `u2` cores; spine `j` of every pod links to every core of group `j`.
/// Only the switches the servers need are built (a partial last leaf or pod is allowed).
public struct FatTreeSpec: Equatable, Sendable {
    /// One switch tier: the links that enter it from below and, below the top tier, its oversubscription.
    public struct Tier: Equatable, Sendable {
        /// Bytes/s per direction of each link from the tier below (NICs for the leaf tier).
        public var bandwidth: Double
        /// Latency of each link from the tier below.
        public var latency: SimTime
        /// Down ports : up ports of this tier's switches (ignored, and must be nil, for the top tier).
        public var oversubscription: Double?

        /// A tier whose links from below carry `bandwidth` bytes/s per direction with `latency` each;
        /// `oversubscription` is down:up ports, nil for the top tier. `FatTreeSpec.init` validates it.
        public init(bandwidth: Double, latency: SimTime, oversubscription: Double? = nil) {
            self.bandwidth = bandwidth
            self.latency = latency
            self.oversubscription = oversubscription
        }
    }

    /// Servers (machines).
    public var nodes: Int
    /// GPUs per server (1...8), each with its own NIC.
    public var gpusPerNode: Int
    /// Ports per switch.
    public var radix: Int
    /// Whether each NIC index (rail) has its own plane of switches, reached from the server's other GPUs over NVLink
    /// (NCCL's PXN); otherwise one plane holds every NIC.
    public var railOptimised: Bool
    /// Leaf, spine (and core) tiers, bottom up.
    public var tiers: [Tier]
    /// Bytes/s per direction of each GPU <-> NVSwitch link.
    public var nvlinkBandwidth = 450e9
    /// Latency of each GPU <-> NVSwitch link.
    public var nvlinkLatency = SimTime.nanoseconds(25)
    /// Bytes/s per direction of each GPU (or NVSwitch, for PXN) <-> NIC link.
    public var pcieBandwidth = 64e9
    /// Latency of each GPU (or NVSwitch, for PXN) <-> NIC link.
    public var pcieLatency = SimTime.nanoseconds(100)
    /// MTU of the packetised InfiniBand links.
    public var mtuBytes = 4096
    /// Whether each server's NVSwitch reduces in the fabric (NVLink SHARP; DGX H100's third-generation NVSwitch does).
    public var nvswitchReduces = true

    /// Validates the spec. Throws `SimulatorError.cluster` ("fat_tree: ...") for `gpusPerNode` outside 1...8, no
    /// nodes, more than `ClusterPreset.maxGPUs` GPUs, a radix that is odd or outside 4...1024, other than 2 or 3 tiers,
    /// an oversubscription on the top tier or a missing or unsplittable one below it, a bandwidth that is not > 0, or
    /// more NICs per plane than the fabric holds.
    public init(nodes: Int, gpusPerNode: Int = 8, radix: Int, railOptimised: Bool, tiers: [Tier]) throws {
        self.nodes = nodes
        self.gpusPerNode = gpusPerNode
        self.radix = radix
        self.railOptimised = railOptimised
        self.tiers = tiers
        try validate()
    }

    /// The DGX H100 presets (`dgx-h100-2tier`, `dgx-h100-3tier`): 8 H100 per server, one ConnectX-7 400 Gb/s
    /// (50 GB/s) NIC per GPU, rail-optimised, non-blocking (1:1) fat tree of 64-port NDR switches (Quantum-2 QM9700),
    /// 500 ns per switch link (our assumption, as for `dgx-h100`). Sources: NVIDIA DGX SuperPOD reference
    /// architecture (DGX H100), docs/simulator.md.
    public static func dgxH100(nodes: Int, tiers: Int) throws -> FatTreeSpec {
        let link = Tier(bandwidth: 50e9, latency: .nanoseconds(500), oversubscription: 1)
        var top = link
        top.oversubscription = nil
        return try FatTreeSpec(
            nodes: nodes, radix: 64, railOptimised: true,
            tiers: [Tier](repeating: link, count: tiers - 1) + [top])
    }

    /// Switch counts and link counts (duplex cables) per tier, from the arithmetic alone (no network is built).
    public struct Shape: Equatable, Sendable {
        /// Planes of switches: one per rail (`gpusPerNode`) when rail-optimised, else 1.
        public var planes: Int
        /// Endpoints (NICs) per plane.
        public var endpointsPerPlane: Int
        /// Down ports used per switch of each tier below the top (`down[t]` for tier t).
        public var down: [Int]
        /// Up ports used per switch of each tier below the top (`up[t]` for tier t).
        public var up: [Int]
        /// Switches per tier, all planes together (leaf, spine, core).
        public var switches: [Int]
        /// Duplex cables entering each tier from below, all planes together (NIC-leaf, leaf-spine, spine-core).
        public var cables: [Int]
        /// Pods per plane (3 tiers; 1 for 2 tiers).
        public var pods: Int
        /// The most endpoints one plane can hold.
        public var capacityPerPlane: Int
    }

    /// Validates the ports and sizes and returns the fabric's shape. Every size is overflow-checked.
    public func shape() throws -> Shape {
        func fail(_ m: String) -> SimulatorError { .cluster("fat_tree: \(m)") }
        let planes = railOptimised ? gpusPerNode : 1
        let endpoints = railOptimised ? nodes : nodes * gpusPerNode
        var down: [Int] = [], up: [Int] = []
        for (t, tier) in tiers.enumerated().dropLast() {
            guard let o = tier.oversubscription else {
                throw fail("tier \(t + 1) needs an oversubscription (down:up ports)")
            }
            let d = Double(radix) * o / (1 + o)
            let di = Int(d.rounded())
            guard abs(d - Double(di)) < 1e-9, di >= 1, di < radix else {
                throw fail(
                    "oversubscription \(o) of tier \(t + 1) does not split \(radix) ports into whole down and up ports")
            }
            down.append(di)
            up.append(radix - di)
        }
        let d1 = down[0], u1 = up[0]
        let leaves = (endpoints + d1 - 1) / d1
        var switches: [Int], cables: [Int], pods = 1, capacity: Int
        if tiers.count == 2 {
            capacity = radix * d1
            guard endpoints <= capacity else {
                throw fail(
                    "\(endpoints) NICs per plane exceed a 2-tier fat tree of radix \(radix) (at most \(capacity) with \(d1) down ports per leaf)"
                )
            }
            switches = [leaves, u1]
            cables = [endpoints, leaves * u1]
        } else {
            let d2 = down[1], u2 = up[1]
            let (c, overflow) = radix.multipliedReportingOverflow(by: d2 * d1)
            capacity = overflow ? Int.max : c
            guard endpoints <= capacity else {
                throw fail(
                    "\(endpoints) NICs per plane exceed a 3-tier fat tree of radix \(radix) (at most \(capacity))")
            }
            pods = (leaves + d2 - 1) / d2
            switches = [leaves, pods * u1, u1 * u2]
            cables = [endpoints, leaves * u1, pods * u1 * u2]
        }
        return Shape(
            planes: planes, endpointsPerPlane: endpoints, down: down, up: up,
            switches: switches.map { $0 * planes }, cables: cables.map { $0 * planes }, pods: pods,
            capacityPerPlane: capacity)
    }

    private func validate() throws {
        func fail(_ m: String) -> SimulatorError { .cluster("fat_tree: \(m)") }
        guard (1...8).contains(gpusPerNode) else { throw fail("'gpus_per_node' must be in 1...8, got \(gpusPerNode)") }
        guard nodes >= 1 else { throw fail("'nodes' must be >= 1, got \(nodes)") }
        let (gpus, overflow) = nodes.multipliedReportingOverflow(by: gpusPerNode)
        guard !overflow, gpus <= ClusterPreset.maxGPUs else {
            throw fail("\(nodes) nodes x \(gpusPerNode) GPUs exceed the simulator's \(ClusterPreset.maxGPUs) GPUs")
        }
        guard (4...1024).contains(radix), radix % 2 == 0 else {
            throw fail("'radix' must be even and in 4...1024, got \(radix)")
        }
        guard (2...3).contains(tiers.count) else {
            throw fail("'tiers' must list 2 or 3 switch tiers, got \(tiers.count)")
        }
        if tiers.last?.oversubscription != nil {
            throw fail("the top tier has no uplinks: give no 'oversubscription' there")
        }
        for (t, tier) in tiers.enumerated() {
            guard tier.bandwidth.isFinite, tier.bandwidth > 0 else {
                throw fail("tier \(t + 1): bandwidth must be > 0")
            }
            if let o = tier.oversubscription, !(o.isFinite && o > 0) {
                throw fail("tier \(t + 1): oversubscription must be > 0")
            }
        }
        guard mtuBytes >= 1 else { throw fail("'mtu_bytes' must be >= 1") }
        _ = try shape()
    }

    /// Builds the network (servers first, then each plane's leaves, spines and cores) with structured up-down
    /// routing (`FatTreeRouting`).
    public func build(name: String, gpu: GPUSpec = .h100SXM5) throws -> Cluster {
        let s = try shape()
        let g = gpusPerNode
        var net = Network()
        // Estimate before allocating: nodes and simplex links of the whole fabric.
        let gpuLinks = nodes * g * (g > 1 ? 2 : 1) * 2 + (railOptimised && g > 1 ? nodes * g * 2 : 0)
        net.reserve(nodes: nodes * (2 * g + 1) + s.switches.reduce(0, +), links: gpuLinks + 2 * s.cables.reduce(0, +))
        let nvlink = try net.addLinkClass(LinkClass(name: "nvlink", forwarding: .cutThrough))
        let pcie = try net.addLinkClass(LinkClass(name: "pcie", forwarding: .cutThrough))
        let tierNames = tiers.count == 2 ? ["ib-leaf", "ib-spine"] : ["ib-leaf", "ib-spine", "ib-core"]
        let ib = try tierNames.map {
            try net.addLinkClass(LinkClass(name: $0, forwarding: .packetised(mtuBytes: mtuBytes)))
        }
        var gpus: [Int] = [], serverOf: [Int] = []
        gpus.reserveCapacity(nodes * g)
        serverOf.reserveCapacity(nodes * g)
        var routing = FatTreeRouting(spec: self, shape: s)
        for server in 0..<nodes {
            let sw = g > 1 ? try net.addNode("s\(server)/nvswitch", kind: .switch, reduces: nvswitchReduces) : -1
            routing.nvswitch.append(Int32(sw))
            for i in 0..<g {
                let gpuNode = try net.addNode("s\(server)/gpu\(i)", kind: .gpu)
                gpus.append(gpuNode)
                serverOf.append(server)
                if g > 1 {
                    try net.addDuplexLink(
                        gpuNode, sw, bandwidth: nvlinkBandwidth, latency: nvlinkLatency, linkClass: nvlink)
                }
                let nic = try net.addNode("s\(server)/nic\(i)", kind: .nic)
                routing.nic.append(Int32(nic))
                try net.addDuplexLink(gpuNode, nic, bandwidth: pcieBandwidth, latency: pcieLatency, linkClass: pcie)
                // PXN: the server's other GPUs reach this rail's NIC over NVLink.
                if railOptimised && g > 1 {
                    try net.addDuplexLink(sw, nic, bandwidth: pcieBandwidth, latency: pcieLatency, linkClass: pcie)
                }
            }
        }
        routing.firstGPUNode = gpus.first ?? 0
        let leavesPerPlane = s.switches[0] / s.planes, spinesPerPlane = s.switches[1] / s.planes
        let d1 = s.down[0], u1 = s.up[0]
        for plane in 0..<s.planes {
            let prefix = s.planes > 1 ? "rail\(plane)/" : ""
            let leafBase = net.nodes.count
            for l in 0..<leavesPerPlane { try net.addNode("\(prefix)leaf\(l)", kind: .switch) }
            routing.leafBase.append(Int32(leafBase))
            for e in 0..<s.endpointsPerPlane {
                let nic = Int(routing.nic[railOptimised ? e * g + plane : e])
                try net.addDuplexLink(
                    nic, leafBase + e / d1, bandwidth: tiers[0].bandwidth, latency: tiers[0].latency, linkClass: ib[0])
            }
            let spineBase = net.nodes.count
            for j in 0..<spinesPerPlane { try net.addNode("\(prefix)spine\(j)", kind: .switch) }
            routing.spineBase.append(Int32(spineBase))
            for l in 0..<leavesPerPlane {
                let pod = tiers.count == 2 ? 0 : l / s.down[1]
                for j in 0..<u1 {
                    try net.addDuplexLink(
                        leafBase + l, spineBase + pod * u1 + j, bandwidth: tiers[1].bandwidth,
                        latency: tiers[1].latency, linkClass: ib[1])
                }
            }
            if tiers.count == 3 {
                let u2 = s.up[1]
                let coreBase = net.nodes.count
                for c in 0..<u1 * u2 { try net.addNode("\(prefix)core\(c)", kind: .switch) }
                routing.coreBase.append(Int32(coreBase))
                for pod in 0..<s.pods {
                    for j in 0..<u1 {
                        for k in 0..<u2 {
                            try net.addDuplexLink(
                                spineBase + pod * u1 + j, coreBase + j * u2 + k, bandwidth: tiers[2].bandwidth,
                                latency: tiers[2].latency, linkClass: ib[2])
                        }
                    }
                }
            }
        }
        net.fatTree = routing
        var cluster = try Cluster(name: name, gpu: gpu, network: net, gpus: gpus, serverOf: serverOf)
        cluster.fatTree = self
        return cluster
    }
}
