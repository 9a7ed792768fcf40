import Testing

@testable import Simulator

/// The fat-tree generator (`FatTreeSpec`): switch and cable counts per tier from radix and oversubscription, the
/// built network against that arithmetic, the `fat_tree:` YAML keys, and the structured up-down routing.
@Suite("Fat trees")
struct FatTreeTests {
    static func tier(_ gbps: Double = 400, _ ns: Double = 500, _ o: Double? = 1) -> FatTreeSpec.Tier {
        FatTreeSpec.Tier(bandwidth: gbps * 1e9 / 8, latency: .nanoseconds(ns), oversubscription: o)
    }

    @Test func presetShapesFromRadix() throws {
        // 2 tiers, radix 64, non-blocking, one plane per rail: 64 leaves x 32 down ports = 2,048 NICs per plane.
        let two = try FatTreeSpec.dgxH100(nodes: 2048, tiers: 2).shape()
        #expect(two.planes == 8 && two.endpointsPerPlane == 2048)
        #expect(two.down == [32] && two.up == [32])
        #expect(two.switches == [8 * 64, 8 * 32])
        #expect(two.cables == [16_384, 8 * 64 * 32])
        #expect(two.capacityPerPlane == 2048)
        // 3 tiers: 256 leaves, 8 pods of 32 spines, 32 x 32 cores per plane; non-blocking: equal cables per tier.
        let three = try FatTreeSpec.dgxH100(nodes: 8192, tiers: 3).shape()
        #expect(three.pods == 8)
        #expect(three.switches == [8 * 256, 8 * 8 * 32, 8 * 32 * 32])
        #expect(three.cables == [65_536, 65_536, 65_536])
        #expect(three.capacityPerPlane == 65_536)
    }

    @Test func oversubscriptionSplitsPorts() throws {
        // 3:1 on 64 ports: 48 down, 16 up; 12 servers x 8 NICs on one plane = 96 NICs -> 2 leaves, 16 spines.
        let spec = try FatTreeSpec(
            nodes: 12, radix: 64, railOptimised: false, tiers: [Self.tier(400, 500, 3), Self.tier(400, 500, nil)])
        let s = try spec.shape()
        #expect(s.down == [48] && s.up == [16])
        #expect(s.switches == [2, 16])
        #expect(s.cables == [96, 32])
        // The built network has exactly those switches and links per class (duplex: two simplex links each).
        let c = try spec.build(name: "t")
        let net = c.network
        #expect(c.gpuCount == 96 && c.serverCount == 12)
        #expect(net.nodes.filter { $0.kind == .switch }.count == 12 + 2 + 16)  // NVSwitches, leaves, spines
        let perClass = net.linkClasses.indices.map { i in net.links.filter { $0.linkClass == i }.count }
        #expect(net.linkClasses.map(\.name) == ["nvlink", "pcie", "ib-leaf", "ib-spine"])
        #expect(perClass == [2 * 96, 2 * 96, 2 * 96, 2 * 32])
    }

    @Test func builtThreeTierMatchesShape() throws {
        let spec = try FatTreeSpec(
            nodes: 20, radix: 8, railOptimised: true,
            tiers: [Self.tier(), Self.tier(400, 500, 1), Self.tier(400, 500, nil)])
        let s = try spec.shape()
        // Per plane: 20 NICs, 4 down per leaf -> 5 leaves, 2 pods (4 + 1 leaves), 4 spines per pod, 4 x 4 cores.
        #expect(s.switches == [8 * 5, 8 * 2 * 4, 8 * 16] && s.cables == [8 * 20, 8 * 5 * 4, 8 * 2 * 4 * 4])
        let net = try spec.build(name: "t").network
        let ib = ["ib-leaf", "ib-spine", "ib-core"].map { net.linkClass(named: $0)! }
        #expect(ib.map { i in net.links.filter { $0.linkClass == i }.count } == s.cables.map { 2 * $0 })
    }

