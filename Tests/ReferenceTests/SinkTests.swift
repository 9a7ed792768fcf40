import Foundation
import Testing
import TreeCore

@testable import Reference

/// Issue 25, parts 1 and 5: gpt-oss's learnable sinks, StreamingLLM's sink tokens and the backward with an upstream
/// gradient of the LSE, each against the test oracle's plain loops (`NaiveOracle`, written from the spec) and against
/// finite differences of the forward.
@Suite struct SinkTests {
    /// Sinks with every option they are combined with in the kernels: GQA, causal, windows (gpt-oss's 128-key band
    /// scaled down), cache lengths with an empty row, softcap; sinks large enough to dominate and small enough to vanish.
    static let sinkCases: [NaiveOracle.Case] = [
        NaiveOracle.Case(b: 2, hq: 4, hkv: 2, sq: 3, sk: 13, d: 6, dv: 5, sinks: [0.5, -1, 3, -20]),
        NaiveOracle.Case(
            b: 2, hq: 4, hkv: 1, sq: 5, sk: 21, d: 8, dv: 8, causal: .bottomRight, window: (6, 0), seqlens: [21, 0],
            sinks: [2, 0, -3, 8]),
        NaiveOracle.Case(hq: 2, hkv: 2, sq: 7, sk: 7, d: 4, dv: 3, causal: .topLeft, softcap: 5, sinks: [1.25, -0.5]),
        NaiveOracle.Case(hq: 2, hkv: 1, sq: 1, sk: 300, d: 16, dv: 16, std: 2, sinks: [40, -40]),
    ]

