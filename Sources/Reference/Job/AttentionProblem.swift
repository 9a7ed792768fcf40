import Foundation

/// What defines one attention problem besides its tensors: the file layout, the compute precision and every score
/// option, with the mask given as a file. `treeattn attention` and `treeattn-mpi attention` both describe their
/// problem with it, so an option means the same in both.
public struct AttentionProblem: Sendable {
    /// The layout of the input and output files (LSE is always (batch, heads, seq_q)).
    public var layout: TensorLayout = .bhsd
    /// The compute precision, which is also the dtype of the results.
    public var precision: Precision = .f64
    /// Softmax scale; nil means 1/sqrt(d_qk).
    public var scale: Double?
    /// The causal alignment, if any.
    public var causal: CausalMode = .none
    /// FlashAttention's sliding window.
    public var window: SlidingWindow?
    /// Softcap c: s <- c tanh(s / c).
    public var softcap: Double?
    /// ALiBi slopes, one per query head.
    public var alibiSlopes: [Double]?
    /// KV-cache lengths, one per batch row (required by a paged cache).
    public var cacheSeqlens: [Int]?
    /// gpt-oss's sink logits, one per query head (`AttentionOptions.sinks`).
    public var sinks: [Double]?
    /// StreamingLLM's sink tokens beside the window (`AttentionOptions.sinkTokens`).
    public var sinkTokens: Int?
    /// Left padding per batch row (`AttentionOptions.cacheLeftpad`).
    public var cacheLeftpad: [Int]?
    /// Chunked local attention (`AttentionOptions.attentionChunk`).
    public var attentionChunk: Int?
    /// Rotary embeddings applied to q and k after reading, at absolute positions (key j at j, query i at i + the
    /// row's valid keys - Sq), as flash_attn_with_kvcache rotates them (a rotary dim of 0 means the head dim); nil:
    /// none.
    public var rotary: RotaryEmbedding?
    /// Whether rotary positions count from each row's first valid token (its left padding at position 0, vLLM's
    /// convention) rather than from slot 0 (FlashAttention's `rotary_cos` indexed by cache slot).
    public var ropeFromFirstToken = false
    /// A mask file: tensor `mask`, boolean or u8 (true = takes part) or float (additive), shape (Sq, Sk) or
    /// broadcastable (B|1, H|1, Sq|1, Sk). Read when the options are made.
    public var maskPath: String?

    /// A problem with the default options (bhsd, f64, plain softmax).
    public init() {}

    /// The attention options for a problem of this shape: the score options, and the mask read from `maskPath` and
    /// broadcast to (batch, heads, queries, keys) (`keys` is the total key count).
    public func options(batch: Int, heads: Int, queries: Int, keys: Int) throws -> AttentionOptions {
        var options = AttentionOptions(
            scale: scale, causal: causal, window: window, softcap: softcap,
            alibiSlopes: alibiSlopes, cacheSeqlens: cacheSeqlens, sinks: sinks, sinkTokens: sinkTokens)
        options.cacheLeftpad = cacheLeftpad
        options.attentionChunk = attentionChunk
        if let maskPath {
            let t = try TensorFiles.load(maskPath, name: "mask")
            if t.dtype == .bool || t.dtype == .u8 {
                options.mask = try BroadcastMask(
                    t.tensor().map { $0 != 0 }, batch: batch, heads: heads, queries: queries, keys: keys)
            } else if t.dtype.isFloatingPoint {
                options.additiveMask = try BroadcastMask(
                    t.tensor(), batch: batch, heads: heads, queries: queries, keys: keys)
            } else {
                throw ReferenceError.file(
                    path: maskPath,
                    problem: "mask must be bool/u8 (attend = true) or float (additive), got \(t.dtype.rawValue)")
            }
        }
        return options
    }

