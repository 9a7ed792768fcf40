/// Max-min fair bandwidth allocation by progressive filling: raise all unfrozen flows' rates together; when a link
/// saturates, freeze the flows crossing it at the current rate; repeat. The link with the smallest fair share
/// (remaining capacity / unfrozen flows) saturates first; links tied at that share saturate together.
public final class MaxMinFairShare {
    private var remaining: [Double] = []
    private var unfrozen: [Int32] = []
    private var frozen: [Bool] = []

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
        for l in capacities.indices { linkStart[l] = total; total += linkCount[l] }
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
        let solver = MaxMinFairShare()
        solver.solve(flows: paths.indices.filter { !paths[$0].isEmpty }.map { Int32($0) }, links: usedLinks,
                     capacity: capacities, linkFlowStart: linkStart, linkFlowCount: linkCount, linkFlowPool: linkFlowPool,
                     flowLinkStart: flowStart, flowLinkEnd: flowEnd, flowLinkPool: flowLinkPool,
                     rates: &rates, bottlenecks: &bottlenecks)
        return rates
    }

    /// Solves one connected component. `links` must contain every link used by `flows`, and link l's list
    /// (linkFlowPool[linkFlowStart[l] ..< linkFlowStart[l] + linkFlowCount[l]]) must hold exactly the component's
    /// flows on l; flow f's links are flowLinkPool[flowLinkStart[f] ..< flowLinkEnd[f]]. Writes `rates[f]` for each
    /// flow f and `bottlenecks[f]`, the link at which it was frozen (saturated, and f has the largest rate on it).
    func solve(flows: [Int32], links: [Int32], capacity: [Double],
               linkFlowStart: [Int32], linkFlowCount: [Int32], linkFlowPool: [Int32],
               flowLinkStart: [Int32], flowLinkEnd: [Int32], flowLinkPool: [Int32],
               rates: inout [Double], bottlenecks: inout [Int32]) {
        // Work on local copies (moved, not copied) so the hot loops touch no class storage.
        var remaining = self.remaining, unfrozen = self.unfrozen, frozen = self.frozen
        self.remaining = []; self.unfrozen = []; self.frozen = []
        defer { self.remaining = remaining; self.unfrozen = unfrozen; self.frozen = frozen }
        if remaining.count < capacity.count {
            remaining = [Double](repeating: 0, count: capacity.count)
            unfrozen = [Int32](repeating: 0, count: capacity.count)
        }
        if frozen.count < flowLinkStart.count { frozen = [Bool](repeating: false, count: flowLinkStart.count) }
        for l in links {
            remaining[Int(l)] = capacity[Int(l)]
            unfrozen[Int(l)] = linkFlowCount[Int(l)]
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
                let start = Int(linkFlowStart[Int(l)])
                for j in start..<start + Int(linkFlowCount[Int(l)]) {
                    let f = linkFlowPool[j]
                    if frozen[Int(f)] { continue }
                    frozen[Int(f)] = true
                    rates[Int(f)] = share
                    bottlenecks[Int(f)] = l
                    left -= 1
                    for k in Int(flowLinkStart[Int(f)])..<Int(flowLinkEnd[Int(f)]) {
                        let m = Int(flowLinkPool[k])
                        remaining[m] -= share
                        unfrozen[m] -= 1
                    }
                }
            }
        }
    }
}
