import ArgumentParser
import CLICommon
import Foundation
import Reference

/// `treeattn attention`: exact attention, or shard partials plus a reduction, on tensors read from files: parses its
/// options into an `AttentionJob` (Reference), runs it, prints its warnings and timings.
struct AttentionCommand: ParsableCommand, MemoryBoundedCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "Compute exact or tree-reduced attention from .npy/.safetensors inputs.",
        discussion: """
            Inputs are (batch, heads, seq, dim) by default (--layout bshd for FlashAttention's order). A .safetensors \
            input is read by tensor name (q, k, v); one file may serve as --q, --k and --v and is then indexed once. \
            Each input is read once, straight into --precision (f32 files stay f32 in an f32 run; bf16/f16 inputs, \
            and f32 inputs of an f64 run, stay as stored and are widened exactly, one tile at a time, by the kernel). \
            LSE is natural log with layout (batch, heads, seq_q). NaN or Inf in unmasked inputs propagates to the \
            output (a warning is printed); in masked positions it never reaches the output.

            --backward also computes dQ, dK and dV for the upstream gradient --do (the output's shape and layout; a \
            .safetensors --do is read by tensor name 'do'). They go to --dq/--dk/--dv (.npy), or into a .safetensors \
            --out as dq, dk, dv (with each shard's dq share and its keys' dk, dv). With shards, the backward is the \
            tree-parallel one: each shard's gradients from the global LSE and D = rowsum(dO * O), the dQ shares \
            summed along the reduction. --dlse adds an upstream gradient of the LSE (context-parallel training's \
            merges use it). --sinks (gpt-oss) puts one logit per query head into every row's softmax, merged once \
            after any reduction; its gradient goes to --dsinks.

            --k-new/--v-new run flash_attn_with_kvcache: the new tokens are appended to the cache (--k/--v, or a \
            paged cache with --block-table) at --cache-seqlens (the lengths before the update; --cache-batch-idx \
            remaps rows), with --rope rotated at their positions first, then q attends to the updated cache. The \
            updated caches go to --k-cache-out/--v-cache-out or into a .safetensors --out.

            --cu-seqlens-q/--cu-seqlens-k take packed variable-length sequences as flash_attn_varlen_func does: q \
            (total_q, heads, dim), k and v (total_k, kv_heads, dim); sequence i is rows cu[i]..<cu[i+1]; causal, \
            window and ALiBi align per sequence and no sequence sees another's keys. The output is (total_q, heads, \
            value_dim) and the LSE (heads, total_q), FlashAttention's varlen layouts.
            """)

    @Option(help: "Query tensor file (.npy or .safetensors with tensor 'q').") var q: String
    @Option(help: "Key tensor file (.npy or .safetensors with tensor 'k').") var k: String
    @Option(help: "Value tensor file (.npy or .safetensors with tensor 'v').") var v: String
    @Option(help: "Number of key shards (devices).") var shards: Int = 1
    @Option(help: "exact, binary, kary:K, two-level:G, flat, ring or algorithm3.") var reduction: Reduction = .exact
    @Option(help: "Output file (.npy, or .safetensors which also holds lse, shard partials and tree levels).") var out:
        String
    @Option(help: "LSE output file (.npy).") var lse: String?
    @OptionGroup var problem: AttentionOptionGroup
    @OptionGroup(title: "Gradients") var gradients: GradientOptions
    @OptionGroup(title: "Varlen and paged layouts") var layouts: AttentionLayoutOptions
    @OptionGroup(title: "KV-cache update (flash_attn_with_kvcache)") var append: CacheAppendOptions

    @OptionGroup var memory: MemoryOptions
    @Flag(help: "Print the seconds spent reading, computing and writing, and the peak RSS, to stderr (one line).")
    var timings = false

    /// The checks across option groups (each group checks its own).
    func validate() throws {
        guard (1...65_536).contains(shards) else { throw CLIError("--shards must be in 1...65536, got \(shards)") }
        if reduction == .exact && shards != 1 {
            throw CLIError("--shards \(shards) needs a --reduction other than exact")
        }
        if layouts.blockTable != nil, problem.cacheSeqlens == nil || layouts.varlen {
            throw CLIError("a paged KV cache (--block-table) needs --cache-seqlens and takes no --cu-seqlens-q/-k")
        }
        if layouts.varlen,
            shards != 1 || gradients.backward || problem.mask != nil || problem.cacheSeqlens != nil
                || problem.layout != .bhsd
        {
            throw CLIError(
                "varlen (--cu-seqlens-q/-k) takes no --shards, --backward, --mask, --cache-seqlens or --layout (it is packed (tokens, heads, dim))"
            )
        }
        if gradients.backward, !AttentionJob.Outputs(out: out).bundled, gradients.paths.count != 3 {
            throw CLIError("--backward needs --dq, --dk and --dv (or a .safetensors --out, which holds them)")
        }
    }

    /// The job these options describe.
    func job() throws -> AttentionJob {
        var job = AttentionJob(q: q, k: k, v: v, out: out)
        (job.problem, job.keys) = (try problem.problem(), try layouts.keys())
        (job.shards, job.reduction, job.upstreamGradient) = (shards, reduction, gradients.backward ? gradients.dO : nil)
        (job.upstreamLSEGradient, job.cacheAppend) = (gradients.dlse, try append.append())
        job.outputs = AttentionJob.Outputs(
            out: out, lse: lse, dq: gradients.dq, dk: gradients.dk, dv: gradients.dv, dsinks: gradients.dsinks)
        (job.outputs.kCache, job.outputs.vCache) = (append.kCacheOut, append.vCacheOut)
        return job
    }

    func run() throws {
        var job = try job()
        // Progress of runs longer than 5 s, on a terminal only (a pipe or a log gets the one result or error line).
        if isatty(STDERR_FILENO) == 1 {
            job.progress = { fraction, left in
                let eta = left.map { String(format: ", ETA %.0f s", $0) } ?? ""
                FileHandle.standardError.write(
                    Data(String(format: "attention: %.0f%% of the estimated work%@\n", fraction * 100, eta).utf8))
            }
        }
        let summary = try job.run()
        for warning in summary.warnings { printWarning(warning) }
        if timings {
            let peak = HostMachine.peakResidentSetText ?? "unknown"
            FileHandle.standardError.write(Data("timings: \(summary.timingLine); peak RSS \(peak)\n".utf8))
        }
    }
}
