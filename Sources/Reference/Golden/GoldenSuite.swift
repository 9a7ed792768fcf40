/// The built-in golden suites. Shapes follow what FlashAttention, PyTorch and FlashInfer sweep
/// (docs/reference-semantics.md): odd head dims, Sq > Sk, decode, GQA/MQA, windows, softcap, empty rows, extreme logits,
/// and tree splits in {1, 2, 3, 5, 17, 32, 55, 97, 133}. Sizes stay small so a suite is a few MB per dtype.
public enum GoldenSuite: String, CaseIterable, Sendable {
    /// Head dims from 32 to 256, odd shapes, GQA/MQA, causal alignments, a value dim unlike the head dim.
    case standard
    /// Decoding (1 to 4 queries): long key ranges, cache lengths, softcap, a window, speculative tokens.
    case decode
    /// Odd dims, empty rows, extreme logits, windows, softcap, ALiBi, an empty cache, tiny and large scales.
    case edge
    /// Tree data: shard partials and tree levels for many shard counts.
    case tree
    /// Packed variable-length sequences (FlashAttention's varlen API).
    case varlen
    /// Decoding from a paged KV cache (vLLM, FlashInfer).
    case pagedDecode = "paged-decode"
    /// Prefill appended to a paged KV cache, causal bottom-right.
    case pagedAppend = "paged-append"
    /// FlashInfer's merge_state and merge_states, LSE in base e and base 2.
    case merge
    /// gpt-oss's learnable sinks (with sliding windows, GQA, causal, varlen, paged decode, tree splits, an empty row),
    /// StreamingLLM's sink tokens, and an upstream LSE gradient (dlse) for the backward.
    case sinks
    /// DeepSeek-V3's multi-head latent attention: the absorbed decode form (d_qk 576, d_v 512, one latent head, dense
    /// and paged with pages of 64 and 1) and the naive form (qk_nope 128 + rope 64, v 128, from the latent through
    /// W_UK and W_UV), with the model's softmax scale.
    case mla
    /// Rotary embeddings applied inside attention: GPT-NeoX and GPT-J pairs, partial rotary dims, theta, Llama 3.1's
    /// scaling, positions after cache offsets and left padding (absolute or from the first token), a paged cache
    /// rotated on the fly, Llama 4's chunked local attention.
    case rope
    /// flash_attn_with_kvcache: new tokens appended at cache_seqlens (dense rows and pages of 16 and 1), the updated
    /// caches as goldens, cache_batch_idx, cache_leftpad, rotary embeddings of q and the new keys, chunked local
    /// attention, decoding with no new token, an empty row; FlashAttention 3's varlen seqused_q/seqused_k.
    case kvcache
    /// FlashAttention 3's FP8 forward: q, k, v in float8_e4m3fn or float8_e5m2 with descale factors per tensor or per
    /// (batch, KV head), causal, GQA, a window with softcap, decoding with an empty row, and each format's rounding
    /// edges in q (every code, midpoints, overflow and subnormal thresholds); the test dtype is the output's.
    case fp8
    /// FP8 KV caches as vLLM's and FlashInfer's decode take them: bf16/f16 queries over K and V in float8_e4m3fn or
    /// float8_e5m2 with a K and a V scale (per tensor or per KV head), dense and paged (NHD, HND), decoding with an
    /// empty row, speculative tokens with a causal mask, a windowed chunk.
    case fp8KVCache = "fp8-kvcache"
    /// Dropout with its keep mask as an input (p from 0.1 to 0.9): causal GQA, a window, decoding with an empty row,
    /// ALiBi; forward, and with --backward the gradients.
    case dropout
    /// Document masks (packed documents, flex_attention) and block-sparse layouts (flex_attention's BlockMask per
    /// batch and head, FlashInfer's BSR), each with its dense mask: partial blocks, an empty block row, causal
    /// documents, GQA, decoding.
    case sparse