    @Test(arguments: sinkCases.indices)
    func forwardMatchesTheOracle(_ n: Int) throws {
        let c = Self.sinkCases[n]
        let x = c.inputs()
        let (o, l) = NaiveOracle.attention(c, x)
        // The sink is in every row's LSE: a row with no key has output 0 and LSE = its sink.
        if c.seqlens?.contains(0) == true { #expect(l.contains(c.sinks![0])) }
        for blocking in kernelVariants {
            let r = try ExactAttention.forward(x, options: c.options, blocking: blocking)
            #expect(relativeError(r.output.data, o) < 1e-12, "\(blocking)")
            #expect(relativeError(r.lse.data, l) < 1e-12, "\(blocking) lse")
            let x32 = try AttentionInputs(q: x.q.map(Float.init), k: x.k.map(Float.init), v: x.v.map(Float.init))
            let r32 = try ExactAttention.forward(x32, options: c.options, blocking: blocking)
            #expect(relativeError(r32.output.data.map(Double.init), o) < 1e-5, "\(blocking) f32")
        }
        let energy = try AttentionEnergy(inputs: x, options: c.options).partial()
        #expect(relativeError(energy.output.data, o) < 1e-13)
        #expect(relativeError(energy.lse.data, l) < 1e-13)
        // Without the sink the same problem differs (the test can fail), and merging the sink once restores it.
        var plain = c
        plain.sinks = nil
        let without = try ExactAttention.forward(x, options: plain.options)
        #expect(relativeError(without.output.data, o) > 1e-6)
        let merged = try AttentionSinks.apply(c.sinks, to: without)
        #expect(relativeError(merged.output.data, o) < 1e-13 && relativeError(merged.lse.data, l) < 1e-13)
    }

    /// The sink enters a tree, Algorithm 3 or a ring exactly once, for every plan and p (p = 17 > 13 keys gives shards
    /// with no keys), and shard partials and tree levels leave it out.
    @Test(arguments: ReductionTests.shardCounts)
    func shardedSinksCountOnce(_ p: Int) throws {
        let c = NaiveOracle.Case(
            b: 2, hq: 4, hkv: 2, sq: 3, sk: 13, d: 6, dv: 5, causal: .bottomRight, seqlens: [13, 9],
            sinks: [0.5, -1, 2, 1])
        let x = c.inputs()
        let (o, l) = NaiveOracle.attention(c, x)
        let layout = try ShardLayout(keys: c.sk, shards: p)
        for reduction in [.exact] + ReductionTests.reductions {
            let r = try ShardedAttention.forward(x, options: c.options, layout: layout, reduction: reduction)
            #expect(relativeError(r.result.output.data, o) < 1e-12, "\(reduction) p=\(p)")
            #expect(relativeError(r.result.lse.data, l) < 1e-12, "\(reduction) p=\(p) lse")
            for (range, part) in zip(layout.ranges, r.shardPartials) {
                let (so, sl) = NaiveOracle.attention(c, x, keys: range)
                #expect(relativeError(part.output.data, so) < 1e-12 && relativeError(part.lse.data, sl) < 1e-12)
            }
            if let root = r.tree?.result {
                let (no, nl) = NaiveOracle.attention(c, x, keys: 0..<c.sk)  // all keys, no sink
                #expect(relativeError(root.output.data, no) < 1e-12 && relativeError(root.lse.data, nl) < 1e-12)
            }
        }
        for owner in 0..<p {
            let ring = try RingAttention.forward(x, options: c.options, layout: layout, owner: owner)
            #expect(relativeError(ring.output.data, o) < 1e-12 && relativeError(ring.lse.data, l) < 1e-12)
        }
    }

    /// StreamingLLM: the first k keys stay visible beside a sliding window, with causality, cache lengths, a right
    /// window bound that stops before them, and sinks on top.
    static let sinkTokenCases: [NaiveOracle.Case] = [
        NaiveOracle.Case(
            b: 2, hq: 2, hkv: 1, sq: 9, sk: 40, d: 6, dv: 4, causal: .bottomRight, window: (5, 0), seqlens: [40, 12],
            sinkTokens: 4),
        NaiveOracle.Case(hq: 2, hkv: 2, sq: 30, sk: 30, d: 4, dv: 4, causal: .topLeft, window: (3, 0), sinkTokens: 2),
        NaiveOracle.Case(hq: 2, hkv: 2, sq: 12, sk: 20, d: 4, dv: 4, window: (2, 1), sinks: [1, -2], sinkTokens: 6),
        NaiveOracle.Case(hq: 2, hkv: 2, sq: 4, sk: 10, d: 4, dv: 4, window: (0, 0), sinkTokens: 50),
    ]

    @Test(arguments: sinkTokenCases.indices)
    func sinkTokensMatchTheOracle(_ n: Int) throws {
        let c = Self.sinkTokenCases[n]
        let x = c.inputs()
        let (o, l) = NaiveOracle.attention(c, x)
        for blocking in kernelVariants {
            let r = try ExactAttention.forward(x, options: c.options, blocking: blocking)
            #expect(relativeError(r.output.data, o) < 1e-12, "\(blocking)")
            #expect(relativeError(r.lse.data, l) < 1e-12, "\(blocking) lse")
        }
        let energy = try AttentionEnergy(inputs: x, options: c.options).partial()
        #expect(relativeError(energy.output.data, o) < 1e-13 && relativeError(energy.lse.data, l) < 1e-13)
        var windowOnly = c
        windowOnly.sinkTokens = nil
        #expect(relativeError(NaiveOracle.attention(windowOnly, x).0, o) > 1e-6)  // the tokens change the answer
        let dO = NaiveOracle.upstream(c)
        let want = NaiveOracle.gradients(c, x, dO: dO.data, dlse: nil)
        let got = try AttentionBackward.gradients(x, dO: dO, options: c.options).gradients
        #expect(relativeError(got.dq.data, want.dq) < 1e-12)
        #expect(relativeError(got.dk.data, want.dk) < 1e-12)
        #expect(relativeError(got.dv.data, want.dv) < 1e-12)
    }

    static func upstreamLSE(_ c: NaiveOracle.Case) -> Tensor<Double> {
        var g = SeededGenerator(seed: 99)
        return try! Tensor(shape: [c.b, c.hq, c.sq], data: g.normals(c.b * c.hq * c.sq))
    }

    /// dQ, dK, dV and the sinks' gradient with and without an upstream dlse: the kernel (every tiling), the energy
    /// formulation and the sharded backward (every plan) against the oracle's loops.
    @Test(arguments: sinkCases.indices)
    func backwardWithSinksAndDlseMatchesTheOracle(_ n: Int) throws {
        var c = Self.sinkCases[n]
        for withSinks in [true, false] {
            if !withSinks { c.sinks = nil }
            let x = c.inputs()
            let dO = NaiveOracle.upstream(c)
            for dlse in [nil, Self.upstreamLSE(c)] {
                let want = NaiveOracle.gradients(c, x, dO: dO.data, dlse: dlse?.data)
                for blocking in kernelVariants {
                    let got = try AttentionBackward.gradients(
                        x, dO: dO, options: c.options, dlse: dlse, blocking: blocking
                    ).gradients
                    #expect(relativeError(got.dq.data, want.dq) < 1e-11, "\(blocking) dq")
                    #expect(relativeError(got.dk.data, want.dk) < 1e-11, "\(blocking) dk")
                    #expect(relativeError(got.dv.data, want.dv) < 1e-11, "\(blocking) dv")
                    #expect(relativeError(got.dsinks?.data ?? [], want.dsinks) < 1e-11, "\(blocking) dsinks")
                }
                let energy = try AttentionEnergy(inputs: x, options: c.options).lossGradients(dO: dO, dlse: dlse)
                #expect(relativeError(energy.dq.data, want.dq) < 1e-13)
                #expect(relativeError(energy.dk.data, want.dk) < 1e-13)
                #expect(relativeError(energy.dsinks?.data ?? [], want.dsinks) < 1e-13)
                for p in [1, 3, 17, 400] {
                    let layout = try ShardLayout(keys: c.sk, shards: p)
                    for reduction in [.exact] + ReductionTests.reductions {
                        let r = try ShardedBackward.backward(
                            x, dO: dO, options: c.options, layout: layout, reduction: reduction, dlse: dlse)
                        #expect(relativeError(r.gradients.dq.data, want.dq) < 1e-11, "\(reduction) p=\(p)")
                        #expect(relativeError(r.gradients.dk.data, want.dk) < 1e-11, "\(reduction) p=\(p)")
                        #expect(relativeError(r.gradients.dsinks?.data ?? [], want.dsinks) < 1e-11)
                        #expect(r.shards.allSatisfy { $0.dsinks == nil })
                    }
                }
            }
        }
    }

    /// L = sum dO . O + sum dlse . LSE through the f64 forward, by central differences: its derivative along each
    /// sink, and along a random direction of Q, K and V, equals the backward's.
    @Test(arguments: [0, 1, 2])
    func finiteDifferencesAgreeWithTheSinkAndDlseGradients(_ n: Int) throws {
        let c = Self.sinkCases[n]
        let x = c.inputs()
        let dO = NaiveOracle.upstream(c)
        let dlse = Self.upstreamLSE(c)
        func loss(_ y: AttentionInputs<Double>, sinks: [Double]) throws -> Double {
            var options = c.options
            options.sinks = sinks
            let r = try AttentionEnergy(inputs: y, options: options).partial()
            var acc = CompensatedSum()
            for (a, b) in zip(r.output.data, dO.data) { acc.add(a * b) }
            for (a, b) in zip(r.lse.data, dlse.data) where a.isFinite { acc.add(a * b) }
            return acc.value
        }
        let g = try AttentionBackward.gradients(x, dO: dO, options: c.options, dlse: dlse).gradients
        let h = 1e-5
        for head in 0..<c.hq {
            var up = c.sinks!, down = c.sinks!
            up[head] += h
            down[head] -= h
            let fd = (try loss(x, sinks: up) - loss(x, sinks: down)) / (2 * h)
            #expect(
                abs(fd - g.dsinks!.data[head]) < 1e-7 * max(1, abs(fd)),
                "head \(head): \(fd) vs \(g.dsinks!.data[head])")
        }
        var rng = SeededGenerator(seed: 5)
        let (eq, ek, ev) = (rng.normals(x.q.count), rng.normals(x.k.count), rng.normals(x.v.count))
        func moved(_ e: Double) throws -> AttentionInputs<Double> {
            try AttentionInputs(
                q: Tensor(shape: x.q.shape, data: zip(x.q.data, eq).map { $0 + e * $1 }),
                k: Tensor(shape: x.k.shape, data: zip(x.k.data, ek).map { $0 + e * $1 }),
                v: Tensor(shape: x.v.shape, data: zip(x.v.data, ev).map { $0 + e * $1 }))
        }
        let fd = (try loss(moved(h), sinks: c.sinks!) - loss(moved(-h), sinks: c.sinks!)) / (2 * h)
        var analytic = CompensatedSum()
        for (a, b) in zip(g.dq.data, eq) { analytic.add(a * b) }
        for (a, b) in zip(g.dk.data, ek) { analytic.add(a * b) }
        for (a, b) in zip(g.dv.data, ev) { analytic.add(a * b) }
        #expect(abs(fd - analytic.value) < 1e-6 * max(1, abs(fd)), "\(fd) vs \(analytic.value)")
    }

    @Test func badSinksAreOneLineErrors() throws {
        let c = NaiveOracle.Case(hq: 2, hkv: 1)
        let x = c.inputs()
        for (options, text) in [
            (AttentionOptions(sinks: [1, 2, 3]), "sinks need one logit per query head (2), got 3"),
            (AttentionOptions(sinks: [1, .nan]), "sinks must be finite"),
            (AttentionOptions(sinks: [.infinity, 0]), "sinks must be finite"),
            (AttentionOptions(sinkTokens: -1), "sink tokens must be >= 0"),
        ] {
            let error = #expect(throws: ReferenceError.self) { _ = try ExactAttention.forward(x, options: options) }
            #expect(error.map { "\($0)".contains(text) } == true, "\(String(describing: error))")
        }
        let dlse = Tensor<Double>(shape: [1, 2, 2], repeating: 0)
        #expect(throws: ReferenceError.self) {
            _ = try AttentionBackward.gradients(x, dO: NaiveOracle.upstream(c), dlse: dlse)
        }
    }
}