    /// A result tensor in the file dtype of `precision`, moved to bshd when `swap`.
    public func data<S: AttentionScalar>(_ t: Tensor<S>, swap: Bool) throws -> TensorData {
        try TensorData(swap ? t.swappingAxes12() : t, as: precision.dtype)
    }

    /// The output in this layout and its LSE ((batch, heads, seq_q) in any layout), in the file dtype of `precision`.
    public func encode<S: AttentionScalar>(_ r: AttentionPartial<S>) throws -> (output: TensorData, lse: TensorData) {
        try (data(r.output, swap: layout.swapsAxes), data(r.lse, swap: false))
    }

    /// The rotation of `rotary` with its rotary dim resolved (0 means the head dim `headDim`); nil without rope.
    func rotation(headDim: Int) -> RotaryEmbedding? {
        guard var rotary else { return nil }
        if rotary.rotaryDim == 0 { rotary.rotaryDim = headDim }
        return rotary
    }

    /// The positions q and k are rotated at in a problem of `batch` rows: key j at j, query i at i + the row's valid
    /// keys (the cache lengths, else all `keys`) - `queries`, both less the row's left padding with
    /// `ropeFromFirstToken`, at least 0.
    public func rotaryPositions(batch: Int, queries sq: Int, keys sk: Int) throws -> (q: [[Int]], k: [[Int]]) {
        let valid = cacheSeqlens ?? Array(repeating: sk, count: batch)
        guard valid.count == batch else {
            throw ReferenceError.invalidOption(
                "cache_seqlens needs one length per batch row (\(batch)), got \(valid.count)")
        }
        let origins = rotaryOrigins(batch: batch)
        return (
            zip(valid, origins).map { end, o in (0..<sq).map { max(0, $0 + end - sq - o) } },
            origins.map { o in (0..<sk).map { max(0, $0 - o) } }
        )
    }

    /// Per batch row, the position of slot 0: minus the row's left padding with `ropeFromFirstToken`, else 0 (the
    /// positions are max(0, slot - origin)).
    func rotaryOrigins(batch: Int) -> [Int] {
        (0..<batch).map { ropeFromFirstToken ? (cacheLeftpad?[$0] ?? 0) : 0 }
    }

    /// q and k rotated by `rotary` (when set) at `rotaryPositions`: q and k themselves without it.
    public func rotated<S: AttentionScalar>(_ q: Tensor<S>, _ k: Tensor<S>) throws -> (q: Tensor<S>, k: Tensor<S>) {
        guard let rotary = rotation(headDim: q.shape[3]) else { return (q, k) }
        let (qp, kp) = try rotaryPositions(batch: q.shape[0], queries: q.shape[2], keys: k.shape[2])
        return (try rotary.rotate(q, positions: qp), try rotary.rotate(k, positions: kp))
    }

    /// Gradients of the rotated q and of the rotated keys `keys` (a range of the key axis) taken back to the
    /// unrotated inputs: the rotation's transpose, its inverse. Themselves without rope.
    public func unrotated<S: AttentionScalar>(
        _ g: AttentionGradients<S>, keys: Range<Int>, totalKeys: Int
    ) throws -> AttentionGradients<S> {
        guard let rotary = rotation(headDim: g.dq.shape[3]) else { return g }
        let (qp, kp) = try rotaryPositions(batch: g.dq.shape[0], queries: g.dq.shape[2], keys: totalKeys)
        var out = g
        out.dq = try rotary.rotate(g.dq, positions: qp, inverse: true)
        out.dk = try rotary.rotate(g.dk, positions: kp.map { Array($0[keys]) }, inverse: true)
        return out
    }

    /// The metadata every result file of this problem carries: layouts, LSE base and precision, with the run's own
    /// entries (reduction, shards or ranks, generator) added.
    public func metadata(_ extra: [String: String]) -> [String: String] {
        ["layout": layout.rawValue, "lse_layout": "bhs", "lse_base": "e", "precision": precision.rawValue]
            .merging(extra) { _, new in new }
    }
}
