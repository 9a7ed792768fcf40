/// Flow-level network model: every message is a fluid flow per route segment; concurrent flows share links by
/// max-min fairness, recomputed (for the affected connected component only) whenever a flow starts or finishes.
///
/// Timing of one segment: the flow transmits at its current fair rate until its bytes are sent (transmit end),
/// then arrives at the segment's far end after the segment latency plus packetisation delays. Store-and-forward
/// links end segments, so the next segment starts only when the whole message has arrived.
///
/// Performance layout (the event loop calls into this millions of times a second): every table is a flat array of
/// plain structs indexed by slot numbers (routes, segments, transfers, flows, links), so the hot paths do no
/// reference counting, hashing or allocation, and one flow or link is one cache line. Route segments are flattened
/// into `segmentLinks`; each link's flows live in a slab of `linkFlowPool` (append at the end, remove by swapping
/// with the last, exactly as an array), and each flow remembers its position in its links' lists.
///
/// A value type driven by the event core through `NetworkModel`: it schedules its events with target
/// `EventTarget.network` and reports each transfer's progress to a `NetworkObserver`.
public struct FlowScheduler {
    /// The network the flows run on (read-only).
    public let network: Network

    /// Bytes carried by each link so far (a message crossing h links counts h times).
    public var linkBytes: [Double] { links.map(\.bytes) }

    // Routes, and their segments flattened into plain tables.
    private struct RouteState {
        var firstSegment: Int32
        var segmentCount: Int32
    }
    private struct SegmentState {
        var latency: Int64
        /// Minimum link bandwidth (the uncontended rate).
        var bottleneck: Double
        /// Links: segmentLinks[linkStart..<linkEnd]; packetisation delays: packet*[packetStart..<packetEnd].
        var linkStart: Int32, linkEnd: Int32, packetStart: Int32, packetEnd: Int32
    }
    private var routeIndex: [Int64: Int32] = [:]
    private var switchTreeIndex: [[Int]: Int32] = [:]
    private var routes: [Route] = []
    private var routeState: [RouteState] = []
    private var segments: [SegmentState] = []
    private var segmentLinks: [Int32] = []
    private var packetMTU: [Double] = [], packetBandwidth: [Double] = []

    // Transfers (messages), slot-allocated.
    private struct TransferState {
        var bytes: Double
        var context: Int64
        var route: Int32
        var segment: Int32
    }
    private var transfers: [TransferState] = []
    private var freeTransfers: [Int32] = []

    // Flows (one in-flight segment of a transfer), slot-allocated.
    private struct FlowState {
        var remaining: Double
        var rate: Double
        var updated: Int64
        /// -1 when the slot is free.
        var transfer: Int32
        var version: UInt32
        /// The flow's links: segmentLinks[linkStart..<linkEnd].
        var linkStart: Int32, linkEnd: Int32
        /// The link the flow is limited by (saturated, and the flow has the largest rate on it), or -1.
        var bottleneck: Int32
        var mark: UInt32
    }
    private var flows: [FlowState] = []
    private var freeFlows: [Int32] = []
    /// Transmit-end timers superseded by a rate change and still queued. When there are more than `staleTimerFloor` of
    /// them and more than twice the live flows (an incast re-shares one link among all its senders at every arrival:
    /// p^2 timers), `setRate` drops them from the queue.
    private var staleTimers = 0
    private var liveFlows = 0
    /// Largest number of superseded timers held at once (tests check it stays bounded).
    private(set) var staleTimersHighWater = 0
    /// Superseded timers are dropped once there are more than this many (and more than twice the live flows).
    var staleTimerFloor = 4096
    /// Position of flow f in the list of its k-th link is fPosition[f * maxHops + k] (an offset from the link's
    /// `flowStart`), so removing a flow from a link shared by hundreds of flows needs no search.
    private var fPosition: [Int32] = []
    /// The most links in any segment so far.
    private var maxHops = 1

