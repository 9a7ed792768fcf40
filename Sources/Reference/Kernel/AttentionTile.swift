import RealModule

/// One unit of kernel work: a block of query rows of one (batch, KV head) group against a contiguous key range.
/// Rows of a group are the query rows of all query heads that share the KV head (GQA), contiguous in memory.
struct Tile<S: AttentionScalar> {
    let q: KernelOperand<S>  // first row of this tile
    let k: KernelOperand<S>  // key 0 of the KV head
    let v: KernelOperand<S>  // value 0 of the KV head
    let d: Int, dv: Int
    let batch: Int, firstHead: Int, queries: Int
    let rows: Range<Int>  // rows within the group
    let keys: Range<Int>
    /// Global position of the key `k` and `v` point at (0 unless the tensors hold only a key shard).
    var keyBase = 0

    /// Computes normalised outputs and LSEs of the tile's rows into `o` (rows x dv) and `lse` (rows).
    @_specialize(where S == Double)
    @_specialize(where S == Float)
    func run(
        rule: ScoreRule, keyBlock: Int, band: Int, isa: KernelISA, fewRowLimit: Int, scratch: TileScratch<S>,
        o: UnsafeMutablePointer<S>, lse: UnsafeMutablePointer<S>
    ) {
        let nr = rows.count
        o.initialize(repeating: 0, count: nr * dv)
        lse.initialize(repeating: -.infinity, count: nr)
        guard !k.isEmpty, !v.isEmpty, !keys.isEmpty, nr > 0 else { return }

        // Per-row key interval (cache length, causality, window) clipped to this tile's keys.
        var heads = [Int](repeating: 0, count: nr), queryIndex = [Int](repeating: 0, count: nr)
        var lo = [Int](repeating: 0, count: nr), hi = [Int](repeating: 0, count: nr)
        var spanLo = Int.max, spanHi = Int.min
        for r in 0..<nr {
            let g = rows.lowerBound + r
            heads[r] = firstHead + g / queries
            queryIndex[r] = g % queries
            let iv = rule.keyInterval(batch: batch, query: queryIndex[r]).clamped(to: keys)
            lo[r] = iv.lowerBound
            hi[r] = iv.upperBound
            if !iv.isEmpty {
                spanLo = min(spanLo, iv.lowerBound)
                spanHi = max(spanHi, iv.upperBound)
            }
        }
        guard spanLo < spanHi else { return }

        let elementwise = rule.hasElementwiseTerms
        let scale = S(rule.scale)
        var runningMax = [S](repeating: -.infinity, count: nr)
        var runningSum = [S](repeating: 0, count: nr)
        let keyBlock = min(keyBlock, spanHi - spanLo)
        // Decoding (a few rows): products that stream K and V once; BLAS's gemm packs them first.
        let fewRows = nr <= fewRowLimit
        let scores = scratch.buffer(0, count: nr * keyBlock)
        let backup = scratch.buffer(1, count: nr * dv)
        // 16-bit operands are widened here: the tile's Q rows once, each key block of K and V as it is reached.
        let qScratch = q.needsScratch ? scratch.buffer(2, count: nr * d) : nil
        let kScratch = k.needsScratch ? scratch.buffer(3, count: keyBlock * d) : nil
        let vScratch = v.needsScratch ? scratch.buffer(4, count: keyBlock * dv) : nil
        let q = self.q.elements(0, count: nr * d, scratch: qScratch, isa: isa)

        var j0 = spanLo
        while j0 < spanHi {
            let j1 = min(j0 + keyBlock, spanHi), nk = j1 - j0
            defer { j0 = j1 }
            var anyVisible = false
            for r in 0..<nr where lo[r] < j1 && hi[r] > j0 {
                anyVisible = true
                break
            }
            if !anyVisible { continue }

            let kBlock = k.elements((j0 - keyBase) * d, count: nk * d, scratch: kScratch, isa: isa)
            // The gemms skip the pairs of a diagonal (or window-edge) block that no row sees; scores outside a
            // row's interval are never read (set to -inf or 0 below).
            let pieces =
                fewRows
                ? []
                : BlockPieces(rows: nr, band: band) {
                    BlockPieces.columns(lo: lo[$0], hi: hi[$0], block: j0..<j1)
                }.pieces
            if fewRows {
                S.fewRowScores(q: q, rows: nr, d: d, k: kBlock, keys: nk, alpha: scale, into: scores, isa: isa)
            } else {
                for (rs, cs) in pieces {
                    S.gemm(
                        m: rs.count, n: cs.count, k: d, alpha: scale, a: q + rs.lowerBound * d, lda: d,
                        b: kBlock + cs.lowerBound * d, ldb: d, transB: true,
                        beta: 0, c: scores + rs.lowerBound * nk + cs.lowerBound, ldc: nk)
                }
            }
            for r in 0..<nr {
                let row = scores + r * nk
                var rowMax = -S.infinity
                // Without element-wise terms a row sees one contiguous run [a, b) of the block: the passes run on it
                // vectorised and the keys outside get weight 0 (never exp of them, never a mask loop).
                var a = 0, b = nk
                if !elementwise {
                    let run = BlockPieces.columns(lo: lo[r], hi: hi[r], block: j0..<j1)
                    (a, b) = (run.lowerBound, run.upperBound)
                    rowMax = b > a ? S.rowMax(row + a, count: b - a, isa: isa) : -.infinity
                } else {
                    for c in 0..<nk {
                        let j = j0 + c
                        if j < lo[r] || j >= hi[r] {
                            row[c] = -.infinity
                            continue
                        }
                        if let s = rule.score(
                            scaledDot: Double(row[c]), batch: batch, head: heads[r],
                            query: queryIndex[r], key: j)
                        {
                            row[c] = S(s)
                        } else {
                            row[c] = -.infinity
                            continue
                        }
                        if row[c] > rowMax || row[c].isNaN { rowMax = row[c] }
                        if rowMax.isNaN { break }
                    }
                }
                let old = runningMax[r]
                let newMax = (old.isNaN || rowMax.isNaN) ? S.nan : max(old, rowMax)
                if newMax == -.infinity {
                    row.update(repeating: 0, count: nk)
                    continue
                }
                row.update(repeating: 0, count: a)
                (row + b).update(repeating: 0, count: nk - b)
                let sum = S.expSum(row + a, count: b - a, minus: newMax, isa: isa)
                let alpha = S.portableExp(old - newMax)
                runningSum[r] = runningSum[r] * alpha + sum
                if alpha != 1 { S.scale(o + r * dv, count: dv, by: alpha) }
                runningMax[r] = newMax
            }
            backup.update(from: o, count: nr * dv)
            let vBlock = v.elements((j0 - keyBase) * dv, count: nk * dv, scratch: vScratch, isa: isa)
            if fewRows {
                S.fewRowPV(p: scores, rows: nr, keys: nk, v: vBlock, dv: dv, into: o, isa: isa)
            } else {
                for (rs, cs) in pieces {
                    S.gemm(
                        m: rs.count, n: dv, k: cs.count, alpha: 1, a: scores + rs.lowerBound * nk + cs.lowerBound,
                        lda: nk, b: vBlock + cs.lowerBound * dv, ldb: dv,
                        transB: false, beta: 1, c: o + rs.lowerBound * dv, ldc: dv)
                }
            }
            // A non-finite output row may come from 0 x (NaN or Inf) of an excluded key: redo it excluding them.
            for r in 0..<nr {
                let orow = o + r * dv
                if S.allFinite(orow, count: dv) { continue }
                let prow = scores + r * nk
                let brow = backup + r * dv
                for c in 0..<dv { orow[c] = brow[c] }
                for cj in 0..<nk {
                    let j = j0 + cj
                    guard j >= lo[r], j < hi[r],
                        rule.passesElementwiseMasks(batch: batch, head: heads[r], query: queryIndex[r], key: j)
                    else { continue }
                    let w = prow[cj], vrow = vBlock + (j - j0) * dv
                    for c in 0..<dv { orow[c] += w * vrow[c] }
                }
            }
        }

        for r in 0..<nr {
            let orow = o + r * dv
            let m = runningMax[r], l = runningSum[r]
            if m == -.infinity || l == 0 {
                for c in 0..<dv { orow[c] = 0 }
                lse[r] = -.infinity
            } else {
                S.scale(orow, count: dv, by: 1 / l)
                lse[r] = m + S.portableLog(l)
            }
        }
    }
}
