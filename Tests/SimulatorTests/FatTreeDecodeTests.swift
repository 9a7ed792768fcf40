import Testing

@testable import Simulator

/// Decode on the fat-tree presets: Tree and Ring run end to end on a 3-tier fabric, and `compare` runs the ring baseline
/// only when asked (the CLI's --ring-baseline): a tree-only run at tens of thousands of GPUs simulates only the tree.
@Suite("Fat-tree decode")
struct FatTreeDecodeTests {
    @Test func treeAndRingOnThreeTiers() throws {
        let cluster = try ClusterPreset.parse("dgx-h100-3tier:8").build()
        let w = try DecodeWorkload(sequenceLength: 640_000, heads: 16, headDim: 128)
        let m = try DecodeModel(cluster: cluster, workload: w)
        let ring = try m.run(.ring(overlap: true), recording: false)
        let with = try m.compare([.tree(collective: .tree)], baseline: true)
        #expect(with[0].speedupVsRing == ring.latency.seconds / with[0].latency.seconds)
        #expect(with.count == 1)
        let without = try m.compare([.tree(collective: .tree)])
        #expect(without[0].speedupVsRing == nil)
        #expect(without[0].latency == with[0].latency)
        #expect(without[0].latency.picoseconds == 57_513_627)
        let both = try m.compare([.tree(collective: .tree), .ring(overlap: true)], baseline: false)
        #expect(both[0].speedupVsRing != nil && both[1].speedupVsRing == 1)
        #expect(both[0].latency < both[1].latency)
    }
}
