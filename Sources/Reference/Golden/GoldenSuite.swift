/// The built-in golden suites. Shapes follow what FlashAttention, PyTorch and FlashInfer sweep
/// (docs/reference-semantics.md): odd head dims, Sq > Sk, decode, GQA/MQA, windows, softcap, empty rows, extreme logits,
/// and tree splits in {1, 2, 3, 5, 17, 32, 55, 97, 133}. Sizes stay small so a suite is a few MB per dtype.
public enum GoldenSuite: String, CaseIterable, Sendable {
    case standard, decode, edge, tree

    public var cases: [GoldenCaseSpec] {
        switch self {
        case .standard: return GoldenSuite.standardCases
        case .decode: return GoldenSuite.decodeCases
        case .edge: return GoldenSuite.edgeCases
        case .tree: return GoldenSuite.treeCases
        }
    }

    static let standardCases: [GoldenCaseSpec] = [
        .init(name: "d32-sq3-sk799-mqa", heads: 3, kvHeads: 1, seqQ: 3, seqK: 799, headDim: 32, causal: "bottom-right", seed: 101),
        .init(name: "d40-sq1-sk239-gqa-hkv3", heads: 6, kvHeads: 3, seqQ: 1, seqK: 239, headDim: 40, seed: 102),
        .init(name: "d59-sq113-sk203-gqa", heads: 2, kvHeads: 1, seqQ: 113, seqK: 203, headDim: 59, seed: 103),
        .init(name: "d64-sq127-sk513-causal", heads: 1, seqQ: 127, seqK: 513, headDim: 64, causal: "bottom-right", seed: 104),
        .init(name: "d32-sq1023-sk1024-causal", heads: 1, seqQ: 1023, seqK: 1024, headDim: 32, causal: "bottom-right", seed: 105),
        .init(name: "d80-sq239-sk1", heads: 1, seqQ: 239, seqK: 1, headDim: 80, seed: 106),
        .init(name: "d96-sq1-sk1", heads: 2, seqQ: 1, seqK: 1, headDim: 96, seed: 107),
        .init(name: "d111-sq3-sk203-mqa", heads: 2, kvHeads: 1, seqQ: 3, seqK: 203, headDim: 111, seed: 108),
        .init(name: "d128-sq1-sk239-mqa", heads: 2, kvHeads: 1, seqQ: 1, seqK: 239, headDim: 128, seed: 109),
        .init(name: "d160-sq1-sk113-mqa", heads: 2, kvHeads: 1, seqQ: 1, seqK: 113, headDim: 160, seed: 110),
        .init(name: "d192-sq3-sk64-topleft", heads: 1, seqQ: 3, seqK: 64, headDim: 192, causal: "top-left", seed: 111),
        .init(name: "d224-sq1-sk127-mqa", heads: 2, kvHeads: 1, seqQ: 1, seqK: 127, headDim: 224, seed: 112),
        .init(name: "d256-sq3-sk64-dv128", heads: 2, seqQ: 3, seqK: 64, headDim: 256, valueDim: 128, seed: 113),
    ]

    static let decodeCases: [GoldenCaseSpec] = [
        .init(name: "decode-sk1", batch: 2, heads: 8, kvHeads: 1, seqQ: 1, seqK: 1, headDim: 128, seed: 201),
        .init(name: "decode-sk4096-mqa", heads: 8, kvHeads: 1, seqQ: 1, seqK: 4096, headDim: 128, seed: 202),
        .init(name: "decode-sk2048-gqa", heads: 8, kvHeads: 2, seqQ: 1, seqK: 2048, headDim: 64, seed: 203),
        .init(name: "decode-cache-seqlens", batch: 3, heads: 4, kvHeads: 2, seqQ: 1, seqK: 1000, headDim: 64,
              cacheSeqlens: [1000, 17, 0], seed: 204),
        .init(name: "decode-softcap", heads: 4, seqQ: 1, seqK: 1500, headDim: 64, softcap: 30, std: 3, seed: 205),
        .init(name: "decode-window", heads: 4, seqQ: 1, seqK: 1200, headDim: 64, window: [255, 0], seed: 206),
        .init(name: "decode-speculative-sq4", batch: 2, heads: 4, kvHeads: 1, seqQ: 4, seqK: 777, headDim: 96,
              causal: "bottom-right", cacheSeqlens: [777, 400], seed: 207),
    ]

    static let edgeCases: [GoldenCaseSpec] = [
        .init(name: "odd-d59-dv111", heads: 2, seqQ: 17, seqK: 33, headDim: 59, valueDim: 111, seed: 301),
        .init(name: "sq-gt-sk-bottom-right-empty-rows", heads: 2, seqQ: 40, seqK: 9, headDim: 64, causal: "bottom-right", seed: 302),
        .init(name: "extreme-logits", heads: 2, seqQ: 8, seqK: 300, headDim: 64, std: 6, seed: 303),
        .init(name: "window-8-8", heads: 2, seqQ: 64, seqK: 64, headDim: 32, window: [8, 8], seed: 304),
        .init(name: "window-causal-16", heads: 2, seqQ: 50, seqK: 80, headDim: 32, window: [16, 0], seed: 305),
        .init(name: "softcap-50", heads: 2, seqQ: 16, seqK: 200, headDim: 64, softcap: 50, std: 4, seed: 306),
        .init(name: "alibi-8-heads", heads: 8, kvHeads: 2, seqQ: 12, seqK: 100, headDim: 32, causal: "bottom-right", alibi: true, seed: 307),
        .init(name: "empty-cache", batch: 2, heads: 2, seqQ: 3, seqK: 50, headDim: 32, cacheSeqlens: [0, 50], seed: 308),
        .init(name: "sk1", heads: 2, seqQ: 5, seqK: 1, headDim: 32, seed: 309),
        .init(name: "tiny-scale", heads: 2, seqQ: 4, seqK: 64, headDim: 32, scale: 1e-3, seed: 310),
        .init(name: "large-scale", heads: 2, seqQ: 4, seqK: 64, headDim: 32, scale: 2, seed: 311),
    ]

    static let treeCases: [GoldenCaseSpec] = [
        .init(name: "tree-decode-sk1000", heads: 4, kvHeads: 2, seqQ: 1, seqK: 1000, headDim: 64,
              seed: 401, splits: [1, 2, 3, 5, 17, 32, 55, 97, 133]),
        .init(name: "tree-decode-sk100-more-splits-than-keys", heads: 2, seqQ: 1, seqK: 100, headDim: 32,
              seed: 402, splits: [97, 133]),
        .init(name: "tree-prefill-causal", heads: 2, seqQ: 6, seqK: 250, headDim: 32, causal: "bottom-right",
              seed: 403, splits: [2, 5, 17]),
    ]
}
