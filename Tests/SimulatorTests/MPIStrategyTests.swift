import Testing

@testable import Simulator

/// The two strategies that model `treeattn-mpi` runs: `ring-sendrecv` (compute then MPI_Sendrecv, p-1 hops) and
/// `tree-reduce` (partials merged up a pinned ReductionPlan to rank 0), against closed forms on a mesh.
@Suite struct MPIStrategyTests {
    static let hbm = 3.35e12
    static let partialElements = 2064.0
    static func local(tokens t: Double) -> Double { (2 * t * 2048 * 2 + 2048 * 2 + partialElements * 4) / hbm }
    static func merge(_ k: Double) -> Double { (k + 1) * partialElements * 4 / hbm }

    @Test func ringSendrecvIsPBlocksAndPMinusOneHops() throws {
        // p T_local + (p-1)(a + S b): K and V go as two messages per hop, sent back to back (the second's latency
        // hides behind the first's transfer), one hop fewer than ring-sequential (whose chunk comes home).
        let cluster = try fullyConnected(4, bandwidth: 50e9, latency: .nanoseconds(800))
        let w = try DecodeWorkload(sequenceLength: 400_000, batch: 1, heads: 16, headDim: 128)
        let m = try DecodeModel(cluster: cluster, workload: w)
        let local = Self.local(tokens: 100_000)
        let bytes = 2 * 100_000.0 * 16 * 128 * 2
        let hop = 800e-9 + bytes / 50e9
        let r = try m.run(.ringSendrecv)
        #expect(
            close(r.latency.seconds, 4 * local + 3 * hop, tolerance: 1e-6),
            "\(r.latency.seconds) vs \(4 * local + 3 * hop)")
        #expect(
            close(
                try m.run(.ring(overlap: false)).latency.seconds, 4 * (local + 800e-9 + bytes / 50e9), tolerance: 1e-6))
        #expect(r.messages == 4 * 3 * 2)
        #expect(r.strategy == "ring-sendrecv")
    }

    @Test(arguments: [1, 2, 3, 4, 5, 8])
    func treeReduceIsLogDepthOfHopsAndMerges(_ p: Int) throws {
        // Binary plan, every rank done with its local kernel at the same time (100 tokens each). For p a power of
        // two: log2 p levels of one partial hop (a + S/B) and a two-partial merge on the receiving rank. Otherwise
        // a carried node's rank sends as soon as its own work is done: p = 3, rank 2's partial reaches rank 0 during
        // level 1, so level 2 costs only the merge; p = 5 likewise for rank 4 at level 3.
        let bandwidth = 50e9
        let cluster = try fullyConnected(p, bandwidth: bandwidth, latency: .nanoseconds(100))
        let w = try DecodeWorkload(sequenceLength: 100 * p, batch: 1, heads: 16, headDim: 128)
        let r = try DecodeModel(cluster: cluster, workload: w).run(.treeReduce(.binary))
        let level = 100e-9 + Self.partialElements * 4 / bandwidth + Self.merge(2)
        let levels: [Int: Double] = [
            1: 0, 2: level, 3: level + Self.merge(2), 4: 2 * level, 5: 2 * level + Self.merge(2), 8: 3 * level,
        ]
        let expected = Self.local(tokens: 100) + levels[p]!
        #expect(close(r.latency.seconds, expected), "p=\(p): \(r.latency.seconds) vs \(expected)")
        #expect(r.messages == p - 1)  // a reduce: every rank but 0 sends its (merged) partial once
        #expect(r.strategy == "tree-reduce")
    }

    @Test func strategiesParseAndPrint() throws {
        #expect(try DecodeStrategy.parse("ring-sendrecv") == .ringSendrecv)
        #expect(try DecodeStrategy.parse("tree-reduce") == .treeReduce(.binary))
        #expect(try DecodeStrategy.parse("tree-reduce:kary:4") == .treeReduce(.kary(4)))
        #expect(DecodeStrategy.treeReduce(.kary(4)).description == "tree-reduce:kary:4")
        #expect(throws: SimulatorError.self) { try DecodeStrategy.parse("tree-reduce:star") }
        #expect(throws: SimulatorError.self) { try DecodeStrategy.parse("tree-reduce:") }
    }

    @Test func flatTreeReduceIsAGather() throws {
        // A flat plan: every rank sends to rank 0, which merges all p partials at once: like `gather`.
        let cluster = try fullyConnected(4, bandwidth: 50e9, latency: .nanoseconds(100))
        let w = try DecodeWorkload(sequenceLength: 400, batch: 1, heads: 16, headDim: 128)
        let m = try DecodeModel(cluster: cluster, workload: w)
        let flat = try m.run(.treeReduce(.flat)), gather = try m.run(.gatherToOne)
        #expect(close(flat.latency.seconds, gather.latency.seconds), "\(flat.latency) vs \(gather.latency)")
    }
}
