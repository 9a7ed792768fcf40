/// How a golden case's tensors are laid out: dense (B, H, S, D); varlen (packed sequences with cu_seqlens, as
/// `flash_attn_varlen_func`); paged (K/V in pages with a block table, as vLLM and FlashInfer); merge (partial
/// (v, s) states and their merge, as FlashInfer's `merge_state(s)`). docs/golden.md shows each.
public enum GoldenLayout: String, CaseIterable, Sendable {
    /// (batch, heads, seq, dim) tensors.
    case dense
    /// Packed sequences with cumulative lengths, as `flash_attn_varlen_func` takes them.
    case varlen
    /// K and V in pages with a block table, as vLLM and FlashInfer take them.
    case paged
    /// Partial (v, s) states and their merge, as FlashInfer's `merge_state(s)`.
    case merge
    /// flash_attn_with_kvcache: new K/V appended to a cache (dense rows or pages) at cache_seqlens, then attention;
    /// the updated caches are goldens too.
    case kvcache
}

/// One golden test case, as written in suite files (YAML or JSON) and in each golden file's metadata.
/// Shapes are bhsd; `alibi: true` uses the standard slopes 2^(-8(h+1)/H); `splits` adds tree data for each p.
public struct GoldenCaseSpec: Codable, Equatable, Sendable {
    /// The case's name: letters, digits, '-', '_' or '.'; its files are `<name>-<dtype>`.
    public var name: String
    /// Batch size (default 1).
    public var batch: Int = 1
    /// Query heads (default 2).
    public var heads: Int = 2
    /// KV heads (key `kv_heads`); nil means `heads`.
    public var kvHeads: Int?
    /// Queries per head (key `seq_q`).
    public var seqQ: Int
    /// Keys per head (key `seq_k`).
    public var seqK: Int
    /// Dimension of queries and keys (key `head_dim`).
    public var headDim: Int
    /// Dimension of values (key `value_dim`); nil means `headDim`.
    public var valueDim: Int?
    /// Causal alignment, `none`, `top-left` or `bottom-right` (`CausalMode`'s raw values); nil means none.
    public var causal: String?
    /// Sliding window as [left, right] (-1: unbounded on that side); nil means no window.
    public var window: [Int]?
    /// Softcap c of the scaled scores; nil means none.
    public var softcap: Double?
    /// Softmax scale; nil means 1/sqrt(head_dim).
    public var scale: Double?
    /// true adds ALiBi with the standard slopes (`alibiSlopes(heads:)`); nil or false means none.
    public var alibi: Bool?
    /// Per batch row, the number of valid keys (key `cache_seqlens`); nil means all `seqK`.
    public var cacheSeqlens: [Int]?
    /// Standard deviation of q and k entries (large values give extreme logits).
    public var std: Double?
    /// Seed of the inputs' `SeededGenerator` stream; nil means 0.
    public var seed: UInt64?
    /// Shard counts for tree data (shard partials and every level of the binary tree).
    public var splits: [Int]?
    /// How the case's tensors are laid out (`GoldenLayout`); nil is dense.
    public var layout: String?
    /// Varlen: the sequences' query and key lengths (batch = their count; seq_q, seq_k = the longest).
    public var seqlensQ: [Int]?
    /// Varlen: the sequences' key lengths, one per sequence (key `seqlens_k`).
    public var seqlensK: [Int]?
    /// Paged: tokens per page, and the page layout (nhd, the default, or hnd).
    public var pageSize: Int?
    /// Paged: the page layout, `nhd` (the default) or `hnd` (key `page_layout`).
    public var pageLayout: String?
    /// Merge: the number of partial states merged per row (2: `merge_state`'s a and b; more: `merge_states`).
    public var partials: Int?
    /// Merge: the base of the stored LSEs (e, the default, or 2 as FlashInfer keeps them).
    public var lseBase: String?
    /// gpt-oss's sink logits, one per query head (`AttentionOptions.sinks`), rounded once to the test dtype; nil:
    /// none.
    public var sinks: [Double]?
    /// StreamingLLM's sink tokens (key `sink_tokens`): the first k keys visible beside the window; nil: none.
    public var sinkTokens: Int?
    /// With `--backward`: the case also carries an upstream gradient of the LSE (`dlse`, seeded normals drawn after
    /// dO), and the gradients include its terms.
    public var dlse: Bool?
    /// DeepSeek's multi-head latent attention (`MultiHeadLatentAttention`): `absorbed` (head_dim = latent + rope,
    /// value_dim = latent, one KV head; the values are the cache rows' first value_dim entries) or `naive` (the
    /// per-head form from the latent through W_UK and W_UV: head_dim = qk_nope + rope, value_dim = v_head_dim, key
    /// `latent_dim` for L); nil: none. The scale defaults to DeepSeek-V3's.
    public var mla: String?
    /// MLA: the decoupled rope dimension R (key `rope_dim`, default 64).
    public var ropeDim: Int?
    /// MLA naive form: the latent dimension L (key `latent_dim`, default 512).
    public var latentDim: Int?
    /// Rotary embeddings applied to q and k (key `rope_layout`): `neox` (halves) or `gptj` (interleaved); nil: none.
    public var ropeLayout: String?
    /// Rotated features (key `rotary_dim`, default head_dim).
    public var rotaryDim: Int?
    /// RoPE base (key `rope_theta`, default 10000).
    public var ropeTheta: Double?
    /// `llama3` for Llama 3.1's frequency scaling (key `rope_scaling`).
    public var ropeScaling: String?
    /// Rotary positions (key `rope_positions`): `absolute` (default; key slot j at j, query i at i + cache length -
    /// seq_q, flash_attn_with_kvcache's) or `from-first-token` (counted from the row's cache_leftpad, as Hugging Face
    /// generation with left padding).
    public var ropePositions: String?
    /// Per batch row, the first valid key (key `cache_leftpad`, `AttentionOptions.cacheLeftpad`).
    public var cacheLeftpad: [Int]?
    /// Chunked local attention (key `attention_chunk`, `AttentionOptions.attentionChunk`).
    public var attentionChunk: Int?
    /// Varlen: FlashAttention 3's `seqused_q`, the queries each sequence uses (key `seqused_q`); nil: all.
    public var sequsedQ: [Int]?
    /// Varlen: FlashAttention 3's `seqused_k`, the keys each sequence uses (key `seqused_k`); nil: all.
    public var sequsedK: [Int]?
    /// Kvcache: new tokens appended per batch element (key `new_tokens`, default seq_q; 0: attention only).
    public var newTokens: Int?
    /// Kvcache: each batch element's cache row (key `cache_batch_idx`); nil: row b.
    public var cacheBatchIndex: [Int]?
    /// Kvcache: rows of the cache (key `cache_rows`, default batch).
    public var cacheRows: Int?
    /// FP8 inputs (FlashAttention 3's FP8 forward): q, k and v in `e4m3fn` or `e5m2` with descale factors (key
    /// `fp8`); nil: inputs in the test dtype. The test dtype is then the output's.
    public var fp8: String?
    /// FP8: the descale granularity, `head` (one per (batch, KV head), the default) or `tensor` (key `descale`).
    public var descale: String?
    /// FP8: q holds the format's rounding edge values (key `fp8_edges`), with their cast in `q_cast`.
    public var fp8Edges: Bool?
    /// An FP8 KV cache (vLLM, FlashInfer decode): K and V in `e4m3fn` or `e5m2` with a K and a V scale, q in the test
    /// dtype (key `kv_fp8`); dense or paged; nil: none.
    public var kvFp8: String?
    /// FP8 KV cache: the scale granularity, `tensor` (the default) or `head` (key `kv_scale`).
    public var kvScale: String?
    /// Dropout probability p in (0, 1) (key `dropout_p`): the case carries a seeded keep mask, kept probabilities
    /// scaled by 1 / (1 - p); nil: none.
    public var dropoutP: Double?
    /// Packed documents' lengths, summing to seq_k (key `documents`): flex_attention's document mask; nil: none.
    public var documents: [Int]?
    /// A block-sparse layout (key `sparse`): `flex` (flex_attention's BlockMask, per batch and head) or `bsr`
    /// (FlashInfer's BSR, shared); nil: none.
    public var sparse: String?
    /// Sparse: the block size [R, C] (key `block_size`): queries per block row, keys per block column.
    public var blockSize: [Int]?
    /// Sparse: the fraction of blocks kept (key `block_density`, default 0.5).
    public var blockDensity: Double?

