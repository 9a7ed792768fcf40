import ArgumentParser
import Reference
import TreeCore

/// The shape, seed and dtype of seeded random inputs: `treeattn random-inputs` and `treeattn-mpi attention --random`
/// (so both generate the same bytes from the same options).
public struct RandomShapeOptions: ParsableArguments {
    @Option public var batch = 1
    @Option public var heads = 2
    @Option public var kvHeads: Int?
    @Option public var seqQ = 4
    @Option public var seqK = 16
    @Option public var headDim = 8
    @Option public var valueDim: Int?
    @Option(help: "Standard deviation of q and k entries.") public var std = 1.0
    @Option public var seed: UInt64 = 0
    @Option(help: "f64, f32, f16 or bf16 (rounded once, to nearest even).") public var dtype: DType = .f64

    public init() {}

    public var spec: RandomInputs {
        RandomInputs(batch: batch, heads: heads, kvHeads: kvHeads, queries: seqQ, keys: seqK, headDim: headDim,
                     valueDim: valueDim, std: std, seed: seed, dtype: dtype)
    }

    /// Per-dimension bounds (each at most 2^24, seq-k 2^40: a distributed run holds 1/P of the keys per rank) and
    /// the head grouping; commands bound the totals they allocate (overflow-checked).
    public func validate() throws {
        let kv = kvHeads ?? heads, dv = valueDim ?? headDim
        for (name, value, limit) in [("batch", batch, 1 << 24), ("heads", heads, 1 << 24), ("kv-heads", kv, 1 << 24),
                                     ("seq-q", seqQ, 1 << 24), ("seq-k", seqK, 1 << 40), ("head-dim", headDim, 1 << 24),
                                     ("value-dim", dv, 1 << 24)] where value < 0 || value > limit {
            throw CLIError("--\(name) must be in 0...\(limit), got \(value)")
        }
        guard kv > 0, heads % kv == 0 else { throw CLIError("--heads (\(heads)) must be a multiple of --kv-heads (\(kv))") }
        guard std.isFinite, std > 0 else { throw CLIError("--std must be positive and finite") }
    }

    /// What one rank holds while computing: q and its key rows of k and v as f64 (plus an f32 copy), the generated
    /// values and the rounded bytes of one tensor at a time, and the partials (bounded by a few times q's size).
    public func rankBytes(keys: Int, precision: Precision) throws -> Int {
        let what = "the random inputs"
        let s = spec
        let q = try MemoryBudget.product([s.batch, s.heads, s.queries, max(s.headDim, s.valueDim)], for: what)
        let kv = try MemoryBudget.product([s.batch, s.kvHeads, keys, s.headDim + s.valueDim], for: what)
        let elements = try MemoryBudget.sum([MemoryBudget.product([q, 4], for: what), kv], for: what)
        return try MemoryBudget.product([elements, precision == .f32 ? 28 : 24], for: what)
    }
}
