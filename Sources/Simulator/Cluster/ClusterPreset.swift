/// Built-in clusters. Hardware numbers and their sources are in docs/simulator.md; latencies marked as assumptions
/// there are ours, not vendor figures.
public enum ClusterPreset: Equatable, Sendable, CustomStringConvertible {
    /// N DGX/HGX H100 servers: 8 H100 per server on NVSwitch (450 GB/s per direction per GPU), one 400 Gb/s
    /// (50 GB/s) ConnectX-7 NIC per GPU behind PCIe Gen5, rail-optimised leaf switch per GPU index and a
    /// non-blocking spine joining the rails.
    case dgxH100(servers: Int)
    /// One MI300X platform: G (2...8) GPUs fully connected by xGMI, one 64 GB/s link per direction per pair.
    case mi300x(gpus: Int)
    /// G (>= 2) RTX 4090 on PCIe 4.0 x16 without peer-to-peer: every transfer goes GPU -> host memory -> GPU.
    case rtx4090PCIe(gpus: Int)
    /// N DGX H100 servers on a rail-optimised, non-blocking fat tree of 64-port 400 Gb/s switches (NVIDIA
    /// Quantum-2 QM9700, as in the DGX SuperPOD reference architecture): 2 tiers (up to 2,048 servers, 16,384 GPUs)
    /// or 3 tiers (up to 8,192 servers, 65,536 GPUs). See `FatTreeSpec.dgxH100` and docs/simulator.md.
    case dgxH100FatTree(servers: Int, tiers: Int)
    /// N NVLink domains of another NVIDIA system (`NVLinkDomain.dgxA100`, `.dgxH200`, `.dgxB200`, `.gb200NVL72`) on
    /// the rail-optimised fabric `dgx-h100` has: `dgx-a100[:N]`, `dgx-h200[:N]`, `dgx-b200[:N]`, `gb200-nvl72[:RACKS]`.
    case nvlinkSystem(NVLinkDomain, domains: Int)

    /// The systems `nvlinkSystem` takes, by preset name.
    public static let nvlinkSystems: [NVLinkDomain] = [.dgxA100, .dgxH200, .dgxB200, .gb200NVL72]

    /// The preset names with their optional counts, for help texts and error messages.
    public static let usage =
        "dgx-h100[:NODES], dgx-h100-2tier[:NODES (<= 2048)], dgx-h100-3tier[:NODES (<= 8192)], dgx-a100[:NODES], dgx-h200[:NODES], dgx-b200[:NODES], gb200-nvl72[:RACKS (<= 910)], mi300x[:GPUS (2-8)], rtx4090-pcie[:GPUS]"

    /// The preset as `parse(_:count:)` accepts it, count included: e.g. "dgx-h100:2", "dgx-h100-3tier:64", "mi300x:8".
    public var description: String {
        switch self {
        case .dgxH100(let n): return "dgx-h100:\(n)"
        case .mi300x(let g): return "mi300x:\(g)"
        case .rtx4090PCIe(let g): return "rtx4090-pcie:\(g)"
        case .dgxH100FatTree(let n, let t): return "dgx-h100-\(t)tier:\(n)"
        case .nvlinkSystem(let d, let n): return "\(d.name):\(n)"
        }
    }

    /// The largest cluster the simulator builds (presets and cluster files alike).
    public static let maxGPUs = 65_536