    /// The suite's cases.
    public var cases: [GoldenCaseSpec] {
        switch self {
        case .standard: return GoldenSuite.standardCases
        case .decode: return GoldenSuite.decodeCases
        case .edge: return GoldenSuite.edgeCases
        case .tree: return GoldenSuite.treeCases
        case .varlen: return GoldenSuite.varlenCases
        case .pagedDecode: return GoldenSuite.pagedDecodeCases
        case .pagedAppend: return GoldenSuite.pagedAppendCases
        case .merge: return GoldenSuite.mergeCases
        case .sinks: return GoldenSuite.sinkCases
        case .mla: return GoldenSuite.mlaCases
        case .rope: return GoldenSuite.ropeCases
        case .kvcache: return GoldenSuite.kvcacheCases
        case .fp8: return GoldenSuite.fp8Cases
        case .fp8KVCache: return GoldenSuite.fp8KVCacheCases
        case .dropout: return GoldenSuite.dropoutCases
        case .sparse: return GoldenSuite.sparseCases
        }
    }

    static let fp8Cases: [GoldenCaseSpec] = [
        .init(
            name: "fp8-e4m3fn-head-causal-gqa", batch: 2, heads: 4, kvHeads: 2, seqQ: 64, seqK: 128, headDim: 64,
            causal: "bottom-right", seed: 1301, fp8: "e4m3fn", descale: "head"),
        .init(
            name: "fp8-e4m3fn-tensor-decode-empty-row", batch: 2, heads: 8, kvHeads: 1, seqQ: 1, seqK: 512,
            headDim: 128, cacheSeqlens: [512, 0], seed: 1302, fp8: "e4m3fn", descale: "tensor"),
        .init(
            name: "fp8-e4m3fn-window-softcap", heads: 2, seqQ: 48, seqK: 80, headDim: 96, causal: "bottom-right",
            window: [16, 0], softcap: 30, std: 2, seed: 1303, fp8: "e4m3fn"),
        .init(
            name: "fp8-e5m2-head-gqa", batch: 1, heads: 4, kvHeads: 1, seqQ: 32, seqK: 96, headDim: 64, seed: 1304,
            fp8: "e5m2"),
        .init(
            name: "fp8-e4m3fn-rounding-edges", heads: 2, seqQ: 16, seqK: 40, headDim: 64, seed: 1305, fp8: "e4m3fn",
            fp8Edges: true),
        .init(
            name: "fp8-e5m2-rounding-edges", heads: 2, seqQ: 16, seqK: 40, headDim: 64, seed: 1306, fp8: "e5m2",
            fp8Edges: true),
    ]

    static let fp8KVCacheCases: [GoldenCaseSpec] = [
        .init(
            name: "kvfp8-e4m3fn-tensor-decode-gqa-empty-row", batch: 3, heads: 8, kvHeads: 2, seqQ: 1, seqK: 300,
            headDim: 128, cacheSeqlens: [300, 17, 0], seed: 1401, kvFp8: "e4m3fn", kvScale: "tensor"),
        .init(
            name: "kvfp8-e4m3fn-head-paged-nhd", batch: 2, heads: 4, kvHeads: 2, seqQ: 1, seqK: 200, headDim: 64,
            cacheSeqlens: [200, 33], seed: 1402, layout: "paged", pageSize: 16, pageLayout: "nhd", kvFp8: "e4m3fn",
            kvScale: "head"),
        .init(
            name: "kvfp8-e5m2-tensor-paged-hnd-speculative", batch: 2, heads: 2, kvHeads: 1, seqQ: 4, seqK: 100,
            headDim: 64, causal: "bottom-right", cacheSeqlens: [100, 57], seed: 1403, layout: "paged", pageSize: 8,
            pageLayout: "hnd", kvFp8: "e5m2", kvScale: "tensor"),
        .init(
            name: "kvfp8-e4m3fn-head-window-chunk", heads: 4, kvHeads: 4, seqQ: 16, seqK: 64, headDim: 96,
            causal: "bottom-right", window: [31, 0], softcap: 50, seed: 1404, kvFp8: "e4m3fn", kvScale: "head"),
    ]

    static let dropoutCases: [GoldenCaseSpec] = [
        .init(
            name: "dropout-p0.1-causal-gqa", batch: 2, heads: 4, kvHeads: 2, seqQ: 64, seqK: 64, headDim: 32,
            causal: "bottom-right", seed: 1501, dropoutP: 0.1),
        .init(
            name: "dropout-p0.5-window", heads: 2, seqQ: 40, seqK: 100, headDim: 64, window: [20, 5], seed: 1502,
            dropoutP: 0.5),
        .init(
            name: "dropout-p0.17-decode-empty-row", batch: 2, heads: 4, seqQ: 1, seqK: 300, headDim: 128,
            cacheSeqlens: [300, 0], seed: 1503, dropoutP: 0.17),
        .init(
            name: "dropout-p0.9-alibi", heads: 2, seqQ: 16, seqK: 48, headDim: 16, alibi: true, seed: 1504,
            dropoutP: 0.9),
    ]

