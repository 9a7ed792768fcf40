import Foundation
import Reference

/// One distributed attention run, as `treeattn-mpi attention` runs it on every rank: each rank reads (ranged reads,
/// `AttentionFiles`) or generates (`RandomInputs.generate(keyRange:)`) q whole and only its own key shard of K and V,
/// after checking the memory it will take; the reduction runs `warmup + repeats` times, every run after a barrier;
/// rank 0 writes the result, its LSE and the timing report (`DistributedRunReport`) all together or none. Every step
/// that can fail on some ranks only runs inside `Communicator.agree`, so all ranks fail together with one message.
public struct DistributedAttentionJob: Sendable {
    /// Where q, k and v come from.
    public enum Inputs: Sendable {
        /// .npy or .safetensors files (tensors `q`, `k`, `v`), the same paths on every rank.
        case files(q: String, k: String, v: String)
        /// Seeded inputs, the bytes of `treeattn random-inputs` with the same shape and seed.
        case random(RandomInputs)
    }

    /// The inputs.
    public var inputs: Inputs
    /// The layout, precision and score options.
    public var problem = AttentionProblem()
    /// How the ranks' partials are combined.
    public var reduction = DistributedReduction.algorithm3
    /// The output file, written by rank 0; nil for none (at least one of `out`, `lse`, `report` must be given).
    public var out: String?
    /// The LSE file, written by rank 0; nil for none.
    public var lse: String?
    /// The timing report (`DistributedRunReport` JSON), written by rank 0; nil for none.
    public var report: String?
    /// Timed runs, after `warmup` untimed ones (1...100000).
    public var repeats = 1
    /// Untimed warm-up runs before the timed ones (0...100000).
    public var warmup = 0

    /// A job over `inputs` with the default problem and reduction and nothing to write yet.
    /// The time the job may take, checked against its estimate before any collective starts (`shard`). Ranks never
    /// stop on a deadline once they communicate: one rank leaving a collective alone would leave the others blocked
    /// in it (`withCommunicator` makes the process-wide budget unlimited for the kernels).
    public var timeBudget: TimeBudget

    /// A job with the defaults: the problem's defaults, Algorithm 3, no outputs, one timed run, and the process-wide
    /// time budget as it is now.
    public init(inputs: Inputs) {
        self.inputs = inputs
        timeBudget = .current
    }

    /// Refuses what cannot run, before any rank starts.
    public func validate() throws {
        guard (1...100_000).contains(repeats) else {
            throw DistributedError.invalid("--repeat must be in 1...100000, got \(repeats)")
        }
        guard (0...100_000).contains(warmup) else {
            throw DistributedError.invalid("--warmup must be in 0...100000, got \(warmup)")
        }
        guard out != nil || lse != nil || report != nil else {
            throw DistributedError.invalid("nothing to write: give --out, --lse or --report")
        }
        if problem.rotary != nil {
            throw DistributedError.invalid("--rope is not supported by treeattn-mpi (each rank reads a key shard)")
        }
    }