    // Links. The flows on link l are linkFlowPool[flowStart ..< flowStart + flowCount] (slab size flowCapacity).
    private struct LinkState {
        var capacity: Double
        /// Sum of current rates of the flows on the link.
        var used: Double
        var bytes: Double
        var flowStart: Int32, flowCount: Int32, flowCapacity: Int32
        /// Flows in flight whose bottleneck is this link: replaces a scan of the link's flows when a flow finishes
        /// (a spine link can carry hundreds of flows, none of them limited by it).
        var bottlenecked: Int32
        var mark: UInt32
    }
    private let capacity: [Double]
    private var links: [LinkState]
    private var linkFlowPool: [Int32] = []
    private var epoch: UInt32 = 0
    private var solver = MaxMinFairShare()
    private var componentFlows: [Int32] = []
    private var componentLinks: [Int32] = []
    private var newRates: [Double] = []
    private var newBottlenecks: [Int32] = []

    private enum Kind: Int32 { case transmitEnd = 0, arrival = 1 }

    /// Testing aid: disables both incremental fast paths (a new flow that fits at full rate, a finishing flow that
    /// limited nobody), so every flow start and end recomputes its component by progressive filling.
    var alwaysRecompute = false

    /// Testing aid: every flow in flight, with its links and current rate (bytes/s).
    func activeFlows() -> [(links: [Int32], rate: Double)] {
        flows.filter { $0.transfer >= 0 }.map { (Array(segmentLinks[Int($0.linkStart)..<Int($0.linkEnd)]), $0.rate) }
    }

    /// A scheduler for `network` with no transfer in flight; routes are computed on first use and cached.
    public init(network: Network) {
        self.network = network
        capacity = network.links.map(\.bandwidth)
        links = network.links.map {
            LinkState(
                capacity: $0.bandwidth, used: 0, bytes: 0, flowStart: 0, flowCount: 0, flowCapacity: 0,
                bottlenecked: 0, mark: 0)
        }
    }

    /// The (cached) route between two nodes.
    public mutating func route(from source: Int, to destination: Int) throws -> Route {
        routes[Int(try routeID(source, destination))]
    }

    /// Index of the (cached) route between two nodes, for `send(route:bytes:context:)`.
    mutating func routeID(_ source: Int, _ destination: Int) throws -> Int32 {
        let key = Int64(source) << 32 | Int64(destination)
        if let id = routeIndex[key] { return id }
        let id = register(try network.route(from: source, to: destination))
        routeIndex[key] = id
        return id
    }

    /// Index of the (cached) route of a flow through a reducing and multicasting switch from the nodes `sources` to
    /// the nodes `destinations` (`Network.switchTree`), for `send(route:bytes:context:)`.
    mutating func switchTreeID(sources: [Int], destinations: [Int]) throws -> Int32 {
        let key = sources + [-1] + destinations
        if let id = switchTreeIndex[key] { return id }
        let id = register(try network.switchTree(sources: sources, destinations: destinations))
        switchTreeIndex[key] = id
        return id
    }

    /// Adds `route` to the tables and returns its index.
    private mutating func register(_ route: Route) -> Int32 {
        routes.append(route)
        let id = Int32(routes.count - 1)
        routeState.append(RouteState(firstSegment: Int32(segments.count), segmentCount: Int32(route.segments.count)))
        for segment in route.segments {
            if segment.links.count > maxHops { widenPositions(to: segment.links.count) }
            let linkStart = Int32(segmentLinks.count), packetStart = Int32(packetMTU.count)
            segmentLinks.append(contentsOf: segment.links)
            for d in segment.packetDelays {
                packetMTU.append(d.mtuBytes)
                packetBandwidth.append(d.bandwidth)
            }
            segments.append(
                SegmentState(
                    latency: segment.latency.picoseconds, bottleneck: segment.bottleneck,
                    linkStart: linkStart, linkEnd: Int32(segmentLinks.count),
                    packetStart: packetStart, packetEnd: Int32(packetMTU.count)))
        }
        return id
    }

