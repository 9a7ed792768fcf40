/// Flow-level network model: every message is a fluid flow per route segment; concurrent flows share links by
/// max-min fairness, recomputed (for the affected connected component only) whenever a flow starts or finishes.
///
/// Timing of one segment: the flow transmits at its current fair rate until its bytes are sent (transmit end),
/// then arrives at the segment's far end after the segment latency plus packetisation delays. Store-and-forward
/// links end segments, so the next segment starts only when the whole message has arrived.
///
/// Performance layout (the event loop calls into this millions of times a second): every table is a flat array of
/// plain values indexed by slot numbers (routes, segments, transfers, flows, links), so the hot paths do no
/// reference counting, hashing or allocation. Route segments are flattened into `segmentLinks`; each link's flows
/// live in a slab of `linkFlowPool` (append at the end, remove by swapping with the last, exactly as an array).
public final class FlowScheduler: EventHandler {
    public let network: Network
    public let simulation: Simulation
    private var target: Int32 = -1

    /// Called when the first segment of a transfer has been transmitted (the sender's data has left), with the
    /// caller's context value.
    public var onTransmitted: ((Int64) -> Void)?
    /// Called when a transfer has fully arrived at its destination, with the caller's context value.
    public var onDelivered: ((Int64) -> Void)?
    /// The executor driving this scheduler, called directly (before the closures above) and without reference
    /// counting. It is registered with the same simulation, which this scheduler keeps alive, so it outlives every
    /// callback.
    var executor: Unmanaged<Executor>?

    /// Bytes carried by each link so far (a message crossing h links counts h times).
    public private(set) var linkBytes: [Double]
    /// Number of transfers started.
    public private(set) var transfersStarted = 0
    /// Number of max-min recomputations over components of more than one flow.
    public private(set) var fairShareSolves = 0

    // Routes, and their segments flattened into plain tables.
    private var routeIndex: [Int64: Int32] = [:]
    private var routes: [Route] = []
    private var routeFirstSegment: [Int32] = []
    private var routeSegmentCount: [Int32] = []
    private var sLinkStart: [Int32] = [], sLinkEnd: [Int32] = []
    private var segmentLinks: [Int32] = []
    private var sLatency: [Int64] = []
    private var sBottleneck: [Double] = []
    private var sPacketStart: [Int32] = [], sPacketEnd: [Int32] = []
    private var packetMTU: [Double] = [], packetBandwidth: [Double] = []

    // Transfers (messages), slot-allocated.
    private var tRoute: [Int32] = []
    private var tSegment: [Int32] = []
    private var tBytes: [Double] = []
    private var tContext: [Int64] = []
    private var freeTransfers: [Int32] = []

    // Flows (one in-flight segment of a transfer), slot-allocated. A flow's links are
    // segmentLinks[fLinkStart[f]..<fLinkEnd[f]].
    private var fTransfer: [Int32] = []
    private var fRemaining: [Double] = []
    private var fRate: [Double] = []
    private var fUpdated: [Int64] = []
    private var fVersion: [UInt32] = []
    private var fLinkStart: [Int32] = []
    private var fLinkEnd: [Int32] = []
    /// The link each flow is limited by (saturated, and the flow has the largest rate on it).
    private var fBottleneck: [Int32] = []
    private var freeFlows: [Int32] = []

    // Links. The flows on link l are linkFlowPool[lfStart[l] ..< lfStart[l] + lfCount[l]] (capacity lfCapacity[l]).
    private let capacity: [Double]
    private var lfStart: [Int32]
    private var lfCount: [Int32]
    private var lfCapacity: [Int32]
    private var linkFlowPool: [Int32] = []
    /// Position of flow f in the list of its k-th link is fPosition[f * maxHops + k] (an offset from lfStart), so
    /// removing a flow from a link shared by hundreds of flows needs no search.
    private var fPosition: [Int32] = []
    /// The most links in any segment so far.
    private var maxHops = 1
    private var linkMark: [UInt32]
    /// Sum of current rates of the flows on each link.
    private var linkUsed: [Double]
    /// Number of flows in flight whose bottleneck (`fBottleneck`) is each link: replaces a scan of the link's flows
    /// when a flow finishes (a spine link can carry hundreds of flows, none of them limited by it).
    private var linkBottlenecked: [Int32]
    private var flowMark: [UInt32] = []
    private var epoch: UInt32 = 0
    private let solver = MaxMinFairShare()
    private var componentFlows: [Int32] = []
    private var componentLinks: [Int32] = []
    private var newRates: [Double] = []

