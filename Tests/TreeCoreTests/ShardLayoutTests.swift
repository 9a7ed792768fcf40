import Testing
import TreeCore

/// The even split of the key axis that the reference, the MPI ranks and the simulator share.
@Suite struct ShardLayoutTests {
    @Test func evenSplitGivesTheFirstShardsTheExtraKeys() throws {
        #expect(try ShardLayout(keys: 10, shards: 4).ranges == [0..<3, 3..<6, 6..<8, 8..<10])
        #expect(try ShardLayout(keys: 8, shards: 4).ranges.map(\.count) == [2, 2, 2, 2])
        #expect(try ShardLayout(keys: 3, shards: 5).ranges == [0..<1, 1..<2, 2..<3, 3..<3, 3..<3])
        #expect(try ShardLayout(keys: 0, shards: 2).ranges == [0..<0, 0..<0])
        let layout = try ShardLayout(keys: 1_000_003, shards: 7)
        #expect(layout.keys == 1_000_003 && layout.count == 7)
        #expect(Set(layout.ranges.map(\.count)) == [142_858, 142_857])
    }

    @Test func explicitSizesAndRefusals() throws {
        #expect(try ShardLayout(sizes: [5, 0, 8]).ranges == [0..<5, 5..<5, 5..<13])
        #expect(throws: CoreError.self) { try ShardLayout(keys: 4, shards: 0) }
        #expect(throws: CoreError.self) { try ShardLayout(keys: -1, shards: 2) }
        #expect(throws: CoreError.self) { try ShardLayout(sizes: []) }
        #expect(throws: CoreError.self) { try ShardLayout(sizes: [3, -1]) }
    }
}
