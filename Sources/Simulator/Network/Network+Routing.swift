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

extension Network {
    /// The links of one flow through a switch that reduces and multicasts (`SwitchFlow`): every source's link into
    /// the switch and the switch's link to every destination, as one pipelined segment whose latency is the slowest
    /// link in plus the slowest link out. The switch is the first switch node (in the first source's link order)
    /// linked directly from every source and to every destination; throws `SimulatorError.unsupported` where there
    /// is none.
    public func switchTree(sources: [Int], destinations: [Int]) throws -> Route {
        guard let first = sources.first, !destinations.isEmpty,
            (sources + destinations).allSatisfy({ nodes.indices.contains($0) })
        else {
            throw SimulatorError.invalidArgument("a switch flow needs sources and destinations among the nodes")
        }
        for l in outgoing[first] where nodes[links[l].to].kind == .switch && nodes[links[l].to].reduces {
            let w = links[l].to
            let ins = sources.map { link(from: $0, to: w) }, outs = destinations.map { link(from: w, to: $0) }
            guard ins.allSatisfy({ $0 != nil }), outs.allSatisfy({ $0 != nil }) else { continue }
            var seen = Set<Int>(), path: [Int] = []
            for l in (ins + outs).compactMap({ $0 }) where seen.insert(l).inserted { path.append(l) }
            let latency =
                (ins.map { links[$0!].latency }.max() ?? .zero) + (outs.map { links[$0!].latency }.max() ?? .zero)
            let segment = Route.Segment(
                links: path.map { Int32($0) }, latency: latency, packetDelays: [],
                bottleneck: path.map { links[$0].bandwidth }.min() ?? .infinity)
            return Route(source: first, destination: destinations[0], links: path, segments: [segment])
        }
        throw SimulatorError.unsupported(
            "in-switch reduction (NVLS) needs every GPU of the group linked directly to one switch that reduces "
                + "(NVLink SHARP: Hopper's and later NVSwitches; a cluster file's reducing_switches); "
                + "'\(nodes[first].name)' has none shared with the others")
    }
}
