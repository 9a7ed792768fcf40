import ArgumentParser
import CLICommon
import Distributed
import Foundation
import Reference

/// `mpirun -np P treeattn-mpi attention ...`: exact attention with the keys split over P ranks, each rank reading
/// (or generating) only its own key shard of K and V, combined by one of the distributed reductions. Rank 0 writes
/// the outputs; `--report` times every phase on every rank.
struct MPIAttentionCommand: ParsableCommand, MemoryBoundedCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "Distributed exact attention: one key shard per MPI rank, then a reduction.",
        discussion: """
            Run under mpirun (mpirun -np P treeattn-mpi attention ...); without mpirun it runs as one rank. Rank i \
            holds keys [i*Sk/P ...) (the first Sk mod P ranks one more) and reads only those rows of K and V (ranged \
            reads), or generates them with --random (the bytes of `treeattn random-inputs` with the same shape and \
            seed). Every option of `treeattn attention` applies; LSE is natural log, layout (batch, heads, seq_q).
            """)

    @Option(help: "Query tensor file (.npy, or .safetensors with tensor 'q').") var q: String?
    @Option(help: "Key tensor file (.npy, or .safetensors with tensor 'k'); each rank reads only its key rows.") var k: String?
    @Option(help: "Value tensor file (.npy, or .safetensors with tensor 'v'); each rank reads only its key rows.") var v: String?
    @Flag(help: "Generate q, k, v from --seed instead of reading files (each rank generates only its key shard).")
    var random = false
    @OptionGroup(title: "Random inputs (with --random)") var shape: RandomShapeOptions

    @Option(help: "algorithm3, merge-op, binary, ring or pass-partials.") var reduction: DistributedReduction = .algorithm3
    @OptionGroup var problem: AttentionOptionGroup
    @Option(help: "Output file (.npy or .safetensors), written by rank 0.") var out: String?
    @Option(help: "LSE output file (.npy or .safetensors), written by rank 0.") var lse: String?
    @Option(help: "Write per-rank, per-phase wall times (MPI_Wtime) and bytes sent as JSON here (rank 0).") var report: String?
    @Option(name: .customLong("repeat"), help: "Timed runs (after --warmup untimed ones); the report gives min/median/max.") var repeats: Int = 1
    @Option(help: "Untimed warm-up runs before the timed ones.") var warmup: Int = 0

    @OptionGroup var memory: MemoryOptions

    func validate() throws {
        guard (1...100_000).contains(repeats) else { throw CLIError("--repeat must be in 1...100000, got \(repeats)") }
        guard (0...100_000).contains(warmup) else { throw CLIError("--warmup must be in 0...100000, got \(warmup)") }
        if random {
            guard q == nil, k == nil, v == nil else { throw CLIError("give --q/--k/--v files or --random, not both") }
            try shape.validate()
        } else {
            guard q != nil, k != nil, v != nil else { throw CLIError("give --q, --k and --v files (or --random)") }
        }
        guard out != nil || lse != nil || report != nil else { throw CLIError("nothing to write: give --out, --lse or --report") }
    }

    func run() throws {
        try withCommunicator(runRanks)
    }

    func runRanks(_ comm: Communicator) throws {
        // Rank 0 checks and reserves the outputs before any work; they appear together at the end or not at all.
        let outputs: AtomicOutputs? = try comm.agree {
            guard comm.rank == 0 else { return nil }
            let paths = [out, lse, report].compactMap { $0 }
            for path in [out, lse].compactMap({ $0 }) { try TensorFiles.checkOutputType(path) }
            return try AtomicOutputs(paths)
        }
        defer { outputs?.discard() }
        let loaded = try comm.agree { try loadShard(comm) }
        var timings: [PhaseLog] = []
        let program = reduction.program  // one instance for all runs (the ring keeps its receive buffers)
        let resultBytes: (output: TensorData, lse: TensorData)? = try comm.agree {
            var last: (output: TensorData, lse: TensorData)?
            for run in 0..<(warmup + repeats) {
                try comm.barrier()
                var log = PhaseLog()
                switch loaded {
                case .f64(let shard):
                    let r = try program.run(shard, comm: comm, log: &log)
                    if let r, run == warmup + repeats - 1 { last = try problem.encode(r) }
                case .f32(let shard):
                    let r = try program.run(shard, comm: comm, log: &log)
                    if let r, run == warmup + repeats - 1 { last = try problem.encode(r) }
                }
                if run >= warmup { timings.append(log) }
            }
            return last
        }
        let reportText = try RunReport(command: self, comm: comm, layout: loaded.layout, timings: timings).gathered(comm)
        try comm.agree {
            guard let outputs else { return }
            if let path = out, let r = resultBytes {
                try outputs.write(TensorFiles.encode(r.output, for: path, name: "out", metadata: metadata(comm)), to: path)
            }
            if let path = lse, let r = resultBytes {
                try outputs.write(TensorFiles.encode(r.lse, for: path, name: "lse", metadata: metadata(comm)), to: path)
            }
            if let path = report, let text = reportText { try outputs.write(Array(text.utf8), to: path) }
            try outputs.commit()
        }
    }

    func metadata(_ comm: Communicator) -> [String: String] {
        ["layout": problem.layout.rawValue, "lse_layout": "bhs", "lse_base": "e", "precision": problem.precision.rawValue,
         "reduction": reduction.rawValue, "ranks": "\(comm.size)", "generator": "treeattn-mpi attention"]
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

    /// Reads (or generates) q whole and this rank's key rows of k and v, after checking the memory it will take.
    func loadShard(_ comm: Communicator) throws -> LoadedShard {
        let tensors: (q: Tensor<Double>, k: Tensor<Double>, v: Tensor<Double>, keys: Int)
        let layout: ShardLayout
        if random {
            let spec = shape.spec
            layout = try ShardLayout(keys: spec.keys, shards: comm.size)
            let range = layout.ranges[comm.rank]
            try MemoryBudget.current.check(try shape.rankBytes(keys: range.count, precision: problem.precision),
                                           for: "rank \(comm.rank)'s q and key shard (\(range.count) keys)")
            let generated = try spec.generate(keyRange: range)
            tensors = (generated[0].data.tensor(), generated[1].data.tensor(), generated[2].data.tensor(), spec.keys)
        } else {
            let axis = problem.sequenceAxis
            let readers = try [(q!, "q"), (k!, "k"), (v!, "v")].map { path, name in try TensorFileReader(path: path, npyName: name) }
            let stored = try zip(readers, ["q", "k", "v"]).map { reader, name in try reader.stored(name) }
            for (t, (path, name)) in zip(stored, [(q!, "q"), (k!, "k"), (v!, "v")]) where t.shape.count != 4 {
                throw CLIError("\(path): \(name) must have rank 4 (\(problem.layout)), got shape \(t.shape)")
            }
            let keys = stored[1].shape[axis]
            guard stored[2].shape[axis] == keys else { throw CLIError("k has \(keys) keys but v has \(stored[2].shape[axis])") }
            layout = try ShardLayout(keys: keys, shards: comm.size)
            let range = layout.ranges[comm.rank]
            let width = MemoryLayout<Double>.stride * (problem.precision == .f32 ? 2 : 1)
            let elements = try MemoryBudget.sum([stored[0].shape.reduce(1, *),
                                                 MemoryBudget.product([stored[1].shape.reduce(1, *) / max(keys, 1), range.count], for: "the key shard"),
                                                 MemoryBudget.product([stored[2].shape.reduce(1, *) / max(keys, 1), range.count], for: "the key shard")],
                                                for: "the key shard")
            try MemoryBudget.current.check(try MemoryBudget.product([elements, width + 8], for: "the key shard"),
                                           for: "rank \(comm.rank)'s q and key shard (\(range.count) keys)")
            tensors = (try problem.values(readers[0].read("q"), path: q!, name: "q"),
                       try problem.values(readers[1].read("k", axis: axis, range: range), path: k!, name: "k"),
                       try problem.values(readers[2].read("v", axis: axis, range: range), path: v!, name: "v"), keys)
        }
        let inputs = try AttentionInputs(q: tensors.q, k: tensors.k, v: tensors.v)
        let options = try problem.makeOptions(batch: inputs.batch, heads: inputs.queryHeads, queries: inputs.queries, keys: tensors.keys)
        switch problem.precision {
        case .f64:
            return .f64(try RankShard(inputs: inputs, layout: layout, rank: comm.rank, options: options))
        case .f32:
            let x32 = try AttentionInputs(q: inputs.q.map(Float.init), k: inputs.k.map(Float.init), v: inputs.v.map(Float.init))
            return .f32(try RankShard(inputs: x32, layout: layout, rank: comm.rank, options: options))
        }
    }
}

extension DistributedReduction: ExpressibleByArgument {}
