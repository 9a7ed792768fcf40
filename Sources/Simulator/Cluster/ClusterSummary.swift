import Foundation

/// What `simulate cluster` shows of a cluster: the devices (GPUs or CPU ranks) and their numbers, servers, network
/// nodes by kind, the fat-tree shape when generated, the calibrated overheads when the file has them, and one row per
/// link class. Built in one pass over the nodes and one over the links, so it is instant at any size; it renders
/// itself as a table (`table`), JSON (`json()`, schema `SimulatorModule.schemaVersion`) and CSV (`csv`, the link
/// classes).
public struct ClusterSummary: Sendable {
    /// One link class: its name, simplex links, the distinct bandwidths (bytes/s) and latencies among them, and its
    /// forwarding mode.
    public struct LinkClassRow: Sendable {
        /// The class's name (e.g. nvlink, ib).
        public var name: String
        /// Simplex links of the class.
        public var links: Int
        /// The distinct bandwidths of its links, bytes/s, ascending.
        public var bandwidths: [Double]
        /// The distinct latencies of its links, ascending.
        public var latencies: [SimTime]
        /// How its links forward (store-and-forward, cut-through, packetised).
        public var forwarding: String
    }

    /// The cluster summarised.
    public let cluster: Cluster
    /// Network nodes by kind, in `NetworkNode.Kind.allCases` order.
    public let nodeCounts: [(kind: NetworkNode.Kind, count: Int)]
    /// One row per link class, in the network's order.
    public let linkClasses: [LinkClassRow]

    /// The summary of `cluster`.
    public init(_ cluster: Cluster) {
        self.cluster = cluster
        let net = cluster.network
        var kindCounts = [NetworkNode.Kind: Int]()
        for n in net.nodes { kindCounts[n.kind, default: 0] += 1 }
        nodeCounts = NetworkNode.Kind.allCases.map { ($0, kindCounts[$0] ?? 0) }
        var counts = [Int](repeating: 0, count: net.linkClasses.count)
        var bandwidths = [Set<Double>](repeating: [], count: net.linkClasses.count)
        var latencies = [Set<SimTime>](repeating: [], count: net.linkClasses.count)
        for l in net.links {
            counts[l.linkClass] += 1
            bandwidths[l.linkClass].insert(l.bandwidth)
            latencies[l.linkClass].insert(l.latency)
        }
        linkClasses = net.linkClasses.enumerated().map { i, cls in
            LinkClassRow(
                name: cls.name, links: counts[i], bandwidths: bandwidths[i].sorted(), latencies: latencies[i].sorted(),
                forwarding: cls.forwarding.description)
        }
    }

    /// The fat tree's line ("3-tier fat tree, radix 64, ..."), nil for a cluster that is not a generated fat tree.
    public var fabric: String? {
        guard let ft = cluster.fatTree, let shape = try? ft.shape() else { return nil }
        let names = ["leaf", "spine", "core"]
        let tiers = ft.tiers.indices.map { t -> String in
            let ports = t < shape.down.count ? " (\(shape.down[t]) down, \(shape.up[t]) up)" : ""
            return "\(shape.switches[t]) \(names[t])\(ports)"
        }
        return
            "\(ft.tiers.count)-tier fat tree, radix \(ft.radix), \(ft.railOptimised ? "rail-optimised, \(shape.planes) planes" : "one plane"): \(tiers.joined(separator: ", ")); routing up-down with ECMP hash"
    }

    /// The calibrated overheads of the cluster file ("kernel launch 12 us, ..."), nil when the file has none.
    public var overheads: String? {
        guard let o = cluster.overheads else { return nil }
        let parts = [
            o.kernelLaunch.map { "kernel launch \($0)" }, o.collectiveCall.map { "collective call \($0)" },
            o.perMessage.map { "per message \($0)" }, o.memoryEfficiency.map { "eta_mem \($0)" },
            o.computeEfficiency.map { "eta_compute \($0)" },
            o.decodeKernel.map { c in
                "decode kernel measured at \(c.points.count) sizes (\(formatBytes(c.points[0].bytes)) to \(formatBytes(c.points[c.points.count - 1].bytes)) of K/V)"
            },
        ].compactMap { $0 }
        return parts.isEmpty ? "none given" : parts.joined(separator: ", ")
    }

