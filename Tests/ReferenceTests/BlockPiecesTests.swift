import Testing

@testable import Reference

/// `BlockPieces` (the gemm rectangles of a key block): they must cover every pair a row sees exactly once, and must
/// actually drop most of a causal diagonal's hidden pairs.
@Suite struct BlockPiecesTests {
    /// Counts how often each (row, column) is covered; fails on a visible pair covered other than once.
    private func coverage(_ intervals: [Range<Int>], keys: Int, band: Int) -> (area: Int, visible: Int, pieces: Int) {
        let p = BlockPieces(rows: intervals.count, band: band) { intervals[$0] }
        var count = [Int](repeating: 0, count: intervals.count * keys)
        var area = 0
        for (rs, cs) in p.pieces {
            #expect(
                rs.lowerBound >= 0 && rs.upperBound <= intervals.count && cs.lowerBound >= 0 && cs.upperBound <= keys)
            for r in rs { for c in cs { count[r * keys + c] += 1 } }
            area += rs.count * cs.count
        }
        #expect(count.allSatisfy { $0 <= 1 }, "pieces overlap")
        var visible = 0
        for (r, iv) in intervals.enumerated() {
            for c in iv {
                visible += 1
                #expect(count[r * keys + c] == 1, "row \(r) column \(c) not covered")
            }
        }
        return (area, visible, p.pieces.count)
    }

    @Test func coverEveryVisiblePairOnceOnRandomIntervals() {
        var g = SeededGenerator(seed: 7)
        for trial in 0..<300 {
            let rows = 1 + Int(g.uniform() * 40), keys = 1 + Int(g.uniform() * 50)
            let band = 1 + Int(g.uniform() * 12)
            let intervals: [Range<Int>] = (0..<rows).map { _ in
                if g.uniform() < 0.15 { return 0..<0 }  // rows that see none of the block
                let a = Int(g.uniform() * Double(keys)), b = a + Int(g.uniform() * Double(keys - a + 1))
                return a..<min(b, keys)
            }
            let (area, visible, _) = coverage(intervals, keys: keys, band: band)
            #expect(area >= visible, "trial \(trial)")
        }
    }

    /// The diagonal block of a 256-row causal tile (512 keys, the last 256 of them a triangle): 64-row bands leave
    /// 4 x 64 x 63 / 2 hidden pairs computed instead of 256 x 255 / 2.
    @Test func causalDiagonalComputesOnlyTheBandsTriangles() {
        let intervals = (0..<256).map { 0..<(256 + $0 + 1) }
        let (area, visible, pieces) = coverage(intervals, keys: 512, band: 64)
        #expect(area - visible == 4 * 64 * 63 / 2)
        #expect(pieces == 5)  // the common 257 columns, then one triangle per band
        // A sliding window's block is ragged on both sides: bands cut both edges.
        let window = (0..<256).map { $0..<($0 + 200) }
        let w = coverage(window, keys: 512, band: 64)
        #expect(w.area - w.visible == 2 * 4 * 64 * 63 / 2)
    }

    @Test func evenBlocksStayOneGemm() {
        // Every row sees the same columns (no mask, or the keys of a block well below the diagonal).
        let (area, visible, pieces) = coverage([Range<Int>](repeating: 3..<90, count: 100), keys: 100, band: 8)
        #expect(pieces == 1 && area == visible)
        // A diagonal too small to be worth cutting (saving under a tenth) stays whole too.
        let shallow = coverage((0..<8).map { 0..<(100 + $0) }, keys: 108, band: 2)
        #expect(shallow.pieces == 1)
        // Rows of which none sees the block: nothing to compute.
        #expect(coverage([0..<0, 5..<5], keys: 10, band: 1).pieces == 0)
    }
}
