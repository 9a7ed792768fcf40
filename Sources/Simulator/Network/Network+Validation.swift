extension Network {
    /// Throws unless every GPU can reach every other GPU over forwarding nodes (or a direct link).
    ///
    /// Fast path, linear in the network's size: find a hub, a set of forwarding nodes that reach each other (the
    /// strongly connected set of one forwarding node, e.g. a spine with its leaves and NICs); when every GPU has a
    /// link into a forwarding node that reaches the hub and a link from a forwarding node the hub reaches, every GPU
    /// reaches every other through the hub. Otherwise each pair is checked by breadth-first search, and the first
    /// unreachable pair is named.
    public func validateGPUConnectivity() throws {
        let gpus = gpuNodes
        guard !gpus.isEmpty else { throw SimulatorError.cluster("the cluster has no GPUs") }
        if gpus.count == 1 { return }
        if fatTree != nil { return }  // connected by construction (FatTreeTests route every pair of a small one)
        if connectedThroughHub(gpus: gpus) { return }
        var isGPU = [Bool](repeating: false, count: nodes.count)
        for g in gpus { isGPU[g] = true }
        for g in gpus {
            let reached = reachable(from: g)
            if let missing = gpus.first(where: { $0 != g && !reached[$0] }) {
                throw SimulatorError.cluster(
                    "impossible topology: GPU '\(nodes[g].name)' cannot reach GPU '\(nodes[missing].name)'")
            }
        }
    }

    /// Nodes reachable from `source` without passing through non-forwarding nodes.
    func reachable(from source: Int) -> [Bool] {
        var seen = [Bool](repeating: false, count: nodes.count)
        seen[source] = true
        var stack = [source]
        while let u = stack.popLast() {
            if u != source && !nodes[u].kind.forwards { continue }
            for l in outgoing[u] where !seen[links[l].to] {
                seen[links[l].to] = true
                stack.append(links[l].to)
            }
        }
        return seen
    }

    /// True when some forwarding node's strongly connected set (its hub) is entered by every GPU and reaches every
    /// GPU (see `validateGPUConnectivity`).
    private func connectedThroughHub(gpus: [Int]) -> Bool {
        var incoming = [[Int]](repeating: [], count: nodes.count)
        for (i, l) in links.enumerated() { incoming[l.to].append(i) }
        // Forwarding nodes reached from (forward) or reaching (backward) `root` over forwarding nodes only.
        func sweep(from root: Int, forward: Bool) -> [Bool] {
            var seen = [Bool](repeating: false, count: nodes.count)
            seen[root] = true
            var stack = [root]
            while let u = stack.popLast() {
                for l in (forward ? outgoing[u] : incoming[u]) {
                    let v = forward ? links[l].to : links[l].from
                    if !seen[v] && nodes[v].kind.forwards {
                        seen[v] = true
                        stack.append(v)
                    }
                }
            }
            return seen
        }
        // Candidate hubs: the forwarding node with the most links to other forwarding nodes (a leaf or spine), and
        // the one the most GPUs link into (a single switch).
        var transitDegree = [Int](repeating: 0, count: nodes.count), entries = transitDegree
        for l in links where nodes[l.from].kind.forwards && nodes[l.to].kind.forwards { transitDegree[l.from] += 1 }
        for g in gpus { for l in outgoing[g] where nodes[links[l].to].kind.forwards { entries[links[l].to] += 1 } }
        var candidates: [Int] = []
        for score in [transitDegree, entries] {
            if let best = score.indices.max(by: { score[$0] < score[$1] }), score[best] > 0, !candidates.contains(best)
            {
                candidates.append(best)
            }
        }
        return candidates.contains { root in
            let reachedFromHub = sweep(from: root, forward: true), reachingHub = sweep(from: root, forward: false)
            return gpus.allSatisfy { g in
                outgoing[g].contains { reachingHub[links[$0].to] }
                    && incoming[g].contains { reachedFromHub[links[$0].from] }
            }
        }
    }
}
