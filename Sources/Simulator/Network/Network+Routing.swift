extension Network {
    /// The route from `source` to `destination`: on a generated fat tree, its structured up-down route with ECMP
    /// (`FatTreeRouting`); otherwise the shortest path by hop count. Only forwarding nodes (not GPUs) may be passed
    /// through. Ties are broken deterministically: the first path found by a breadth-first search that explores
    /// each node's outgoing links in insertion order.
    public func route(from source: Int, to destination: Int) throws -> Route {
        guard nodes.indices.contains(source), nodes.indices.contains(destination) else {
            throw SimulatorError.invalidArgument("route endpoint out of range (\(source) -> \(destination))")
        }
        guard source != destination else {
            return Route(source: source, destination: destination, links: [], segments: [])
        }
        if let fatTree, let nodePath = fatTree.nodePath(from: source, to: destination) {
            var path: [Int] = []
            path.reserveCapacity(nodePath.count - 1)
            for (a, b) in zip(nodePath, nodePath.dropFirst()) {
                guard let l = link(from: a, to: b) else {
                    preconditionFailure("fat-tree route uses a missing link \(a) -> \(b)")
                }
                path.append(l)
            }
            return Route(source: source, destination: destination, links: path, segments: segments(of: path))
        }
        var via = [Int](repeating: -1, count: nodes.count)  // link used to reach each node
        var seen = [Bool](repeating: false, count: nodes.count)
        seen[source] = true
        var frontier = [source]
        var found = false
        search: while !frontier.isEmpty {
            var next: [Int] = []
            for u in frontier {
                if u != source && !nodes[u].kind.forwards { continue }
                for l in outgoing[u] {
                    let v = links[l].to
                    if seen[v] { continue }
                    seen[v] = true
                    via[v] = l
                    if v == destination {
                        found = true
                        break search
                    }
                    next.append(v)
                }
            }
            frontier = next
        }
        guard found else {
            throw SimulatorError.cluster("no route from '\(nodes[source].name)' to '\(nodes[destination].name)'")
        }
        var path: [Int] = []
        var v = destination
        while v != source {
            let l = via[v]
            path.append(l)
            v = links[l].from
        }
        path.reverse()
        return Route(source: source, destination: destination, links: path, segments: segments(of: path))
    }

    func segments(of path: [Int]) -> [Route.Segment] {
        var result: [Route.Segment] = []
        var current: [Int] = []
        func close() {
            var latency = SimTime.zero
            var bottleneck = Double.infinity
            var delays: [(mtuBytes: Double, bandwidth: Double)] = []
            for (i, l) in current.enumerated() {
                latency += links[l].latency
                bottleneck = min(bottleneck, links[l].bandwidth)
                if i < current.count - 1, case .packetised(let m) = linkClasses[links[l].linkClass].forwarding {
                    delays.append((Double(m), links[l].bandwidth))
                }
            }
            result.append(
                Route.Segment(
                    links: current.map { Int32($0) }, latency: latency, packetDelays: delays, bottleneck: bottleneck))
            current = []
        }
        for l in path {
            current.append(l)
            if linkClasses[links[l].linkClass].forwarding == .storeAndForward { close() }
        }
        if !current.isEmpty { close() }
        return result
    }
}
