/// How shard partials become the final result: exact (no shards), a tree merge of a given shape, Algorithm 3,
/// or the Ring Attention order. Parsed from the CLI's `--reduction` values.
public enum Reduction: Equatable, Sendable, CustomStringConvertible {
    /// No shards: plain exact attention.
    case exact
    /// A tree merge of the shard partials, following a `ReductionPlan` of this shape.
    case tree(ReductionPlan.Shape)
    /// The paper's Algorithm 3: a max all-reduce, then sum all-reduces.
    case algorithm3
    /// Ring Attention's order: the shards folded one by one into a running (O, LSE).
    case ring

    /// Parses exact | binary | kary:K | two-level:G | flat | ring | algorithm3.
    public init(parsing text: String) throws {
        switch text {
        case "exact": self = .exact
        case "ring": self = .ring
        case "algorithm3": self = .algorithm3
        default: self = .tree(try ReductionPlan.parseShape(text))
        }
    }

    /// The `--reduction` text: `exact`, `ring`, `algorithm3` or the tree shape.
    public var description: String {
        switch self {
        case .exact: return "exact"
        case .tree(let shape): return shape.description
        case .algorithm3: return "algorithm3"
        case .ring: return "ring"
        }
    }
}
