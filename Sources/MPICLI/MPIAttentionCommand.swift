import ArgumentParser
import CLICommon
import Distributed
import Foundation
import Reference

/// `mpirun -np P treeattn-mpi attention ...`: exact attention with the keys split over P ranks, each rank reading
/// (or generating) only its own key shard of K and V, combined by one of the distributed reductions. Rank 0 writes
/// the outputs; `--report` times every phase on every rank. The run is Distributed's `DistributedAttentionJob`.
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
    @Option(help: "Key tensor file (.npy, or .safetensors with tensor 'k'); each rank reads only its key rows.") var k:
        String?
    @Option(help: "Value tensor file (.npy, or .safetensors with tensor 'v'); each rank reads only its key rows.")
    var v: String?
    @Flag(help: "Generate q, k, v from --seed instead of reading files (each rank generates only its key shard).")
    var random = false
    @OptionGroup(title: "Random inputs (with --random)") var shape: RandomShapeOptions

    @Option(help: "algorithm3, merge-op, binary, flat, two-level, ring or pass-partials.") var reduction:
        DistributedReduction =
            .algorithm3
    @OptionGroup var problem: AttentionOptionGroup
    @Option(help: "Output file (.npy or .safetensors), written by rank 0.") var out: String?
    @Option(help: "LSE output file (.npy or .safetensors), written by rank 0.") var lse: String?
    @Option(
        help:
            "Write per-rank, per-phase wall times (MPI_Wtime) and bytes sent as JSON here (rank 0; - for standard output)."
    ) var report: String?
    @Option(
        name: .customLong("repeat"), help: "Timed runs (after --warmup untimed ones); the report gives min/median/max.")
    var repeats: Int = 1
    @Option(help: "Untimed warm-up runs before the timed ones.") var warmup: Int = 0

    @OptionGroup var memory: MemoryOptions

    func validate() throws {
        if random {
            guard q == nil, k == nil, v == nil else { throw CLIError("give --q/--k/--v files or --random, not both") }
            try shape.validate()
        } else {
            guard q != nil, k != nil, v != nil else { throw CLIError("give --q, --k and --v files (or --random)") }
        }
        try job().validate()
    }

    /// The job these options describe.
    func job() throws -> DistributedAttentionJob {
        var job = DistributedAttentionJob(
            inputs: random ? .random(shape.spec) : .files(q: q ?? "", k: k ?? "", v: v ?? ""))
        job.problem = try problem.problem()
        (job.reduction, job.out, job.lse, job.report, job.repeats, job.warmup) = (
            reduction, out, lse, report, repeats, warmup
        )
        return job
    }

    func run() throws {
        let job = try job()
        try withCommunicator { comm in
            for warning in try job.run(comm) { printWarning(warning) }
        }
    }
}

extension DistributedReduction: ExpressibleByArgument {}
