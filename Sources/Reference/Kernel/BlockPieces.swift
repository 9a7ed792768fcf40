/// The rectangles of one key block's products that a tile's gemms compute. Rows whose visible keys differ (the causal
/// diagonal, a sliding window's edges) would make one gemm over the whole block compute pairs no row sees, up to half
/// of a diagonal block. Here the columns every row sees form one gemm over all rows, and the columns only
/// some rows see are cut into bands of `band` rows, each computing only the columns its own rows see.
/// Blocks where all rows see the same columns (no mask, padding-free full rows) stay one rectangle.
struct BlockPieces {
    /// (rows, columns) rectangles relative to the tile's first row and the block's first key.
    private(set) var pieces: [(rows: Range<Int>, columns: Range<Int>)] = []

    /// The columns of the key block `block` that a row seeing keys [lo, hi) sees, relative to the block's first key
    /// (an empty range when it sees none of them).
    static func columns(lo: Int, hi: Int, block: Range<Int>) -> Range<Int> {
        let a = min(max(lo, block.lowerBound) - block.lowerBound, block.count)
        return a..<max(min(hi, block.upperBound) - block.lowerBound, a)
    }

    /// `columns(r)` is row r's visible column interval within the block (empty when it sees none of it).
    init(rows: Int, band: Int, columns: (Int) -> Range<Int>) {
        var lo = [Int](repeating: 0, count: rows), hi = [Int](repeating: 0, count: rows)
        var minLo = Int.max, maxLo = Int.min, minHi = Int.max, maxHi = Int.min
        for r in 0..<rows {
            let c = columns(r)
            lo[r] = c.lowerBound
            hi[r] = c.upperBound
            if c.isEmpty {
                minHi = Int.min
                continue
            }  // an empty row leaves no column every row sees
            minLo = min(minLo, c.lowerBound)
            maxLo = max(maxLo, c.lowerBound)
            minHi = min(minHi, c.upperBound)
            maxHi = max(maxHi, c.upperBound)
        }
        guard minLo < maxHi else { return }
        let whole = minLo..<maxHi
        // Ragged split: the common columns, then each band's own columns left and right of them.
        var split: [(rows: Range<Int>, columns: Range<Int>)] = []
        let common = maxLo < minHi ? maxLo..<minHi : nil
        if let common { split.append((0..<rows, common)) }
        var start = 0
        while start < rows {
            let end = min(start + max(band, 1), rows)
            defer { start = end }
            var bLo = Int.max, bHi = Int.min
            for r in start..<end where lo[r] < hi[r] {
                bLo = min(bLo, lo[r])
                bHi = max(bHi, hi[r])
            }
            guard bLo < bHi else { continue }
            if let common {
                if bLo < common.lowerBound { split.append((start..<end, bLo..<common.lowerBound)) }
                if common.upperBound < bHi { split.append((start..<end, common.upperBound..<bHi)) }
            } else {
                split.append((start..<end, bLo..<bHi))
            }
        }
        let splitArea = split.reduce(0) { $0 + $1.rows.count * $1.columns.count }
        // Splitting costs smaller gemms: only worth it when it saves a tenth of the block's pairs.
        if splitArea * 10 < rows * whole.count * 9 {
            pieces = split
        } else {
            pieces = [(0..<rows, whole)]
        }
    }
}