    private enum Kind: Int32 { case transmitEnd = 0, arrival = 1 }

    /// Testing aid: disables both incremental fast paths (a new flow that fits at full rate, a finishing flow that
    /// limited nobody), so every flow start and end recomputes its component by progressive filling.
    var alwaysRecompute = false

    /// Testing aid: every flow in flight, with its links and current rate (bytes/s).
    func activeFlows() -> [(links: [Int32], rate: Double)] {
        fTransfer.indices.filter { fTransfer[$0] >= 0 }.map {
            (Array(segmentLinks[Int(fLinkStart[$0])..<Int(fLinkEnd[$0])]), fRate[$0])
        }
    }

    public init(network: Network, simulation: Simulation) {
        self.network = network
        self.simulation = simulation
        let n = network.links.count
        capacity = network.links.map(\.bandwidth)
        lfStart = [Int32](repeating: 0, count: n)
        lfCount = [Int32](repeating: 0, count: n)
        lfCapacity = [Int32](repeating: 0, count: n)
        linkMark = [UInt32](repeating: 0, count: n)
        linkUsed = [Double](repeating: 0, count: n)
        linkBottlenecked = [Int32](repeating: 0, count: n)
        linkBytes = [Double](repeating: 0, count: n)
        target = simulation.register(self)
    }

    /// The (cached) route between two nodes.
    public func route(from source: Int, to destination: Int) throws -> Route {
        routes[Int(try routeID(source, destination))]
    }

    /// Index of the (cached) route between two nodes, for `send(route:bytes:context:)`.
    func routeID(_ source: Int, _ destination: Int) throws -> Int32 {
        let key = Int64(source) << 32 | Int64(destination)
        if let id = routeIndex[key] { return id }
        let route = try network.route(from: source, to: destination)
        routes.append(route)
        let id = Int32(routes.count - 1)
        routeIndex[key] = id
        routeFirstSegment.append(Int32(sLinkStart.count))
        routeSegmentCount.append(Int32(route.segments.count))
        for segment in route.segments {
            if segment.links.count > maxHops { widenPositions(to: segment.links.count) }
            sLinkStart.append(Int32(segmentLinks.count))
            segmentLinks.append(contentsOf: segment.links)
            sLinkEnd.append(Int32(segmentLinks.count))
            sLatency.append(segment.latency.picoseconds)
            sBottleneck.append(segment.bottleneck)
            sPacketStart.append(Int32(packetMTU.count))
            for d in segment.packetDelays { packetMTU.append(d.mtuBytes); packetBandwidth.append(d.bandwidth) }
            sPacketEnd.append(Int32(packetMTU.count))
        }
        return id
    }

    /// Starts sending `bytes` from node `source` to node `destination` now. `context` is handed back to the
    /// callbacks. A transfer to oneself, or of zero bytes, still pays the route latency (zero for oneself).
    public func send(from source: Int, to destination: Int, bytes: Double, context: Int64) throws {
        send(route: try routeID(source, destination), bytes: bytes, context: context)
    }

    /// `send(from:to:bytes:context:)` over a route from `routeID`.
    func send(route: Int32, bytes: Double, context: Int64) {
        precondition(bytes >= 0 && bytes.isFinite, "bytes must be finite and >= 0")
        transfersStarted += 1
        let t: Int32
        if let reused = freeTransfers.popLast() {
            t = reused
            tRoute[Int(t)] = route; tSegment[Int(t)] = 0; tBytes[Int(t)] = bytes; tContext[Int(t)] = context
        } else {
            t = Int32(tRoute.count)
            tRoute.append(route); tSegment.append(0); tBytes.append(bytes); tContext.append(context)
        }
        if routeSegmentCount[Int(route)] == 0 {
            simulation.schedule(at: simulation.now, target: target, kind: Kind.arrival.rawValue, payload: Int64(t))
            return
        }
        startSegment(of: t)
    }