    /// Starts sending `bytes` from node `source` to node `destination` now. `context` is handed back to the
    /// callbacks. A transfer to oneself, or of zero bytes, still pays the route latency (zero for oneself).
    public mutating func send(
        from source: Int, to destination: Int, bytes: Double, context: Int64,
        queue: inout EventQueue
    ) throws {
        send(route: try routeID(source, destination), bytes: bytes, context: context, queue: &queue)
    }

    /// `send(from:to:bytes:context:)` over a route from `routeID`.
    mutating func send(route: Int32, bytes: Double, context: Int64, queue: inout EventQueue) {
        precondition(bytes >= 0 && bytes.isFinite, "bytes must be finite and >= 0")
        let state = TransferState(bytes: bytes, context: context, route: route, segment: 0)
        let t: Int32
        if let reused = freeTransfers.popLast() {
            t = reused
            transfers[Int(t)] = state
        } else {
            t = Int32(transfers.count)
            transfers.append(state)
        }
        if routeState[Int(route)].segmentCount == 0 {
            queue.schedule(
                at: queue.now, target: EventTarget.network.rawValue, kind: Kind.arrival.rawValue, payload: Int64(t))
            return
        }
        startSegment(of: t, queue: &queue)
    }

    // MARK: per-link flow lists

    /// Re-lays out `fPosition` for segments of up to `hops` links.
    private mutating func widenPositions(to hops: Int) {
        var wider = [Int32](repeating: -1, count: flows.count * hops)
        for f in flows.indices { for k in 0..<maxHops { wider[f * hops + k] = fPosition[f * maxHops + k] } }
        fPosition = wider
        maxHops = hops
    }

    /// Appends flow f, whose `hop`-th link is l, to l's list.
    @inline(__always)
    private mutating func linkAppend(_ l: Int, _ f: Int32, hop: Int) {
        let count = Int(links[l].flowCount)
        if count == Int(links[l].flowCapacity) {  // move the list to a slab twice as large at the end of the pool
            let newCapacity = max(4, 2 * count)
            let old = Int(links[l].flowStart), start = linkFlowPool.count
            linkFlowPool.append(contentsOf: repeatElement(-1, count: newCapacity))
            for i in 0..<count { linkFlowPool[start + i] = linkFlowPool[old + i] }
            links[l].flowStart = Int32(start)
            links[l].flowCapacity = Int32(newCapacity)
        }
        linkFlowPool[Int(links[l].flowStart) + count] = f
        fPosition[Int(f) * maxHops + hop] = Int32(count)
        links[l].flowCount = Int32(count + 1)
    }

    /// Removes flow f, whose `hop`-th link is l, from l's list: swapped with the last element, then dropped (the
    /// same order as `swapAt` + `removeLast` on an array).
    @inline(__always)
    private mutating func linkRemove(_ l: Int, _ f: Int32, hop: Int) {
        let start = Int(links[l].flowStart)
        let i = Int(fPosition[Int(f) * maxHops + hop])
        let last = Int(links[l].flowCount) - 1
        if i != last {
            let g = linkFlowPool[start + last]
            linkFlowPool[start + i] = g
            linkFlowPool[start + last] = f
            // g's position on l: find which of g's links l is.
            let gStart = Int(flows[Int(g)].linkStart)
            var k = gStart
            while segmentLinks[k] != Int32(l) { k += 1 }
            fPosition[Int(g) * maxHops + (k - gStart)] = Int32(i)
        }
        links[l].flowCount = Int32(last)
    }

    // MARK: flows

