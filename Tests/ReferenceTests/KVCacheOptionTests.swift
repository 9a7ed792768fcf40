import Foundation
import Testing
import TreeCore

@testable import Reference

/// Issue 25, part 4's score options: flash_attn_with_kvcache's `cache_leftpad` and Llama 4's chunked local attention
/// (`attention_chunk`), against the test oracle's loops (written from FlashAttention's reference masks), in every
/// kernel tiling, the energy formulation and the backward.
@Suite struct KVCacheOptionTests {
    static let cases: [NaiveOracle.Case] = [
        NaiveOracle.Case(
            b: 3, hq: 2, hkv: 1, sq: 3, sk: 20, d: 6, dv: 5, causal: .bottomRight, seqlens: [20, 9, 4],
            leftpad: [0, 5, 4]),
        NaiveOracle.Case(b: 2, hq: 2, hkv: 2, sq: 6, sk: 12, d: 4, dv: 4, causal: .topLeft, leftpad: [3, 0]),
        NaiveOracle.Case(
            b: 2, hq: 2, hkv: 1, sq: 5, sk: 30, d: 4, dv: 3, causal: .bottomRight, window: (6, 0), seqlens: [30, 17],
            leftpad: [2, 11]),
        NaiveOracle.Case(b: 1, hq: 2, hkv: 2, sq: 16, sk: 16, d: 4, dv: 4, causal: .bottomRight, chunk: 5),
        NaiveOracle.Case(
            b: 2, hq: 2, hkv: 1, sq: 3, sk: 40, d: 4, dv: 4, seqlens: [40, 23], leftpad: [7, 3], chunk: 8),
        NaiveOracle.Case(b: 1, hq: 2, hkv: 2, sq: 9, sk: 4, d: 4, dv: 4, causal: .bottomRight, chunk: 3),
    ]

    @Test(arguments: cases.indices)
    func leftPaddingAndChunksMatchTheOracle(_ n: Int) throws {
        let c = Self.cases[n]
        let x = c.inputs()
        let (o, l) = NaiveOracle.attention(c, x)
        for blocking in kernelVariants {
            let r = try ExactAttention.forward(x, options: c.options, blocking: blocking)
            #expect(relativeError(r.output.data, o) < 1e-12, "\(blocking)")
            #expect(relativeError(r.lse.data, l) < 1e-12, "\(blocking) lse")
        }
        let energy = try AttentionEnergy(inputs: x, options: c.options).partial()
        #expect(relativeError(energy.output.data, o) < 1e-13 && relativeError(energy.lse.data, l) < 1e-13)
        let dO = NaiveOracle.upstream(c)
        let want = NaiveOracle.gradients(c, x, dO: dO.data, dlse: nil)
        let got = try AttentionBackward.gradients(x, dO: dO, options: c.options).gradients
        #expect(relativeError(got.dq.data, want.dq) < 1e-12 && relativeError(got.dk.data, want.dk) < 1e-12)
        #expect(relativeError(got.dv.data, want.dv) < 1e-12)
        // The option changes the answer (the test can fail).
        var plain = c
        (plain.leftpad, plain.chunk) = (nil, nil)
        #expect(relativeError(NaiveOracle.attention(plain, x).0, o) > 1e-6)
        // Tree-parallel: each shard's partial keeps the rule.
        let layout = try ShardLayout(keys: c.sk, shards: 4)
        let sharded = try ShardedAttention.forward(x, options: c.options, layout: layout, reduction: .tree(.binary))
        #expect(relativeError(sharded.result.output.data, o) < 1e-12)
    }

    @Test func badOptionsAreOneLineErrors() throws {
        let x = NaiveOracle.Case(b: 2).inputs()
        for (options, text) in [
            (AttentionOptions(cacheSeqlens: [7, 3]).with { $0.cacheLeftpad = [0, 4] }, "outside 0...3"),
            (AttentionOptions().with { $0.cacheLeftpad = [1] }, "one entry per batch row (2)"),
            (AttentionOptions().with { $0.cacheLeftpad = [-1, 0] }, "cache_leftpad entry -1"),
            (AttentionOptions().with { $0.attentionChunk = 0 }, "attention chunk must be >= 1"),
            (AttentionOptions(sinkTokens: 2).with { $0.cacheLeftpad = [0, 0] }, "not supported"),
        ] {
            let error = #expect(throws: ReferenceError.self) { _ = try ExactAttention.forward(x, options: options) }
            #expect(error.map { "\($0)".contains(text) } == true, "\(String(describing: error))")
        }
    }
}

extension AttentionOptions {
    /// A copy changed by `change` (test shorthand).
    fileprivate func with(_ change: (inout AttentionOptions) -> Void) -> AttentionOptions {
        var copy = self
        change(&copy)
        return copy
    }
}
