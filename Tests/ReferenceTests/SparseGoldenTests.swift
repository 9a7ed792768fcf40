import Foundation
import Testing

@testable import Reference

/// Document and block-sparse masks (issue 27): each layout's tensors rebuilt here into a dense mask equal to the
/// stored one, and the goldens equal to the naive oracle's attention under that mask.
@Suite struct SparseGoldenTests {
    /// The mask (b, h, sq, sk) a case's layout tensors mean, rebuilt from them alone.
    static func rebuilt(_ f: SafetensorsFile, batch: Int, heads: Int, sq: Int, sk: Int) -> [Bool] {
        var mask = [Bool](repeating: false, count: batch * heads * sq * sk)
        func allow(_ b: Int, _ h: Int, _ rows: Range<Int>, _ cols: Range<Int>) {
            for i in rows.clamped(to: 0..<sq) {
                for j in cols.clamped(to: 0..<sk) { mask[((b * heads + h) * sq + i) * sk + j] = true }
            }
        }
        if let ids = f["document_ids"]?.integers() {
            for b in 0..<batch {
                for h in 0..<heads {
                    for i in 0..<sq {
                        for j in 0..<sk where ids[sk - sq + i] == ids[j] { allow(b, h, i..<i + 1, j..<j + 1) }
                    }
                }
            }
        } else if let num = f["kv_num_blocks"]?.integers(), let idx = f["kv_indices"]?.integers() {
            let r = f["q_block_size"]!.integers()![0], c = f["kv_block_size"]!.integers()![0]
            let (qb, kb) = (f["kv_num_blocks"]!.shape[2], f["kv_indices"]!.shape[3])
            for b in 0..<batch {
                for h in 0..<heads {
                    for row in 0..<qb {
                        let n = num[(b * heads + h) * qb + row]
                        for e in 0..<n {
                            let col = idx[((b * heads + h) * qb + row) * kb + e]
                            allow(b, h, row * r..<(row + 1) * r, col * c..<(col + 1) * c)
                        }
                    }
                }
            }
        } else if let ptr = f["bsr_indptr"]?.integers(), let ind = f["bsr_indices"]?.integers() {
            let size = f["bsr_block_size"]!.integers()!
            for b in 0..<batch {
                for h in 0..<heads {
                    for row in 0..<(ptr.count - 1) {
                        for col in ind[ptr[row]..<ptr[row + 1]] {
                            allow(b, h, row * size[0]..<(row + 1) * size[0], col * size[1]..<(col + 1) * size[1])
                        }
                    }
                }
            }
        }
        return mask
    }

    @Test(arguments: GoldenSuite.sparse.cases)
    func layoutsMeanTheirMaskAndTheGoldensFollowIt(_ spec: GoldenCaseSpec) throws {
        let c = try GoldenCase(spec: spec, dtype: .bf16)
        let f = c.file
        let (b, h, sq, sk) = (spec.batch, spec.heads, spec.seqQ, spec.seqK)
        let mask = Self.rebuilt(f, batch: b, heads: h, sq: sq, sk: sk)
        let stored = f["mask"]!
        let storedFull = try BroadcastMask(
            Tensor(shape: stored.shape, data: stored.doubles().map { $0 != 0 }), batch: b, heads: h, queries: sq,
            keys: sk)
        var expanded = [Bool](repeating: false, count: mask.count)
        for bb in 0..<b {
            for hh in 0..<h {
                for i in 0..<sq {
                    let o = storedFull.rowOffset(batch: bb, head: hh, query: i)
                    for j in 0..<sk { expanded[((bb * h + hh) * sq + i) * sk + j] = storedFull.tensor.data[o + j] }
                }
            }
        }
        #expect(expanded == mask)
        #expect(mask.contains(true) && mask.contains(false))
        let x = try AttentionInputs(q: f["q"]!.tensor(), k: f["k"]!.tensor(), v: f["v"]!.tensor())
        var oracle = NaiveOracle.Case(
            b: b, hq: h, hkv: spec.kvHeadCount, sq: sq, sk: sk, d: spec.headDim, dv: spec.valueDimension,
            causal: CausalMode(rawValue: spec.causal ?? "none")!)
        oracle.boolMask = mask
        let (out, lse) = NaiveOracle.attention(oracle, x)
        #expect(zip(f["out"]!.doubles(), out).allSatisfy { abs($0 - $1) <= 1e-12 * max(1, abs($1)) })
        #expect(zip(f["lse"]!.doubles(), lse).allSatisfy { $0 == $1 || abs($0 - $1) <= 1e-12 * max(1, abs($1)) })
        if spec.sparse != nil { #expect(lse.contains(-.infinity)) }  // the empty block row
    }

    @Test func misusedSparseKeysAreRefused() {
        for bad in [
            GoldenCaseSpec(name: "x", seqQ: 4, seqK: 10, headDim: 8, documents: [3, 3]),
            GoldenCaseSpec(name: "x", seqQ: 4, seqK: 10, headDim: 8, sparse: "csr", blockSize: [2, 2]),
            GoldenCaseSpec(name: "x", seqQ: 4, seqK: 10, headDim: 8, sparse: "bsr"),
            GoldenCaseSpec(
                name: "x", seqQ: 4, seqK: 10, headDim: 8, documents: [10], sparse: "bsr", blockSize: [2, 2]),
            GoldenCaseSpec(
                name: "x", seqQ: 4, seqK: 10, headDim: 8, sparse: "flex", blockSize: [2, 2], blockDensity: 2),
            GoldenCaseSpec(
                name: "x", heads: 64, seqQ: 4096, seqK: 4096, headDim: 8, sparse: "flex", blockSize: [128, 128]),
        ] {
            #expect(throws: ReferenceError.self) { try bad.validate() }
        }
    }
}
