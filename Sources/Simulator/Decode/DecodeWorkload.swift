/// One decode step of attention: a single new query token per sequence attending to N cached keys.
/// Notation follows the paper: b batch, n_h query heads, n_kv key/value heads, d_h head dim, d = n_h d_h.
public struct DecodeWorkload: Equatable, Sendable, Codable {
    /// Cached tokens N each query attends to, split over the GPUs.
    public var sequenceLength: Int
    /// Sequences decoded together (b).
    public var batch: Int
    /// Query heads (n_h).
    public var heads: Int
    /// Key/value heads (n_kv); `heads` is a multiple of it (grouped-query attention).
    public var kvHeads: Int
    /// Dimension of each head (d_h).
    public var headDim: Int
    /// Element type of K, V and q (bf16, fp16, fp32, f64, fp8), lowercased as given.
    public var dtype: String
    /// Bytes per element of `dtype` (e.g. 2 for bf16).
    public var elementBytes: Int
    /// Partials (outputs, max, denominators) travel and are stored in max(4, `elementBytes`) bytes per element:
    /// fp32 for bf16, fp16, fp32 and fp8 workloads, f64 for f64 ones.
    public var partialElementBytes: Int
    /// Dimension of each value head, d_v (`headDim` unless given): the output's and the numerator's width per head.
    public var valueDim: Int
    /// Multi-head latent attention in its absorbed form (DeepSeek-V2/V3): one KV head whose cached row of `headDim`
    /// values per token (latent 512 + rope 64 = 576) serves as the key, and its first `valueDim` values (512) as the
    /// value, so a token's cache is `headDim` values, not `headDim + valueDim`.
    public var latentKV: Bool

    /// Validates the shape: every count >= 1 and within bounds that keep derived counts far from overflow,
    /// `heads` a multiple of `kvHeads` (nil: as many as `heads`), and a known `dtype` (any case, see `elementSizes`).
    /// Throws `SimulatorError.invalidArgument` otherwise.
    public init(
        sequenceLength: Int, batch: Int = 1, heads: Int, kvHeads: Int? = nil, headDim: Int, dtype: String = "bf16",
        valueDim: Int? = nil, latentKV: Bool = false
    ) throws {
        let kv = kvHeads ?? heads
        for (value, name) in [
            (sequenceLength, "seq-len"), (batch, "batch"), (heads, "heads"), (kv, "kv-heads"), (headDim, "head-dim"),
        ] {
            guard value >= 1 else { throw SimulatorError.invalidArgument("\(name) must be >= 1, got \(value)") }
        }
        // Bounds that keep every derived count (K/V elements, bytes, picoseconds) far from Int64 overflow.
        for (value, name, limit) in [
            (sequenceLength, "seq-len", 1 << 40), (batch, "batch", 1 << 20), (heads, "heads", 1 << 16),
            (kv, "kv-heads", 1 << 16), (headDim, "head-dim", 1 << 16),
        ] where value > limit {
            throw SimulatorError.invalidArgument("\(name) must be <= \(limit), got \(value)")
        }
        guard Double(batch) * Double(sequenceLength) * Double(heads) * Double(headDim) <= 1e18 else {
            throw SimulatorError.invalidArgument("batch x seq-len x heads x head-dim exceeds 1e18 elements")
        }
        guard heads % kv == 0 else {
            throw SimulatorError.invalidArgument("heads (\(heads)) must be a multiple of kv-heads (\(kv))")
        }
        guard let size = Self.elementSizes[dtype.lowercased()] else {
            throw SimulatorError.invalidArgument("unknown dtype '\(dtype)' (bf16, fp16, fp32, f64, fp8)")
        }
        let dv = valueDim ?? headDim
        guard (1...(1 << 16)).contains(dv) else {
            throw SimulatorError.invalidArgument("value-dim must be in 1...65536, got \(dv)")
        }
        if latentKV {
            guard kv == 1, dv <= headDim else {
                throw SimulatorError.invalidArgument(
                    "a latent KV cache (MLA) has one KV head and values within its rows (kv-heads 1, value-dim <= head-dim), got kv-heads \(kv), value-dim \(dv), head-dim \(headDim)"
                )
            }
        }
        self.valueDim = dv
        self.latentKV = latentKV
        self.sequenceLength = sequenceLength
        self.batch = batch
        self.heads = heads
        self.kvHeads = kv
        self.headDim = headDim
        self.dtype = dtype.lowercased()
        elementBytes = size
        partialElementBytes = max(4, size)
    }

    /// Bytes per element of each accepted dtype spelling.
    public static let elementSizes = [
        "bf16": 2, "fp16": 2, "f16": 2, "fp32": 4, "f32": 4, "f64": 8, "fp64": 8, "fp8": 1,
    ]

    /// d = n_h d_h, the width of the queries (and of dQ).
    public var modelDim: Int { heads * headDim }
    /// n_h d_v, the width of the output and of the numerator partial (`modelDim` unless d_v differs).
    public var outputDim: Int { heads * valueDim }
    /// GQA repeat factor n_h / n_kv.
    public var groupSize: Int { heads / kvHeads }
    /// Whether the workload is plain multi-head (or GQA) attention with d_v = d_h and separate K and V, the paper's
    /// setting (its volume and memory formulas apply).
    public var isPlain: Bool { valueDim == headDim && !latentKV }

    /// K and V elements for `tokens` tokens stored natively (n_kv heads): b t n_kv (d_h + d_v), or b t d_h for a
    /// latent cache.
    public func kvElements(tokens: Int) -> Double { kvElements(tokens: tokens, heads: kvHeads) }

    /// K and V elements for `tokens` tokens held as `heads` heads (a ring that sends GQA expanded; a latent cache is
    /// one row per token whatever the heads).
    public func kvElements(tokens: Int, heads h: Int) -> Double {
        latentKV
            ? Double(batch) * Double(tokens) * Double(headDim)
            : Double(batch) * Double(tokens) * Double(h) * Double(headDim + valueDim)
    }
    /// Elements of one partial result: output (b n_h d_v) plus log-sum-exp (b n_h).
    public var partialElements: Double { Double(batch) * Double(outputDim + heads) }
}