    static let sparseCases: [GoldenCaseSpec] = [
        .init(
            name: "documents-causal-gqa", heads: 4, kvHeads: 2, seqQ: 100, seqK: 100, headDim: 64,
            causal: "bottom-right", seed: 1601, documents: [30, 1, 45, 0, 24]),
        .init(
            name: "documents-decode-tail", batch: 2, heads: 2, seqQ: 3, seqK: 200, headDim: 32, seed: 1602,
            documents: [120, 78, 2]),
        .init(
            name: "flex-blockmask-partial-gqa", batch: 2, heads: 4, kvHeads: 2, seqQ: 100, seqK: 150, headDim: 64,
            seed: 1603, sparse: "flex", blockSize: [32, 32], blockDensity: 0.4),
        .init(
            name: "flex-blockmask-causal-128", heads: 2, seqQ: 300, seqK: 300, headDim: 32, causal: "bottom-right",
            seed: 1604, sparse: "flex", blockSize: [128, 128], blockDensity: 0.7),
        .init(
            name: "bsr-r16-c8-partial", heads: 2, seqQ: 70, seqK: 90, headDim: 64, seed: 1605, sparse: "bsr",
            blockSize: [16, 8], blockDensity: 0.3),
        .init(
            name: "bsr-r1-c64-decode-mqa", heads: 8, kvHeads: 1, seqQ: 4, seqK: 250, headDim: 128, seed: 1606,
            sparse: "bsr", blockSize: [1, 64], blockDensity: 0.5),
    ]

    static let standardCases: [GoldenCaseSpec] = [
        .init(
            name: "d32-sq3-sk799-mqa", heads: 3, kvHeads: 1, seqQ: 3, seqK: 799, headDim: 32, causal: "bottom-right",
            seed: 101),
        .init(name: "d40-sq1-sk239-gqa-hkv3", heads: 6, kvHeads: 3, seqQ: 1, seqK: 239, headDim: 40, seed: 102),
        .init(name: "d59-sq113-sk203-gqa", heads: 2, kvHeads: 1, seqQ: 113, seqK: 203, headDim: 59, seed: 103),
        .init(
            name: "d64-sq127-sk513-causal", heads: 1, seqQ: 127, seqK: 513, headDim: 64, causal: "bottom-right",
            seed: 104),
        .init(
            name: "d32-sq1023-sk1024-causal", heads: 1, seqQ: 1023, seqK: 1024, headDim: 32, causal: "bottom-right",
            seed: 105),
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
        .init(
            name: "decode-cache-seqlens", batch: 3, heads: 4, kvHeads: 2, seqQ: 1, seqK: 1000, headDim: 64,
            cacheSeqlens: [1000, 17, 0], seed: 204),
        .init(name: "decode-softcap", heads: 4, seqQ: 1, seqK: 1500, headDim: 64, softcap: 30, std: 3, seed: 205),
        .init(name: "decode-window", heads: 4, seqQ: 1, seqK: 1200, headDim: 64, window: [255, 0], seed: 206),
        .init(
            name: "decode-speculative-sq4", batch: 2, heads: 4, kvHeads: 1, seqQ: 4, seqK: 777, headDim: 96,
            causal: "bottom-right", cacheSeqlens: [777, 400], seed: 207),
    ]

