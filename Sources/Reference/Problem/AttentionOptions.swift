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

    /// Options with every term absent unless given: plain softmax attention by default. Checked when resolved into
    /// a `ScoreRule`.
    public init(
        scale: Double? = nil, causal: CausalMode = .none, window: SlidingWindow? = nil,
        softcap: Double? = nil, alibiSlopes: [Double]? = nil,
        mask: BroadcastMask<Bool>? = nil, additiveMask: BroadcastMask<Double>? = nil,
        cacheSeqlens: [Int]? = nil
    ) {
        self.scale = scale
        self.causal = causal
        self.window = window
        self.softcap = softcap
        self.alibiSlopes = alibiSlopes
        self.mask = mask
        self.additiveMask = additiveMask
        self.cacheSeqlens = cacheSeqlens
    }
}
