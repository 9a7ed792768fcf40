import Testing

@testable import Simulator

/// Collectives on oversubscribed fat trees against hand-derived closed forms (the oversubscribed tier is the
/// bottleneck), and ECMP collisions: two flows hashed onto one uplink share it.
@Suite("Fat trees vs closed forms")
struct FatTreeClosedFormTests {
    let B = 50e9, mtu = 4096.0
    /// Path latency across leaves: GPU -> NIC (PCIe 100 ns), NIC -> leaf -> spine -> leaf -> NIC (4 x 500 ns),
    /// NIC -> GPU (100 ns); each of the 4 packetised InfiniBand links is followed by another link: + mtu / B each.
    var crossLeaf: Double { 2 * 100e-9 + 4 * 500e-9 + 4 * mtu / B }

    /// Radix 4 at 3:1: leaves of 3 down ports and 1 up port, one spine; one GPU per server, 6 servers, 2 leaves.
    func oversubscribed() throws -> Cluster {
        let link = FatTreeSpec.Tier(bandwidth: B, latency: .nanoseconds(500), oversubscription: 3)
        var top = link
        top.oversubscription = nil
        return try FatTreeSpec(nodes: 6, gpusPerNode: 1, radix: 4, railOptimised: false, tiers: [link, top]).build(
            name: "3:1")
    }

    /// Ranks alternate between the two leaves, so every ring edge crosses the spine: each step, 3 flows share each
    /// leaf's single uplink (and the spine's downlink): each runs at B/3. Step: crossLeaf + (n/p) 3 / B; all flows of
    /// a step start and end together by symmetry. Ring all-reduce: 2 (p-1) steps.
    @Test func ringAllReduceOnOversubscribedLeaf() throws {
        var c = try oversubscribed()
        let g = c.gpus
        c.gpus = [g[0], g[3], g[1], g[4], g[2], g[5]]
        c.serverOf = [0, 3, 1, 4, 2, 5]
        let n = 60e6, p = 6.0
        let expected = 2 * (p - 1) * (crossLeaf + n / p * 3 / B)
        let t = try Collective(.allreduce, algorithm: .ring, bytes: n).run(on: c).time.seconds
        #expect(close(t, expected), "\(t) vs \(expected)")
        // Non-blocking (one flow per uplink) would take 2 (p-1)(crossLeaf + n / (p B)): the 3:1 tier costs ~3x.
        #expect(t > 2.5 * 2 * (p - 1) * (crossLeaf + n / p / B))
    }

    /// Recursive doubling on 2 ranks per leaf, partners always on the other leaf (ranks g0, g3, g4, g1 on leaves
    /// A, B, B, A: partners at distance 1 and 2 both cross): each of the log2(4) = 2 exchanges has 2 flows per direction on each uplink,
    /// so each runs at B/2: log2(p) (crossLeaf + 2 n / B).
    @Test func recursiveDoublingOnOversubscribedLeaf() throws {
        var c = try oversubscribed()
        let g = c.gpus
        c.gpus = [g[0], g[3], g[4], g[1]]
        c.serverOf = [0, 3, 4, 1]
        let n = 8e6
        let expected = 2 * (crossLeaf + 2 * n / B)
        let t = try Collective(.allreduce, algorithm: .recursiveDoubling, bytes: n).run(on: c).time.seconds
        #expect(close(t, expected), "\(t) vs \(expected)")
    }

    /// NCCL's binary tree on 4 ranks is 0 <- 2 <- {1, 3} (depth 2). Ranks 0, 1, 3 sit on leaf B, rank 2 on leaf A,
    /// so every edge crosses the single uplink. Unsegmented (k = 1): 1 -> 2 and 3 -> 2 together share B's uplink
    /// (n 2/B each), 2 -> 0 alone (n/B), 0 -> 2 alone (n/B), 2 -> 1 and 2 -> 3 together share A's uplink (n 2/B):
    /// 4 crossLeaf + 6 n/B (non-blocking it would be 4 crossLeaf + 4 n/B).
    @Test func binaryTreeAllReduceOnOversubscribedLeaf() throws {
        var c = try oversubscribed()
        let g = c.gpus
        c.gpus = [g[3], g[4], g[0], g[5]]
        c.serverOf = [3, 4, 0, 5]
        #expect(TreeShape.ncclBinaryTree(ranks: 4).parent == [-1, 2, 0, 2])
        let n = 8e6
        let expected = 4 * crossLeaf + 6 * n / B
        let t = try Collective(.allreduce, algorithm: .tree, bytes: n, options: CollectiveOptions(segments: 1)).run(
            on: c
        ).time.seconds
        #expect(close(t, expected), "\(t) vs \(expected)")
    }

