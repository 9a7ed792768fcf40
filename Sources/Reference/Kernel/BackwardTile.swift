import RealModule

/// One unit of backward work: all query rows of one (batch, KV head) group against one contiguous key chunk.
/// For each key block (outer) and block of rows (inner), FlashAttention-2's recomputation:
///   S = scale Q K^T, P = exp(score(S) - LSE), dP = dO V^T, dS = P (dP - D) (times the softcap's tanh' where set),
///   dV += P^T dO, dK += scale dS^T Q, dQ += scale dS K,
/// five gemms of the blocks, each over only the rectangles some row sees (`BlockPieces`). dK and dV of the chunk's
/// keys are complete when it ends; dQ gets the chunk's share.
/// A block pair holding a non-finite Q, dO, K or V value (or a NaN LSE/D) runs a loop over the visible pairs only, so
/// NaN or Inf in a masked key, or in a row that does not see a key, never reaches that key's or row's gradient.
struct BackwardTile<S: AttentionScalar> {
    let q: UnsafePointer<S>, dO: UnsafePointer<S>  // the group's first row (rows x d, rows x dv)
    let k: UnsafePointer<S>, v: UnsafePointer<S>  // key `keyBase` of the KV head
    let lse: UnsafePointer<S>, delta: UnsafePointer<S>  // the group's rows
    let dq: UnsafeMutablePointer<S>  // rows x d, accumulated into
    let dk: UnsafeMutablePointer<S>, dv: UnsafeMutablePointer<S>  // key `keys.lowerBound`, accumulated into
    let d: Int, dv_: Int
    let batch: Int, firstHead: Int, queries: Int, rows: Int
    let keys: Range<Int>
    let keyBase: Int

    @_specialize(where S == Double)
    @_specialize(where S == Float)
    func run(rule: ScoreRule, rowBlock: Int, keyBlock: Int, band: Int, isa: KernelISA, scratch: TileScratch<S>) {
        let dv = dv_
        guard rows > 0, !keys.isEmpty else { return }
        var heads = [Int](repeating: 0, count: rows), queryIndex = [Int](repeating: 0, count: rows)
        var lo = [Int](repeating: 0, count: rows), hi = [Int](repeating: 0, count: rows)
        var finiteRow = [Bool](repeating: true, count: rows)
        for r in 0..<rows {
            heads[r] = firstHead + r / queries
            queryIndex[r] = r % queries
            let iv = rule.keyInterval(batch: batch, query: queryIndex[r]).clamped(to: keys)
            (lo[r], hi[r]) = (iv.lowerBound, iv.upperBound)
            finiteRow[r] =
                S.allFinite(q + r * d, count: d) && S.allFinite(dO + r * dv, count: dv)
                && !lse[r].isNaN && lse[r] != .infinity && delta[r].isFinite
        }
        let elementwise = rule.hasElementwiseTerms
        let softcap = rule.options.softcap
        let scale = S(rule.scale)
        let rb = min(rowBlock, rows), kb = min(keyBlock, keys.count)
        let p = scratch.buffer(0, count: rb * kb)
        let ds = scratch.buffer(1, count: rb * kb)
        let factor = softcap != nil ? scratch.buffer(2, count: rb * kb) : nil

        var j0 = keys.lowerBound
        while j0 < keys.upperBound {
            let j1 = min(j0 + kb, keys.upperBound), nk = j1 - j0
            defer { j0 = j1 }
            let kBlock = k + (j0 - keyBase) * d, vBlock = v + (j0 - keyBase) * dv
            let dkBlock = dk + (j0 - keys.lowerBound) * d, dvBlock = self.dv + (j0 - keys.lowerBound) * dv
            let finiteKeys = S.allFinite(kBlock, count: nk * d) && S.allFinite(vBlock, count: nk * dv)
            var r0 = 0
            while r0 < rows {
                let r1 = min(r0 + rb, rows), nr = r1 - r0
                defer { r0 = r1 }
                guard (r0..<r1).contains(where: { lo[$0] < j1 && hi[$0] > j0 && lse[$0] != -.infinity }) else {
                    continue
                }
                guard finiteKeys, (r0..<r1).allSatisfy({ finiteRow[$0] }) else {
                    visiblePairs(
                        rows: r0..<r1, keys: j0..<j1, rule: rule, heads: heads, queryIndex: queryIndex, lo: lo, hi: hi)
                    continue
                }
                let qRows = q + r0 * d, dORows = dO + r0 * dv
                // Each gemm covers only the pairs some row of its band sees (BlockPieces: the causal diagonal's
                // hidden triangle is skipped); P and dS are set to 0 outside each row's interval below.
                let pieces = BlockPieces(rows: nr, band: band) { i in
                    let r = r0 + i
                    return lse[r] == -.infinity ? 0..<0 : BlockPieces.columns(lo: lo[r], hi: hi[r], block: j0..<j1)
                }.pieces
                for (rs, cs) in pieces {
                    S.gemm(
                        m: rs.count, n: cs.count, k: d, alpha: scale, a: qRows + rs.lowerBound * d, lda: d,
                        b: kBlock + cs.lowerBound * d, ldb: d, transB: true,
                        beta: 0, c: p + rs.lowerBound * nk + cs.lowerBound, ldc: nk)
                }
                for r in r0..<r1 {
                    let row = p + (r - r0) * nk
                    if lse[r] == -.infinity || lo[r] >= j1 || hi[r] <= j0 {
                        row.update(repeating: 0, count: nk)
                        factor.map { ($0 + (r - r0) * nk).update(repeating: 0, count: nk) }
                        continue
                    }
                    let a = max(lo[r], j0) - j0, b = min(hi[r], j1) - j0
                    if elementwise {
                        let f = factor.map { $0 + (r - r0) * nk }
                        for c in 0..<nk {
                            let j = j0 + c
                            if c < a || c >= b {  // not computed: P and the softcap factor are 0 here
                                row[c] = -.infinity
                                f?[c] = 0
                                continue
                            }
                            let t = row[c]
                            if let s = rule.score(
                                scaledDot: Double(t), batch: batch, head: heads[r],
                                query: queryIndex[r], key: j)
                            {
                                row[c] = S(s)
                            } else {
                                row[c] = -.infinity
                            }
                            if let f, let cap = softcap {
                                let th = PortableMath.tanh(Double(t) / cap)
                                f[c] = S(1 - th * th)
                            }
                        }
                        _ = S.expSum(row, count: nk, minus: lse[r], isa: isa)
                    } else {
                        row.update(repeating: 0, count: a)
                        (row + b).update(repeating: 0, count: nk - b)
                        _ = S.expSum(row + a, count: b - a, minus: lse[r], isa: isa)
                    }
                }
                for (rs, cs) in pieces {
                    S.gemm(
                        m: rs.count, n: cs.count, k: dv, alpha: 1, a: dORows + rs.lowerBound * dv, lda: dv,
                        b: vBlock + cs.lowerBound * dv, ldb: dv, transB: true,
                        beta: 0, c: ds + rs.lowerBound * nk + cs.lowerBound, ldc: nk)
                }
                for r in r0..<r1 {
                    let prow = p + (r - r0) * nk, dsrow = ds + (r - r0) * nk
                    let dr = delta[r]
                    // dS is 0 outside the row's interval (P is 0 there, and dP was not computed).
                    let run = lse[r] == -.infinity ? nk..<nk : BlockPieces.columns(lo: lo[r], hi: hi[r], block: j0..<j1)
                    let (a, b) = (run.lowerBound, run.upperBound)
                    dsrow.update(repeating: 0, count: a)
                    (dsrow + b).update(repeating: 0, count: nk - b)
                    if let f = factor.map({ $0 + (r - r0) * nk }) {
                        for c in a..<b { dsrow[c] = prow[c] * (dsrow[c] - dr) * f[c] }
                    } else {
                        for c in a..<b { dsrow[c] = prow[c] * (dsrow[c] - dr) }
                    }
                }
                for (rs, cs) in pieces {
                    let pBlock = p + rs.lowerBound * nk + cs.lowerBound,
                        dsBlock = ds + rs.lowerBound * nk + cs.lowerBound
                    S.gemm(
                        transA: true, m: cs.count, n: dv, k: rs.count, alpha: 1, a: pBlock, lda: nk,
                        b: dORows + rs.lowerBound * dv, ldb: dv, transB: false,
                        beta: 1, c: dvBlock + cs.lowerBound * dv, ldc: dv)
                    S.gemm(
                        transA: true, m: cs.count, n: d, k: rs.count, alpha: scale, a: dsBlock, lda: nk,
                        b: qRows + rs.lowerBound * d, ldb: d, transB: false,
                        beta: 1, c: dkBlock + cs.lowerBound * d, ldc: d)
                    S.gemm(
                        m: rs.count, n: d, k: cs.count, alpha: scale, a: dsBlock, lda: nk,
                        b: kBlock + cs.lowerBound * d, ldb: d, transB: false,
                        beta: 1, c: dq + (r0 + rs.lowerBound) * d, ldc: d)
                }
            }
        }
    }

