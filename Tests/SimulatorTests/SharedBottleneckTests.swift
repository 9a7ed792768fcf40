import Foundation
import Testing

@testable import Simulator

/// "All ranks share one token-bucket queue", as the MPI validation models a machine whose messages are throttled
/// by one shared bucket: a star of simplex links, uplink cpu_i -> in and downlink out -> cpu_j per rank, and one
/// simplex core link in -> out that every message crosses (fixtures/clusters/cpu-star-4.yaml).
///
/// Notation: p = 4 ranks; C = 1 Gbit/s = 0.125e9 B/s, the core's bandwidth; the edge links have 10 GB/s, 80 times
/// C, so they never limit a flow here (at most 4 flows share the core, each at C/4 or more, and a rank's edge link
/// carries at most 2 flows); a = 0.5 + 20 + 0.5 us = 21 us, the latency of the three links of every route.
///
/// Forwarding: the file makes both link classes cut-through, so a message of S bytes is one flow over its three
/// links: it is transmitted at its fair rate (bottleneck: the core) and arrives a after its last byte left, i.e.
/// a + S/C alone, the way a token bucket serialises a message once at its rate. (Store-and-forward, checked below
/// for contrast, would pay each link's serialisation in turn.)
@Suite("A shared bottleneck: a star with one core link")
struct SharedBottleneckTests {
    static let file = CPUClusterTests.starFile
    static let C = 0.125e9
    static let a = 21e-6
    static let edge = 10e9

    static func cluster(forwarding: String = "cut-through") throws -> Cluster {
        let text = try String(contentsOfFile: file, encoding: .utf8)
        return try ClusterFile.parse(text.replacingOccurrences(of: "cut-through", with: forwarding))
    }

