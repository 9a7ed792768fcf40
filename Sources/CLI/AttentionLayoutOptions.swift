import ArgumentParser
import CLICommon
import Reference

/// The key layouts of `treeattn attention` besides dense tensors: packed variable-length sequences and a paged KV
/// cache. They parse into `AttentionJob.Keys`.
struct AttentionLayoutOptions: ParsableArguments {
    @Option(help: "Varlen: cumulative query lengths 0,s1,s1+s2,... (packed q of shape (total_q, heads, dim)).")
    var cuSeqlensQ: String?
    @Option(help: "Varlen: cumulative key lengths (packed k and v of shape (total_k, kv_heads, dim)).")
    var cuSeqlensK: String?
    @Option(
        help: """
            Paged KV cache: the block table (B, max_blocks) of int32/int64 (.npy, or .safetensors tensor \
            'block_table'); --k and --v are then the pages (tensors 'k_cache', 'v_cache' in a .safetensors) and \
            --cache-seqlens is required.
            """)
    var blockTable: String?
    @Option(
        help: """
            Paged KV cache: page layout nhd (num_pages, page_size, kv_heads, dim) or hnd (num_pages, kv_heads, \
            page_size, dim).
            """)
    var pageLayout: PageLayout = .nhd

    /// Whether the keys are packed sequences.
    var varlen: Bool { cuSeqlensQ != nil }

    func validate() throws {
        if (cuSeqlensQ == nil) != (cuSeqlensK == nil) {
            throw CLIError("varlen needs both --cu-seqlens-q and --cu-seqlens-k")
        }
    }

    /// The job's key layout.
    func keys() throws -> AttentionJob.Keys {
        if let cuSeqlensQ, let cuSeqlensK {
            return .varlen(
                cuSeqlensQ: try parseIntegers(cuSeqlensQ, "--cu-seqlens-q"),
                cuSeqlensK: try parseIntegers(cuSeqlensK, "--cu-seqlens-k"))
        }
        return blockTable.map { .paged(blockTable: $0, layout: pageLayout) } ?? .dense
    }
}

/// The backward of `treeattn attention`: the upstream gradient and where the gradients go.
struct GradientOptions: ParsableArguments {
    @Flag(help: "Also compute the gradients dQ, dK, dV for the upstream gradient --do.") var backward = false
    @Option(
        name: .customLong("do"),
        help: "Upstream gradient dO (.npy or .safetensors with tensor 'do'), the output's shape.")
    var dO: String?
    @Option(help: "dQ output file (.npy).") var dq: String?
    @Option(help: "dK output file (.npy).") var dk: String?
    @Option(help: "dV output file (.npy).") var dv: String?
    @Option(
        help: "Upstream gradient of the LSE (.npy or .safetensors with tensor 'dlse'), shape (batch, heads, seq_q).")
    var dlse: String?
    @Option(help: "Gradient of the sink logits, one per query head (.npy); needs --sinks.") var dsinks: String?

    /// The gradient files given.
    var paths: [String] { [dq, dk, dv].compactMap { $0 } }

    func validate() throws {
        if !backward {
            guard dO == nil, paths.isEmpty, dlse == nil, dsinks == nil else {
                throw CLIError("--do, --dlse, --dq, --dk, --dv and --dsinks need --backward")
            }
        } else {
            guard dO != nil else { throw CLIError("--backward needs the upstream gradient --do") }
        }
    }
}
