/// Flow-level network model: every message is a fluid flow per route segment; concurrent flows share links by
/// max-min fairness, recomputed (for the affected connected component only) whenever a flow starts or finishes.
///
/// Timing of one segment: the flow transmits at its current fair rate until its bytes are sent (transmit end),
/// then arrives at the segment's far end after the segment latency plus packetisation delays. Store-and-forward
/// links end segments, so the next segment starts only when the whole message has arrived.
public final class FlowScheduler: EventHandler {
    public let network: Network
    public let simulation: Simulation
    private var target: Int32 = -1

    /// Called when the first segment of a transfer has been transmitted (the sender's data has left), with the
    /// caller's context value.
    public var onTransmitted: ((Int64) -> Void)?
    /// Called when a transfer has fully arrived at its destination, with the caller's context value.
    public var onDelivered: ((Int64) -> Void)?

    /// Bytes carried by each link so far (a message crossing h links counts h times).
    public private(set) var linkBytes: [Double]
    /// Number of transfers started.
    public private(set) var transfersStarted = 0
    /// Number of max-min recomputations over components of more than one flow.
    public private(set) var fairShareSolves = 0

    // Routes.
    private var routeIndex: [Int64: Int32] = [:]
    private var routes: [Route] = []

    // Transfers (messages), slot-allocated.
    private var tRoute: [Int32] = []
    private var tSegment: [Int32] = []
    private var tBytes: [Double] = []
    private var tContext: [Int64] = []
    private var freeTransfers: [Int32] = []

    // Flows (one in-flight segment of a transfer), slot-allocated.
    private var fTransfer: [Int32] = []
    private var fRemaining: [Double] = []
    private var fRate: [Double] = []
    private var fUpdated: [Int64] = []
    private var fVersion: [UInt32] = []
    private var fLinks: [[Int32]] = []
    /// The link each flow is limited by (saturated, and the flow has the largest rate on it).
    private var fBottleneck: [Int32] = []
    private var freeFlows: [Int32] = []

    // Links.
    private let capacity: [Double]
    private var linkFlows: [[Int32]]
    private var linkMark: [UInt32]
    /// Sum of current rates of the flows on each link.
    private var linkUsed: [Double]
    private var flowMark: [UInt32] = []
    private var epoch: UInt32 = 0
    private let solver = MaxMinFairShare()
    private var componentFlows: [Int32] = []
    private var componentLinks: [Int32] = []
    private var newRates: [Double] = []

    private enum Kind: Int32 { case transmitEnd = 0, arrival = 1 }

    public init(network: Network, simulation: Simulation) {
        self.network = network
        self.simulation = simulation
        capacity = network.links.map(\.bandwidth)
        linkFlows = [[Int32]](repeating: [], count: network.links.count)
        linkMark = [UInt32](repeating: 0, count: network.links.count)
        linkUsed = [Double](repeating: 0, count: network.links.count)
        linkBytes = [Double](repeating: 0, count: network.links.count)
        target = simulation.register(self)
    }

    /// The (cached) route between two nodes.
    public func route(from source: Int, to destination: Int) throws -> Route {
        routes[Int(try routeID(source, destination))]
    }

    private func routeID(_ source: Int, _ destination: Int) throws -> Int32 {
        let key = Int64(source) << 32 | Int64(destination)
        if let id = routeIndex[key] { return id }
        let route = try network.route(from: source, to: destination)
        routes.append(route)
        let id = Int32(routes.count - 1)
        routeIndex[key] = id
        return id
    }

    /// Starts sending `bytes` from node `source` to node `destination` now. `context` is handed back to the
    /// callbacks. A transfer to oneself, or of zero bytes, still pays the route latency (zero for oneself).
    public func send(from source: Int, to destination: Int, bytes: Double, context: Int64) throws {
        precondition(bytes >= 0 && bytes.isFinite, "bytes must be finite and >= 0")
        let route = try routeID(source, destination)
        transfersStarted += 1
        let t: Int32
        if let reused = freeTransfers.popLast() {
            t = reused
            tRoute[Int(t)] = route; tSegment[Int(t)] = 0; tBytes[Int(t)] = bytes; tContext[Int(t)] = context
        } else {
            t = Int32(tRoute.count)
            tRoute.append(route); tSegment.append(0); tBytes.append(bytes); tContext.append(context)
        }
        if routes[Int(route)].segments.isEmpty {
            simulation.schedule(at: simulation.now, target: target, kind: Kind.arrival.rawValue, payload: Int64(t))
            return
        }
        startSegment(of: t)
    }

