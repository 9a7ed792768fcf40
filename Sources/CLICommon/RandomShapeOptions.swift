import ArgumentParser
import Reference
import TreeCore

/// The shape, seed and dtype of seeded random inputs: `treeattn random-inputs` and `treeattn-mpi attention --random`
/// (so both generate the same bytes from the same options).
public struct RandomShapeOptions: ParsableArguments {
    /// `--batch`: batch size B.
    @Option public var batch = 1
    /// `--heads`: query heads H.
    @Option public var heads = 2
    /// `--kv-heads`: key/value heads; nil means as many as `heads` (it must divide `heads`).
    @Option public var kvHeads: Int?
    /// `--seq-q`: query sequence length Sq.
    @Option public var seqQ = 4
    /// `--seq-k`: key sequence length Sk.
    @Option public var seqK = 16
    /// `--head-dim`: head dimension d_qk of q and k.
    @Option public var headDim = 8
    /// `--value-dim`: head dimension of v; nil means `headDim`.
    @Option public var valueDim: Int?
    /// `--std`: standard deviation of q and k entries (v uses 1); positive and finite.
    @Option(help: "Standard deviation of q and k entries.") public var std = 1.0
    /// `--seed`: seed of the random stream; the same seed gives the same bytes on every machine.
    @Option public var seed: UInt64 = 0
    /// `--dtype`: element type the values are rounded to once (f64, f32, f16, bf16, or FP8 f8e4m3fn / f8e5m2 with
    /// the cast's overflow rule, `Float8Overflow.cast`).
    @Option(help: "f64, f32, f16, bf16, f8e4m3fn or f8e5m2 (rounded once, to nearest even).")
    public var dtype: DType = .f64

    /// The options, unparsed.
    public init() {}

    /// The generator these options describe (q, k and v in bhsd).
    public var spec: RandomInputs {
        RandomInputs(
            batch: batch, heads: heads, kvHeads: kvHeads, queries: seqQ, keys: seqK, headDim: headDim,
            valueDim: valueDim, std: std, seed: seed, dtype: dtype)
    }

    /// Per-dimension bounds (each at most 2^24, seq-k 2^40: a distributed run holds 1/P of the keys per rank) and
    /// the head grouping; commands bound the totals they allocate (overflow-checked).
    public func validate() throws {
        let kv = kvHeads ?? heads, dv = valueDim ?? headDim
        for (name, value, limit) in [
            ("batch", batch, 1 << 24), ("heads", heads, 1 << 24), ("kv-heads", kv, 1 << 24),
            ("seq-q", seqQ, 1 << 24), ("seq-k", seqK, 1 << 40), ("head-dim", headDim, 1 << 24),
            ("value-dim", dv, 1 << 24),
        ] where value < 0 || value > limit {
            throw CLIError("--\(name) must be in 0...\(limit), got \(value)")
        }
        guard kv > 0, heads % kv == 0 else {
            throw CLIError("--heads (\(heads)) must be a multiple of --kv-heads (\(kv))")
        }
        guard std.isFinite, std > 0 else { throw CLIError("--std must be positive and finite") }
    }
}