    /// The presets themselves: a ring all-reduce over GPU 0 of each of the first 32 servers of `dgx-h100-2tier` and
    /// `dgx-h100-3tier` (rail-optimised, radix 64 at 1:1: rail 0's first leaf holds those 32 servers' NICs). Every edge,
    /// the wrap-around included, is GPU -> PCIe -> NIC -> leaf -> NIC -> PCIe -> GPU: 2 x 100 ns + 2 x 500 ns and one
    /// mtu / B for each of the 2 packetised InfiniBand links: 2 (p-1)(a + (n/p)/B).
    @Test(arguments: ["dgx-h100-2tier:32", "dgx-h100-3tier:32"])
    func ringAllReduceWithinARailLeafOfThePreset(preset: String) throws {
        var c = try Cluster.resolve(preset)
        c.gpus = stride(from: 0, to: 256, by: 8).map { c.gpus[$0] }
        c.serverOf = Array(0..<32)
        let n = 64e6, p = 32.0
        let a = 2 * 100e-9 + 2 * 500e-9 + 2 * mtu / B
        let expected = 2 * (p - 1) * (a + n / p / B)
        let t = try Collective(.allreduce, algorithm: .ring, bytes: n).run(on: c).time.seconds
        #expect(close(t, expected), "\(preset): \(t) vs \(expected)")
    }

    /// Radix 8 at 1:1 (4 down, 4 up, 4 spines), one GPU per server, 8 servers on 2 leaves. Among the cross-leaf
    /// pairs with distinct sources and destinations, two that hash onto the same spine share its uplink (each at
    /// B/2); two on different spines each run at B.
    @Test func ecmpCollisionsShareAnUplink() throws {
        let link = FatTreeSpec.Tier(bandwidth: B, latency: .nanoseconds(500), oversubscription: 1)
        var top = link
        top.oversubscription = nil
        let c = try FatTreeSpec(nodes: 8, gpusPerNode: 1, radix: 8, railOptimised: false, tiers: [link, top]).build(
            name: "ecmp")
        let net = c.network
        func spine(_ a: Int, _ b: Int) throws -> Int {
            let r = try net.route(from: a, to: b)
            return r.links.map { net.links[$0].to }.first { net.nodes[$0].name.hasPrefix("spine") }!
        }
        // The hash decides, deterministically: the spine is FatTreeRouting.hash(src, dst) % 4.
        for a in 0..<4 {
            for b in 4..<8 {
                let s = try spine(c.gpus[a], c.gpus[b])
                #expect(net.nodes[s].name == "spine\(FatTreeRouting.hash(c.gpus[a], c.gpus[b]) % 4)")
            }
        }
        var collide: (Int, Int, Int, Int)?, apart: (Int, Int, Int, Int)?
        for a1 in 0..<4 {
            for b1 in 4..<8 {
                for a2 in (a1 + 1)..<4 {
                    for b2 in 4..<8 where b2 != b1 {
                        let same = try spine(c.gpus[a1], c.gpus[b1]) == spine(c.gpus[a2], c.gpus[b2])
                        if same && collide == nil { collide = (a1, b1, a2, b2) }
                        if !same && apart == nil { apart = (a1, b1, a2, b2) }
                    }
                }
            }
        }
        let n = 10e6
        for (pairs, share) in [(try #require(collide), 2.0), (try #require(apart), 1.0)] {
            let (a1, b1, a2, b2) = pairs
            var sim = TransferScript.simulation(
                net, [(.zero, c.gpus[a1], c.gpus[b1], n), (.zero, c.gpus[a2], c.gpus[b2], n)])
            sim.run()
            let expected = crossLeaf + share * n / B
            for d in sim.handler.observer.delivered {
                #expect(
                    close(SimTime(picoseconds: d).seconds, expected),
                    "share \(share): \(SimTime(picoseconds: d).seconds) vs \(expected)")
            }
        }
    }
}