    /// Parses "dgx-h100", "dgx-h100:16", "mi300x", "mi300x:4", "rtx4090-pcie", "rtx4090-pcie:4". `count` (e.g. a
    /// --nodes option) overrides a missing suffix; giving both with different values is an error.
    /// "dgx-h100-2tier" and "dgx-h100-3tier" take a server count too. Without a count: one server, 8 MI300X, 2 RTX
    /// 4090. Throws `SimulatorError.cluster` for an unknown name, a suffix that is not an integer or a count out of
    /// range.
    public static func parse(_ text: String, count: Int? = nil) throws -> ClusterPreset {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        var n: Int? = nil
        if parts.count == 2 {
            guard let v = Int(parts[1]) else {
                throw SimulatorError.cluster("preset '\(text)': '\(parts[1])' is not an integer")
            }
            n = v
        }
        if let c = count {
            if let v = n, v != c { throw SimulatorError.cluster("preset '\(text)' conflicts with a count of \(c)") }
            n = c
        }
        switch parts.first ?? "" {
        case "dgx-h100":
            let s = n ?? 1
            guard (1...maxGPUs / 8).contains(s) else {
                throw SimulatorError.cluster("dgx-h100 takes 1 to \(maxGPUs / 8) nodes, got \(s)")
            }
            return .dgxH100(servers: s)
        case "dgx-h100-2tier", "dgx-h100-3tier":
            let tiers = parts[0] == "dgx-h100-2tier" ? 2 : 3
            let most = tiers == 2 ? 2048 : maxGPUs / 8
            let s = n ?? 1
            guard (1...most).contains(s) else {
                throw SimulatorError.cluster("\(parts[0]) takes 1 to \(most) nodes, got \(s)")
            }
            return .dgxH100FatTree(servers: s, tiers: tiers)
        case "mi300x":
            let g = n ?? 8
            guard (1...8).contains(g) else { throw SimulatorError.cluster("mi300x has 1 to 8 GPUs, got \(g)") }
            return .mi300x(gpus: g)
        case "rtx4090-pcie":
            let g = n ?? 2
            guard (1...maxGPUs).contains(g) else {
                throw SimulatorError.cluster("rtx4090-pcie takes 1 to \(maxGPUs) GPUs, got \(g)")
            }
            return .rtx4090PCIe(gpus: g)
        case let name where nvlinkSystems.contains { $0.name == name }:
            let domain = nvlinkSystems.first { $0.name == name }!
            let count = n ?? 1, most = maxGPUs / domain.gpusPerDomain
            guard (1...most).contains(count) else {
                throw SimulatorError.cluster(
                    "\(name) takes 1 to \(most) \(domain.gpusPerDomain == 8 ? "nodes" : "racks"), got \(count)")
            }
            return .nvlinkSystem(domain, domains: count)
        default:
            throw SimulatorError.cluster("unknown preset '\(text)' (known: \(usage))")
        }
    }

    /// Builds the cluster.
    public func build() throws -> Cluster {
        var net = Network()
        switch self {
        case .dgxH100(let servers):
            return try NVLinkDomain.dgxH100.build(domains: servers, name: description)
        case .nvlinkSystem(let domain, let count):
            return try domain.build(domains: count, name: description)
        case .mi300x(let count):
            let xgmi = try net.addLinkClass(LinkClass(name: "xgmi", forwarding: .cutThrough))
            let gpus = try (0..<count).map { try net.addNode("gpu\($0)", kind: .gpu) }
            for i in 0..<count {
                for j in 0..<count where j != i {
                    try net.addLink(
                        from: gpus[i], to: gpus[j], bandwidth: 64e9, latency: .nanoseconds(250), linkClass: xgmi)
                }
            }
            return try Cluster(name: description, gpu: .mi300x, network: net, gpus: gpus, serverOf: nil)
        case .rtx4090PCIe(let count):
            let pcie = try net.addLinkClass(LinkClass(name: "pcie", forwarding: .packetised(mtuBytes: 524_288)))
            let host = try net.addNode("host", kind: .host)
            let gpus = try (0..<count).map { try net.addNode("gpu\($0)", kind: .gpu) }
            for g in gpus {
                try net.addDuplexLink(g, host, bandwidth: 31.5e9, latency: .nanoseconds(500), linkClass: pcie)
            }
            return try Cluster(name: description, gpu: .rtx4090, network: net, gpus: gpus, serverOf: nil)
        case .dgxH100FatTree(let servers, let tiers):
            return try FatTreeSpec.dgxH100(nodes: servers, tiers: tiers).build(name: description)
        }
    }
}
