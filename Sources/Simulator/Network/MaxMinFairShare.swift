/// Max-min fair bandwidth allocation by progressive filling: raise all unfrozen flows' rates together; when a link
/// saturates, freeze the flows crossing it at the current rate; repeat. The link with the smallest fair share
/// (remaining capacity / unfrozen flows) saturates first; links tied at that share saturate together.
public struct MaxMinFairShare {
    private var remaining: [Double] = []
    private var unfrozen: [Int32] = []
    private var frozen: [Bool] = []

    /// A solver with empty scratch buffers, which it reuses from one solve to the next.
    public init() {}

    /// Rates (bytes/s) for flows given as lists of link indices over links with the given capacities (bytes/s).
    /// A flow with no links gets an infinite rate.
    public static func allocate(capacities: [Double], paths: [[Int]]) -> [Double] {
        // Flat lists: link l's flows are linkFlowPool[linkStart[l] ..< linkStart[l] + linkCount[l]], flow f's
        // links are flowLinkPool[flowStart[f] ..< flowEnd[f]].
        var linkCount = [Int32](repeating: 0, count: capacities.count)
        for path in paths { for l in path { linkCount[l] += 1 } }
        var linkStart = [Int32](repeating: 0, count: capacities.count)
        var total: Int32 = 0
        for l in capacities.indices {
            linkStart[l] = total
            total += linkCount[l]
        }
        var linkFlowPool = [Int32](repeating: 0, count: Int(total))
        var filled = [Int32](repeating: 0, count: capacities.count)
        var flowStart: [Int32] = [], flowEnd: [Int32] = [], flowLinkPool: [Int32] = []
        for (f, path) in paths.enumerated() {
            flowStart.append(Int32(flowLinkPool.count))
            for l in path {
                linkFlowPool[Int(linkStart[l] + filled[l])] = Int32(f)
                filled[l] += 1
                flowLinkPool.append(Int32(l))
            }
            flowEnd.append(Int32(flowLinkPool.count))
        }
        var rates = [Double](repeating: .infinity, count: paths.count)
        var bottlenecks = [Int32](repeating: -1, count: paths.count)
        let usedLinks = (0..<capacities.count).filter { linkCount[$0] > 0 }.map { Int32($0) }
        var solver = MaxMinFairShare()
        solver.solve(
            flows: paths.indices.filter { !paths[$0].isEmpty }.map { Int32($0) }, links: usedLinks,
            capacity: capacities,
            lists: ArrayLists(linkStart: linkStart, linkCount: linkCount, flowStart: flowStart, flowEnd: flowEnd),
            flowSlots: paths.count, linkFlowPool: linkFlowPool, flowLinkPool: flowLinkPool,
            rates: &rates, bottlenecks: &bottlenecks)
        return rates
    }

    /// Where each link's flows and each flow's links are in the two pools.
    struct ArrayLists: FairShareLists {
        var linkStart: [Int32], linkCount: [Int32], flowStart: [Int32], flowEnd: [Int32]
        func linkFlows(_ l: Int) -> Range<Int> { Int(linkStart[l])..<Int(linkStart[l] + linkCount[l]) }
        func flowLinks(_ f: Int) -> Range<Int> { Int(flowStart[f])..<Int(flowEnd[f]) }
    }

    /// Solves one connected component. `links` must contain every link used by `flows`, and link l's list
    /// (linkFlowPool[lists.linkFlows(l)]) must hold exactly the component's flows on l; flow f's links are
    /// flowLinkPool[lists.flowLinks(f)]; flows are numbered below `flowSlots`. Writes `rates[f]` for each flow f
    /// and `bottlenecks[f]`, the link at which it was frozen (saturated, and f has the largest rate on it).
    mutating func solve<Lists: FairShareLists>(
        flows: [Int32], links: [Int32], capacity: [Double], lists: Lists, flowSlots: Int,
        linkFlowPool: [Int32], flowLinkPool: [Int32],
        rates: inout [Double], bottlenecks: inout [Int32]
    ) {
        // Work on local copies (moved, not copied) so the hot loops touch no class storage.
        var remaining = self.remaining, unfrozen = self.unfrozen, frozen = self.frozen
        self.remaining = []
        self.unfrozen = []
        self.frozen = []
        defer {
            self.remaining = remaining
            self.unfrozen = unfrozen
            self.frozen = frozen
        }
        if remaining.count < capacity.count {
            remaining = [Double](repeating: 0, count: capacity.count)
            unfrozen = [Int32](repeating: 0, count: capacity.count)
        }
        if frozen.count < flowSlots { frozen = [Bool](repeating: false, count: flowSlots) }
        for l in links {
            remaining[Int(l)] = capacity[Int(l)]
            unfrozen[Int(l)] = Int32(lists.linkFlows(Int(l)).count)
        }
        for f in flows { frozen[Int(f)] = false }
        var left = flows.count
        while left > 0 {
            var bestShare = Double.infinity
            for l in links where unfrozen[Int(l)] > 0 {
                bestShare = min(bestShare, remaining[Int(l)] / Double(unfrozen[Int(l)]))
            }
            guard bestShare < .infinity else { break }
            // Every link at the minimum share saturates at this water level: freeze all their flows at once
            // (exact: freezing one such link's flows leaves the others' shares unchanged).
            let level = bestShare * (1 + 1e-12)
            let share = max(bestShare, 0)
            for l in links where unfrozen[Int(l)] > 0 && remaining[Int(l)] / Double(unfrozen[Int(l)]) <= level {
                for j in lists.linkFlows(Int(l)) {
                    let f = linkFlowPool[j]
                    if frozen[Int(f)] { continue }
                    frozen[Int(f)] = true
                    rates[Int(f)] = share
                    bottlenecks[Int(f)] = l
                    left -= 1
                    for k in lists.flowLinks(Int(f)) {
                        let m = Int(flowLinkPool[k])
                        remaining[m] -= share
                        unfrozen[m] -= 1
                    }
                }
            }
        }
    }
}

/// The flow lists `MaxMinFairShare.solve` reads: ranges into a pool of flow indices per link, and into a pool of
/// link indices per flow.
protocol FairShareLists {
    func linkFlows(_ l: Int) -> Range<Int>
    func flowLinks(_ f: Int) -> Range<Int>
}
