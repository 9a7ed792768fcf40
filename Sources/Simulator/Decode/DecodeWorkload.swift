/// One decode step of attention: a single new query token per sequence attending to N cached keys.
/// Notation follows the paper: b batch, n_h query heads, n_kv key/value heads, d_h head dim, d = n_h d_h.
public struct DecodeWorkload: Equatable, Sendable {
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

    /// Validates the shape: every count >= 1 and within bounds that keep derived counts far from overflow,
    /// `heads` a multiple of `kvHeads` (nil: as many as `heads`), and a known `dtype` (any case, see `elementSizes`).
    /// Throws `SimulatorError.invalidArgument` otherwise.
    public init(
        sequenceLength: Int, batch: Int = 1, heads: Int, kvHeads: Int? = nil, headDim: Int, dtype: String = "bf16"
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

    /// d = n_h d_h.
    public var modelDim: Int { heads * headDim }
    /// GQA repeat factor n_h / n_kv.
    public var groupSize: Int { heads / kvHeads }

    /// K and V elements for `tokens` tokens stored natively (n_kv heads).
    public func kvElements(tokens: Int) -> Double {
        2 * Double(batch) * Double(tokens) * Double(kvHeads) * Double(headDim)
    }
    /// Elements of one partial result: output (b d) plus log-sum-exp (b n_h).
    public var partialElements: Double { Double(batch) * Double(modelDim + heads) }
}