    enum CodingKeys: String, CodingKey {
        case name, batch, heads, seed, std, causal, window, softcap, scale, alibi, splits
        case kvHeads = "kv_heads", seqQ = "seq_q", seqK = "seq_k", headDim = "head_dim", valueDim = "value_dim"
        case cacheSeqlens = "cache_seqlens"
        case layout, partials
        case seqlensQ = "seqlens_q", seqlensK = "seqlens_k", pageSize = "page_size", pageLayout = "page_layout"
        case lseBase = "lse_base"
        case sinks, sinkTokens = "sink_tokens", dlse
        case mla, ropeDim = "rope_dim", latentDim = "latent_dim"
        case ropeLayout = "rope_layout", rotaryDim = "rotary_dim", ropeTheta = "rope_theta", ropeScaling =
            "rope_scaling"
        case ropePositions = "rope_positions", cacheLeftpad = "cache_leftpad", attentionChunk = "attention_chunk"
        case newTokens = "new_tokens", cacheBatchIndex = "cache_batch_idx", cacheRows = "cache_rows"
        case sequsedQ = "seqused_q", sequsedK = "seqused_k"
        case fp8, descale, fp8Edges = "fp8_edges", kvFp8 = "kv_fp8", kvScale = "kv_scale", dropoutP = "dropout_p"
        case documents, sparse, blockSize = "block_size", blockDensity = "block_density"
    }

