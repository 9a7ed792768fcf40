import Foundation
import Testing

@testable import Reference

/// Blockings of the backward: default tiles, tiny tiles (several row and key blocks per chunk, several key chunks
/// whose dQ shares are summed), the baseline instruction set, and ragged blocks (causal diagonal, window edges) cut
/// into 2-row bands (`BlockPieces`).
let backwardVariants: [KernelBlocking] = [
    KernelBlocking(), KernelBlocking(queryRows: 2, keys: 3, splitKeys: 4),
    KernelBlocking(queryRows: 3, keys: 2, splitKeys: 5, isa: .baseline),
    KernelBlocking(queryRows: 6, keys: 5, splitKeys: 11, band: 2),
]

@Suite struct BackwardTests {
    /// The kernel's f64 gradients against the plain-loop oracle, every option, every blocking.
    @Test(arguments: optionCases)
    func f64MatchesOracle(_ named: (String, NaiveOracle.Case)) throws {
        let c = named.1, x = c.inputs(), dO = NaiveOracle.upstream(c)
        let (dq, dk, dv) = NaiveOracle.gradients(c, x, dO: dO.data)
        for blocking in backwardVariants {
            let g = try AttentionBackward.gradients(x, dO: dO, options: c.options, blocking: blocking).gradients
            #expect(relativeError(g.dq.data, dq) < 1e-12, "\(named.0) dq \(blocking)")
            #expect(relativeError(g.dk.data, dk) < 1e-12, "\(named.0) dk \(blocking)")
            #expect(relativeError(g.dv.data, dv) < 1e-12, "\(named.0) dv \(blocking)")
        }
    }

    /// Full-size row blocks whose diagonal and window-edge blocks run as 64- and 48-row bands, against the oracle.
    @Test(arguments: [CausalMode.topLeft, .bottomRight, .none])
    func raggedBlocksOfFullSizeTilesMatchOracle(_ causal: CausalMode) throws {
        let c = NaiveOracle.Case(
            hq: 2, hkv: 1, sq: 300, sk: causal == .bottomRight ? 420 : 300, d: 16, dv: 9,
            causal: causal, window: causal == .none ? (150, 40) : nil, softcap: causal == .none ? 4 : nil)
        let x = c.inputs(), dO = NaiveOracle.upstream(c)
        let (dq, dk, dv) = NaiveOracle.gradients(c, x, dO: dO.data)
        for blocking in [KernelBlocking.default, KernelBlocking(queryRows: 200, keys: 128, band: 48)] {
            let g = try AttentionBackward.gradients(x, dO: dO, options: c.options, blocking: blocking).gradients
            #expect(relativeError(g.dq.data, dq) < 1e-12, "\(causal) dq \(blocking)")
            #expect(relativeError(g.dk.data, dk) < 1e-12, "\(causal) dk \(blocking)")
            #expect(relativeError(g.dv.data, dv) < 1e-12, "\(causal) dv \(blocking)")
        }
    }

    /// f32 runs natively (f32 gemm, exp and sums) and stays within f32 rounding of the f64 oracle.
    @Test(arguments: optionCases)
    func f32MatchesOracle(_ named: (String, NaiveOracle.Case)) throws {
        let c = named.1, x = c.inputs(), dO = NaiveOracle.upstream(c)
        let (dq, dk, dv) = NaiveOracle.gradients(c, x, dO: dO.data)
        let x32 = try AttentionInputs(q: x.q.map(Float.init), k: x.k.map(Float.init), v: x.v.map(Float.init))
        for blocking in backwardVariants {
            let g = try AttentionBackward.gradients(x32, dO: dO.map(Float.init), options: c.options, blocking: blocking)
                .gradients
            // Extreme logits (std 6) amplify f32's rounding of the scores through exp; the rest sit near 1e-6.
            let tol = c.std > 1 ? 2e-4 : 2e-5
            #expect(relativeError(g.dq.data.map(Double.init), dq) < tol, "\(named.0) dq")
            #expect(relativeError(g.dk.data.map(Double.init), dk) < tol, "\(named.0) dk")
            #expect(relativeError(g.dv.data.map(Double.init), dv) < tol, "\(named.0) dv")
        }
    }