    static let edgeCases: [GoldenCaseSpec] = [
        .init(name: "odd-d59-dv111", heads: 2, seqQ: 17, seqK: 33, headDim: 59, valueDim: 111, seed: 301),
        .init(
            name: "sq-gt-sk-bottom-right-empty-rows", heads: 2, seqQ: 40, seqK: 9, headDim: 64, causal: "bottom-right",
            seed: 302),
        .init(name: "extreme-logits", heads: 2, seqQ: 8, seqK: 300, headDim: 64, std: 6, seed: 303),
        .init(name: "window-8-8", heads: 2, seqQ: 64, seqK: 64, headDim: 32, window: [8, 8], seed: 304),
        .init(name: "window-causal-16", heads: 2, seqQ: 50, seqK: 80, headDim: 32, window: [16, 0], seed: 305),
        .init(name: "softcap-50", heads: 2, seqQ: 16, seqK: 200, headDim: 64, softcap: 50, std: 4, seed: 306),
        .init(
            name: "alibi-8-heads", heads: 8, kvHeads: 2, seqQ: 12, seqK: 100, headDim: 32, causal: "bottom-right",
            alibi: true, seed: 307),
        .init(
            name: "empty-cache", batch: 2, heads: 2, seqQ: 3, seqK: 50, headDim: 32, cacheSeqlens: [0, 50], seed: 308),
        .init(name: "sk1", heads: 2, seqQ: 5, seqK: 1, headDim: 32, seed: 309),
        .init(name: "tiny-scale", heads: 2, seqQ: 4, seqK: 64, headDim: 32, scale: 1e-3, seed: 310),
        .init(name: "large-scale", heads: 2, seqQ: 4, seqK: 64, headDim: 32, scale: 2, seed: 311),
    ]

    static let treeCases: [GoldenCaseSpec] = [
        .init(
            name: "tree-decode-sk1000", heads: 4, kvHeads: 2, seqQ: 1, seqK: 1000, headDim: 64,
            seed: 401, splits: [1, 2, 3, 5, 17, 32, 55, 97, 133]),
        .init(
            name: "tree-decode-sk100-more-splits-than-keys", heads: 2, seqQ: 1, seqK: 100, headDim: 32,
            seed: 402, splits: [97, 133]),
        .init(
            name: "tree-prefill-causal", heads: 2, seqQ: 6, seqK: 250, headDim: 32, causal: "bottom-right",
            seed: 403, splits: [2, 5, 17]),
    ]

    /// FlashAttention's varlen API: packed sequences of different lengths (empty ones too), per-sequence causal
    /// alignment and windows, GQA, Sq > Sk within a sequence.
    static let varlenCases: [GoldenCaseSpec] = [
        .varlen(
            name: "varlen-prefill-causal-gqa", heads: 4, kvHeads: 2, seqlensQ: [5, 40, 1, 17],
            seqlensK: [5, 40, 1, 17],
            headDim: 64, causal: "top-left", seed: 501),
        .varlen(
            name: "varlen-chunked-bottom-right", heads: 2, seqlensQ: [3, 7, 0, 12], seqlensK: [40, 57, 9, 12],
            headDim: 32,
            causal: "bottom-right", seed: 502),
        .varlen(
            name: "varlen-window-softcap-alibi", heads: 4, kvHeads: 1, seqlensQ: [9, 30, 2], seqlensK: [20, 30, 2],
            headDim: 40, valueDim: 24, causal: "bottom-right", window: [7, 0], softcap: 30, alibi: true, seed: 503),
        .varlen(
            name: "varlen-sq-gt-sk-empty-rows", heads: 2, seqlensQ: [10, 4], seqlensK: [3, 9], headDim: 16,
            causal: "bottom-right", seed: 504),
    ]

    /// vLLM / FlashInfer decode from a paged KV cache: page sizes 1, 16, 32 and one that does not divide the
    /// lengths, NHD and HND pages, GQA/MQA, an empty row, speculative tokens (Sq = 4).
    static let pagedDecodeCases: [GoldenCaseSpec] = [
        .init(
            name: "paged-decode-p16-nhd-gqa", batch: 3, heads: 8, kvHeads: 2, seqQ: 1, seqK: 300, headDim: 128,
            cacheSeqlens: [300, 129, 16], seed: 601, layout: "paged", pageSize: 16, pageLayout: "nhd"),
        .init(
            name: "paged-decode-p32-hnd-mqa", batch: 2, heads: 4, kvHeads: 1, seqQ: 1, seqK: 250, headDim: 64,
            cacheSeqlens: [250, 31], seed: 602, layout: "paged", pageSize: 32, pageLayout: "hnd"),
        .init(
            name: "paged-decode-p1-nhd", batch: 2, heads: 2, seqQ: 1, seqK: 40, headDim: 32,
            cacheSeqlens: [40, 0], seed: 603, layout: "paged", pageSize: 1, pageLayout: "nhd"),
        .init(
            name: "paged-decode-p7-hnd-softcap", batch: 2, heads: 4, kvHeads: 2, seqQ: 1, seqK: 100, headDim: 64,
            softcap: 30, cacheSeqlens: [100, 45], seed: 604, layout: "paged", pageSize: 7, pageLayout: "hnd"),
        .init(
            name: "paged-decode-speculative-sq4", batch: 2, heads: 4, kvHeads: 1, seqQ: 4, seqK: 200, headDim: 64,
            causal: "bottom-right", cacheSeqlens: [200, 77], seed: 605, layout: "paged", pageSize: 16, pageLayout: "nhd"
        ),
    ]