    private mutating func startSegment(of t: Int32, queue: inout EventQueue) {
        let transfer = transfers[Int(t)]
        let seg = Int(routeState[Int(transfer.route)].firstSegment + transfer.segment)
        let segment = segments[seg]
        let bytes = transfer.bytes
        let now = queue.now.picoseconds
        liveFlows += 1
        let state = FlowState(
            remaining: bytes, rate: 0, updated: now, transfer: t, version: 0,
            linkStart: segment.linkStart, linkEnd: segment.linkEnd, bottleneck: -1, mark: 0)
        let f: Int32
        if let reused = freeFlows.popLast() {
            f = reused
            let version = flows[Int(f)].version &+ 1, mark = flows[Int(f)].mark
            flows[Int(f)] = state
            flows[Int(f)].version = version
            flows[Int(f)].mark = mark
        } else {
            f = Int32(flows.count)
            flows.append(state)
            fPosition.append(contentsOf: repeatElement(-1, count: maxHops))
            newRates.append(0)
            newBottlenecks.append(-1)
        }
        // Fast path (exact): if the new flow fits at its uncontended rate on every link without exceeding any
        // capacity, the previous allocation plus this flow at full rate is still max-min fair.
        var fits = true
        let rate = segment.bottleneck
        var limiting: Int32 = -1
        let linkStart = Int(segment.linkStart)
        for k in linkStart..<Int(segment.linkEnd) {
            let l32 = segmentLinks[k]
            let l = Int(l32)
            links[l].bytes += bytes
            if links[l].used + rate > links[l].capacity * (1 + 1e-12) { fits = false }
            if limiting < 0 && links[l].capacity == rate { limiting = l32 }
            linkAppend(l, f, hop: k - linkStart)
        }
        if fits && !alwaysRecompute {
            setBottleneck(f, limiting)
            setRate(f, rate, now: now, queue: &queue)
        } else {
            rebalance(seedsFrom: linkStart, to: Int(segment.linkEnd), now: now, queue: &queue)
        }
    }

    @inline(__always)
    private mutating func setBottleneck(_ f: Int32, _ l: Int32) {
        let old = flows[Int(f)].bottleneck
        if old >= 0 { links[Int(old)].bottlenecked -= 1 }
        if l >= 0 { links[Int(l)].bottlenecked += 1 }
        flows[Int(f)].bottleneck = l
    }

    /// Brings flow f's remaining bytes up to date and reschedules its transmit end at the new rate.
    private mutating func setRate(_ f: Int32, _ rate: Double, now: Int64, queue: inout EventQueue) {
        let i = Int(f)
        var flow = flows[i]
        if flow.rate > 0 {
            flow.remaining = max(0, flow.remaining - flow.rate * Double(now - flow.updated) * 1e-12)
            staleTimers += 1  // its pending timer is superseded below
            staleTimersHighWater = max(staleTimersHighWater, staleTimers)
        }
        let delta = rate - flow.rate
        for k in Int(flow.linkStart)..<Int(flow.linkEnd) { links[Int(segmentLinks[k])].used += delta }
        flow.updated = now
        flow.rate = rate
        flow.version &+= 1
        flows[i] = flow
        let duration = SimTime(seconds: flow.remaining / rate)
        queue.schedule(
            at: SimTime(picoseconds: now) + duration, target: EventTarget.network.rawValue,
            kind: Kind.transmitEnd.rawValue,
            payload: Int64(f) | Int64(flow.version) << 32)
        if staleTimers > staleTimerFloor && staleTimers > 2 * liveFlows { dropStaleTimers(&queue) }
    }

    /// Whether `event` is a transmit-end timer superseded by a later rate change (or of a finished flow).
    private func isStale(_ event: Event) -> Bool {
        guard event.target == EventTarget.network.rawValue, event.kind == Kind.transmitEnd.rawValue else {
            return false
        }
        let f = Int(truncatingIfNeeded: event.payload & 0xffff_ffff)
        return flows[f].version != UInt32(truncatingIfNeeded: event.payload >> 32) || flows[f].transfer < 0
    }

    /// Removes the superseded timers from the queue (the live events keep their order: the run is unchanged).
    private mutating func dropStaleTimers(_ queue: inout EventQueue) {
        let scheduler = self
        queue.discard(where: { scheduler.isStale($0) })
        staleTimers = 0
    }

