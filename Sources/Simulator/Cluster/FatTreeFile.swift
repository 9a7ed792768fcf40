import Foundation

/// The `fat_tree:` mapping of a cluster file (keys with units, as in `links:`), and its YAML rendering:
///
///     fat_tree:
///       nodes: 64                 # servers
///       gpus_per_node: 8          # 1...8 (default 8)
///       radix: 64                 # ports per switch
///       rail_optimised: true      # one plane per rail (default false)
///       tiers:                    # 2 or 3 switch tiers, bottom up: the links entering the tier from below
///         - {bandwidth_Gbps: 400, latency_ns: 500, oversubscription: 1}   # leaf: down:up ports
///         - {bandwidth_Gbps: 400, latency_ns: 500}                         # top tier: no oversubscription
///       nvlink: {bandwidth_GBps: 450, latency_ns: 25}   # optional
///       pcie: {bandwidth_GBps: 64, latency_ns: 100}     # optional
///       mtu_bytes: 4096                                 # optional
enum FatTreeFile {
    static func parse(_ value: Any) throws -> FatTreeSpec {
        var f = try ConfigFields(value, context: "fat_tree")
        try f.onlyKeys(["nodes", "gpus_per_node", "radix", "rail_optimised", "tiers", "nvlink", "pcie", "mtu_bytes"])
        guard let nodes = try f.int("nodes") else { throw SimulatorError.cluster("fat_tree: missing 'nodes'") }
        guard let radix = try f.int("radix") else { throw SimulatorError.cluster("fat_tree: missing 'radix'") }
        let perNode = try f.int("gpus_per_node") ?? 8
        let rail = try f.bool("rail_optimised") ?? false
        guard let tierList = try f.list("tiers") else {
            throw SimulatorError.cluster("fat_tree: missing 'tiers' (2 or 3 switch tiers)")
        }
        let tiers = try tierList.enumerated().map { i, item -> FatTreeSpec.Tier in
            var t = try ConfigFields(item, context: "fat_tree.tiers[\(i)]")
            try t.onlyKeys(["bandwidth_GBps", "bandwidth_Gbps", "latency_ns", "latency_us", "oversubscription"])
            let (bw, lat) = try linkParameters(&t)
            let o = try t.positive("oversubscription")
            try t.finish()
            return FatTreeSpec.Tier(bandwidth: bw, latency: lat, oversubscription: o)
        }
        let nvlink = try f.raw("nvlink").map { try link($0, "fat_tree.nvlink") }
        let pcie = try f.raw("pcie").map { try link($0, "fat_tree.pcie") }
        let mtu = try f.int("mtu_bytes")
        try f.finish()
        var spec = try FatTreeSpec(nodes: nodes, gpusPerNode: perNode, radix: radix, railOptimised: rail, tiers: tiers)
        if let (bw, lat) = nvlink {
            spec.nvlinkBandwidth = bw
            spec.nvlinkLatency = lat
        }
        if let (bw, lat) = pcie {
            spec.pcieBandwidth = bw
            spec.pcieLatency = lat
        }
        if let mtu {
            guard mtu >= 1 else { throw SimulatorError.cluster("fat_tree: 'mtu_bytes' must be >= 1, got \(mtu)") }
            spec.mtuBytes = mtu
        }
        return spec
    }

    private static func link(_ value: Any, _ context: String) throws -> (Double, SimTime) {
        var f = try ConfigFields(value, context: context)
        try f.onlyKeys(["bandwidth_GBps", "bandwidth_Gbps", "latency_ns", "latency_us"])
        let result = try linkParameters(&f)
        try f.finish()
        return result
    }

    /// One of bandwidth_GBps / bandwidth_Gbps and one of latency_ns / latency_us, both required.
    private static func linkParameters(_ f: inout ConfigFields) throws -> (Double, SimTime) {
        let bandwidth: Double
        switch try f.oneOf(["bandwidth_GBps", "bandwidth_Gbps"]) {
        case "bandwidth_GBps": bandwidth = try f.positive("bandwidth_GBps")! * 1e9
        case "bandwidth_Gbps": bandwidth = try f.positive("bandwidth_Gbps")! * 1e9 / 8
        default: throw SimulatorError.cluster("\(f.context): missing 'bandwidth_GBps' (or 'bandwidth_Gbps')")
        }
        let latency: SimTime
        switch try f.oneOf(["latency_ns", "latency_us"]) {
        case "latency_ns": latency = .nanoseconds(try f.nonNegative("latency_ns")!)
        case "latency_us": latency = .microseconds(try f.nonNegative("latency_us")!)
        default: throw SimulatorError.cluster("\(f.context): missing 'latency_ns' (or 'latency_us')")
        }
        return (bandwidth, latency)
    }
}

extension FatTreeSpec {
    /// The spec as a cluster file's `fat_tree:` block (bandwidths in GB/s, latencies in ns); `ClusterFile.parse`
    /// reads it back to an equal spec.
    public var yaml: String {
        func num(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : "\(x)" }
        func link(_ bw: Double, _ lat: SimTime) -> String {
            "bandwidth_GBps: \(num(bw / 1e9)), latency_ns: \(num(Double(lat.picoseconds) / 1000))"
        }
        var lines = [
            "fat_tree:", "  nodes: \(nodes)", "  gpus_per_node: \(gpusPerNode)", "  radix: \(radix)",
            "  rail_optimised: \(railOptimised)", "  tiers:",
        ]
        for t in tiers {
            lines.append(
                "    - {\(link(t.bandwidth, t.latency))\(t.oversubscription.map { ", oversubscription: \(num($0))" } ?? "")}"
            )
        }
        lines += [
            "  nvlink: {\(link(nvlinkBandwidth, nvlinkLatency))}", "  pcie: {\(link(pcieBandwidth, pcieLatency))}",
            "  mtu_bytes: \(mtuBytes)",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}