    private func startSegment(of t: Int32) {
        let segment = routes[Int(tRoute[Int(t)])].segments[Int(tSegment[Int(t)])]
        let bytes = tBytes[Int(t)]
        let now = simulation.now.picoseconds
        let f: Int32
        if let reused = freeFlows.popLast() {
            f = reused
            fTransfer[Int(f)] = t; fRemaining[Int(f)] = bytes; fRate[Int(f)] = 0; fUpdated[Int(f)] = now
            fVersion[Int(f)] &+= 1; fLinks[Int(f)] = segment.links
        } else {
            f = Int32(fTransfer.count)
            fTransfer.append(t); fRemaining.append(bytes); fRate.append(0); fUpdated.append(now)
            fVersion.append(0); fLinks.append(segment.links); flowMark.append(0); newRates.append(0)
            fBottleneck.append(-1)
        }
        // Fast path (exact): if the new flow fits at its uncontended rate on every link without exceeding any
        // capacity, the previous allocation plus this flow at full rate is still max-min fair.
        var fits = true
        let rate = segment.bottleneck
        var limiting: Int32 = -1
        for l in segment.links {
            linkBytes[Int(l)] += bytes
            if linkUsed[Int(l)] + rate > capacity[Int(l)] * (1 + 1e-12) { fits = false }
            if limiting < 0 && capacity[Int(l)] == rate { limiting = l }
            linkFlows[Int(l)].append(f)
        }
        if fits {
            fBottleneck[Int(f)] = limiting
            setRate(f, segment.bottleneck, now: now)
        } else {
            rebalance(from: segment.links, now: now)
        }
    }

    /// Brings flow f's remaining bytes up to date and reschedules its transmit end at the new rate.
    private func setRate(_ f: Int32, _ rate: Double, now: Int64) {
        let i = Int(f)
        if fRate[i] > 0 {
            fRemaining[i] = max(0, fRemaining[i] - fRate[i] * Double(now - fUpdated[i]) * 1e-12)
        }
        let delta = rate - fRate[i]
        for l in fLinks[i] { linkUsed[Int(l)] += delta }
        fUpdated[i] = now
        fRate[i] = rate
        fVersion[i] &+= 1
        let duration = Int64((fRemaining[i] / rate * 1e12).rounded())
        simulation.schedule(at: SimTime(picoseconds: now + duration), target: target, kind: Kind.transmitEnd.rawValue,
                            payload: Int64(f) | Int64(fVersion[i]) << 32)
    }

    /// Recomputes max-min rates for the connected component (flows sharing links, transitively) reachable from the
    /// given links, and reschedules flows whose rate changed.
    private func rebalance(from seeds: [Int32], now: Int64) {
        epoch &+= 1
        if epoch == 0 {  // wrapped: clear marks
            for i in linkMark.indices { linkMark[i] = 0 }
            for i in flowMark.indices { flowMark[i] = 0 }
            epoch = 1
        }
        componentFlows.removeAll(keepingCapacity: true)
        componentLinks.removeAll(keepingCapacity: true)
        var queue = 0
        for l in seeds where linkMark[Int(l)] != epoch && !linkFlows[Int(l)].isEmpty {
            linkMark[Int(l)] = epoch
            componentLinks.append(l)
        }
        while queue < componentLinks.count {
            let l = componentLinks[queue]
            queue += 1
            for f in linkFlows[Int(l)] where flowMark[Int(f)] != epoch {
                flowMark[Int(f)] = epoch
                componentFlows.append(f)
                for m in fLinks[Int(f)] where linkMark[Int(m)] != epoch {
                    linkMark[Int(m)] = epoch
                    componentLinks.append(m)
                }
            }
        }
        if componentFlows.isEmpty { return }
        if componentFlows.count == 1 {
            let f = componentFlows[0]
            var rate = Double.infinity
            for l in fLinks[Int(f)] where capacity[Int(l)] < rate { rate = capacity[Int(l)]; fBottleneck[Int(f)] = l }
            if rate != fRate[Int(f)] { setRate(f, rate, now: now) }
            return
        }
        fairShareSolves += 1
        solver.solve(flows: componentFlows, links: componentLinks, capacity: capacity, linkFlows: linkFlows,
                     flowLinks: fLinks, rates: &newRates, bottlenecks: &fBottleneck)
        for f in componentFlows {
            var rate = newRates[Int(f)]
            if !(rate > 0) {  // numerical dust: never stall a flow
                rate = 1e-9 * (fLinks[Int(f)].map { capacity[Int($0)] }.min() ?? 1)
            }
            if rate != fRate[Int(f)] { setRate(f, rate, now: now) }
        }
    }