    /// Prefill appended to a paged cache (FlashInfer's append kernels, flash_attn_with_kvcache with new tokens):
    /// Sq new queries at the end of each row's cache, causal bottom-right.
    static let pagedAppendCases: [GoldenCaseSpec] = [
        .init(
            name: "paged-append-p16-nhd", batch: 2, heads: 4, kvHeads: 2, seqQ: 24, seqK: 120, headDim: 64,
            causal: "bottom-right", cacheSeqlens: [120, 60], seed: 701, layout: "paged", pageSize: 16, pageLayout: "nhd"
        ),
        .init(
            name: "paged-append-p32-hnd-window", batch: 2, heads: 2, seqQ: 16, seqK: 90, headDim: 32,
            causal: "bottom-right", window: [31, 0], cacheSeqlens: [90, 33], seed: 702, layout: "paged", pageSize: 32,
            pageLayout: "hnd"),
        .init(
            name: "paged-append-p5-nhd-alibi", batch: 1, heads: 4, kvHeads: 1, seqQ: 8, seqK: 47, headDim: 32,
            causal: "bottom-right", alibi: true, cacheSeqlens: [47], seed: 703, layout: "paged", pageSize: 5,
            pageLayout: "nhd"),
    ]

    /// gpt-oss layers (sinks on every head, a 128-key band scaled down to 32 on alternate layers, full causal on the
    /// others), decode with GQA over tree splits and a row with an empty cache (output 0, LSE = the sink), sinks that
    /// dominate (+8) or vanish (-12), varlen and paged decode with sinks, StreamingLLM sink tokens, and dlse.
    static let sinkCases: [GoldenCaseSpec] = {
        let eight = [0.5, -1.25, 2, 0, -3.5, 1, 8, -12]
        return [
            .init(
                name: "sinks-window-causal-gqa", heads: 8, kvHeads: 2, seqQ: 96, seqK: 96, headDim: 64,
                causal: "bottom-right", window: [31, 0], seed: 901, sinks: eight, dlse: true),
            .init(
                name: "sinks-full-causal", heads: 4, kvHeads: 1, seqQ: 40, seqK: 72, headDim: 64,
                causal: "bottom-right", seed: 902, sinks: [1.5, -0.5, 3, -2], dlse: true),
            .init(
                name: "sinks-decode-tree-empty-row", batch: 2, heads: 8, kvHeads: 2, seqQ: 1, seqK: 777, headDim: 64,
                cacheSeqlens: [777, 0], seed: 903, splits: [1, 2, 5, 17], sinks: eight),
            .init(
                name: "sinks-softcap-no-dlse", heads: 2, seqQ: 17, seqK: 50, headDim: 32, softcap: 20, std: 3,
                seed: 904, sinks: [2, -1]),
            .init(
                name: "sink-tokens-window", heads: 4, kvHeads: 2, seqQ: 64, seqK: 64, headDim: 32,
                causal: "bottom-right", window: [15, 0], seed: 905, sinkTokens: 4),
            .init(
                name: "sink-tokens-and-sinks-decode", batch: 2, heads: 4, kvHeads: 1, seqQ: 2, seqK: 300, headDim: 64,
                causal: "bottom-right", window: [63, 0], cacheSeqlens: [300, 70], seed: 906,
                sinks: [0.25, 1, -2, 4], sinkTokens: 4, dlse: true),
            .varlen(
                name: "sinks-varlen-window", heads: 4, kvHeads: 2, seqlensQ: [9, 30, 1, 0], seqlensK: [20, 30, 1, 5],
                headDim: 64, causal: "bottom-right", window: [7, 0], seed: 907, sinks: [1, -1, 2, 0.5]),
            .init(
                name: "sinks-paged-decode-p16", batch: 3, heads: 8, kvHeads: 2, seqQ: 1, seqK: 200, headDim: 64,
                cacheSeqlens: [200, 33, 0], seed: 908, layout: "paged", pageSize: 16, pageLayout: "nhd", sinks: eight),
        ]
    }()