    /// A case from its values; nil leaves an option unset (its default). Not validated: see `validate()`.
    public init(
        name: String, batch: Int = 1, heads: Int = 2, kvHeads: Int? = nil, seqQ: Int, seqK: Int, headDim: Int,
        valueDim: Int? = nil, causal: String? = nil, window: [Int]? = nil, softcap: Double? = nil,
        scale: Double? = nil, alibi: Bool? = nil, cacheSeqlens: [Int]? = nil, std: Double? = nil,
        seed: UInt64? = nil, splits: [Int]? = nil, layout: String? = nil, seqlensQ: [Int]? = nil,
        seqlensK: [Int]? = nil, pageSize: Int? = nil, pageLayout: String? = nil, partials: Int? = nil,
        lseBase: String? = nil, sinks: [Double]? = nil, sinkTokens: Int? = nil, dlse: Bool? = nil,
        mla: String? = nil, ropeDim: Int? = nil, latentDim: Int? = nil, ropeLayout: String? = nil,
        rotaryDim: Int? = nil, ropeTheta: Double? = nil, ropeScaling: String? = nil, ropePositions: String? = nil,
        cacheLeftpad: [Int]? = nil, attentionChunk: Int? = nil, newTokens: Int? = nil, cacheBatchIndex: [Int]? = nil,
        cacheRows: Int? = nil, sequsedQ: [Int]? = nil, sequsedK: [Int]? = nil, fp8: String? = nil,
        descale: String? = nil, fp8Edges: Bool? = nil, kvFp8: String? = nil, kvScale: String? = nil,
        dropoutP: Double? = nil, documents: [Int]? = nil, sparse: String? = nil, blockSize: [Int]? = nil,
        blockDensity: Double? = nil
    ) {
        self.name = name
        self.batch = batch
        self.heads = heads
        self.kvHeads = kvHeads
        self.seqQ = seqQ
        self.seqK = seqK
        self.headDim = headDim
        self.valueDim = valueDim
        self.causal = causal
        self.window = window
        self.softcap = softcap
        self.scale = scale
        self.alibi = alibi
        self.cacheSeqlens = cacheSeqlens
        self.std = std
        self.seed = seed
        self.splits = splits
        self.layout = layout
        self.seqlensQ = seqlensQ
        self.seqlensK = seqlensK
        self.pageSize = pageSize
        self.pageLayout = pageLayout
        self.partials = partials
        self.lseBase = lseBase
        self.sinks = sinks
        self.sinkTokens = sinkTokens
        self.dlse = dlse
        self.mla = mla
        self.ropeDim = ropeDim
        self.latentDim = latentDim
        self.ropeLayout = ropeLayout
        self.rotaryDim = rotaryDim
        self.ropeTheta = ropeTheta
        self.ropeScaling = ropeScaling
        self.ropePositions = ropePositions
        self.cacheLeftpad = cacheLeftpad
        self.attentionChunk = attentionChunk
        self.newTokens = newTokens
        self.cacheBatchIndex = cacheBatchIndex
        self.cacheRows = cacheRows
        self.sequsedQ = sequsedQ
        self.sequsedK = sequsedK
        self.fp8 = fp8
        self.descale = descale
        self.fp8Edges = fp8Edges
        self.kvFp8 = kvFp8
        self.kvScale = kvScale
        self.dropoutP = dropoutP
        self.documents = documents
        self.sparse = sparse
        self.blockSize = blockSize
        self.blockDensity = blockDensity
    }

    /// A varlen case: batch, seq_q and seq_k follow from the sequences' lengths.
    public static func varlen(
        name: String, heads: Int = 2, kvHeads: Int? = nil, seqlensQ: [Int], seqlensK: [Int], headDim: Int,
        valueDim: Int? = nil, causal: String? = nil, window: [Int]? = nil, softcap: Double? = nil,
        alibi: Bool? = nil, seed: UInt64? = nil, sinks: [Double]? = nil, sequsedQ: [Int]? = nil, sequsedK: [Int]? = nil
    ) -> GoldenCaseSpec {
        GoldenCaseSpec(
            name: name, batch: seqlensQ.count, heads: heads, kvHeads: kvHeads, seqQ: seqlensQ.max() ?? 0,
            seqK: seqlensK.max() ?? 0, headDim: headDim, valueDim: valueDim, causal: causal, window: window,
            softcap: softcap, alibi: alibi, seed: seed, layout: "varlen", seqlensQ: seqlensQ, seqlensK: seqlensK,
            sinks: sinks, sequsedQ: sequsedQ, sequsedK: sequsedK)
    }