    /// Runs the job on this rank and returns the job's NaN/Inf warnings on rank 0 (none on the others); every rank of
    /// `comm` must call it.
    public func run(_ comm: Communicator) throws -> [String] {
        try validate()
        // Rank 0 checks and reserves the outputs before any work; they appear together at the end or not at all.
        let outputs: AtomicOutputs? = try comm.agree {
            guard comm.rank == 0 else { return nil }
            for path in [out, lse].compactMap({ $0 }) { try TensorFiles.checkOutputType(path) }
            var inputs: [String] = []
            if case .files(let q, let k, let v) = self.inputs {
                inputs = [q, k, v] + [problem.maskPath].compactMap { $0 }
            }
            return try AtomicOutputs([out, lse, report].compactMap { $0 }, inputs: inputs, standardOutput: true)
        }
        defer { outputs?.discard() }
        let (loaded, bad) = try comm.agree { try loadShard(rank: comm.rank, ranks: comm.size) }
        // One warning line per tensor for the whole job, from rank 0: q as every rank read it, k and v summed over
        // the shards (each counted where a query sees it).
        var keyCounts = [Int64(bad[1]), Int64(bad[2])]
        try comm.allreduce(&keyCounts, .sum)
        let propagation = "in unmasked positions they propagate to the output"
        let warnings =
            comm.rank != 0
            ? []
            : InputWarnings.line("q", bad[0], propagation) + InputWarnings.line("k", Int(keyCounts[0]), propagation)
                + InputWarnings.line("v", Int(keyCounts[1]), propagation)
        var timings: [PhaseLog] = []
        let program = reduction.program  // one instance for all runs (the ring keeps its receive buffers)
        let result: (output: TensorData, lse: TensorData)? = try comm.agree {
            var last: (output: TensorData, lse: TensorData)?
            for run in 0..<(warmup + repeats) {
                try comm.barrier()
                var log = PhaseLog()
                switch loaded {
                // Sinks join once, on rank 0 after the reduction (the shards' partials leave them out).
                case .f64(let shard):
                    let r = try program.run(shard, comm: comm, log: &log)
                    if let r, run == warmup + repeats - 1 {
                        last = try problem.encode(try AttentionSinks.apply(shard.options.sinks, to: r))
                    }
                case .f32(let shard):
                    let r = try program.run(shard, comm: comm, log: &log)
                    if let r, run == warmup + repeats - 1 {
                        last = try problem.encode(try AttentionSinks.apply(shard.options.sinks, to: r))
                    }
                }
                if run >= warmup { timings.append(log) }
            }
            return last
        }
        let rankReport = DistributedRunReport.Rank(
            rank: comm.rank, keys: loaded.layout.ranges[comm.rank], timings: timings)
        let reportText = try DistributedRunReport.gather(rankReport, job: self, keys: loaded.layout.keys, comm: comm)
        try comm.agree {
            guard let outputs else { return }
            let metadata = problem.metadata([
                "reduction": reduction.rawValue, "ranks": "\(comm.size)",
                "generator": "treeattn-mpi attention",
            ])
            if let path = out, let r = result {
                try outputs.write(r.output, to: path, name: "out", metadata: metadata)
            }
            if let path = lse, let r = result {
                try outputs.write(r.lse, to: path, name: "lse", metadata: metadata)
            }
            if let path = report, let text = reportText { try outputs.write(Array(text.utf8), to: path) }
            try outputs.commit()
        }
        return warnings
    }

    /// This rank's shard in the compute precision.
    enum LoadedShard {
        case f64(RankShard<Double>)
        case f32(RankShard<Float>)

        var layout: ShardLayout {
            switch self {
            case .f64(let s): return s.layout
            case .f32(let s): return s.layout
            }
        }
    }

    /// Reads (or generates) q whole and rank `rank`'s key rows of k and v (of `ranks` shards), after checking the
    /// memory it will take.
    func loadShard(rank: Int, ranks: Int) throws -> (LoadedShard, bad: [Int]) {
        switch problem.precision {
        case .f64:
            let (shard, bad) = try shard(Double.self, rank: rank, ranks: ranks)
            return (.f64(shard), bad)
        case .f32:
            let (shard, bad) = try shard(Float.self, rank: rank, ranks: ranks)
            return (.f32(shard), bad)
        }
    }

