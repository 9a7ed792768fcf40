extension ReductionPlan {
    /// The tree drawn as ASCII, root first, children indented under it (like the `tree` command):
    ///     root
    ///     ├── child 0
    ///     │   ├── ...
    ///     └── child 1
    /// `label(level, node)` names each node; leaves are level 0.
    public func drawing(label: (Int, Int) -> String) -> String {
        var lines: [String] = []
        func draw(level: Int, node: Int, prefix: String, isLast: Bool, isRoot: Bool) {
            lines.append(isRoot ? label(level, node) : prefix + (isLast ? "└── " : "├── ") + label(level, node))
            guard level > 0 else { return }
            let children = levels[level][node]
            let childPrefix = isRoot ? "" : prefix + (isLast ? "    " : "│   ")
            for (n, child) in children.enumerated() {
                draw(level: level - 1, node: child, prefix: childPrefix, isLast: n == children.count - 1, isRoot: false)
            }
        }
        draw(level: depth, node: 0, prefix: "", isLast: true, isRoot: true)
        return lines.joined(separator: "\n")
    }

    /// The leaves (level-0 indices) under a node, in order.
    public func leaves(level: Int, node: Int) -> [Int] {
        level == 0 ? [node] : levels[level][node].flatMap { leaves(level: level - 1, node: $0) }
    }
}
