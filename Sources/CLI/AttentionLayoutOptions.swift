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
    @Option(help: "Varlen: queries each sequence uses (FlashAttention 3's seqused_q); rows past them get 0 and -inf.")
    var sequsedQ: String?
    @Option(help: "Varlen: keys each sequence uses (FlashAttention 3's seqused_k); keys past them are never read.")
    var sequsedK: String?
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
        if !varlen, sequsedQ != nil || sequsedK != nil {
            throw CLIError("--seqused-q and --seqused-k need varlen inputs (--cu-seqlens-q/-k)")
        }
    }

    /// The job's key layout.
    func keys() throws -> AttentionJob.Keys {
        if let cuSeqlensQ, let cuSeqlensK {
            return .varlen(
                cuSeqlensQ: try parseIntegers(cuSeqlensQ, "--cu-seqlens-q"),
                cuSeqlensK: try parseIntegers(cuSeqlensK, "--cu-seqlens-k"),
                sequsedQ: try sequsedQ.map { try parseIntegers($0, "--seqused-q") },
                sequsedK: try sequsedK.map { try parseIntegers($0, "--seqused-k") })
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

/// flash_attn_with_kvcache's update in `treeattn attention`: new keys and values appended to the cache (--k and --v)
/// at --cache-seqlens before the attention, the updated caches written out. They parse into
/// `AttentionJob.CacheAppend`.
struct CacheAppendOptions: ParsableArguments {
    @Option(help: "New keys appended to the cache (.npy, or .safetensors tensor 'k_new'); --k/--v are the cache.")
    var kNew: String?
    @Option(help: "New values appended to the cache (.npy, or .safetensors tensor 'v_new').") var vNew: String?
    @Option(help: "Cache row of each batch element, comma separated (FlashAttention's cache_batch_idx; dense caches).")
    var cacheBatchIdx: String?
    @Option(help: "Updated K cache output (.npy); a .safetensors --out holds it as k_cache_updated.") var kCacheOut:
        String?
    @Option(help: "Updated V cache output (.npy); a .safetensors --out holds it as v_cache_updated.") var vCacheOut:
        String?

    func validate() throws {
        if (kNew == nil) != (vNew == nil) { throw CLIError("a KV-cache update needs both --k-new and --v-new") }
        if kNew == nil, cacheBatchIdx != nil || kCacheOut != nil || vCacheOut != nil {
            throw CLIError("--cache-batch-idx, --k-cache-out and --v-cache-out need --k-new and --v-new")
        }
    }

    /// The job's update, nil without --k-new.
    func append() throws -> AttentionJob.CacheAppend? {
        guard let kNew, let vNew else { return nil }
        return AttentionJob.CacheAppend(
            kNew: kNew, vNew: vNew, batchIndex: try cacheBatchIdx.map { try parseIntegers($0, "--cache-batch-idx") })
    }
}
