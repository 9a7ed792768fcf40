/// Everything that shapes which keys a query sees and how its scores are formed, beyond Q, K and V themselves.
/// Defaults reproduce plain softmax attention with scale 1/sqrt(d_qk).
public struct AttentionOptions: Sendable {
    /// Softmax scale; nil means 1/sqrt(d_qk).
    public var scale: Double?
    /// Causal alignment (default `.none`).
    public var causal: CausalMode = .none
    /// Sliding window; nil means none.
    public var window: SlidingWindow?
    /// Softcap c: s <- c * tanh(s / c) on the scaled scores, before masks and biases.
    public var softcap: Double?
    /// ALiBi: one slope per query head; bias -slope_h * |i + Sk - Sq - j|.
    public var alibiSlopes: [Double]?
    /// Boolean mask: true means the key takes part.
    public var mask: BroadcastMask<Bool>?
    /// Additive float mask, added to the scores; -inf excludes the key.
    public var additiveMask: BroadcastMask<Double>?
    /// Per-batch number of valid keys (KV cache lengths). Sk for the causal and window alignment becomes this length.
    public var cacheSeqlens: [Int]?
    /// gpt-oss's learnable attention sinks: one logit per query head, a final score (not multiplied by the scale, not
    /// capped) that joins every row's softmax denominator and carries no value (`AttentionSinks`). The LSE includes
    /// it. Over a key range (a shard) the partial leaves it out; reductions add it once.
    public var sinks: [Double]?
    /// StreamingLLM's sink tokens: the first k keys stay visible beside a sliding window (still subject to cache
    /// lengths, causality and element-wise masks); nil or 0 means none.
    public var sinkTokens: Int?
    /// Per-batch left padding (flash_attn_with_kvcache's `cache_leftpad`): keys before it are excluded. The valid
    /// keys are [leftpad, cache length); bottom-right causality, windows and ALiBi keep their absolute diagonal,
    /// top-left causality counts from the first valid key.
    public var cacheLeftpad: [Int]?
    /// Chunked local attention (Llama 4, FlashAttention 3's `attention_chunk`): the query at position p (its
    /// bottom-right diagonal, counted from the first valid key) sees only the keys of its chunk [floor(p / C) C, + C),
    /// intersected with causality and the window.
    public var attentionChunk: Int?

    /// Options with every term absent unless given: plain softmax attention by default. Checked when resolved into
    /// a `ScoreRule`.
    public init(
        scale: Double? = nil, causal: CausalMode = .none, window: SlidingWindow? = nil,
        softcap: Double? = nil, alibiSlopes: [Double]? = nil,
        mask: BroadcastMask<Bool>? = nil, additiveMask: BroadcastMask<Double>? = nil,
        cacheSeqlens: [Int]? = nil, sinks: [Double]? = nil, sinkTokens: Int? = nil
    ) {
        self.scale = scale
        self.causal = causal
        self.window = window
        self.softcap = softcap
        self.alibiSlopes = alibiSlopes
        self.mask = mask
        self.additiveMask = additiveMask
        self.cacheSeqlens = cacheSeqlens
        self.sinks = sinks
        self.sinkTokens = sinkTokens
    }
}