    /// The text `simulate cluster` prints.
    public var table: String {
        let c = cluster, g = c.gpu
        var lines = ["cluster   \(c.name)"]
        switch g.kind {
        case .gpu:
            lines.append(
                "gpus      \(c.gpuCount) x \(g.name) (\(formatBytes(g.memoryBytes)), HBM \(formatBandwidth(g.memoryBandwidth)), BF16 \(String(format: "%.1f", g.peakFlopsPerSecond / 1e12)) TFLOP/s)"
            )
        case .cpu:
            lines.append(
                "ranks     \(c.gpuCount) x \(g.label) (\(formatBytes(g.memoryBytes)), memory \(formatBandwidth(g.memoryBandwidth)), GEMM \(String(format: "%.1f", g.peakFlopsPerSecond / 1e9)) GFLOP/s per rank)"
            )
        }
        lines.append("servers   \(c.serverCount)")
        // Rank nodes are counted under the device kind (network node kind `gpu` means a rank endpoint).
        let nodes = nodeCounts.map { "\($0.count) \($0.kind == .gpu ? g.kind.rawValue : $0.kind.rawValue)" }
        lines.append("nodes     \(c.network.nodes.count) (\(nodes.joined(separator: ", ")))")
        if let fabric { lines.append("fabric    \(fabric)") }
        if let overheads { lines.append("overheads \(overheads) (from the cluster file; decode defaults)") }
        let rows = linkClasses.map { r in
            [
                r.name, "\(r.links)", r.bandwidths.map(formatBandwidth).joined(separator: ", "),
                r.latencies.map(\.description).joined(separator: ", "), r.forwarding,
            ]
        }
        lines.append(renderTable(["link class", "simplex links", "bandwidth", "latency", "forwarding"], rows))
        return lines.joined(separator: "\n")
    }

    /// The link classes as CSV: one row per class, bandwidths in bytes/s and latencies in seconds (several values
    /// separated by spaces).
    public var csv: CSVTable {
        var table = CSVTable(header: ["link_class", "simplex_links", "bandwidths_Bps", "latencies_s", "forwarding"])
        for r in linkClasses {
            table.rows.append([
                r.name, "\(r.links)", r.bandwidths.map { CSVTable.number($0) }.joined(separator: " "),
                r.latencies.map { CSVTable.number($0.seconds) }.joined(separator: " "), r.forwarding,
            ])
        }
        return table
    }

    /// The summary as JSON (sorted keys, pretty-printed): the devices, servers, nodes by kind, fabric, overheads and
    /// link classes.
    public func json() throws -> String { try JSONText.pretty(Document(self)) }

    /// The JSON document.
    struct Document: Encodable {
        struct LinkClass: Encodable {
            var name: String, simplexLinks: Int, bandwidthsBps: [Double], latenciesS: [Double], forwarding: String
            enum CodingKeys: String, CodingKey {
                case name, forwarding
                case simplexLinks = "simplex_links", bandwidthsBps = "bandwidths_Bps", latenciesS = "latencies_s"
            }
        }
        var schemaVersion = SimulatorModule.schemaVersion
        var cluster: String, deviceKind: String, devices: Int, device: String, servers: Int
        var memoryBytes: Double, memoryBandwidthBps: Double, peakFlops: Double
        var nodes: [String: Int], fabric: String?, overheads: String?, linkClasses: [LinkClass]

        enum CodingKeys: String, CodingKey {
            case cluster, devices, device, servers, nodes, fabric, overheads
            case schemaVersion = "schema_version", deviceKind = "device_kind", memoryBytes = "memory_bytes"
            case memoryBandwidthBps = "memory_bandwidth_Bps", peakFlops = "peak_flops", linkClasses = "link_classes"
        }

        init(_ s: ClusterSummary) {
            let c = s.cluster, g = c.gpu
            (cluster, deviceKind, devices, device, servers) = (
                c.name, g.kind.rawValue, c.gpuCount, g.name, c.serverCount
            )
            (memoryBytes, memoryBandwidthBps, peakFlops) = (g.memoryBytes, g.memoryBandwidth, g.peakFlopsPerSecond)
            // Rank endpoints are counted under the device kind (gpu or cpu), as in the table.
            nodes = Dictionary(
                s.nodeCounts.map { ($0.kind == .gpu ? g.kind.rawValue : $0.kind.rawValue, $0.count) },
                uniquingKeysWith: +)
            (fabric, overheads) = (s.fabric, s.overheads)
            linkClasses = s.linkClasses.map {
                LinkClass(
                    name: $0.name, simplexLinks: $0.links, bandwidthsBps: $0.bandwidths,
                    latenciesS: $0.latencies.map(\.seconds),
                    forwarding: $0.forwarding)
            }
        }
    }
}

extension Cluster {
    /// What `simulate cluster` prints (`ClusterSummary.table`).
    public var summary: String { ClusterSummary(self).table }
}
