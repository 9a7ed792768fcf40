import ArgumentParser
import Foundation
import Reference

/// `--rope-scaling`'s values.
public enum RopeScaling: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// Llama 3.1's (factor 8, low 1, high 4, original 8192).
    case llama3
}

/// `--rope-positions`'s values.
public enum RopePositions: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// Positions are cache slots (FlashAttention's rotary_cos indexed by slot).
    case absolute
    /// Positions count from each row's first valid token, its left padding at 0 (vLLM).
    case fromFirstToken = "from-first-token"
}

extension RotaryEmbedding.Layout: ExpressibleByArgument {}

/// The options that define one attention problem, shared by `treeattn attention` and `treeattn-mpi attention`:
/// layout, scale, causal mask, window, softcap, ALiBi, cache lengths, sinks, sink tokens, mask file and precision. They parse into the
/// library's `AttentionProblem`, which both commands hand to their job.
public struct AttentionOptionGroup: ParsableArguments {
    /// `--layout`: the axis order of the input and output tensors (bhsd by default).
    @Option(help: "Tensor layout: bhsd (batch, heads, seq, dim) or bshd.") public var layout: TensorLayout = .bhsd
    /// `--scale`: the softmax scale; nil means 1/sqrt(d_qk).
    @Option(help: "Softmax scale (default 1/sqrt(d_qk)).") public var scale: Double?
    /// `--causal`: the causal alignment (none, top-left or bottom-right).
    @Option(help: "Causal mask: none, top-left or bottom-right.") public var causal: CausalMode = .none
    /// `--window`: the sliding window as the text "L,R" (inclusive, -1 unbounded), parsed by `problem()`; nil for none.
    @Option(help: "Sliding window L,R (inclusive, -1 = unbounded), FlashAttention's convention.") public var window:
        String?
    /// `--softcap`: the softcap c applied as c tanh(s/c) to the scores; nil for none.
    @Option(help: "Softcap c: s <- c tanh(s/c).") public var softcap: Double?
    /// `--alibi-slopes`: comma-separated ALiBi slopes, one per query head, parsed by `problem()`; nil for none.
    @Option(help: "ALiBi slopes, one per query head, comma separated.") public var alibiSlopes: String?
    /// `--cache-seqlens`: comma-separated per-batch KV cache lengths (valid keys), parsed by `problem()`; nil for all keys.
    @Option(help: "Per-batch KV cache lengths, comma separated.") public var cacheSeqlens: String?
    /// `--sinks`: comma-separated sink logits, one per query head (gpt-oss), parsed by `problem()`; nil for none.
    @Option(
        help: "Attention sink logits, one per query head, comma separated (gpt-oss; not scaled, LSE includes them).")
    public var sinks: String?
    /// `--sink-tokens`: StreamingLLM's sink tokens, the first k keys visible beside the window; nil for none.
    @Option(help: "StreamingLLM sink tokens: the first k keys stay visible beside the window.") public var sinkTokens:
        Int?
    /// `--cache-leftpad`: comma-separated left padding per batch row (keys before it excluded); nil for none.
    @Option(help: "Left padding per batch row, comma separated (flash_attn_with_kvcache's cache_leftpad).")
    public var cacheLeftpad: String?
    /// `--attention-chunk`: chunked local attention's chunk size; nil for none.
    @Option(help: "Chunked local attention: each query sees only its chunk of this many keys (Llama 4).")
    public var attentionChunk: Int?
    /// `--rope`: rotary embeddings applied to q and k after reading (neox or gptj); nil for none.
    @Option(help: "Rotary embeddings of q and k: neox (halves) or gptj (interleaved), at absolute positions.")
    public var rope: RotaryEmbedding.Layout?
    /// `--rotary-dim`: the rotated features (default the head dim).
    @Option(help: "Rotated features per head (default all).") public var rotaryDim: Int?
    /// `--rope-theta`: the rotary base.
    @Option(help: "Rotary base theta.") public var ropeTheta = 10_000.0
    /// `--rope-scaling`: `llama3` for Llama 3.1's frequency scaling.
    @Option(help: "Rotary frequency scaling: llama3.") public var ropeScaling: RopeScaling?
    /// `--rope-positions`: where rotary positions start (absolute slots, or each row's first valid token).
    @Option(help: "Rotary positions: absolute (cache slots) or from-first-token (left padding at 0).")
    public var ropePositions: RopePositions = .absolute
    /// `--mask`: path of the mask file, left for the job to read; nil for no mask.
    @Option(
        help:
            "Mask file: boolean (true = attend) or float (additive) tensor 'mask', shape (Sq,Sk) or (B|1,H|1,Sq|1,Sk).")
    public var mask: String?
    /// `--precision`: the compute precision, f64 (dgemm) or f32 (sgemm).
    @Option(help: "Compute precision: f64 (dgemm) or f32 (sgemm).") public var precision: Precision = .f64

    /// The options, unparsed.
    public init() {}

    /// The problem these options describe (the lists parsed, the mask left as a path for the job to read).
    public func problem() throws -> AttentionProblem {
        var p = AttentionProblem()
        (p.layout, p.precision, p.scale, p.causal, p.softcap, p.maskPath) = (
            layout, precision, scale, causal, softcap, mask
        )
        if let window {
            let parts = window.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, let l = parts[0], let r = parts[1] else {
                throw CLIError("--window needs L,R integers, got '\(window)'")
            }
            p.window = SlidingWindow(left: l, right: r)
        }
        if let alibiSlopes { p.alibiSlopes = try parseNumbers(alibiSlopes, "--alibi-slopes") }
        if let cacheSeqlens { p.cacheSeqlens = try parseIntegers(cacheSeqlens, "--cache-seqlens") }
        if let sinks { p.sinks = try parseNumbers(sinks, "--sinks") }
        p.sinkTokens = sinkTokens
        if let cacheLeftpad { p.cacheLeftpad = try parseIntegers(cacheLeftpad, "--cache-leftpad") }
        p.attentionChunk = attentionChunk
        if let rope {
            p.rotary = RotaryEmbedding(
                layout: rope, rotaryDim: rotaryDim ?? 0, theta: ropeTheta,
                llama3: ropeScaling == .llama3 ? .init() : nil)
            p.ropeFromFirstToken = ropePositions == .fromFirstToken
        } else if rotaryDim != nil || ropeScaling != nil || ropePositions != .absolute {
            throw CLIError("--rotary-dim, --rope-scaling and --rope-positions need --rope")
        }
        return p
    }
}