    /// What `MaxMinFairShare.solve` reads of the scheduler's lists.
    private struct Lists: FairShareLists {
        let links: [LinkState]
        let flows: [FlowState]
        func linkFlows(_ l: Int) -> Range<Int> {
            Int(links[l].flowStart)..<Int(links[l].flowStart + links[l].flowCount)
        }
        func flowLinks(_ f: Int) -> Range<Int> { Int(flows[f].linkStart)..<Int(flows[f].linkEnd) }
    }

    /// Recomputes max-min rates for the connected component (flows sharing links, transitively) reachable from the
    /// links segmentLinks[from..<to], and reschedules flows whose rate changed.
    private mutating func rebalance(seedsFrom seedStart: Int, to seedEnd: Int, now: Int64, queue: inout EventQueue) {
        epoch &+= 1
        if epoch == 0 {  // wrapped: clear marks
            for i in links.indices { links[i].mark = 0 }
            for i in flows.indices { flows[i].mark = 0 }
            epoch = 1
        }
        componentFlows.removeAll(keepingCapacity: true)
        componentLinks.removeAll(keepingCapacity: true)
        var head = 0
        for k in seedStart..<seedEnd {
            let l = segmentLinks[k]
            if links[Int(l)].mark != epoch && links[Int(l)].flowCount > 0 {
                links[Int(l)].mark = epoch
                componentLinks.append(l)
            }
        }
        while head < componentLinks.count {
            let l = Int(componentLinks[head])
            head += 1
            let start = Int(links[l].flowStart)
            for j in start..<start + Int(links[l].flowCount) {
                let f = linkFlowPool[j]
                if flows[Int(f)].mark == epoch { continue }
                flows[Int(f)].mark = epoch
                componentFlows.append(f)
                for k in Int(flows[Int(f)].linkStart)..<Int(flows[Int(f)].linkEnd) {
                    let m = segmentLinks[k]
                    if links[Int(m)].mark != epoch {
                        links[Int(m)].mark = epoch
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
            for k in Int(flows[f].linkStart)..<Int(flows[f].linkEnd) {
                let l = segmentLinks[k]
                if capacity[Int(l)] < rate {
                    rate = capacity[Int(l)]
                    bottleneck = l
                }
            }
            setBottleneck(Int32(f), bottleneck)
            if rate != flows[f].rate { setRate(Int32(f), rate, now: now, queue: &queue) }
            return
        }
        solver.solve(
            flows: componentFlows, links: componentLinks, capacity: capacity,
            lists: Lists(links: links, flows: flows), flowSlots: flows.count,
            linkFlowPool: linkFlowPool, flowLinkPool: segmentLinks,
            rates: &newRates, bottlenecks: &newBottlenecks)
        for f in componentFlows { setBottleneck(f, newBottlenecks[Int(f)]) }
        for f in componentFlows {
            var rate = newRates[Int(f)]
            if !(rate > 0) {  // numerical dust: never stall a flow
                var smallest = Double.infinity
                for k in Int(flows[Int(f)].linkStart)..<Int(flows[Int(f)].linkEnd) {
                    smallest = min(smallest, capacity[Int(segmentLinks[k])])
                }
                rate = 1e-9 * (smallest < .infinity ? smallest : 1)
            }
            if rate != flows[Int(f)].rate { setRate(f, rate, now: now, queue: &queue) }
        }
    }

    /// Handles one of the scheduler's own events (target `EventTarget.network`), telling `observer` when a transfer
    /// has been transmitted or delivered.
    mutating func handle<Observer: NetworkObserver>(_ event: Event, queue: inout EventQueue, observer: inout Observer) {
        switch Kind(rawValue: event.kind) {
        case .transmitEnd:
            let f = Int32(truncatingIfNeeded: event.payload & 0xffff_ffff)
            let version = UInt32(truncatingIfNeeded: event.payload >> 32)
            guard flows[Int(f)].version == version, flows[Int(f)].transfer >= 0 else {
                staleTimers -= 1
                return
            }
            finishTransmission(f, now: event.time, queue: &queue, observer: &observer)
        case .arrival:
            arrive(Int32(event.payload), queue: &queue, observer: &observer)
        case nil:
            preconditionFailure("unknown network event kind \(event.kind)")
        }
    }

    private mutating func finishTransmission<Observer: NetworkObserver>(
        _ f: Int32, now: Int64, queue: inout EventQueue,
        observer: inout Observer
    ) {
        let flow = flows[Int(f)]
        let t = Int(flow.transfer)
        let linkStart = Int(flow.linkStart), linkEnd = Int(flow.linkEnd)
        // Other flows can only speed up if this flow was on a saturated link they share (exact skip otherwise).
        var affected = false
        let rate = flow.rate
        for k in linkStart..<linkEnd {
            let l32 = segmentLinks[k]
            let l = Int(l32)
            let link = links[l]
            if !affected && link.flowCount > 1 && link.used >= link.capacity * (1 - 1e-9) {
                // Another flow on l has l as its bottleneck.
                if link.bottlenecked - (flow.bottleneck == l32 ? 1 : 0) > 0 { affected = true }
            }
            links[l].used -= rate
            linkRemove(l, f, hop: k - linkStart)
        }
        setBottleneck(f, -1)
        liveFlows -= 1
        flows[Int(f)].transfer = -1
        flows[Int(f)].version &+= 1
        flows[Int(f)].rate = 0
        freeFlows.append(f)
        if affected || alwaysRecompute { rebalance(seedsFrom: linkStart, to: linkEnd, now: now, queue: &queue) }

        let transfer = transfers[t]
        let segmentIndex = Int(transfer.segment)
        let segment = segments[Int(routeState[Int(transfer.route)].firstSegment) + segmentIndex]
        var delay = segment.latency
        if segment.packetStart < segment.packetEnd {
            var extra = 0.0
            for k in Int(segment.packetStart)..<Int(segment.packetEnd) {
                extra += min(packetMTU[k], transfer.bytes) / packetBandwidth[k]
            }
            delay = (SimTime(picoseconds: delay) + SimTime(seconds: extra)).picoseconds
        }
        // The observer hears of the transmission before the arrival is scheduled (it may start the channel's next
        // message at once): this order fixes the sequence numbers of equal-time events.
        if segmentIndex == 0 { observer.transmitted(transfer.context, network: &self, queue: &queue) }
        queue.schedule(
            at: SimTime(picoseconds: now) + SimTime(picoseconds: delay), target: EventTarget.network.rawValue,
            kind: Kind.arrival.rawValue, payload: Int64(t))
    }

    private mutating func arrive<Observer: NetworkObserver>(
        _ t: Int32, queue: inout EventQueue, observer: inout Observer
    ) {
        let transfer = transfers[Int(t)]
        let segmentCount = Int(routeState[Int(transfer.route)].segmentCount)
        let next = Int(transfer.segment) + 1
        if next < segmentCount {
            transfers[Int(t)].segment = Int32(next)
            startSegment(of: t, queue: &queue)
            return
        }
        let context = transfer.context
        freeTransfers.append(t)
        if segmentCount == 0 { observer.transmitted(context, network: &self, queue: &queue) }
        observer.delivered(context, network: &self, queue: &queue)
    }

    /// Bytes carried per link class name (sum over the class's links), in class order.
    public var bytesPerLinkClass: [(name: String, bytes: Double)] {
        var sums = [Double](repeating: 0, count: network.linkClasses.count)
        for (i, l) in network.links.enumerated() { sums[l.linkClass] += links[i].bytes }
        return network.linkClasses.enumerated().map { ($0.element.name, sums[$0.offset]) }
    }
}
