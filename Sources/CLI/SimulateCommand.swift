import ArgumentParser
import CLICommon
import Foundation
import Simulator

/// `treeattn simulate ...`: the discrete-event cluster simulator (see docs/simulator.md).
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Discrete-event cluster simulation: collectives and Tree vs Ring decoding.",
        subcommands: [SimulateCollectiveCommand.self, SimulateDecodeCommand.self, SimulateClusterCommand.self])
}

/// Options shared by the simulate subcommands to pick a cluster.
struct SimulateClusterOptions: ParsableArguments {
    @Option(name: .long, help: "Preset (\(ClusterPreset.usage)) or a YAML/JSON cluster file.")
    var cluster: String

    @Option(name: .long, help: "Number of servers for dgx-h100 (or GPUs for mi300x / rtx4090-pcie); same as PRESET:N.")
    var nodes: Int?

    @Option(name: .long, help: "Use only the first N GPUs of the cluster.")
    var gpus: Int?

    func load() throws -> Cluster {
        let c = try Cluster.resolve(cluster, count: nodes)
        return try gpus.map { try c.prefix($0) } ?? c
    }
}

/// `treeattn simulate cluster`: prints what a cluster description resolved to.
struct SimulateClusterCommand: ParsableCommand, MemoryBoundedCommand {
    static let configuration = CommandConfiguration(commandName: "cluster", abstract: "Show a cluster: devices (GPUs or CPU ranks), servers, link classes, calibrated overheads.")

    @OptionGroup var clusterOptions: SimulateClusterOptions

    @OptionGroup var memory: MemoryOptions

    func run() throws {
        let c = try clusterOptions.load()
        let net = c.network
        print("cluster   \(c.name)")
        let g = c.gpu
        switch g.kind {
        case .gpu:
            print("gpus      \(c.gpuCount) x \(g.name) (\(formatBytes(g.memoryBytes)), HBM \(formatBandwidth(g.memoryBandwidth)), BF16 \(String(format: "%.1f", g.peakFlopsPerSecond / 1e12)) TFLOP/s)")
        case .cpu:
            print("ranks     \(c.gpuCount) x \(g.label) (\(formatBytes(g.memoryBytes)), memory \(formatBandwidth(g.memoryBandwidth)), GEMM \(String(format: "%.1f", g.peakFlopsPerSecond / 1e9)) GFLOP/s per rank)")
        }
        print("servers   \(c.serverCount)")
        // Rank nodes are counted under the device kind (network node kind `gpu` means a rank endpoint).
        // One pass over nodes and one over links, so the summary is instant at any size.
        var kindCounts = [NetworkNode.Kind: Int]()
        for n in net.nodes { kindCounts[n.kind, default: 0] += 1 }
        print("nodes     \(net.nodes.count) (\(NetworkNode.Kind.allCases.map { k in "\(kindCounts[k] ?? 0) \(k == .gpu ? g.kind.rawValue : k.rawValue)" }.joined(separator: ", ")))")
        if let ft = c.fatTree, let shape = try? ft.shape() {
            let names = ["leaf", "spine", "core"]
            let tiers = ft.tiers.indices.map { t -> String in
                let ports = t < shape.down.count ? " (\(shape.down[t]) down, \(shape.up[t]) up)" : ""
                return "\(shape.switches[t]) \(names[t])\(ports)"
            }
            print("fabric    \(ft.tiers.count)-tier fat tree, radix \(ft.radix), \(ft.railOptimised ? "rail-optimised, \(shape.planes) planes" : "one plane"): \(tiers.joined(separator: ", ")); routing up-down with ECMP hash")
        }
        if let o = c.overheads {
            let parts = [o.kernelLaunch.map { "kernel launch \($0)" }, o.collectiveCall.map { "collective call \($0)" },
                         o.perMessage.map { "per message \($0)" }, o.memoryEfficiency.map { "eta_mem \($0)" },
                         o.computeEfficiency.map { "eta_compute \($0)" }].compactMap { $0 }
            print("overheads \(parts.isEmpty ? "none given" : parts.joined(separator: ", ")) (from the cluster file; decode defaults)")
        }
        var counts = [Int](repeating: 0, count: net.linkClasses.count)
        var bandwidths = [Set<Double>](repeating: [], count: net.linkClasses.count)
        var latencies = [Set<SimTime>](repeating: [], count: net.linkClasses.count)
        for l in net.links {
            counts[l.linkClass] += 1
            bandwidths[l.linkClass].insert(l.bandwidth)
            latencies[l.linkClass].insert(l.latency)
        }
        var rows: [[String]] = []
        for (i, cls) in net.linkClasses.enumerated() {
            let bws = bandwidths[i].sorted().map(formatBandwidth).joined(separator: ", ")
            let lats = latencies[i].sorted().map(\.description).joined(separator: ", ")
            rows.append([cls.name, "\(counts[i])", bws, lats, cls.forwarding.description])
        }
        print(renderTable(["link class", "simplex links", "bandwidth", "latency", "forwarding"], rows))
    }
}