    /// MLA (DeepSeek-V3 dimensions: latent 512, rope 64, qk_nope 128, v 128; scale 192^-0.5 mscale^2): absorbed decode
    /// with cache lengths and tree splits, speculative queries, paged latent caches of page size 64 (FlashMLA) and 1
    /// (FlashInfer) with an empty row; the naive form in prefill (causal) and decode.
    static let mlaCases: [GoldenCaseSpec] = [
        .init(
            name: "mla-absorbed-decode", batch: 2, heads: 16, kvHeads: 1, seqQ: 1, seqK: 160, headDim: 576,
            valueDim: 512, cacheSeqlens: [160, 77], std: 0.5, seed: 1001, splits: [3], mla: "absorbed"),
        .init(
            name: "mla-absorbed-speculative-sq2", heads: 8, kvHeads: 1, seqQ: 2, seqK: 129, headDim: 576,
            valueDim: 512, causal: "bottom-right", std: 0.5, seed: 1002, mla: "absorbed"),
        .init(
            name: "mla-absorbed-paged-p64", batch: 3, heads: 16, kvHeads: 1, seqQ: 1, seqK: 200, headDim: 576,
            valueDim: 512, cacheSeqlens: [200, 64, 1], std: 0.5, seed: 1003, layout: "paged", pageSize: 64,
            pageLayout: "nhd", mla: "absorbed"),
        .init(
            name: "mla-absorbed-paged-p1", batch: 2, heads: 8, kvHeads: 1, seqQ: 1, seqK: 40, headDim: 576,
            valueDim: 512, cacheSeqlens: [40, 0], std: 0.5, seed: 1004, layout: "paged", pageSize: 1,
            pageLayout: "nhd", mla: "absorbed"),
        .init(
            name: "mla-naive-prefill-causal", heads: 2, seqQ: 24, seqK: 24, headDim: 192, valueDim: 128,
            causal: "bottom-right", std: 0.5, seed: 1005, mla: "naive"),
        .init(
            name: "mla-naive-decode", batch: 2, heads: 2, seqQ: 1, seqK: 48, headDim: 192, valueDim: 128, std: 0.5,
            seed: 1006, mla: "naive"),
    ]

    /// Rope cases: the unrotated q and k are the inputs, rotated at their positions inside attention.
    static let ropeCases: [GoldenCaseSpec] = [
        .init(
            name: "rope-neox-prefill-causal-gqa", heads: 4, kvHeads: 2, seqQ: 48, seqK: 48, headDim: 64,
            causal: "bottom-right", seed: 1101, ropeLayout: "neox"),
        .init(
            name: "rope-gptj-partial-decode", batch: 2, heads: 4, kvHeads: 1, seqQ: 1, seqK: 300, headDim: 64,
            cacheSeqlens: [300, 120], seed: 1102, ropeLayout: "gptj", rotaryDim: 32),
        .init(
            name: "rope-llama31-speculative", heads: 4, kvHeads: 1, seqQ: 2, seqK: 1100, headDim: 128,
            causal: "bottom-right", seed: 1103, ropeLayout: "neox", ropeTheta: 500_000, ropeScaling: "llama3"),
        .init(
            name: "rope-leftpad-from-first-token", batch: 2, heads: 2, seqQ: 4, seqK: 40, headDim: 32,
            causal: "bottom-right", cacheSeqlens: [40, 30], seed: 1104, ropeLayout: "neox",
            ropePositions: "from-first-token", cacheLeftpad: [0, 9]),
        .init(
            name: "rope-leftpad-absolute-window", batch: 2, heads: 2, seqQ: 4, seqK: 40, headDim: 32,
            causal: "bottom-right", window: [7, 0], cacheSeqlens: [40, 30], seed: 1105, ropeLayout: "gptj",
            cacheLeftpad: [0, 9]),
        .init(
            name: "rope-paged-decode-p16", batch: 2, heads: 4, kvHeads: 2, seqQ: 1, seqK: 100, headDim: 64,
            cacheSeqlens: [100, 37], seed: 1106, layout: "paged", pageSize: 16, pageLayout: "nhd",
            ropeLayout: "neox"),
        .init(
            name: "rope-chunked-local-llama4", heads: 2, seqQ: 64, seqK: 64, headDim: 64, causal: "bottom-right",
            seed: 1107, ropeLayout: "neox", ropeTheta: 500_000, attentionChunk: 16),
    ]