    public func handle(_ event: Event, in simulation: Simulation) {
        switch event.kind {
        case Kind.transmitEnd.rawValue:
            let f = Int32(truncatingIfNeeded: event.payload & 0xffff_ffff)
            let version = UInt32(truncatingIfNeeded: event.payload >> 32)
            guard fVersion[Int(f)] == version, fTransfer[Int(f)] >= 0 else { return }  // stale
            finishTransmission(f, now: event.time)
        default:
            arrive(Int32(event.payload))
        }
    }

    private func finishTransmission(_ f: Int32, now: Int64) {
        let t = fTransfer[Int(f)]
        let links = fLinks[Int(f)]
        // Other flows can only speed up if this flow was on a saturated link they share (exact skip otherwise).
        var affected = false
        let rate = fRate[Int(f)]
        for l in links {
            if !affected && linkFlows[Int(l)].count > 1 && linkUsed[Int(l)] >= capacity[Int(l)] * (1 - 1e-9) {
                for g in linkFlows[Int(l)] where g != f && fBottleneck[Int(g)] == l { affected = true; break }
            }
            linkUsed[Int(l)] -= rate
            let list = linkFlows[Int(l)]
            if let at = list.firstIndex(of: f) {
                linkFlows[Int(l)].swapAt(at, list.count - 1)
                linkFlows[Int(l)].removeLast()
            }
        }
        fTransfer[Int(f)] = -1
        fVersion[Int(f)] &+= 1
        fRate[Int(f)] = 0
        freeFlows.append(f)
        if affected { rebalance(from: links, now: now) }

        let segmentIndex = Int(tSegment[Int(t)])
        let segment = routes[Int(tRoute[Int(t)])].segments[segmentIndex]
        var delay = segment.latency.picoseconds
        if !segment.packetDelays.isEmpty {
            let bytes = tBytes[Int(t)]
            var extra = 0.0
            for d in segment.packetDelays { extra += min(d.mtuBytes, bytes) / d.bandwidth }
            delay += Int64((extra * 1e12).rounded())
        }
        if segmentIndex == 0 { onTransmitted?(tContext[Int(t)]) }
        simulation.schedule(at: SimTime(picoseconds: now + delay), target: target, kind: Kind.arrival.rawValue,
                            payload: Int64(t))
    }

    private func arrive(_ t: Int32) {
        let route = routes[Int(tRoute[Int(t)])]
        let next = Int(tSegment[Int(t)]) + 1
        if next < route.segments.count {
            tSegment[Int(t)] = Int32(next)
            startSegment(of: t)
            return
        }
        let context = tContext[Int(t)]
        freeTransfers.append(t)
        if route.segments.isEmpty { onTransmitted?(context) }
        onDelivered?(context)
    }

    /// Bytes carried per link class name (sum over the class's links), in class order.
    public var bytesPerLinkClass: [(name: String, bytes: Double)] {
        var sums = [Double](repeating: 0, count: network.linkClasses.count)
        for (i, l) in network.links.enumerated() { sums[l.linkClass] += linkBytes[i] }
        return network.linkClasses.enumerated().map { ($0.element.name, sums[$0.offset]) }
    }
}
