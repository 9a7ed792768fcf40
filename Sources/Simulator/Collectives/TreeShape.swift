import TreeCore

/// A rooted tree over ranks: each rank's parent (-1 for the root) and ordered children.
public struct TreeShape: Equatable, Sendable {
    /// Each rank's parent, -1 for the root.
    public let parent: [Int]
    /// Each rank's children, in the order it receives from them.
    public let children: [[Int]]
    /// The root rank.
    public let root: Int

    /// The tree given by each rank's parent (-1 for the root). Throws `SimulatorError.invalidArgument` when there is
    /// no root or more than one, or a parent is out of range or the rank itself.
    public init(parent: [Int]) throws {
        let p = parent.count
        var children = [[Int]](repeating: [], count: p)
        var root = -1
        for (r, q) in parent.enumerated() {
            if q < 0 {
                guard root < 0 else { throw SimulatorError.invalidArgument("tree has two roots (\(root), \(r))") }
                root = r
            } else {
                guard q < p, q != r else { throw SimulatorError.invalidArgument("rank \(r) has invalid parent \(q)") }
                children[q].append(r)
            }
        }
        guard root >= 0 else { throw SimulatorError.invalidArgument("tree has no root") }
        self.init(parent: parent, children: children, root: root)
    }

    init(parent: [Int], children: [[Int]], root: Int) {
        self.parent = parent
        self.children = children
        self.root = root
    }

    /// Number of ranks in the tree.
    public var ranks: Int { parent.count }

    /// Longest root-to-leaf path, in edges.
    public var depth: Int {
        var best = 0
        for r in 0..<ranks {
            var d = 0, x = r
            while parent[x] >= 0 {
                x = parent[x]
                d += 1
            }
            best = max(best, d)
        }
        return best
    }

    /// NCCL's binary tree (ncclGetBtree): rank 0 is the root with one child, interior ranks are the ones with low
    /// bits set, depth about log2(p).
    public static func ncclBinaryTree(ranks p: Int) -> TreeShape {
        var parent = [Int](repeating: -1, count: p)
        var children = [[Int]](repeating: [], count: p)
        for rank in 0..<p {
            var bit = 1
            while bit < p && (bit & rank) == 0 { bit <<= 1 }
            if rank == 0 {
                if p > 1 { children[0] = [bit >> 1] }
                continue
            }
            var up = (rank ^ bit) | (bit << 1)
            if up >= p { up = rank ^ bit }
            parent[rank] = up
            var lowbit = bit >> 1
            var kids: [Int] = []
            if lowbit > 0 { kids.append(rank - lowbit) }
            while lowbit > 0 && rank + lowbit >= p { lowbit >>= 1 }
            if lowbit > 0 { kids.append(rank + lowbit) }
            children[rank] = kids
        }
        return TreeShape(parent: parent, children: children, root: 0)
    }

    /// The second tree of NCCL's double binary tree: the first mirrored (r -> p-1-r) for even p, shifted by one
    /// for odd p.
    public static func ncclSecondTree(ranks p: Int) -> TreeShape {
        let first = ncclBinaryTree(ranks: p)
        let map: (Int) -> Int = p % 2 == 0 ? { p - 1 - $0 } : { ($0 + 1) % p }
        var parent = [Int](repeating: -1, count: p)
        var children = [[Int]](repeating: [], count: p)
        for r in 0..<p {
            parent[map(r)] = first.parent[r] < 0 ? -1 : map(first.parent[r])
            children[map(r)] = first.children[r].map(map)
        }
        return TreeShape(parent: parent, children: children, root: map(first.root))
    }

    /// A chain 0 -> 1 -> ... -> p-1 (rank 0 is the root).
    public static func chain(ranks p: Int) -> TreeShape {
        TreeShape(parent: (0..<p).map { $0 - 1 }, children: (0..<p).map { $0 + 1 < p ? [$0 + 1] : [] }, root: 0)
    }

    /// The tree of a Reference `ReductionPlan`: every merge node lives on the rank of its leftmost leaf, so at
    /// each level the first child's rank receives from the other children's ranks (in plan order).
    public static func plan(_ plan: ReductionPlan) -> TreeShape {
        let p = plan.leaves
        var parent = [Int](repeating: -1, count: p)
        var children = [[Int]](repeating: [], count: p)
        var host = Array(0..<p)  // rank hosting each node of the previous level
        for level in plan.levels.dropFirst() {
            var next: [Int] = []
            for node in level {
                let owner = host[node[0]]
                for c in node.dropFirst() {
                    parent[host[c]] = owner
                    children[owner].append(host[c])
                }
                next.append(owner)
            }
            host = next
        }
        return TreeShape(parent: parent, children: children, root: host.first ?? 0)
    }
}
