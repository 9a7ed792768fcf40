import Testing
@testable import Simulator

/// Decode on the fat-tree presets: Tree and Ring run end to end on a 3-tier fabric, and `compare` skips the ring
/// baseline when asked (the CLI's --no-ring-baseline, for tree-only runs at tens of thousands of GPUs).
@Suite("Fat-tree decode")
struct FatTreeDecodeTests {
    @Test func treeAndRingOnThreeTiers() throws {
        let cluster = try ClusterPreset.parse("dgx-h100-3tier:8").build()
        let w = try DecodeWorkload(sequenceLength: 640_000, heads: 16, headDim: 128)
        let m = try DecodeModel(cluster: cluster, workload: w)
        let with = try m.compare([.tree(collective: .tree)])
        #expect(with[0].speedupVsRing != nil)
        let without = try m.compare([.tree(collective: .tree)], baseline: false)
        #expect(without[0].speedupVsRing == nil)
        #expect(without[0].latency == with[0].latency)
        let both = try m.compare([.tree(collective: .tree), .ring(overlap: true)], baseline: false)
        #expect(both[0].speedupVsRing != nil && both[1].speedupVsRing == 1)
        #expect(both[0].latency < both[1].latency)
    }
}
