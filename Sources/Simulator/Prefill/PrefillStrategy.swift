/// How a causal prefill of n tokens is spread over p GPUs by context parallelism (each rank holds the queries and
/// K/V of its tokens, placed by `PrefillPlacement`).
public enum PrefillStrategy: String, CaseIterable, Equatable, Sendable, CustomStringConvertible {
    /// Ring Attention (pass-KV) over contiguous chunks: K/V chunks travel p-1 hops, overlapped with compute; the
    /// causal mask leaves rank 0 almost idle and rank p-1 with p blocks.
    case ring
    /// Zigzag ring attention (pass-KV): 2p chunks, rank r holding chunks r and 2p-1-r, so every step is the same
    /// work on every rank (half a block after the diagonal step).
    case zigzag
    /// Striped Attention (pass-KV): token i on rank i mod p; every block a triangle.
    case striped
    /// Llama 3's context parallelism: all-gather K/V (ring, not overlapped), then each rank attends its zigzag
    /// queries to every key it may see.
    case allGather = "all-gather"
    /// Pass-Q ring attention (Meta's context parallelism, Yang et al. 2024): zigzag queries travel the ring instead
    /// of K/V, each rank keeping a partial output for every visiting chunk; an all-to-all returns the partials to
    /// their owners, who merge them.
    case passQ = "pass-q"

    /// The name `parse(_:)` accepts.
    public var description: String { rawValue }

    /// The accepted strategy names, for help texts and error messages.
    public static let usage = allCases.map(\.rawValue).joined(separator: ", ")

    /// Parses a strategy name (see `usage`). Throws `SimulatorError.invalidArgument` for any other name.
    public static func parse(_ text: String) throws -> PrefillStrategy {
        guard let s = PrefillStrategy(rawValue: text) else {
            throw SimulatorError.invalidArgument("unknown prefill strategy '\(text)' (\(usage))")
        }
        return s
    }

    /// The one registration point: each strategy's program (one file each in `Prefill/Strategies/`). Exhaustive on
    /// purpose, so a new case does not compile until it has a program.
    var program: PrefillProgram {
        switch self {
        case .ring: return PassKVPrefill(placement: .contiguous)
        case .zigzag: return PassKVPrefill(placement: .zigzag)
        case .striped: return PassKVPrefill(placement: .striped)
        case .allGather: return AllGatherPrefill()
        case .passQ: return PassQPrefill(placement: .zigzag)
        }
    }
}
