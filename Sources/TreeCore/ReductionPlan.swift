/// The explicit shape of a reduction tree over p leaves (shard partials). Level 0 is the leaves; each later level
/// lists its nodes, and each node lists the indices (in the previous level) of the children it merges, in order.
/// The same plan drives the computed reduction (Reference) and the simulated schedule (Simulator).
public struct ReductionPlan: Equatable, Sendable, CustomStringConvertible {
    /// The reduction shapes we pin down.
    public enum Shape: Equatable, Sendable, CustomStringConvertible {
        /// Pairs (0,1), (2,3), ... left to right; an odd last node is carried up unchanged.
        case binary
        /// Groups of k consecutive nodes per level; a short last group merges what it has (a single node is carried).
        case kary(Int)
        /// Topology-aware: one n-ary merge per group of `groupSize` consecutive shards (a node), then one n-ary merge
        /// across the node results.
        case twoLevel(groupSize: Int)
        /// A single n-ary merge of all leaves (what an all-reduce computes in one logical step).
        case flat

        /// The shape in the form `parseShape` reads back: "binary", "kary:K", "two-level:G" or "flat".
        public var description: String {
            switch self {
            case .binary: return "binary"
            case .kary(let k): return "kary:\(k)"
            case .twoLevel(let g): return "two-level:\(g)"
            case .flat: return "flat"
            }
        }
    }

    /// The shape the levels were built from.
    public let shape: Shape
    /// Number of leaves p (shard partials) the tree reduces; at least 1.
    public let leaves: Int
    /// levels[0] is empty (the leaves); levels[l][n] = children of node n at level l (indices into level l-1).
    public let levels: [[[Int]]]

    /// Builds the levels of `shape` over `leaves` leaves. Throws `CoreError.invalidOption` for fewer than one leaf,
    /// a k-ary arity below 2 or a two-level group size below 1. A single leaf has no merge levels.
    public init(leaves: Int, shape: Shape) throws {
        guard leaves >= 1 else { throw CoreError.invalidOption("a reduction needs at least one leaf, got \(leaves)") }
        self.leaves = leaves
        self.shape = shape
        var levels: [[[Int]]] = [[]]
        func group(_ width: Int, by k: Int) -> [[Int]] {
            stride(from: 0, to: width, by: k).map { Array($0..<min($0 + k, width)) }
        }
        switch shape {
        case .binary, .kary:
            var k = 2
            if case .kary(let arity) = shape {
                guard arity >= 2 else { throw CoreError.invalidOption("k-ary reduction needs k >= 2, got \(arity)") }
                k = arity
            }
            var width = leaves
            while width > 1 {
                let level = group(width, by: k)
                levels.append(level)
                width = level.count
            }
        case .twoLevel(let g):
            guard g >= 1 else { throw CoreError.invalidOption("two-level group size must be >= 1, got \(g)") }
            if leaves > 1 {
                let first = group(leaves, by: g)
                levels.append(first)
                if first.count > 1 { levels.append([Array(0..<first.count)]) }
            }
        case .flat:
            if leaves > 1 { levels.append([Array(0..<leaves)]) }
        }
        self.levels = levels
    }

    /// Number of merge levels above the leaves (the depth of the tree).
    public var depth: Int { levels.count - 1 }

    /// Parses "binary", "kary:K", "two-level:G" or "flat".
    public static func parseShape(_ text: String) throws -> Shape {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        switch parts[0] {
        case "binary" where parts.count == 1: return .binary
        case "flat" where parts.count == 1: return .flat
        case "kary" where parts.count == 2:
            guard let k = Int(parts[1]), k >= 2 else {
                throw CoreError.invalidOption("kary:K needs an integer K >= 2, got '\(text)'")
            }
            return .kary(k)
        case "two-level" where parts.count == 2:
            guard let g = Int(parts[1]), g >= 1 else {
                throw CoreError.invalidOption("two-level:G needs an integer G >= 1, got '\(text)'")
            }
            return .twoLevel(groupSize: g)
        default:
            throw CoreError.invalidOption("unknown reduction shape '\(text)' (binary, kary:K, two-level:G, flat)")
        }
    }

    /// A multi-line listing: the shape, leaf count and depth, then each level's nodes as their children's indices.
    public var description: String {
        var lines = ["\(shape) reduction over \(leaves) leaves, depth \(depth)"]
        for (l, level) in levels.enumerated().dropFirst() {
            lines.append(
                "  level \(l): "
                    + level.map { "(" + $0.map(String.init).joined(separator: ",") + ")" }.joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }
}