    @Test(arguments: [
        ("radix: 63", "'radix' must be even"),
        ("nodes: 0", "'nodes' must be >= 1"),
        ("nodes: 100000", "exceed the simulator's 65536 GPUs"),
        (
            "tiers: [{bandwidth_Gbps: 400, latency_ns: 500, oversubscription: 2}, {bandwidth_Gbps: 400, latency_ns: 500}]",
            "does not split 64 ports"
        ),
        ("tiers: [{bandwidth_Gbps: 400, latency_ns: 500}]", "2 or 3 switch tiers"),
        (
            "tiers: [{bandwidth_Gbps: 400, latency_ns: 500, oversubscription: 1}, {bandwidth_Gbps: 400, latency_ns: 500, oversubscription: 1}]",
            "the top tier has no uplinks"
        ),
        (
            "tiers: [{bandwidth_Gbps: 400, oversubscription: 1}, {bandwidth_Gbps: 400, latency_ns: 500}]",
            "missing 'latency_ns'"
        ),
        ("radixx: 64", "unknown key 'radixx'"),
        ("nodes: 300", "exceed a 2-tier fat tree of radix 64"),
    ])
    func badKeysAreOneLineErrors(change: String, message: String) throws {
        var lines = [
            "nodes: 4", "radix: 64", "rail_optimised: false",
            "tiers: [{bandwidth_Gbps: 400, latency_ns: 500, oversubscription: 1}, {bandwidth_Gbps: 400, latency_ns: 500}]",
        ]
        let key = String(change.prefix { $0 != ":" })
        if let i = lines.firstIndex(where: { $0.hasPrefix(key + ":") }) {
            lines[i] = change
        } else {
            lines.append(change)
        }
        let yaml = "gpu: H100-SXM5\nfat_tree:\n" + lines.map { "  " + $0 }.joined(separator: "\n")
        do {
            _ = try ClusterFile.parse(yaml)
            Issue.record("accepted: \(change)")
        } catch let error as SimulatorError {
            #expect(error.description.contains(message), "\(error.description)")
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func yamlRoundTrip() throws {
        var spec = try FatTreeSpec(
            nodes: 24, gpusPerNode: 4, radix: 16, railOptimised: true,
            tiers: [Self.tier(200, 600, 3), Self.tier(400, 700, 1), Self.tier(800, 900, nil)])
        spec.nvlinkBandwidth = 300e9
        spec.pcieLatency = .nanoseconds(150)
        spec.mtuBytes = 2048
        let c = try ClusterFile.parse("name: fab\ngpu: H100-SXM5\n" + spec.yaml)
        #expect(c.fatTree == spec)
        #expect(c.name == "fab" && c.gpuCount == 96)
        // And the preset through a file.
        let p = try ClusterFile.parse("preset: dgx-h100-3tier\nnodes: 4")
        #expect(p.fatTree == (try FatTreeSpec.dgxH100(nodes: 4, tiers: 3)))
    }

    /// Every pair of a small fabric routes up and down (a valley-free path, tiers rising then falling), NICs on the
    /// destination's rail when rail-optimised, and the same route twice.
    @Test(arguments: [true, false])
    func upDownRoutes(rail: Bool) throws {
        let spec = try FatTreeSpec(
            nodes: 8, gpusPerNode: 2, radix: 4, railOptimised: rail,
            tiers: [Self.tier(), Self.tier(400, 500, 1), Self.tier(400, 500, nil)])
        let c = try spec.build(name: "t")
        let net = c.network
        func level(_ n: Int) -> Int {
            let name = net.nodes[n].name
            for (i, t) in ["leaf", "spine", "core"].enumerated() where name.contains(t) { return i + 1 }
            return 0
        }
        for a in c.gpus {
            for b in c.gpus where a != b {
                let r = try net.route(from: a, to: b)
                let nodes = [a] + r.links.map { net.links[$0].to }
                #expect(nodes.last == b)
                for (x, y) in zip(r.links, r.links.dropFirst()) { #expect(net.links[x].to == net.links[y].from) }
                let levels = nodes.map(level)
                let top = levels.firstIndex(of: levels.max()!)!
                #expect(levels[...top] == levels[...top].sorted()[...], "\(levels)")
                #expect(Array(levels[top...]) == levels[top...].sorted(by: >), "\(levels)")
                let sa = c.serverOf[c.gpus.firstIndex(of: a)!], sb = c.serverOf[c.gpus.firstIndex(of: b)!]
                if sa != sb && rail {
                    let nic = nodes.first { net.nodes[$0].kind == .nic }!
                    #expect(net.nodes[nic].name.hasSuffix("nic" + net.nodes[b].name.suffix(1)))
                }
                #expect((try net.route(from: a, to: b)).links == r.links)
            }
        }
    }

    @Test func presetsParseAndRefuseOversize() throws {
        #expect(try ClusterPreset.parse("dgx-h100-2tier:2048") == .dgxH100FatTree(servers: 2048, tiers: 2))
        #expect(try ClusterPreset.parse("dgx-h100-3tier", count: 8192) == .dgxH100FatTree(servers: 8192, tiers: 3))
        #expect(throws: SimulatorError.self) { try ClusterPreset.parse("dgx-h100-2tier:2049") }
        #expect(throws: SimulatorError.self) { try ClusterPreset.parse("dgx-h100-3tier:8193") }
        let c = try ClusterPreset.parse("dgx-h100-2tier:3").build()
        #expect(c.name == "dgx-h100-2tier:3" && c.gpuCount == 24)
    }
}