    /// The energy formulation (Hessian-vector products of F in plain compensated loops) agrees with the kernel.
    @Test(arguments: optionCases)
    func energyFormulationAgrees(_ named: (String, NaiveOracle.Case)) throws {
        let c = named.1, x = c.inputs(), dO = NaiveOracle.upstream(c)
        let e = try AttentionEnergy(inputs: x, options: c.options).lossGradients(dO: dO)
        let g = try AttentionBackward.gradients(x, dO: dO, options: c.options).gradients
        #expect(relativeError(g.dq.data, e.dq.data) < 1e-12, "\(named.0) dq")
        #expect(relativeError(g.dk.data, e.dk.data) < 1e-12, "\(named.0) dk")
        #expect(relativeError(g.dv.data, e.dv.data) < 1e-12, "\(named.0) dv")
    }

    /// Central finite differences of the f64 forward's L = sum dO . O, element by element of Q, K and V.
    @Test(arguments: [0, 1, 2, 3])
    func finiteDifferences(_ which: Int) throws {
        let additiveBiases: [Double] = (0..<36).map { (n: Int) -> Double in
            n % 5 == 0 ? -Double.infinity : Double(n % 7) * 0.3 - 1
        }
        let cases: [NaiveOracle.Case] = [
            .init(
                hq: 4, hkv: 2, sq: 3, sk: 6, d: 4, dv: 3, causal: .bottomRight, softcap: 1.5,
                alibi: [0.1, 0.2, 0.3, 0.4]),
            .init(b: 2, sq: 4, sk: 5, d: 3, dv: 5, scale: 0.6, window: (2, 0), seqlens: [5, 3]),
            .init(sq: 3, sk: 6, d: 4, dv: 4, additive: additiveBiases),
            .init(sq: 5, sk: 3, d: 2, dv: 2, causal: .bottomRight),  // rows that see no key
        ]
        let c = cases[which], x = c.inputs(), dO = NaiveOracle.upstream(c)
        let g = try AttentionBackward.gradients(x, dO: dO, options: c.options).gradients
        func loss(_ y: AttentionInputs<Double>) throws -> Double {
            let o = try ExactAttention.forward(y, options: c.options).output.data
            return NaiveOracle.sum(zip(o, dO.data).map(*))
        }
        let h = 1e-5
        for (name, analytic) in [("q", g.dq.data), ("k", g.dk.data), ("v", g.dv.data)] {
            for e in analytic.indices {
                func moved(_ step: Double) throws -> AttentionInputs<Double> {
                    var (q, k, v) = (x.q, x.k, x.v)
                    switch name {
                    case "q": q.data[e] += step
                    case "k": k.data[e] += step
                    default: v.data[e] += step
                    }
                    return try AttentionInputs(q: q, k: k, v: v)
                }
                let numeric = (try loss(moved(h)) - loss(moved(-h))) / (2 * h)
                #expect(abs(numeric - analytic[e]) < 1e-8 * max(1, abs(analytic[e])), "case \(which) d\(name)[\(e)]")
            }
        }
    }

