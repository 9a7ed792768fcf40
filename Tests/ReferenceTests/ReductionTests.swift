import Testing

@testable import Reference

@Suite struct ReductionTests {
    static let shardCounts = [1, 2, 3, 5, 8, 17]
    static let reductions: [Reduction] = [
        .tree(.binary), .tree(.kary(3)), .tree(.kary(4)), .tree(.twoLevel(groupSize: 4)),
        .tree(.flat), .algorithm3, .ring,
    ]

    @Test(arguments: shardCounts)
    func everyReductionMatchesExactAttention(_ p: Int) throws {
        // 13 keys: uneven shards for most p, and p = 17 > 13 gives empty shards.
        let c = NaiveOracle.Case(
            b: 2, hq: 4, hkv: 2, sq: 3, sk: 13, d: 6, dv: 5, causal: .bottomRight, seqlens: [13, 9])
        let x = c.inputs()
        let (o, l) = NaiveOracle.attention(c, x)
        let layout = try ShardLayout(keys: c.sk, shards: p)
        for reduction in Self.reductions {
            let r = try ShardedAttention.forward(x, options: c.options, layout: layout, reduction: reduction)
            #expect(relativeError(r.result.output.data, o) < 1e-12, "\(reduction) p=\(p)")
            #expect(relativeError(r.result.lse.data, l) < 1e-12, "\(reduction) p=\(p) lse")
        }
    }

    @Test(arguments: [[5, 0, 8], [0, 0, 13], [1, 12], [13, 0], [4, 4, 4, 1, 0, 0]])
    func unevenAndEmptyShards(_ sizes: [Int]) throws {
        let c = NaiveOracle.Case(sq: 2, sk: 13)
        let x = c.inputs()
        let (o, l) = NaiveOracle.attention(c, x)
        for reduction in Self.reductions {
            let r = try ShardedAttention.forward(
                x, options: c.options, layout: ShardLayout(sizes: sizes), reduction: reduction)
            #expect(relativeError(r.result.output.data, o) < 1e-12, "\(reduction) \(sizes)")
            #expect(relativeError(r.result.lse.data, l) < 1e-12, "\(reduction) \(sizes)")
        }
    }

    @Test func shardPartialsAreTheOracleOverTheirKeys() throws {
        let c = NaiveOracle.Case(sq: 3, sk: 10, causal: .topLeft)
        let x = c.inputs()
        let layout = try ShardLayout(keys: 10, shards: 3)
        #expect(layout.ranges == [0..<4, 4..<7, 7..<10])
        let parts = try ShardedAttention.partials(x, options: c.options, layout: layout)
        for (range, part) in zip(layout.ranges, parts) {
            let (o, l) = NaiveOracle.attention(c, x, keys: range)
            #expect(relativeError(part.output.data, o) < 1e-12)
            #expect(relativeError(part.lse.data, l) < 1e-12)
        }
    }

    @Test func ringVisitsShardsFromItsOwner() {
        #expect(RingAttention.visitOrder(shards: 4, owner: 1) == [1, 0, 3, 2])
    }

    /// Every level's partials are themselves exact attention over the union of their leaves' keys.
    @Test func everyTreeLevelIsAttentionOverItsKeys() throws {
        let c = NaiveOracle.Case(sq: 2, sk: 11)
        let x = c.inputs()
        let layout = try ShardLayout(keys: 11, shards: 5)
        let r = try ShardedAttention.forward(x, options: c.options, layout: layout, reduction: .tree(.binary))
        let trace = try #require(r.tree)
        var spans = layout.ranges
        for (levelIndex, level) in trace.plan.levels.enumerated().dropFirst() {
            spans = level.map { children in spans[children.first!].lowerBound..<spans[children.last!].upperBound }
            for (node, span) in spans.enumerated() {
                let (o, l) = NaiveOracle.attention(c, x, keys: span)
                #expect(relativeError(trace.levels[levelIndex][node].output.data, o) < 1e-12)
                #expect(relativeError(trace.levels[levelIndex][node].lse.data, l) < 1e-12)
            }
        }
    }

    @Test func mergeIdentityAndMinusInfinitySafety() throws {
        let c = NaiveOracle.Case(sq: 2, sk: 5)
        let full = try ExactAttention.forward(c.inputs())
        let empty = AttentionPartial<Double>.empty(batch: 1, heads: 2, queries: 2, valueDim: c.dv)
        let left = try MergeOperator.merge(empty, full), right = try MergeOperator.merge(full, empty)
        #expect(left.output.data == full.output.data && left.lse.data == full.lse.data)
        #expect(right.output.data == full.output.data && right.lse.data == full.lse.data)
        let both = try MergeOperator.merge(empty, empty)
        #expect(both.lse.data.allSatisfy { $0 == -.infinity } && both.output.data.allSatisfy { $0 == 0 })
        let a3 = try Algorithm3.combine([empty, empty])
        #expect(a3.lse.data.allSatisfy { $0 == -.infinity } && a3.output.data.allSatisfy { $0 == 0 })
        // An empty partial whose output holds garbage must still be the identity (its weight is exactly 0).
        var garbage = empty
        garbage.output.data = garbage.output.data.map { _ in .nan }
        #expect(try MergeOperator.merge(garbage, full).output.data == full.output.data)
        #expect(try Algorithm3.combine([garbage, full]).output.data.allSatisfy(\.isFinite))
    }

    @Test func mergeIsAssociative() throws {
        let c = NaiveOracle.Case(sq: 3, sk: 9)
        let x = c.inputs()
        let p = try [0..<3, 3..<6, 6..<9].map { try ExactAttention.forward(x, keyRange: $0) }
        let leftFirst = try MergeOperator.merge(MergeOperator.merge(p[0], p[1]), p[2])
        let rightFirst = try MergeOperator.merge(p[0], MergeOperator.merge(p[1], p[2]))
        #expect(relativeError(leftFirst.output.data, rightFirst.output.data) < 1e-14)
        #expect(relativeError(leftFirst.lse.data, rightFirst.lse.data) < 1e-14)
        #expect(throws: ReferenceError.self) { try MergeOperator.merge([AttentionPartial<Double>]()) }
    }
}

@Suite struct PlanDrawingTests {
}