    @Test func everyRouteCrossesTheCoreLink() throws {
        let c = try Self.cluster()
        let net = c.network
        let core = try #require(
            net.links.firstIndex { net.nodes[$0.from].name == "in" && net.nodes[$0.to].name == "out" })
        #expect(net.links.count == 9)  // all simplex: 4 up, 4 down, 1 core
        for i in 0..<4 {
            for j in 0..<4 where i != j {
                let route = try net.route(from: c.gpus[i], to: c.gpus[j])
                #expect(route.links.map { net.nodes[net.links[$0].to].name } == ["in", "out", "cpu\(j)"])
                #expect(route.links[1] == core)
                #expect(route.segments.count == 1, "cut-through: one flow over the three links")
            }
        }
    }

    /// One message alone: a + S/C.
    @Test func oneFlowTakesLatencyPlusSizeOverTheCore() throws {
        let c = try Self.cluster()
        let S = 1e6
        let (t, _) = try deliveryTimes(c.network, [(c.gpus[0], c.gpus[1], S)])
        #expect(close(t[0], Self.a + S / Self.C, tolerance: 1e-9), "\(t[0])")
        // Store-and-forward on every link: (0.5 us + S/E) + (20 us + S/C) + (0.5 us + S/E).
        let sf = try Self.cluster(forwarding: "store-and-forward")
        let (u, _) = try deliveryTimes(sf.network, [(sf.gpus[0], sf.gpus[1], S)])
        #expect(close(u[0], Self.a + S / Self.C + 2 * S / Self.edge, tolerance: 1e-9), "\(u[0])")
    }

    /// Two messages between disjoint pairs (0 -> 1, 2 -> 3) share nothing but the core: each gets C/2 and both
    /// arrive at a + 2S/C. With sizes S and 2S they share until the first has sent S (at 2S/C); the second then has
    /// S left at the full C: it arrives at a + 3S/C.
    @Test func disjointPairsShareTheCore() throws {
        let c = try Self.cluster()
        let S = 1e6
        let (t, _) = try deliveryTimes(c.network, [(c.gpus[0], c.gpus[1], S), (c.gpus[2], c.gpus[3], S)])
        for x in t { #expect(close(x, Self.a + 2 * S / Self.C, tolerance: 1e-9), "\(x)") }
        let (u, _) = try deliveryTimes(c.network, [(c.gpus[0], c.gpus[1], S), (c.gpus[2], c.gpus[3], 2 * S)])
        #expect(close(u[0], Self.a + 2 * S / Self.C, tolerance: 1e-9), "\(u[0])")
        #expect(close(u[1], Self.a + 3 * S / Self.C, tolerance: 1e-9), "\(u[1])")
    }

    /// Ring all-reduce of n bytes: 2(p-1) steps; in each, all p ranks send a chunk of n/p at once, all p flows cross
    /// the core at C/p each, so a step takes a + (n/p)/(C/p) = a + n/C, and the whole 2(p-1)(a + n/C) (g = 0). On a
    /// non-blocking network of links C it would be 2(p-1)(a + n/(pC)): the shared core costs a factor p on the
    /// bandwidth term.
    @Test func ringAllReduceMatchesTheSharedCoreForm() throws {
        let c = try Self.cluster()
        let n = 4e5
        let r = try Collective(.allreduce, algorithm: .ring, bytes: n).run(on: c)
        let expected = 6 * (Self.a + n / Self.C)
        #expect(close(r.time.seconds, expected, tolerance: 1e-9), "\(r.time.seconds) vs \(expected)")
    }

    /// Tree decode (Algorithm 3) of an f64 workload with the file's calibrated overheads, `tree:ring` and
    /// `tree:recursive-doubling`, against the hand-derived form
    ///
    ///     T = T_local + AR(b n_h) + T_rescale + AR(b d) + AR(b n_h) + T_divide
    ///
    /// Workload: N = 4000 (t = 1000 tokens per rank), b = 1, n_h = 4, n_kv = 2, d_h = 64, d = 256, f64: K/V, q and
    /// the partials are 8 bytes per element. Overheads from the file: launch L = 5 us, collective call K = 30 us,
    /// per message o = 2 us, eta_mem 0.8 of 20 GB/s, eta_c 0.5 of 50 GFLOP/s.
    /// - T_local = L + max((2 t n_kv d_h + d + (d + n_h)) 8 / (0.8 * 20e9), 4 n_h t d_h / (0.5 * 50e9)): memory-bound.
    /// - T_rescale = L + 2 (d + n_h) 8 / (0.8 * 20e9), T_divide = L + 2 d 8 / (0.8 * 20e9) (memory-bound too).
    /// - ring AR(m elements) = K + 2(p-1)(o + a + 8m/C): every step as in the ring test, each message paying o on
    ///   its sender first (all ranks at once, so o adds to each step).
    /// - recursive doubling AR(m) = K + log2(p)(o + a + p 8m/C): in each of the log2 p exchanges all p ranks send
    ///   the whole 8m bytes at once, p flows on the core at C/p each.
    @Test func treeDecodeOfF64MatchesTheSharedCoreForm() throws {
        let c = try Self.cluster()
        let w = try DecodeWorkload(sequenceLength: 4000, batch: 1, heads: 4, kvHeads: 2, headDim: 64, dtype: "f64")
        #expect(w.elementBytes == 8 && w.partialElementBytes == 8)
        let options = DecodeOptions(cluster: c)
        let model = try DecodeModel(cluster: c, workload: w, options: options)
        let L = 5e-6, K = 30e-6, o = 2e-6, bw = 0.8 * 20e9, flopRate = 0.5 * 50e9
        let t = 1000.0, nkv = 2.0, dh = 64.0, d = 256.0, nh = 4.0, p = 4.0
        let local = L + max((2 * t * nkv * dh + d + (d + nh)) * 8 / bw, 4 * nh * t * dh / flopRate)
        let rescale = L + 2 * (d + nh) * 8 / bw, divide = L + 2 * d * 8 / bw
        func ring(_ m: Double) -> Double { K + 2 * (p - 1) * (o + Self.a + 8 * m / Self.C) }
        func doubling(_ m: Double) -> Double { K + 2 * (o + Self.a + p * 8 * m / Self.C) }
        let forms: [(CollectiveAlgorithm, (Double) -> Double)] = [(.ring, ring), (.recursiveDoubling, doubling)]
        for (algorithm, ar) in forms {
            let r = try model.run(.tree(collective: algorithm))
            let expected = local + ar(nh) + rescale + ar(d) + ar(nh) + divide
            #expect(
                close(r.latency.seconds, expected, tolerance: 1e-9), "\(algorithm): \(r.latency.seconds) vs \(expected)"
            )
        }
        // Volumes in f64 partials: tree:ring sends V_tree = 2(p-1)/p (b d + 2 b n_h) = 396 elements per rank, 8 bytes
        // each; every message crosses the core once and two edge links.
        let r = try model.run(.tree(collective: .ring))
        #expect(r.elementsSentPerDevice == 396 && r.paperVolumeElements == 396)
        let bytes = Dictionary(uniqueKeysWithValues: r.bytesPerLinkClass.map { ($0.name, $0.bytes) })
        #expect(bytes["core"] == 4 * 396 * 8 && bytes["edge"] == 2 * 4 * 396 * 8)
        #expect(r.notes.isEmpty, "\(r.notes)")
    }
}
