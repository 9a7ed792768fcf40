/// How shard partials become the final result: exact (no shards), a tree merge of a given shape, Algorithm 3,
/// or the Ring Attention order. Parsed from the CLI's `--reduction` values.
public enum Reduction: Equatable, Sendable, CustomStringConvertible {
    case exact
    case tree(ReductionPlan.Shape)
    case algorithm3
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

    public var description: String {
        switch self {
        case .exact: return "exact"
        case .tree(let shape): return shape.description
        case .algorithm3: return "algorithm3"
        case .ring: return "ring"
        }
    }
}
