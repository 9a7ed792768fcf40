extension Network {
    /// Throws unless every GPU can reach every other GPU over forwarding nodes (or a direct link).
    ///
    /// Fast path: when the forwarding (non-GPU) nodes form one strongly connected set and every GPU has a link into
    /// and out of it, all pairs are connected. Otherwise each pair is checked by breadth-first search, and the first
    /// unreachable pair is named.
    public func validateGPUConnectivity() throws {
        let gpus = gpuNodes
        guard !gpus.isEmpty else { throw SimulatorError.cluster("the cluster has no GPUs") }
        if gpus.count == 1 { return }
        if transitIsStronglyConnected(gpus: gpus) { return }
        var isGPU = [Bool](repeating: false, count: nodes.count)
        for g in gpus { isGPU[g] = true }
        for g in gpus {
            let reached = reachable(from: g)
            if let missing = gpus.first(where: { $0 != g && !reached[$0] }) {
                throw SimulatorError.cluster("impossible topology: GPU '\(nodes[g].name)' cannot reach GPU '\(nodes[missing].name)'")
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

    private func transitIsStronglyConnected(gpus: [Int]) -> Bool {
        let transit = nodes.indices.filter { nodes[$0].kind.forwards }
        guard let root = transit.first else { return false }
        var incoming = [[Int]](repeating: [], count: nodes.count)
        for (i, l) in links.enumerated() { incoming[l.to].append(i) }
        func sweep(forward: Bool) -> [Bool] {
            var seen = [Bool](repeating: false, count: nodes.count)
            seen[root] = true
            var stack = [root]
            while let u = stack.popLast() {
                for l in (forward ? outgoing[u] : incoming[u]) {
                    let v = forward ? links[l].to : links[l].from
                    if !seen[v] && nodes[v].kind.forwards { seen[v] = true; stack.append(v) }
                }
            }
            return seen
        }
        let f = sweep(forward: true), b = sweep(forward: false)
        guard transit.allSatisfy({ f[$0] && b[$0] }) else { return false }
        var hasOut = [Bool](repeating: false, count: nodes.count), hasIn = hasOut
        for l in links {
            if nodes[l.to].kind.forwards { hasOut[l.from] = true }
            if nodes[l.from].kind.forwards { hasIn[l.to] = true }
        }
        return gpus.allSatisfy { hasOut[$0] && hasIn[$0] }
    }
}
