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

    enum CodingKeys: String, CodingKey {
        case name, batch, heads, seed, std, causal, window, softcap, scale, alibi, splits
        case kvHeads = "kv_heads", seqQ = "seq_q", seqK = "seq_k", headDim = "head_dim", valueDim = "value_dim"
        case cacheSeqlens = "cache_seqlens"
        case layout, partials
        case seqlensQ = "seqlens_q", seqlensK = "seqlens_k", pageSize = "page_size", pageLayout = "page_layout"
        case lseBase = "lse_base"
    }

    /// A case from its values; nil leaves an option unset (its default). Not validated: see `validate()`.
    public init(
        name: String, batch: Int = 1, heads: Int = 2, kvHeads: Int? = nil, seqQ: Int, seqK: Int, headDim: Int,
        valueDim: Int? = nil, causal: String? = nil, window: [Int]? = nil, softcap: Double? = nil,
        scale: Double? = nil, alibi: Bool? = nil, cacheSeqlens: [Int]? = nil, std: Double? = nil,
        seed: UInt64? = nil, splits: [Int]? = nil, layout: String? = nil, seqlensQ: [Int]? = nil,
        seqlensK: [Int]? = nil, pageSize: Int? = nil, pageLayout: String? = nil, partials: Int? = nil,
        lseBase: String? = nil
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
    }

    /// A varlen case: batch, seq_q and seq_k follow from the sequences' lengths.
    public static func varlen(
        name: String, heads: Int = 2, kvHeads: Int? = nil, seqlensQ: [Int], seqlensK: [Int], headDim: Int,
        valueDim: Int? = nil, causal: String? = nil, window: [Int]? = nil, softcap: Double? = nil,
        alibi: Bool? = nil, seed: UInt64? = nil
    ) -> GoldenCaseSpec {
        GoldenCaseSpec(
            name: name, batch: seqlensQ.count, heads: heads, kvHeads: kvHeads, seqQ: seqlensQ.max() ?? 0,
            seqK: seqlensK.max() ?? 0, headDim: headDim, valueDim: valueDim, causal: causal, window: window,
            softcap: softcap, alibi: alibi, seed: seed, layout: "varlen", seqlensQ: seqlensQ, seqlensK: seqlensK)
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
    }

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
        do {
            _ = try options()
        } catch ReferenceError.invalidOption(let message) {
            return message
        } catch {
            return "\(error)"
        }
        return nil
    }

    /// Problems with the layout keys: each layout takes its own keys and refuses the others'.
    func layoutProblem() -> String? {
        guard let kind = GoldenLayout(rawValue: layout ?? "dense") else {
            return "unknown layout \(TextEscaping.quoted(layout ?? "")) (dense, varlen, paged, merge)"
        }
        let given: [(String, Bool)] = [
            ("seqlens_q", seqlensQ != nil), ("seqlens_k", seqlensK != nil), ("page_size", pageSize != nil),
            ("page_layout", pageLayout != nil), ("partials", partials != nil), ("lse_base", lseBase != nil),
        ]
        let allowed: Set<String>
        switch kind {
        case .dense: allowed = []
        case .varlen: allowed = ["seqlens_q", "seqlens_k"]
        case .paged: allowed = ["page_size", "page_layout"]
        case .merge: allowed = ["partials", "lse_base"]
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
                splits == nil,
                kvHeads == nil, valueDim == nil, batch == 1
            else {
                return
                    "a merge case takes only name, heads, seq_q (rows), seq_k, head_dim, partials, lse_base, std and seed"
            }
        }
        return nil
    }

    /// The attention options this case exercises.
    public func options() throws -> AttentionOptions {
        var o = AttentionOptions(
            scale: scale, causal: CausalMode(rawValue: causal ?? "none") ?? .none, softcap: softcap,
            cacheSeqlens: cacheSeqlens)
        if let window { o.window = SlidingWindow(left: window[0], right: window[1]) }
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
