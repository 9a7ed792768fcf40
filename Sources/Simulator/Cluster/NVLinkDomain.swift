/// An NVIDIA system whose GPUs share one NVLink domain through NVSwitch: a DGX/HGX server of 8 GPUs, or a GB200
/// NVL72 rack of 72. Several domains join through one NIC per GPU into a rail-optimised fabric: a leaf switch per
/// GPU index (rail) and a non-blocking spine above the leaves. The presets `dgx-a100`, `dgx-h100`, `dgx-h200`,
/// `dgx-b200` and `gb200-nvl72` are built from these values; their sources are in docs/simulator-anchors.md.
///
/// Modelled as one logical NVSwitch per domain (the vendor's several switch chips are non-blocking together), GPU ->
/// NIC over PCIe, NIC -> rail leaf over InfiniBand. Link latencies are ours (docs/simulator.md), not vendor figures.
public struct NVLinkDomain: Equatable, Sendable {
    /// The preset's name, e.g. "dgx-h200".
    public var name: String
    /// The GPU of every rank.
    public var gpu: GPUSpec
    /// GPUs in one NVLink domain (8 for DGX, 72 for NVL72).
    public var gpusPerDomain: Int
    /// NVLink bandwidth per GPU per direction, bytes/s (half the vendor's bidirectional figure).
    public var nvlinkBandwidth: Double
    /// NVLink generation's link count per GPU (NCCL models each link at its own speed; see `NCCLModel`).
    public var nvlinks: Int
    /// Whether the NVSwitches reduce in the switch (NVLink SHARP, NVLS; Hopper and later).
    public var inSwitchReduction: Bool
    /// GPU -> NIC bandwidth per direction (PCIe), bytes/s.
    public var hostLinkBandwidth: Double
    /// Scale-out NIC bandwidth per GPU per direction, bytes/s (400 Gb/s = 50 GB/s).
    public var nicBandwidth: Double

    /// DGX A100 (80 GB): 8 A100 on 6 NVSwitches (NVLink 3, 12 links, 600 GB/s bidirectional; no NVLS), 8 ConnectX-6
    /// HDR 200 Gb/s behind PCIe Gen4.
    public static let dgxA100 = NVLinkDomain(
        name: "dgx-a100", gpu: .a100SXM4, gpusPerDomain: 8, nvlinkBandwidth: 300e9, nvlinks: 12,
        inSwitchReduction: false, hostLinkBandwidth: 31.5e9, nicBandwidth: 25e9)
    /// DGX H100: 8 H100 on 4 NVSwitches (NVLink 4, 18 links, 900 GB/s bidirectional, NVLS), 8 ConnectX-7 400 Gb/s
    /// behind PCIe Gen5.
    public static let dgxH100 = NVLinkDomain(
        name: "dgx-h100", gpu: .h100SXM5, gpusPerDomain: 8, nvlinkBandwidth: 450e9, nvlinks: 18,
        inSwitchReduction: true, hostLinkBandwidth: 64e9, nicBandwidth: 50e9)
    /// DGX H200: the H100 system with H200 GPUs (141 GB HBM3e at 4.8 TB/s).
    public static let dgxH200 = NVLinkDomain(
        name: "dgx-h200", gpu: .h200SXM, gpusPerDomain: 8, nvlinkBandwidth: 450e9, nvlinks: 18,
        inSwitchReduction: true, hostLinkBandwidth: 64e9, nicBandwidth: 50e9)
    /// DGX B200: 8 B200 on 2 NVLink 5 switch chips (18 links, 1.8 TB/s bidirectional, NVLS), 8 ConnectX-7 400 Gb/s.
    public static let dgxB200 = NVLinkDomain(
        name: "dgx-b200", gpu: .b200, gpusPerDomain: 8, nvlinkBandwidth: 900e9, nvlinks: 18,
        inSwitchReduction: true, hostLinkBandwidth: 64e9, nicBandwidth: 50e9)
    /// GB200 NVL72: 72 Blackwell GPUs (18 compute trays of 4) on 9 NVLink switch trays (NVLink 5, 1.8 TB/s
    /// bidirectional per GPU, NVLS), one ConnectX-7 400 Gb/s per GPU for the scale-out fabric.
    public static let gb200NVL72 = NVLinkDomain(
        name: "gb200-nvl72", gpu: .gb200, gpusPerDomain: 72, nvlinkBandwidth: 900e9, nvlinks: 18,
        inSwitchReduction: true, hostLinkBandwidth: 64e9, nicBandwidth: 50e9)

    /// `domains` domains on the rail-optimised fabric (no NICs for one domain). Node names: "s<d>/nvswitch",
    /// "s<d>/gpu<i>", "s<d>/nic<i>", "rail<i>", "spine".
    public func build(domains: Int, name clusterName: String) throws -> Cluster {
        var net = Network()
        let nvlink = try net.addLinkClass(LinkClass(name: "nvlink", forwarding: .cutThrough))
        let pcie = try net.addLinkClass(LinkClass(name: "pcie", forwarding: .cutThrough))
        let ib = try net.addLinkClass(LinkClass(name: "ib", forwarding: .packetised(mtuBytes: 4096)))
        var gpus: [Int] = [], serverOf: [Int] = [], nics: [[Int]] = []
        for s in 0..<domains {
            let sw = try net.addNode("s\(s)/nvswitch", kind: .switch, reduces: inSwitchReduction)
            var domainNICs: [Int] = []
            for i in 0..<gpusPerDomain {
                let g = try net.addNode("s\(s)/gpu\(i)", kind: .gpu)
                gpus.append(g)
                serverOf.append(s)
                try net.addDuplexLink(g, sw, bandwidth: nvlinkBandwidth, latency: .nanoseconds(25), linkClass: nvlink)
                if domains > 1 {
                    let nic = try net.addNode("s\(s)/nic\(i)", kind: .nic)
                    try net.addDuplexLink(
                        g, nic, bandwidth: hostLinkBandwidth, latency: .nanoseconds(100), linkClass: pcie)
                    domainNICs.append(nic)
                }
            }
            nics.append(domainNICs)
        }
        if domains > 1 {
            let spine = try net.addNode("spine", kind: .switch)
            for rail in 0..<gpusPerDomain {
                let leaf = try net.addNode("rail\(rail)", kind: .switch)
                for s in 0..<domains {
                    try net.addDuplexLink(
                        nics[s][rail], leaf, bandwidth: nicBandwidth, latency: .nanoseconds(500), linkClass: ib)
                }
                try net.addDuplexLink(
                    leaf, spine, bandwidth: nicBandwidth * Double(domains), latency: .nanoseconds(500), linkClass: ib)
            }
        }
        return try Cluster(name: clusterName, gpu: gpu, network: net, gpus: gpus, serverOf: serverOf)
    }
}