    /// The block pair by plain loops over the visible (row, key) pairs only: used when a value in it is not finite.
    private func visiblePairs(
        rows: Range<Int>, keys block: Range<Int>, rule: ScoreRule, heads: [Int], queryIndex: [Int],
        lo: [Int], hi: [Int]
    ) {
        let dv = dv_
        let scale = S(rule.scale)
        for r in rows where lse[r] != -.infinity {
            let qr = q + r * d, dor = dO + r * dv, dqr = dq + r * d
            for j in max(lo[r], block.lowerBound)..<max(min(hi[r], block.upperBound), max(lo[r], block.lowerBound))
            where rule.passesElementwiseMasks(batch: batch, head: heads[r], query: queryIndex[r], key: j) {
                let kj = k + (j - keyBase) * d, vj = v + (j - keyBase) * dv
                var dot: S = 0
                for c in 0..<d { dot += qr[c] * kj[c] }
                let t = scale * dot
                guard
                    let s = rule.score(scaledDot: Double(t), batch: batch, head: heads[r], query: queryIndex[r], key: j)
                else { continue }
                let prob = S.portableExp(S(s) - lse[r])
                var dp: S = 0
                for c in 0..<dv { dp += dor[c] * vj[c] }
                var dsv = prob * (dp - delta[r])
                if let cap = rule.options.softcap {
                    let th = PortableMath.tanh(Double(t) / cap)
                    dsv *= S(1 - th * th)
                }
                let dkj = dk + (j - keys.lowerBound) * d, dvj = self.dv + (j - keys.lowerBound) * dv
                for c in 0..<dv { dvj[c] += prob * dor[c] }
                for c in 0..<d {
                    dkj[c] += scale * dsv * qr[c]
                    dqr[c] += scale * dsv * kj[c]
                }
            }
        }
    }
}
