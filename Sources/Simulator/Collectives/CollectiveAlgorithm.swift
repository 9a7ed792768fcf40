import TreeCore

/// How a collective is carried out. Event-simulated algorithms are built from point-to-point sends on the network;
/// `nccl` is a closed-form model of NCCL's tuner (tuning.cc), for comparison.
public enum CollectiveAlgorithm: Equatable, Sendable, CustomStringConvertible {
    /// Ring: reduce-scatter and/or all-gather in p-1 steps of n/p bytes each.
    case ring
    /// NCCL-style binary tree (ncclGetBtree), pipelined over segments: reduce up, broadcast down.
    case tree
    /// Two complementary binary trees (mirrored for even p, shifted for odd p), each carrying half the data.
    case doubleBinaryTree
    /// log2(p) exchanges of the full buffer with partner rank ^ 2^i (p must be a power of two).
    case recursiveDoubling
    /// Recursive-halving reduce-scatter then recursive-doubling all-gather (p a power of two).
    case rabenseifner
    /// Binomial tree (broadcast only): ceil(log2 p) rounds, unpipelined.
    case binomial
    /// Pipelined chain 0 -> 1 -> ... -> p-1 (broadcast only).
    case chain
    /// Topology-aware two-level all-reduce: ring reduce-scatter within each server, an all-reduce of the shard
    /// across servers (with the inner algorithm), ring all-gather within each server.
    indirect case hierarchical(inter: CollectiveAlgorithm)
    /// Reduce along a Reference `ReductionPlan` (the same object the reference computes with), then broadcast
    /// back down the same tree; pipelined like `tree`.
    case plan(ReductionPlan.Shape)
    /// NVLink SHARP in the switch (`NVLSProgram`): every GPU of one NVSwitch domain; the switch reduces and
    /// multicasts (all-reduce, reduce-scatter, all-gather), pipelined over segments.
    case nvls
    /// NCCL's closed-form latency/bandwidth model; `algorithm` nil lets the model choose, like NCCL's tuner.
    case nccl(algorithm: NCCLModel.Algorithm?)

    /// The name `parse(_:)` accepts, e.g. "ring", "double-binary-tree", "hierarchical:tree", "nccl-ring".
    public var description: String {
        switch self {
        case .ring: return "ring"
        case .tree: return "tree"
        case .doubleBinaryTree: return "double-binary-tree"
        case .recursiveDoubling: return "recursive-doubling"
        case .rabenseifner: return "rabenseifner"
        case .binomial: return "binomial"
        case .chain: return "chain"
        case .hierarchical(let inter): return "hierarchical:\(inter)"
        case .plan(let shape): return "plan:\(shape)"
        case .nvls: return "nvls"
        case .nccl(let a): return a.map { "nccl-\($0.rawValue)" } ?? "nccl"
        }
    }

    /// The accepted algorithm names, for help texts and error messages.
    public static let usage =
        "ring, tree, double-binary-tree, recursive-doubling, rabenseifner, binomial, chain, "
        + "hierarchical[:INNER], plan:binary|kary:K|two-level:G|flat, nvls, nccl, nccl-ring, nccl-tree, nccl-nvls, nccl-nvls-tree"

    /// Parses an algorithm name (see `usage`; also "binary-tree", "dbt", "recursive-halving", "two-level[:INNER]";
    /// "hierarchical" alone has a tree inside). Throws `SimulatorError.invalidArgument` for an unknown name or plan
    /// shape, `SimulatorError.unsupported` for a hierarchical inner algorithm other than ring, tree,
    /// double-binary-tree, recursive-doubling or rabenseifner.
    public static func parse(_ text: String) throws -> CollectiveAlgorithm {
        switch text {
        case "ring": return .ring
        case "tree", "binary-tree": return .tree
        case "double-binary-tree", "dbt": return .doubleBinaryTree
        case "recursive-doubling", "recursive-halving": return .recursiveDoubling
        case "rabenseifner": return .rabenseifner
        case "binomial": return .binomial
        case "chain": return .chain
        case "nvls": return .nvls
        case "hierarchical", "two-level": return .hierarchical(inter: .tree)
        case "nccl": return .nccl(algorithm: nil)
        case "nccl-ring": return .nccl(algorithm: .ring)
        case "nccl-tree": return .nccl(algorithm: .tree)
        case "nccl-nvls": return .nccl(algorithm: .nvls)
        case "nccl-nvls-tree": return .nccl(algorithm: .nvlsTree)
        default: break
        }
        if text.hasPrefix("hierarchical:") || text.hasPrefix("two-level:") {
            let inner = try parse(String(text[text.index(after: text.firstIndex(of: ":")!)...]))
            switch inner {
            case .ring, .tree, .doubleBinaryTree, .recursiveDoubling, .rabenseifner: return .hierarchical(inter: inner)
            case .binomial, .chain, .hierarchical, .plan, .nvls, .nccl:
                throw SimulatorError.unsupported(
                    "hierarchical inner algorithm must be ring, tree, double-binary-tree, recursive-doubling or rabenseifner, got '\(inner)'"
                )
            }
        }
        if text.hasPrefix("plan:") {
            do {
                return .plan(try ReductionPlan.parseShape(String(text.dropFirst(5))))
            } catch {
                throw SimulatorError.invalidArgument("\(error)")
            }
        }
        throw SimulatorError.invalidArgument("unknown algorithm '\(text)' (\(usage))")
    }
}