    /// Kvcache cases (seq_k is the capacity; cache_seqlens the tokens before the new ones).
    static let kvcacheCases: [GoldenCaseSpec] = [
        .init(
            name: "kvcache-decode-append-gqa", batch: 3, heads: 8, kvHeads: 2, seqQ: 1, seqK: 128, headDim: 64,
            causal: "bottom-right", cacheSeqlens: [100, 0, 127], seed: 1201, layout: "kvcache"),
        .init(
            name: "kvcache-batch-idx-leftpad-window", batch: 2, heads: 4, kvHeads: 1, seqQ: 3, seqK: 64, headDim: 64,
            causal: "bottom-right", window: [15, 0], cacheSeqlens: [40, 20], seed: 1202, layout: "kvcache",
            cacheLeftpad: [5, 20], cacheBatchIndex: [3, 1], cacheRows: 4),
        .init(
            name: "kvcache-rope-gptj-partial", batch: 2, heads: 4, kvHeads: 2, seqQ: 2, seqK: 96, headDim: 64,
            causal: "bottom-right", cacheSeqlens: [50, 7], seed: 1203, layout: "kvcache", ropeLayout: "gptj",
            rotaryDim: 32),
        .init(
            name: "kvcache-rope-leftpad-from-first-token", batch: 2, heads: 2, seqQ: 1, seqK: 64, headDim: 32,
            causal: "bottom-right", cacheSeqlens: [30, 30], seed: 1204, layout: "kvcache", ropeLayout: "neox",
            ropePositions: "from-first-token", cacheLeftpad: [0, 12]),
        .init(
            name: "kvcache-chunked-prefill", heads: 2, seqQ: 4, seqK: 80, headDim: 64, causal: "bottom-right",
            cacheSeqlens: [60], seed: 1205, layout: "kvcache", attentionChunk: 16),
        .init(
            name: "kvcache-paged-p1", batch: 2, heads: 2, seqQ: 1, seqK: 32, headDim: 32, causal: "bottom-right",
            cacheSeqlens: [20, 0], seed: 1206, layout: "kvcache", pageSize: 1),
        .init(
            name: "kvcache-paged-p16-prefill", batch: 2, heads: 4, kvHeads: 2, seqQ: 8, seqK: 64, headDim: 64,
            causal: "bottom-right", cacheSeqlens: [40, 3], seed: 1207, layout: "kvcache", pageSize: 16),
        .init(
            name: "kvcache-no-new-tokens-empty-row", batch: 2, heads: 2, seqQ: 2, seqK: 16, headDim: 32,
            causal: "bottom-right", cacheSeqlens: [10, 16], seed: 1208, layout: "kvcache", cacheLeftpad: [10, 3],
            newTokens: 0),
        // FlashAttention 3's varlen seqused_q/seqused_k (the lengths a paged or padded batch uses).
        .varlen(
            name: "varlen-seqused-causal", heads: 4, kvHeads: 2, seqlensQ: [8, 16, 4], seqlensK: [20, 16, 9],
            headDim: 64, causal: "bottom-right", seed: 505, sequsedQ: [5, 16, 0], sequsedK: [12, 10, 9]),
    ]

    /// FlashInfer's merge_state (2 partials) and merge_states (many), LSE in base e and base 2, with empty (-inf)
    /// partials and rows whose partials are all empty.
    static let mergeCases: [GoldenCaseSpec] = [
        .init(
            name: "merge-state-2-base2", heads: 8, seqQ: 20, seqK: 0, headDim: 128, seed: 801, layout: "merge",
            partials: 2, lseBase: "2"),
        .init(
            name: "merge-state-2-base-e", heads: 4, seqQ: 15, seqK: 0, headDim: 64, seed: 802, layout: "merge",
            partials: 2, lseBase: "e"),
        .init(
            name: "merge-states-9-base2", heads: 4, seqQ: 10, seqK: 0, headDim: 64, seed: 803, layout: "merge",
            partials: 9, lseBase: "2"),
        .init(
            name: "merge-states-64-base-e", heads: 2, seqQ: 6, seqK: 0, headDim: 32, std: 6, seed: 804, layout: "merge",
            partials: 64, lseBase: "e"),
    ]
}
