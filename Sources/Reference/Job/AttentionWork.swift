import TreeCore

/// The work of an attention run, estimated before it starts so that `TimeBudget.current` can refuse a run that could
/// not finish in time: the floating-point operations of every (query, key) pair (2 (D + Dv) per pair for the forward,
/// 5 (D + Dv) with the backward's), the per-element passes over the tensors (reading, converting, writing) and the
/// loops that run per (batch, head, shard) over rows that exist, so that a problem with 2^31 heads and one query is
/// costed too (without queries those loops are skipped, and so is their cost).
///
/// Rates are at or above what the 2-core development VM measures (`flopsPerSecond`, `elementsPerSecond`,
/// `loopsPerSecond`), so on such a machine a refusal is of a run that could not have finished in time; a much faster
/// machine needs a larger `--max-time`.
public struct AttentionWork: Sendable, Equatable {
    /// Floating-point operations of the score and value products (every pair counted: causal and windowed runs do
    /// fewer).
    public var flops: Double = 0
    /// Tensor elements read, converted or written once each.
    public var elements: Double = 0
    /// Iterations of the loops over (batch, head, shard, page) that run whatever the tokens.
    public var loops: Double = 0

    /// Floating-point operations per second assumed: about the f32 prefill kernel's measured rate on the 2-core
    /// development VM (8 heads x 2048 x 2048 x 128 in 0.15-0.19 s), twice its f64 rate.
    public static let flopsPerSecond = 1e11
    /// Elements per second of a pass over a tensor.
    public static let elementsPerSecond = 2e9
    /// Loop iterations per second.
    public static let loopsPerSecond = 1e9

    /// No work.
    public init() {}

    /// Dense attention of `batch` x `heads` x `queries` against `keys` keys (head dim `headDim`, value dim
    /// `valueDim`) over `shards` shards, with the backward when `backward`.
    public init(
        batch: Int, heads: Int, queries: Int, keys: Int, headDim: Int, valueDim: Int, shards: Int = 1,
        backward: Bool = false
    ) {
        add(
            batch: batch, heads: heads, queries: queries, keys: keys, headDim: headDim, valueDim: valueDim,
            shards: shards, backward: backward)
    }

    /// Adds one problem (a varlen sequence, a dense batch) to the estimate.
    public mutating func add(
        batch: Int, heads: Int, queries: Int, keys: Int, headDim: Int, valueDim: Int, shards: Int = 1,
        backward: Bool = false
    ) {
        let (b, h, q, k) = (Double(batch), Double(heads), Double(queries), Double(keys))
        let width = Double(headDim) + Double(valueDim)
        flops += b * h * q * k * width * (backward ? 7 : 2)
        // Inputs and gradients once or three times; per shard its partial (and with the backward its dQ share).
        let perShard = Double(valueDim) + 1 + (backward ? 2 * Double(headDim) : 0)
        elements += b * h * (q + k) * width * (backward ? 3 : 1) + b * h * q * perShard * Double(shards)
        // Per (batch, head, shard) loops run only for rows that exist: without queries they are skipped.
        loops += queries > 0 ? b * h * Double(shards) * (backward ? 3 : 1) : 0
    }

    /// Seconds at the assumed rates.
    public var seconds: Double {
        flops / Self.flopsPerSecond + elements / Self.elementsPerSecond + loops / Self.loopsPerSecond
    }

    /// Refuses the work when it cannot finish in the time left (`TimeBudget.current`), with one line naming the
    /// estimate.
    public func check(for what: String, budget: TimeBudget = .current) throws {
        try budget.check(
            seconds, for: what,
            detail: String(
                format: "%.2g floating-point operations, %.2g element passes, %.2g loop steps", flops,
                elements, loops))
    }
}