    /// NaN and Inf planted in masked keys' K and V rows never reach any gradient; masked keys get exactly zero.
    @Test func maskedNonFiniteKeysNeverLeak() throws {
        var g = SeededGenerator(seed: 5)
        var c = NaiveOracle.Case(b: 2, hq: 4, hkv: 2, sq: 5, sk: 12, d: 4, dv: 6, seqlens: [9, 12])
        c.boolMask = (0..<(2 * 4 * 5 * 12)).map { n in n % 12 != 4 && g.uniform() < 0.8 }
        let clean = c.inputs(), dO = NaiveOracle.upstream(c)
        var k = clean.k, v = clean.v
        for b in 0..<2 {
            for h in 0..<2 {
                // Key 4 is masked for every query; keys 9..<12 lie beyond batch 0's cache length.
                for e in 0..<4 { k[b, h, 4, e] = e % 2 == 0 ? .nan : .infinity }
                for e in 0..<6 { v[b, h, 4, e] = -.infinity }
                if b == 0 {
                    for j in 9..<12 {
                        k[b, h, j, 0] = .nan
                        v[b, h, j, 1] = .infinity
                    }
                }
            }
        }
        let dirty = try AttentionInputs(q: clean.q, k: k, v: v)
        let (dq, dk, dv) = NaiveOracle.gradients(c, clean, dO: dO.data)
        for blocking in backwardVariants {
            let r = try AttentionBackward.gradients(dirty, dO: dO, options: c.options, blocking: blocking).gradients
            #expect(relativeError(r.dq.data, dq) < 1e-12)
            #expect(relativeError(r.dk.data, dk) < 1e-12)
            #expect(relativeError(r.dv.data, dv) < 1e-12)
            for b in 0..<2 {
                for h in 0..<2 {
                    #expect(
                        (0..<4).allSatisfy { r.dk[b, h, 4, $0] == 0 } && (0..<6).allSatisfy { r.dv[b, h, 4, $0] == 0 })
                }
            }
        }
    }

    /// A query row holding NaN propagates to the gradients of what it sees, never to keys it does not see.
    @Test func nonFiniteRowStaysInItsKeys() throws {
        let c = NaiveOracle.Case(sq: 4, sk: 6, d: 3, dv: 3, causal: .topLeft)
        let x = c.inputs()
        var q = x.q
        q[0, 0, 1, 0] = .nan  // row 1 sees keys 0 and 1 only
        let dO = NaiveOracle.upstream(c)
        let r = try AttentionBackward.gradients(
            try AttentionInputs(q: q, k: x.k, v: x.v), dO: dO, options: c.options,
            blocking: KernelBlocking(queryRows: 2, keys: 2, splitKeys: 4)
        ).gradients
        #expect(r.dk[0, 0, 0, 0].isNaN && r.dk[0, 0, 1, 0].isNaN)
        for j in 2..<6 { #expect((0..<3).allSatisfy { r.dk[0, 0, j, $0].isFinite && r.dv[0, 0, j, $0].isFinite }) }
        #expect((0..<3).allSatisfy { r.dq[0, 1, 1, $0].isFinite })  // the other head never sees the NaN row
    }

    /// Rows that see no key get dQ exactly zero and add nothing to dK, dV; an empty key range gives empty dK, dV.
    @Test func emptyRowsAndRanges() throws {
        let c = NaiveOracle.Case(sq: 6, sk: 3, causal: .bottomRight)  // rows 0..2 see no key
        let x = c.inputs(), dO = NaiveOracle.upstream(c)
        let r = try AttentionBackward.gradients(x, dO: dO, options: c.options)
        for h in 0..<2 { for i in 0..<3 { #expect((0..<c.d).allSatisfy { r.gradients.dq[0, h, i, $0] == 0 }) } }
        let empty = try AttentionBackward.gradients(
            x, dO: dO, lse: r.forward.lse,
            delta: AttentionBackward.delta(
                output: r.forward.output, dO: dO), options: c.options, keyRange: 2..<2)
        #expect(empty.dk.shape == [1, 2, 0, c.d] && empty.dq.data.allSatisfy { $0 == 0 })
        #expect(throws: ReferenceError.self) {
            try AttentionBackward.gradients(x, dO: Tensor(shape: [1, 2, 6, 3], repeating: 0))
        }
    }

    /// The tree-parallel backward equals the full backward for every reduction and p, uneven and empty shards
    /// included; each shard's dK and dV are the full gradients' slices, and the dQ shares sum to dQ.
    @Test(arguments: ["binary", "kary:3", "two-level:2", "flat", "algorithm3", "ring"])
    func treeParallelEqualsFull(_ reductionName: String) throws {
        let c = NaiveOracle.Case(
            b: 2, hq: 4, hkv: 2, sq: 5, sk: 11, d: 4, dv: 3, causal: .bottomRight, softcap: 3,
            alibi: [0.1, 0.2, 0.3, 0.4], seqlens: [11, 7])
        let x = c.inputs(), dO = NaiveOracle.upstream(c)
        let full = try AttentionBackward.gradients(x, dO: dO, options: c.options).gradients
        let reduction = try Reduction(parsing: reductionName)
        var layouts = try [1, 2, 3, 5, 8, 11, 16].map { try ShardLayout(keys: 11, shards: $0) }
        layouts.append(try ShardLayout(sizes: [0, 4, 0, 5, 2, 0]))
        for layout in layouts {
            let r = try ShardedBackward.backward(
                x, dO: dO, options: c.options, layout: layout, reduction: reduction,
                blocking: KernelBlocking(queryRows: 3, keys: 2, splitKeys: 3))
            #expect(relativeError(r.gradients.dq.data, full.dq.data) < 1e-13, "\(reductionName) p=\(layout.count) dq")
            #expect(relativeError(r.gradients.dk.data, full.dk.data) < 1e-13, "\(reductionName) p=\(layout.count) dk")
            #expect(relativeError(r.gradients.dv.data, full.dv.data) < 1e-13, "\(reductionName) p=\(layout.count) dv")
            #expect(r.shards.count == layout.count)
            for (range, shard) in zip(layout.ranges, r.shards) {
                #expect(shard.dk.shape[2] == range.count)
                for j in range { #expect(shard.dk[1, 1, j - range.lowerBound, 2] == r.gradients.dk[1, 1, j, 2]) }
            }
            if case .tree = reduction { #expect(r.dqLevels?.last?.first == r.gradients.dq) }
        }
    }

    /// 2^20 keys (a decode over a long cache) in bounded memory: 16 key chunks at most, and the gradients match
    /// the oracle on a sample of keys.
    @Test func millionKeys() throws {
        let c = NaiveOracle.Case(hq: 2, hkv: 1, sq: 1, sk: 1 << 20, d: 2, dv: 2, std: 0.5)
        let x = c.inputs(), dO = NaiveOracle.upstream(c)
        #expect(AttentionBackward.chunking(keys: 1 << 20, blocking: .default).chunks == 16)
        let bytes = try AttentionBackward.estimatedBytes(x)
        #expect(bytes < 3 * x.storageBytes)  // inputs, dK/dV and a few rows: no Sq x Sk, no per-key-block state
        let r = try AttentionBackward.gradients(x, dO: dO).gradients
        // The oracle's formulas over flat arrays (the general oracle's indexing is too slow for 2^20 keys in debug).
        let n = c.sk, scale = 1 / 2.0.squareRoot()
        let k = x.k.data, v = x.v.data
        var dq = [Double](repeating: 0, count: 4), dk = [Double](repeating: 0, count: 2 * n), dv = dk
        for h in 0..<2 {
            let q = Array(x.q.data[2 * h..<2 * h + 2]), o = Array(dO.data[2 * h..<2 * h + 2])
            let s = (0..<n).map { scale * (q[0] * k[2 * $0] + q[1] * k[2 * $0 + 1]) }
            let m = s.max()!
            let lse = m + log(NaiveOracle.sum(s.map { exp($0 - m) }))
            let p = s.map { exp($0 - lse) }
            let dOv = (0..<n).map { o[0] * v[2 * $0] + o[1] * v[2 * $0 + 1] }
            let dRow = NaiveOracle.sum(zip(p, dOv).map(*))
            let ds = (0..<n).map { p[$0] * (dOv[$0] - dRow) }
            for j in 0..<n {
                for e in 0..<2 {
                    dv[2 * j + e] += p[j] * o[e]
                    dk[2 * j + e] += scale * ds[j] * q[e]
                }
            }
            for e in 0..<2 { dq[2 * h + e] = scale * NaiveOracle.sum((0..<n).map { ds[$0] * k[2 * $0 + e] }) }
        }
        #expect(relativeError(r.dq.data, dq) < 1e-12)
        #expect(relativeError(r.dk.data, dk) < 1e-12)
        #expect(relativeError(r.dv.data, dv) < 1e-12)
    }
}