    // MARK: per-link flow lists

    /// Re-lays out `fPosition` for segments of up to `hops` links.
    private func widenPositions(to hops: Int) {
        let flows = fTransfer.count
        var wider = [Int32](repeating: -1, count: flows * hops)
        for f in 0..<flows { for k in 0..<maxHops { wider[f * hops + k] = fPosition[f * maxHops + k] } }
        fPosition = wider
        maxHops = hops
    }

    /// Appends flow f, whose `hop`-th link is l, to l's list.
    @inline(__always)
    private func linkAppend(_ l: Int, _ f: Int32, hop: Int) {
        var count = Int(lfCount[l])
        if count == Int(lfCapacity[l]) {  // move the list to a slab twice as large at the end of the pool
            let newCapacity = max(4, 2 * count)
            let old = Int(lfStart[l]), start = linkFlowPool.count
            linkFlowPool.append(contentsOf: repeatElement(-1, count: newCapacity))
            for i in 0..<count { linkFlowPool[start + i] = linkFlowPool[old + i] }
            lfStart[l] = Int32(start)
            lfCapacity[l] = Int32(newCapacity)
        }
        linkFlowPool[Int(lfStart[l]) + count] = f
        fPosition[Int(f) * maxHops + hop] = Int32(count)
        count += 1
        lfCount[l] = Int32(count)
    }

    /// Removes flow f, whose `hop`-th link is l, from l's list: swapped with the last element, then dropped (the
    /// same order as `swapAt` + `removeLast` on an array).
    @inline(__always)
    private func linkRemove(_ l: Int, _ f: Int32, hop: Int) {
        let start = Int(lfStart[l])
        let i = Int(fPosition[Int(f) * maxHops + hop])
        let last = Int(lfCount[l]) - 1
        if i != last {
            let g = linkFlowPool[start + last]
            linkFlowPool[start + i] = g
            linkFlowPool[start + last] = f
            // g's position on l: find which of g's links l is.
            let gStart = Int(fLinkStart[Int(g)])
            var k = gStart
            while segmentLinks[k] != Int32(l) { k += 1 }
            fPosition[Int(g) * maxHops + (k - gStart)] = Int32(i)
        }
        lfCount[l] -= 1
    }

    // MARK: flows

    private func startSegment(of t: Int32) {
        let seg = Int(routeFirstSegment[Int(tRoute[Int(t)])] + tSegment[Int(t)])
        let bytes = tBytes[Int(t)]
        let now = simulation.now.picoseconds
        let linkStart = sLinkStart[seg], linkEnd = sLinkEnd[seg]
        let f: Int32
        if let reused = freeFlows.popLast() {
            f = reused
            let i = Int(f)
            fTransfer[i] = t; fRemaining[i] = bytes; fRate[i] = 0; fUpdated[i] = now
            fVersion[i] &+= 1; fLinkStart[i] = linkStart; fLinkEnd[i] = linkEnd; fBottleneck[i] = -1
        } else {
            f = Int32(fTransfer.count)
            fTransfer.append(t); fRemaining.append(bytes); fRate.append(0); fUpdated.append(now)
            fVersion.append(0); fLinkStart.append(linkStart); fLinkEnd.append(linkEnd); flowMark.append(0)
            fPosition.append(contentsOf: repeatElement(-1, count: maxHops))
            newRates.append(0); fBottleneck.append(-1)
        }
        // Fast path (exact): if the new flow fits at its uncontended rate on every link without exceeding any
        // capacity, the previous allocation plus this flow at full rate is still max-min fair.
        var fits = true
        let rate = sBottleneck[seg]
        var limiting: Int32 = -1
        for k in Int(linkStart)..<Int(linkEnd) {
            let l32 = segmentLinks[k]
            let l = Int(l32)
            linkBytes[l] += bytes
            if linkUsed[l] + rate > capacity[l] * (1 + 1e-12) { fits = false }
            if limiting < 0 && capacity[l] == rate { limiting = l32 }
            linkAppend(l, f, hop: k - Int(linkStart))
        }
        if fits && !alwaysRecompute {
            setBottleneck(f, limiting)
            setRate(f, rate, now: now)
        } else {
            rebalance(seedsFrom: Int(linkStart), to: Int(linkEnd), now: now)
        }
    }