    /// Rank `rank`'s `RankShard` in S (of `ranks` shards), and the NaN/Inf counts of what it read: q's, and k's and
    /// v's at keys some query sees (`InputWarnings`). No MPI call: the same for every rank count, in one process or
    /// under mpirun.
    func shard<S: MPIScalar>(
        _: S.Type, rank: Int, ranks: Int, budget: MemoryBudget = .current
    ) throws -> (RankShard<S>, [Int]) {
        let inputs: AttentionInputs<S>, layout: ShardLayout
        var bad = [0, 0, 0]
        switch self.inputs {
        case .random(let spec):
            layout = try ShardLayout(keys: spec.keys, shards: ranks)
            let range = layout.ranges[rank]
            try budget.check(
                try Self.randomRankBytes(
                    spec, keys: range.count, precision: problem.precision, ringKeys: ringBufferKeys(layout)),
                for: "rank \(rank)'s q and key shard (\(range.count) keys)")
            let generated = try spec.generate(keyRange: range)
            let t = generated.map { $0.data.tensor().map { S($0) } }
            inputs = try AttentionInputs(q: t[0], k: t[1], v: t[2])
        case .files(let q, let k, let v):
            let files = try AttentionFiles(q: q, k: k, v: v, layout: problem.layout)
            let shapes = files.shapes, axis = problem.layout.sequenceAxis
            let keys = shapes[1][axis]
            guard shapes[2][axis] == keys else {
                throw ReferenceError.shape("k has \(keys) keys but v has \(shapes[2][axis])")
            }
            layout = try ShardLayout(keys: keys, shards: ranks)
            let range = layout.ranges[rank]
            try budget.check(
                try Self.fileRankBytes(
                    shapes, keys: range.count, totalKeys: keys, size: MemoryLayout<S>.size,
                    ringKeys: ringBufferKeys(layout)),
                for: "rank \(rank)'s q and key shard (\(range.count) keys)")
            let swap = problem.layout.swapsAxes
            let read = try files.values(as: S.self, swap: [swap, swap, swap], keys: range, keyAxis: axis)
            let t = read.tensors
            bad = read.bad
            inputs = try AttentionInputs(q: t[0], k: t[1], v: t[2])
        }
        let options = try problem.options(
            batch: inputs.batch, heads: inputs.queryHeads, queries: inputs.queries, keys: layout.keys)
        // The rank's work over every run (warmup and timed), against the time left (`TimeBudget.current`).
        var work = AttentionWork(
            batch: inputs.batch, heads: inputs.queryHeads, queries: inputs.queries, keys: layout.ranges[rank].count,
            headDim: inputs.headDim, valueDim: inputs.valueDim)
        let runs = Double(warmup + repeats)
        (work.flops, work.elements, work.loops) = (work.flops * runs, work.elements * runs, work.loops * runs)
        try work.check(for: "rank \(rank)'s \(warmup + repeats) runs", budget: timeBudget)
        // q's NaN/Inf everywhere; the shard's k and v only at keys some query sees (`InputWarnings`).
        let counts = try InputWarnings.counts(
            inputs, bad: bad, options: options, keys: layout.keys, keyOffset: layout.ranges[rank].lowerBound,
            isBad: (k: { !inputs.k.data[$0].isFinite }, v: { !inputs.v.data[$0].isFinite }))
        return (try RankShard(inputs: inputs, layout: layout, rank: rank, options: options), counts)
    }

    /// Keys of the K/V blocks the ring keeps besides the rank's own shard: two blocks of the largest shard (one
    /// received while the other is folded in); none for the other reductions.
    func ringBufferKeys(_ layout: ShardLayout) -> Int {
        reduction == .ring ? 2 * (layout.ranges.map(\.count).max() ?? 0) : 0
    }

    /// What one rank holds with its inputs from files: q and its key rows of k and v in the compute type (`size`
    /// bytes each, read straight into it, one 4 MiB slab at a time), its partials (a few times q's size: four (output,
    /// LSE) pairs at most) and, for the ring, the K/V blocks of `ringKeys` keys it receives in turn.
    static func fileRankBytes(_ shapes: [[Int]], keys: Int, totalKeys: Int, size: Int, ringKeys: Int = 0) throws -> Int
    {
        let what = "the key shard"
        let q = try MemoryBudget.product(shapes[0], for: what)
        let kv = try [shapes[1], shapes[2]].map { shape in
            try MemoryBudget.product(
                [shape.reduce(1, *) / max(totalKeys, 1), MemoryBudget.sum([keys, ringKeys], for: what)],
                for: what)
        }
        let elements = try MemoryBudget.sum([MemoryBudget.product([q, 5], for: what)] + kv, for: what)
        return try MemoryBudget.sum([MemoryBudget.product([elements, size], for: what), 1 << 22], for: what)
    }

    /// What one rank holds with generated inputs: q and its key rows of k and v as f64 (plus an f32 copy), the
    /// generated values and the rounded bytes of one tensor at a time, the partials (bounded by a few times q's
    /// size) and, for the ring, the K/V blocks of `ringKeys` keys it receives in turn (in the compute type).
    public static func randomRankBytes(_ s: RandomInputs, keys: Int, precision: Precision, ringKeys: Int = 0) throws
        -> Int
    {
        let what = "the random inputs"
        let q = try MemoryBudget.product([s.batch, s.heads, s.queries, max(s.headDim, s.valueDim)], for: what)
        let kv = try MemoryBudget.product([s.batch, s.kvHeads, keys, s.headDim + s.valueDim], for: what)
        let ring = try MemoryBudget.product(
            [s.batch, s.kvHeads, ringKeys, s.headDim + s.valueDim, precision == .f32 ? 4 : 8],
            for: what)
        let elements = try MemoryBudget.sum([MemoryBudget.product([q, 4], for: what), kv], for: what)
        return try MemoryBudget.sum(
            [MemoryBudget.product([elements, precision == .f32 ? 28 : 24], for: what), ring], for: what)
    }
}