    /// Decodes a case from its snake_case keys (`kv_heads`, `seq_q`, ...): `name`, `seq_q`, `seq_k` and `head_dim`
    /// are required, `batch` defaults to 1 and `heads` to 2. Not validated: see `validate()`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        batch = try c.decodeIfPresent(Int.self, forKey: .batch) ?? 1
        heads = try c.decodeIfPresent(Int.self, forKey: .heads) ?? 2
        kvHeads = try c.decodeIfPresent(Int.self, forKey: .kvHeads)
        seqQ = try c.decode(Int.self, forKey: .seqQ)
        seqK = try c.decode(Int.self, forKey: .seqK)
        headDim = try c.decode(Int.self, forKey: .headDim)
        valueDim = try c.decodeIfPresent(Int.self, forKey: .valueDim)
        causal = try c.decodeIfPresent(String.self, forKey: .causal)
        window = try c.decodeIfPresent([Int].self, forKey: .window)
        softcap = try c.decodeIfPresent(Double.self, forKey: .softcap)
        scale = try c.decodeIfPresent(Double.self, forKey: .scale)
        alibi = try c.decodeIfPresent(Bool.self, forKey: .alibi)
        cacheSeqlens = try c.decodeIfPresent([Int].self, forKey: .cacheSeqlens)
        std = try c.decodeIfPresent(Double.self, forKey: .std)
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed)
        splits = try c.decodeIfPresent([Int].self, forKey: .splits)
        layout = try c.decodeIfPresent(String.self, forKey: .layout)
        seqlensQ = try c.decodeIfPresent([Int].self, forKey: .seqlensQ)
        seqlensK = try c.decodeIfPresent([Int].self, forKey: .seqlensK)
        pageSize = try c.decodeIfPresent(Int.self, forKey: .pageSize)
        pageLayout = try c.decodeIfPresent(String.self, forKey: .pageLayout)
        partials = try c.decodeIfPresent(Int.self, forKey: .partials)
        lseBase = try c.decodeIfPresent(String.self, forKey: .lseBase)
        sinks = try c.decodeIfPresent([Double].self, forKey: .sinks)
        sinkTokens = try c.decodeIfPresent(Int.self, forKey: .sinkTokens)
        dlse = try c.decodeIfPresent(Bool.self, forKey: .dlse)
        mla = try c.decodeIfPresent(String.self, forKey: .mla)
        ropeDim = try c.decodeIfPresent(Int.self, forKey: .ropeDim)
        latentDim = try c.decodeIfPresent(Int.self, forKey: .latentDim)
        ropeLayout = try c.decodeIfPresent(String.self, forKey: .ropeLayout)
        rotaryDim = try c.decodeIfPresent(Int.self, forKey: .rotaryDim)
        ropeTheta = try c.decodeIfPresent(Double.self, forKey: .ropeTheta)
        ropeScaling = try c.decodeIfPresent(String.self, forKey: .ropeScaling)
        ropePositions = try c.decodeIfPresent(String.self, forKey: .ropePositions)
        cacheLeftpad = try c.decodeIfPresent([Int].self, forKey: .cacheLeftpad)
        attentionChunk = try c.decodeIfPresent(Int.self, forKey: .attentionChunk)
        newTokens = try c.decodeIfPresent(Int.self, forKey: .newTokens)
        cacheBatchIndex = try c.decodeIfPresent([Int].self, forKey: .cacheBatchIndex)
        cacheRows = try c.decodeIfPresent(Int.self, forKey: .cacheRows)
        sequsedQ = try c.decodeIfPresent([Int].self, forKey: .sequsedQ)
        sequsedK = try c.decodeIfPresent([Int].self, forKey: .sequsedK)
        fp8 = try c.decodeIfPresent(String.self, forKey: .fp8)
        descale = try c.decodeIfPresent(String.self, forKey: .descale)
        fp8Edges = try c.decodeIfPresent(Bool.self, forKey: .fp8Edges)
        kvFp8 = try c.decodeIfPresent(String.self, forKey: .kvFp8)
        kvScale = try c.decodeIfPresent(String.self, forKey: .kvScale)
        dropoutP = try c.decodeIfPresent(Double.self, forKey: .dropoutP)
        documents = try c.decodeIfPresent([Int].self, forKey: .documents)
        sparse = try c.decodeIfPresent(String.self, forKey: .sparse)
        blockSize = try c.decodeIfPresent([Int].self, forKey: .blockSize)
        blockDensity = try c.decodeIfPresent(Double.self, forKey: .blockDensity)
    }

    /// The FP8 format of an FP8 KV cache (`kv_fp8`), or nil.
    public var kvFloat8Format: Float8Format? { kvFp8.flatMap(Float8Format.init(rawValue:)) }

    /// The FP8 format of the inputs (`fp8`), or nil.
    public var float8Format: Float8Format? { fp8.flatMap(Float8Format.init(rawValue:)) }

    /// The layout of the case's tensors.
    public var goldenLayout: GoldenLayout { layout.flatMap(GoldenLayout.init(rawValue:)) ?? .dense }

    /// KV heads: `kvHeads`, or `heads` when it is nil.
    public var kvHeadCount: Int { kvHeads ?? heads }
    /// Value dimension: `valueDim`, or `headDim` when it is nil.
    public var valueDimension: Int { valueDim ?? headDim }

    /// Elements of q, k and v together; suites refuse absurd sizes before allocating.
    /// Saturates at Int.max (any size out of range is refused by `validate`).
    public var inputElements: Int {
        (try? MemoryBudget.sum(
            [
                MemoryBudget.product([batch, heads, seqQ, headDim], for: "inputs"),
                MemoryBudget.product([batch, kvHeadCount, seqK, headDim], for: "inputs"),
                MemoryBudget.product([batch, kvHeadCount, seqK, valueDimension], for: "inputs"),
            ], for: "inputs")) ?? .max
    }

    /// Largest shard count in `splits`.
    public static let maxSplit = 4096

    /// Checks sizes and options, with a one-line message naming the case.
    public func validate() throws {
        if let problem = validationProblem() {
            throw ReferenceError.invalidOption("case \(TextEscaping.quoted(name)): \(problem)")
        }
    }

    /// The first problem of this case's values as a phrase (without the case name), or nil when it is valid.
    func validationProblem() -> String? {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            return "name must be letters, digits, '-', '_' or '.'"
        }
        for (key, v) in [
            ("batch", batch), ("heads", heads), ("kv_heads", kvHeadCount), ("head_dim", headDim),
            ("value_dim", valueDimension),
        ] where v < 1 || v > 4096 {
            return "\(key) must be in 1...4096, got \(v)"
        }
        for (key, v) in [("seq_q", seqQ), ("seq_k", seqK)] where v < 0 || v > 1 << 20 {
            return "\(key) must be in 0...\(1 << 20), got \(v)"
        }
        guard heads % kvHeadCount == 0 else {
            return "heads (\(heads)) must be a multiple of kv_heads (\(kvHeadCount))"
        }
        guard inputElements <= 1 << 26 else {
            return "inputs of \(inputElements) elements exceed the 2^26 limit of a golden case"
        }
        if let causal, CausalMode(rawValue: causal) == nil {
            return "unknown causal \(TextEscaping.quoted(causal)) (none, top-left, bottom-right)"
        }
        if let window, window.count != 2 { return "window must be [left, right]" }
        if let std, !(std.isFinite && std > 0) { return "std must be positive" }
        if let splits {
            if let bad = splits.first(where: { $0 < 1 || $0 > Self.maxSplit }) {
                return "split \(bad) outside 1...\(Self.maxSplit)"
            }
            var seen = Set<Int>()
            if let dup = splits.first(where: { !seen.insert($0).inserted }) {
                return "split \(dup) is listed twice (each p has its own tree.p<p>.* tensors)"
            }
        }
        if let cacheSeqlens, cacheSeqlens.count != batch {
            return "cache_seqlens needs one length per batch row (\(batch)), got \(cacheSeqlens.count)"
        }
        if let problem = layoutProblem() { return problem }
        if let problem = fp8Problem() { return problem }
        if documents != nil || sparse != nil || blockSize != nil || blockDensity != nil {
            if let sparse, sparse != "flex", sparse != "bsr" {
                return "unknown sparse \(TextEscaping.quoted(sparse)) (flex, bsr)"
            }
            guard (documents == nil) != (sparse == nil), (blockSize != nil || blockDensity != nil) == (sparse != nil)
            else {
                return "give documents, or sparse with block_size (and block_density), not both"
            }
            if let blockDensity, !(blockDensity >= 0 && blockDensity <= 1) {
                return "block_density must be in [0, 1], got \(blockDensity)"
            }
            let perHead = sparse == "flex" ? [batch, heads] : [1, 1]
            let mask = (try? MemoryBudget.product(perHead + [seqQ, seqK], for: "sparse mask")) ?? .max
            guard mask <= 1 << 26 else {
                return "a sparse mask of \(mask) elements exceeds the 2^26 limit of a golden case"
            }
            guard goldenLayout == .dense, mla == nil, fp8 == nil, kvFp8 == nil else {
                return "a sparse or document case is dense and takes no mla or fp8"
            }
        }
        if let p = dropoutP {
            guard p > 0, p < 1 else { return "dropout_p must be in (0, 1), got \(p)" }
            let mask = (try? MemoryBudget.product([batch, heads, seqQ, seqK], for: "dropout mask")) ?? .max
            guard mask <= 1 << 26 else {
                return
                    "a dropout mask of \(mask) elements (batch x heads x seq_q x seq_k) exceeds the 2^26 limit of a golden case"
            }
            guard goldenLayout == .dense, softcap == nil, splits == nil, sinks == nil, sinkTokens == nil, mla == nil,
                ropeLayout == nil, dlse == nil, fp8 == nil, kvFp8 == nil
            else {
                return
                    "a dropout case is dense and takes no softcap, splits, sinks, sink_tokens, mla, rope, dlse or fp8"
            }
        }
        if let problem = mlaProblem() { return problem }
        if let problem = ropeProblem() { return problem }
        do {
            _ = try options()
        } catch ReferenceError.invalidOption(let message) {
            return message
        } catch {
            return "\(error)"
        }
        return nil
    }

    /// Problems with the FP8 keys: a known format and granularity, a dense case without the options FlashAttention 3's
    /// FP8 forward lacks here (splits, sinks, MLA, rope), and edges only where q holds them all.
    func fp8Problem() -> String? {
        if let kvFp8 {
            guard Float8Format(rawValue: kvFp8) != nil else {
                return "unknown kv_fp8 \(TextEscaping.quoted(kvFp8)) (e4m3fn, e5m2)"
            }
            if let kvScale, kvScale != "head", kvScale != "tensor" {
                return "kv_scale must be head or tensor, got \(TextEscaping.quoted(kvScale))"
            }
            guard [.dense, .paged].contains(goldenLayout), fp8 == nil, splits == nil, sinks == nil, sinkTokens == nil,
                mla == nil, ropeLayout == nil, dlse == nil, alibi == nil
            else {
                return
                    "an fp8 KV-cache case is dense or paged and takes no fp8, splits, sinks, sink_tokens, mla, rope, dlse or alibi"
            }
        } else if kvScale != nil {
            return "'kv_scale' applies to kv_fp8 cases only"
        }
        guard let fp8 else {
            return descale != nil || fp8Edges != nil ? "'descale' and 'fp8_edges' apply to fp8 cases only" : nil
        }
        guard let format = Float8Format(rawValue: fp8) else {
            return "unknown fp8 \(TextEscaping.quoted(fp8)) (e4m3fn, e5m2)"
        }
        if let descale, descale != "head", descale != "tensor" {
            return "descale must be head or tensor, got \(TextEscaping.quoted(descale))"
        }
        guard goldenLayout == .dense, splits == nil, sinks == nil, sinkTokens == nil, mla == nil, ropeLayout == nil,
            dlse == nil, alibi == nil
        else {
            return "an fp8 case is dense and takes no splits, sinks, sink_tokens, mla, rope, dlse or alibi"
        }
        if fp8Edges == true {
            let needed = GoldenCase.float8Edges(format).count
            guard batch * heads * seqQ * headDim >= needed else {
                return "fp8_edges needs q to hold \(needed) values (batch x heads x seq_q x head_dim)"
            }
        }
        return nil
    }

    /// Problems with the layout keys: each layout takes its own keys and refuses the others'.
    func layoutProblem() -> String? {
        guard let kind = GoldenLayout(rawValue: layout ?? "dense") else {
            return "unknown layout \(TextEscaping.quoted(layout ?? "")) (dense, varlen, paged, merge, kvcache)"
        }
        let given: [(String, Bool)] = [
            ("seqlens_q", seqlensQ != nil), ("seqlens_k", seqlensK != nil), ("page_size", pageSize != nil),
            ("page_layout", pageLayout != nil), ("partials", partials != nil), ("lse_base", lseBase != nil),
            ("new_tokens", newTokens != nil), ("cache_batch_idx", cacheBatchIndex != nil),
            ("cache_rows", cacheRows != nil), ("seqused_q", sequsedQ != nil), ("seqused_k", sequsedK != nil),
        ]
        let allowed: Set<String>
        switch kind {
        case .dense: allowed = []
        case .varlen: allowed = ["seqlens_q", "seqlens_k", "seqused_q", "seqused_k"]
        case .paged: allowed = ["page_size", "page_layout"]
        case .merge: allowed = ["partials", "lse_base"]
        case .kvcache: allowed = ["page_size", "new_tokens", "cache_batch_idx", "cache_rows"]
        }
        if let bad = given.first(where: { $0.1 && !allowed.contains($0.0) }) {
            return "'\(bad.0)' does not apply to a \(kind.rawValue) case"
        }
        switch kind {
        case .dense:
            return nil
        case .varlen:
            guard let q = seqlensQ, let k = seqlensK, q.count == k.count, !q.isEmpty else {
                return "a varlen case needs seqlens_q and seqlens_k, one length per sequence each"
            }
            if let bad = (q + k).first(where: { $0 < 0 || $0 > 1 << 16 }) {
                return "sequence length \(bad) outside 0...65536"
            }
            guard cacheSeqlens == nil, splits == nil else { return "a varlen case takes no cache_seqlens or splits" }
            for (key, used, lengths) in [("seqused_q", sequsedQ, q), ("seqused_k", sequsedK, k)] {
                guard let used else { continue }
                guard used.count == lengths.count, zip(used, lengths).allSatisfy({ $0 >= 0 && $0 <= $1 }) else {
                    let within = key == "seqused_q" ? "seqlens_q" : "seqlens_k"
                    return "\(key) needs one length per sequence, each within its \(within)"
                }
            }
            guard batch == q.count, seqQ == (q.max() ?? 0), seqK == (k.max() ?? 0) else {
                return "a varlen case's batch, seq_q and seq_k come from seqlens_q and seqlens_k (leave them out)"
            }
        case .paged:
            guard let size = pageSize, (1...4096).contains(size) else {
                return "a paged case needs page_size in 1...4096"
            }
            if let pageLayout, PageLayout(rawValue: pageLayout) == nil {
                return "unknown page_layout \(TextEscaping.quoted(pageLayout)) (nhd, hnd)"
            }
            guard cacheSeqlens != nil else {
                return "a paged case needs cache_seqlens (the tokens in each row's pages)"
            }
            guard splits == nil else { return "a paged case takes no splits" }
        case .kvcache:
            guard let lengths = cacheSeqlens else {
                return "a kvcache case needs cache_seqlens (each row's tokens before the new ones)"
            }
            let new = newTokens ?? seqQ
            guard new >= 0, lengths.allSatisfy({ $0 >= 0 && $0 + new <= seqK }) else {
                return "a kvcache case's cache_seqlens + new_tokens (\(new)) must fit seq_k (\(seqK), the capacity)"
            }
            let rows = cacheRows ?? batch
            guard (batch...4096).contains(rows), splits == nil, sinkTokens == nil, mla == nil else {
                return "a kvcache case has cache_rows in batch...4096 and no splits, sink_tokens or mla"
            }
            if let idx = cacheBatchIndex {
                guard idx.count == batch, idx.allSatisfy({ (0..<rows).contains($0) }), Set(idx).count == batch else {
                    return "cache_batch_idx needs \(batch) distinct rows in 0..<\(rows)"
                }
            } else if rows != batch {
                return "cache_rows \(rows) != batch \(batch) needs cache_batch_idx"
            }
            if let ps = pageSize {
                guard (1...4096).contains(ps), seqK % ps == 0, cacheBatchIndex == nil, cacheLeftpad == nil else {
                    return
                        "a paged kvcache case needs page_size dividing seq_k, and takes no cache_batch_idx or cache_leftpad (FlashAttention 2 refuses leftpad with pages)"
                }
            }
            if let pads = cacheLeftpad, pads.count == batch, zip(pads, lengths).contains(where: { $0 > $1 + new }) {
                return "cache_leftpad beyond a row's tokens after the update"
            }
        case .merge:
            guard let n = partials, (2...1024).contains(n) else { return "a merge case needs partials in 2...1024" }
            let states = (try? MemoryBudget.product([seqQ, n, heads, headDim], for: "merge")) ?? .max
            guard states <= 1 << 26 else {
                return "merge states of \(states) elements exceed the 2^26 limit of a golden case"
            }
            if let lseBase, lseBase != "e", lseBase != "2" {
                return "lse_base must be e or 2, got \(TextEscaping.quoted(lseBase))"
            }
            guard causal == nil, window == nil, softcap == nil, scale == nil, alibi == nil, cacheSeqlens == nil,
                splits == nil, sinks == nil, sinkTokens == nil, dlse == nil,
                kvHeads == nil, valueDim == nil, batch == 1
            else {
                return
                    "a merge case takes only name, heads, seq_q (rows), seq_k, head_dim, partials, lse_base, std and seed"
            }
        }
        return nil
    }

    /// The rotary embedding the case applies to q and k, or nil.
    public func rotary() throws -> RotaryEmbedding? {
        guard let ropeLayout else { return nil }
        guard let layout = RotaryEmbedding.Layout(rawValue: ropeLayout) else {
            throw ReferenceError.invalidOption("unknown rope_layout \(TextEscaping.quoted(ropeLayout)) (neox, gptj)")
        }
        if let ropeScaling, ropeScaling != "llama3" {
            throw ReferenceError.invalidOption("unknown rope_scaling \(TextEscaping.quoted(ropeScaling)) (llama3)")
        }
        let rope = RotaryEmbedding(
            layout: layout, rotaryDim: rotaryDim ?? headDim, theta: ropeTheta ?? 10_000,
            llama3: ropeScaling == "llama3" ? .init() : nil)
        try rope.validate(headDim: headDim)
        return rope
    }

    /// The rotary positions of batch row `b`'s queries and keys (`rope_positions`).
    public func rotaryPositions(batch b: Int) -> (queries: [Int], keys: [Int]) {
        let end = cacheSeqlens?[b] ?? seqK
        let origin = ropePositions == "from-first-token" ? (cacheLeftpad?[b] ?? 0) : 0
        return (
            (0..<seqQ).map { max(0, $0 + end - seqQ - origin) }, (0..<seqK).map { max(0, $0 - origin) }
        )
    }

    /// The problems of the rope keys, or nil.
    func ropeProblem() -> String? {
        guard ropeLayout != nil else {
            return rotaryDim != nil || ropeTheta != nil || ropeScaling != nil || ropePositions != nil
                ? "rotary_dim, rope_theta, rope_scaling and rope_positions need rope_layout (neox, gptj)" : nil
        }
        if let ropePositions, ropePositions != "absolute", ropePositions != "from-first-token" {
            return "unknown rope_positions \(TextEscaping.quoted(ropePositions)) (absolute, from-first-token)"
        }
        guard goldenLayout == .dense || goldenLayout == .paged || goldenLayout == .kvcache, mla == nil, splits == nil
        else {
            return "a rope case is dense, paged or kvcache, without mla or splits"
        }
        do { _ = try rotary() } catch ReferenceError.invalidOption(let message) { return message } catch {
            return "\(error)"
        }
        if seqQ + seqK > RotaryEmbedding.maxPosition { return "rotary positions beyond \(RotaryEmbedding.maxPosition)" }
        return nil
    }

    /// The problems of the MLA keys, or nil.
    func mlaProblem() -> String? {
        guard let mla else {
            return ropeDim != nil || latentDim != nil ? "rope_dim and latent_dim need mla (absorbed or naive)" : nil
        }
        let r = ropeDim ?? 64
        guard mla == "absorbed" || mla == "naive" else {
            return "unknown mla \(TextEscaping.quoted(mla)) (absorbed, naive)"
        }
        guard (1...1024).contains(r), r < headDim else { return "rope_dim must be in 1...1024 and below head_dim" }
        guard sinks == nil, sinkTokens == nil, dlse == nil, splits == nil || mla == "absorbed" else {
            return "an mla case takes no sinks, sink_tokens or dlse (and a naive one no splits)"
        }
        if mla == "absorbed" {
            guard latentDim == nil, kvHeadCount == 1, valueDimension + r == headDim else {
                return
                    "an absorbed mla case has kv_heads 1 and head_dim = value_dim (the latent) + rope_dim (no latent_dim)"
            }
            guard goldenLayout == .dense || goldenLayout == .paged else {
                return "an absorbed mla case is dense or paged"
            }
        } else {
            let l = latentDim ?? 512
            guard (1...4096).contains(l), goldenLayout == .dense, kvHeads == nil || kvHeadCount == heads else {
                return "a naive mla case is dense, with latent_dim in 1...4096 and one KV head per query head"
            }
            let weights = (try? MemoryBudget.product([heads, headDim + valueDimension, l], for: "w")) ?? .max
            let latent = (try? MemoryBudget.product([batch, seqK, l + r], for: "latent")) ?? .max
            guard weights <= 1 << 24, latent <= 1 << 24 else {
                return "mla weights or latent cache exceed the 2^24 elements of a golden case"
            }
        }
        return nil
    }

    /// The attention options this case exercises; with `dtype`, the sinks rounded once to it (the values the golden
    /// file stores and the golden is computed from). An MLA case's scale defaults to DeepSeek-V3's.
    public func options(dtype: DType? = nil) throws -> AttentionOptions {
        var o = AttentionOptions(
            scale: scale ?? (mla != nil ? MultiHeadLatentAttention.deepSeekV3Scale : nil),
            causal: CausalMode(rawValue: causal ?? "none") ?? .none, softcap: softcap,
            cacheSeqlens: cacheSeqlens, sinks: sinks.map { s in dtype.map { t in s.map { Rounding.to(t, $0) } } ?? s },
            sinkTokens: sinkTokens)
        o.cacheLeftpad = cacheLeftpad
        o.attentionChunk = attentionChunk
        if let window { o.window = SlidingWindow(left: window[0], right: window[1]) }
        if let layout = try sparseLayout() {
            o.mask = try BroadcastMask(layout.mask, batch: batch, heads: heads, queries: seqQ, keys: seqK)
        }
        if alibi == true { o.alibiSlopes = GoldenCaseSpec.alibiSlopes(heads: heads) }
        _ = try ScoreRule(options: o, batch: batch, queryHeads: heads, queries: seqQ, keys: seqK, headDim: headDim)
        return o
    }

    /// ALiBi's standard slopes 2^(-8 (h+1) / H).
    public static func alibiSlopes(heads: Int) -> [Double] {
        (0..<heads).map { h in
            let e = 8 * Double(h + 1) / Double(heads)
            // Exact powers of two when 8(h+1)/H is an integer (H = 1, 2, 4, 8), else the portable exp.
            return e == e.rounded()
                ? Double(sign: .plus, exponent: -Int(e), significand: 1) : PortableMath.exp(-e * 0.6931471805599453)
        }
    }
}
