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
        var linkFlows = [[Int32]](repeating: [], count: capacities.count)
        for (f, path) in paths.enumerated() { for l in path { linkFlows[l].append(Int32(f)) } }
        let flowLinks = paths.map { $0.map { Int32($0) } }
        var rates = [Double](repeating: .infinity, count: paths.count)
        var bottlenecks = [Int32](repeating: -1, count: paths.count)
        let usedLinks = (0..<capacities.count).filter { !linkFlows[$0].isEmpty }.map { Int32($0) }
        let solver = MaxMinFairShare()
        solver.solve(flows: paths.indices.filter { !paths[$0].isEmpty }.map { Int32($0) }, links: usedLinks,
                     capacity: capacities, linkFlows: linkFlows, flowLinks: flowLinks, rates: &rates, bottlenecks: &bottlenecks)
        return rates
    }

    /// Solves one connected component. `links` must contain every link used by `flows`, and `linkFlows[l]` must
    /// list exactly the component's flows on link l. Writes `rates[f]` for each flow f and `bottlenecks[f]`, the
    /// link at which it was frozen (saturated, and f has the largest rate on it).
    func solve(flows: [Int32], links: [Int32], capacity: [Double], linkFlows: [[Int32]], flowLinks: [[Int32]],
               rates: inout [Double], bottlenecks: inout [Int32]) {
        // Work on local copies (moved, not copied) so the hot loops avoid dynamic exclusivity checks.
        var remaining = self.remaining, unfrozen = self.unfrozen, frozen = self.frozen
        self.remaining = []; self.unfrozen = []; self.frozen = []
        defer { self.remaining = remaining; self.unfrozen = unfrozen; self.frozen = frozen }
        if remaining.count < capacity.count {
            remaining = [Double](repeating: 0, count: capacity.count)
            unfrozen = [Int32](repeating: 0, count: capacity.count)
        }
        if frozen.count < flowLinks.count { frozen = [Bool](repeating: false, count: flowLinks.count) }
        for l in links {
            remaining[Int(l)] = capacity[Int(l)]
            unfrozen[Int(l)] = Int32(linkFlows[Int(l)].count)
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
                for f in linkFlows[Int(l)] where !frozen[Int(f)] {
                    frozen[Int(f)] = true
                    rates[Int(f)] = share
                    bottlenecks[Int(f)] = l
                    left -= 1
                    for m in flowLinks[Int(f)] {
                        remaining[Int(m)] -= share
                        unfrozen[Int(m)] -= 1
                    }
                }
            }
        }
    }
}