    @inline(__always)
    private func setBottleneck(_ f: Int32, _ l: Int32) {
        let old = fBottleneck[Int(f)]
        if old >= 0 { linkBottlenecked[Int(old)] -= 1 }
        if l >= 0 { linkBottlenecked[Int(l)] += 1 }
        fBottleneck[Int(f)] = l
    }

    /// Brings flow f's remaining bytes up to date and reschedules its transmit end at the new rate.
    private func setRate(_ f: Int32, _ rate: Double, now: Int64) {
        let i = Int(f)
        if fRate[i] > 0 {
            fRemaining[i] = max(0, fRemaining[i] - fRate[i] * Double(now - fUpdated[i]) * 1e-12)
        }
        let delta = rate - fRate[i]
        for k in Int(fLinkStart[i])..<Int(fLinkEnd[i]) { linkUsed[Int(segmentLinks[k])] += delta }
        fUpdated[i] = now
        fRate[i] = rate
        fVersion[i] &+= 1
        let duration = Int64((fRemaining[i] / rate * 1e12).rounded())
        simulation.schedule(at: SimTime(picoseconds: now + duration), target: target, kind: Kind.transmitEnd.rawValue,
                     payload: Int64(f) | Int64(fVersion[i]) << 32)
    }

    /// Recomputes max-min rates for the connected component (flows sharing links, transitively) reachable from the
    /// links segmentLinks[from..<to], and reschedules flows whose rate changed.
    private func rebalance(seedsFrom seedStart: Int, to seedEnd: Int, now: Int64) {
        epoch &+= 1
        if epoch == 0 {  // wrapped: clear marks
            for i in linkMark.indices { linkMark[i] = 0 }
            for i in flowMark.indices { flowMark[i] = 0 }
            epoch = 1
        }
        componentFlows.removeAll(keepingCapacity: true)
        componentLinks.removeAll(keepingCapacity: true)
        var queue = 0
        for k in seedStart..<seedEnd {
            let l = segmentLinks[k]
            if linkMark[Int(l)] != epoch && lfCount[Int(l)] > 0 {
                linkMark[Int(l)] = epoch
                componentLinks.append(l)
            }
        }
        while queue < componentLinks.count {
            let l = Int(componentLinks[queue])
            queue += 1
            let start = Int(lfStart[l])
            for j in start..<start + Int(lfCount[l]) {
                let f = linkFlowPool[j]
                if flowMark[Int(f)] == epoch { continue }
                flowMark[Int(f)] = epoch
                componentFlows.append(f)
                for k in Int(fLinkStart[Int(f)])..<Int(fLinkEnd[Int(f)]) {
                    let m = segmentLinks[k]
                    if linkMark[Int(m)] != epoch {
                        linkMark[Int(m)] = epoch
                        componentLinks.append(m)
                    }
                }
            }
        }
        if componentFlows.isEmpty { return }
        if componentFlows.count == 1 {
            let f = Int(componentFlows[0])
            var rate = Double.infinity
            var bottleneck: Int32 = -1
            for k in Int(fLinkStart[f])..<Int(fLinkEnd[f]) {
                let l = segmentLinks[k]
                if capacity[Int(l)] < rate { rate = capacity[Int(l)]; bottleneck = l }
            }
            setBottleneck(Int32(f), bottleneck)
            if rate != fRate[f] { setRate(Int32(f), rate, now: now) }
            return
        }
        fairShareSolves += 1
        for f in componentFlows {
            let old = fBottleneck[Int(f)]
            if old >= 0 { linkBottlenecked[Int(old)] -= 1 }
        }
        solver.solve(flows: componentFlows, links: componentLinks, capacity: capacity,
                     linkFlowStart: lfStart, linkFlowCount: lfCount, linkFlowPool: linkFlowPool,
                     flowLinkStart: fLinkStart, flowLinkEnd: fLinkEnd, flowLinkPool: segmentLinks,
                     rates: &newRates, bottlenecks: &fBottleneck)
        for f in componentFlows {
            let new = fBottleneck[Int(f)]
            if new >= 0 { linkBottlenecked[Int(new)] += 1 }
        }
        for f in componentFlows {
            var rate = newRates[Int(f)]
            if !(rate > 0) {  // numerical dust: never stall a flow
                var smallest = Double.infinity
                for k in Int(fLinkStart[Int(f)])..<Int(fLinkEnd[Int(f)]) { smallest = min(smallest, capacity[Int(segmentLinks[k])]) }
                rate = 1e-9 * (smallest < .infinity ? smallest : 1)
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
        let t = Int(fTransfer[Int(f)])
        let linkStart = Int(fLinkStart[Int(f)]), linkEnd = Int(fLinkEnd[Int(f)])
        // Other flows can only speed up if this flow was on a saturated link they share (exact skip otherwise).
        var affected = false
        let rate = fRate[Int(f)]
        let ownBottleneck = fBottleneck[Int(f)]
        for k in linkStart..<linkEnd {
            let l32 = segmentLinks[k]
            let l = Int(l32)
            if !affected && lfCount[l] > 1 && linkUsed[l] >= capacity[l] * (1 - 1e-9) {
                // Another flow on l has l as its bottleneck.
                if linkBottlenecked[l] - (ownBottleneck == l32 ? 1 : 0) > 0 { affected = true }
            }
            linkUsed[l] -= rate
            linkRemove(l, f, hop: k - linkStart)
        }
        setBottleneck(f, -1)
        fTransfer[Int(f)] = -1
        fVersion[Int(f)] &+= 1
        fRate[Int(f)] = 0
        freeFlows.append(f)
        if affected || alwaysRecompute { rebalance(seedsFrom: linkStart, to: linkEnd, now: now) }

        let segmentIndex = Int(tSegment[t])
        let seg = Int(routeFirstSegment[Int(tRoute[t])]) + segmentIndex
        var delay = sLatency[seg]
        let packetStart = Int(sPacketStart[seg]), packetEnd = Int(sPacketEnd[seg])
        if packetStart < packetEnd {
            let bytes = tBytes[t]
            var extra = 0.0
            for k in packetStart..<packetEnd { extra += min(packetMTU[k], bytes) / packetBandwidth[k] }
            delay += Int64((extra * 1e12).rounded())
        }
        if segmentIndex == 0 { transmitted(tContext[t]) }
        simulation.schedule(at: SimTime(picoseconds: now + delay), target: target, kind: Kind.arrival.rawValue,
                     payload: Int64(t))
    }

    private func arrive(_ t: Int32) {
        let route = Int(tRoute[Int(t)])
        let segments = Int(routeSegmentCount[route])
        let next = Int(tSegment[Int(t)]) + 1
        if next < segments {
            tSegment[Int(t)] = Int32(next)
            startSegment(of: t)
            return
        }
        let context = tContext[Int(t)]
        freeTransfers.append(t)
        if segments == 0 { transmitted(context) }
        executor?._withUnsafeGuaranteedRef { $0.delivered(Int32(truncatingIfNeeded: context)) }
        onDelivered?(context)
    }

    @inline(__always)
    private func transmitted(_ context: Int64) {
        executor?._withUnsafeGuaranteedRef { $0.transmitted(Int32(truncatingIfNeeded: context)) }
        onTransmitted?(context)
    }

    /// Bytes carried per link class name (sum over the class's links), in class order.
    public var bytesPerLinkClass: [(name: String, bytes: Double)] {
        var sums = [Double](repeating: 0, count: network.linkClasses.count)
        for (i, l) in network.links.enumerated() { sums[l.linkClass] += linkBytes[i] }
        return network.linkClasses.enumerated().map { ($0.element.name, sums[$0.offset]) }
    }
}
