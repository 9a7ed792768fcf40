/// Max-min fair bandwidth allocation by progressive filling: raise all unfrozen flows' rates together; when a link
/// saturates, freeze the flows crossing it at the current rate; repeat. The link with the smallest fair share
/// (remaining capacity / unfrozen flows) saturates first; ties go to the earlier link in the given order.
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
        let usedLinks = (0..<capacities.count).filter { !linkFlows[$0].isEmpty }.map { Int32($0) }
        let solver = MaxMinFairShare()
        solver.solve(flows: paths.indices.filter { !paths[$0].isEmpty }.map { Int32($0) }, links: usedLinks,
                     capacity: capacities, linkFlows: linkFlows, flowLinks: flowLinks, rates: &rates)
        return rates
    }

    /// Solves one connected component. `links` must contain every link used by `flows`, and `linkFlows[l]` must
    /// list exactly the component's flows on link l. Writes `rates[f]` for each flow f.
    func solve(flows: [Int32], links: [Int32], capacity: [Double], linkFlows: [[Int32]], flowLinks: [[Int32]],
               rates: inout [Double]) {
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
            var best = -1
            var bestShare = Double.infinity
            for l in links where unfrozen[Int(l)] > 0 {
                let share = remaining[Int(l)] / Double(unfrozen[Int(l)])
                if share < bestShare { bestShare = share; best = Int(l) }
            }
            guard best >= 0 else { break }
            let share = max(bestShare, 0)
            for f in linkFlows[best] where !frozen[Int(f)] {
                frozen[Int(f)] = true
                rates[Int(f)] = share
                left -= 1
                for l in flowLinks[Int(f)] {
                    remaining[Int(l)] -= share
                    unfrozen[Int(l)] -= 1
                }
            }
        }
    }
}
