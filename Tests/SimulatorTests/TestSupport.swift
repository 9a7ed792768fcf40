@testable import Simulator

/// Relative closeness check used by the closed-form validation tests (0.1% by default).
func close(_ a: Double, _ b: Double, tolerance: Double = 1e-3) -> Bool {
    if a == b { return true }
    return abs(a - b) <= tolerance * max(abs(a), abs(b))
}

/// A chain gpu0 -> sw1 -> ... -> sw(h-1) -> gpu1 of h duplex hops with identical links.
func chainNetwork(hops: Int, bandwidth: Double, latency: SimTime, forwarding: Forwarding) throws -> (Network, Int, Int)
{
    var net = Network()
    let cls = try net.addLinkClass(LinkClass(name: "wire", forwarding: forwarding))
    let a = try net.addNode("gpu0", kind: .gpu)
    var prev = a
    for i in 1..<hops {
        let s = try net.addNode("sw\(i)", kind: .switch)
        try net.addDuplexLink(prev, s, bandwidth: bandwidth, latency: latency, linkClass: cls)
        prev = s
    }
    let b = try net.addNode("gpu1", kind: .gpu)
    try net.addDuplexLink(prev, b, bandwidth: bandwidth, latency: latency, linkClass: cls)
    return (net, a, b)
}

/// A test's observer of the network: starts scripted transfers at their times (its own events) and records when
/// each one is delivered.
struct TransferScript: NetworkObserver {
    var transfers: [(start: SimTime, from: Int, to: Int, bytes: Double)]
    /// Delivery time of each transfer, picoseconds (-1: not delivered).
    var delivered: [Int64]
    var failure: Error?

    init(_ transfers: [(start: SimTime, from: Int, to: Int, bytes: Double)]) {
        self.transfers = transfers
        delivered = [Int64](repeating: -1, count: transfers.count)
    }

    mutating func transmitted(_ context: Int64, network: inout FlowScheduler, queue: inout EventQueue) {}

    mutating func delivered(_ context: Int64, network: inout FlowScheduler, queue: inout EventQueue) {
        delivered[Int(context)] = queue.now.picoseconds
    }

    mutating func handle(_ event: Event, network: inout FlowScheduler, queue: inout EventQueue) {
        let t = transfers[Int(event.payload)]
        do { try network.send(from: t.from, to: t.to, bytes: t.bytes, context: event.payload, queue: &queue) } catch {
            failure = error
        }
    }

    /// A simulation that starts every transfer at its time.
    static func simulation(_ network: Network, _ transfers: [(start: SimTime, from: Int, to: Int, bytes: Double)])
        -> Simulation<NetworkModel<TransferScript>>
    {
        var sim = Simulation(
            NetworkModel(network: FlowScheduler(network: network), observer: TransferScript(transfers)))
        for i in transfers.indices {
            sim.queue.schedule(at: transfers[i].start, target: EventTarget.observer.rawValue, payload: Int64(i))
        }
        return sim
    }
}

/// Sends the given messages at time zero and returns each one's delivery time in seconds.
func deliveryTimes(_ network: Network, _ messages: [(from: Int, to: Int, bytes: Double)]) throws -> (
    [Double], FlowScheduler
) {
    var sim = TransferScript.simulation(network, messages.map { (.zero, $0.from, $0.to, $0.bytes) })
    sim.run()
    if let failure = sim.handler.observer.failure { throw failure }
    return (sim.handler.observer.delivered.map { SimTime(picoseconds: $0).seconds }, sim.handler.network)
}

/// p GPUs with one simplex link per ordered pair (like an xGMI mesh): bandwidth B, latency a, one hop.
func fullyConnected(_ p: Int, bandwidth: Double, latency: SimTime, gpusPerServer: Int? = nil) throws -> Cluster {
    var net = Network()
    let cls = try net.addLinkClass(LinkClass(name: "mesh", forwarding: .cutThrough))
    let gpus = try (0..<p).map { try net.addNode("gpu\($0)", kind: .gpu) }
    for i in 0..<p {
        for j in 0..<p where i != j {
            try net.addLink(from: gpus[i], to: gpus[j], bandwidth: bandwidth, latency: latency, linkClass: cls)
        }
    }
    let g = gpusPerServer ?? p
    return try Cluster(name: "mesh\(p)", gpu: .h100SXM5, network: net, gpus: gpus, serverOf: (0..<p).map { $0 / g })
}

/// p GPUs, each with one duplex link (bandwidth B, latency a, cut-through) to a single switch: every transfer is two
/// hops, and all messages to one GPU share its one inbound link (incast). `reduces`: the switch reduces and multicasts
/// (NVLink SHARP).
func star(_ p: Int, bandwidth: Double, latency: SimTime, reduces: Bool = false) throws -> Cluster {
    var net = Network()
    let cls = try net.addLinkClass(LinkClass(name: "star", forwarding: .cutThrough))
    let sw = try net.addNode("sw", kind: .switch, reduces: reduces)
    let gpus = try (0..<p).map { try net.addNode("gpu\($0)", kind: .gpu) }
    for g in gpus { try net.addDuplexLink(g, sw, bandwidth: bandwidth, latency: latency, linkClass: cls) }
    return try Cluster(name: "star\(p)", gpu: .h100SXM5, network: net, gpus: gpus)
}

/// Two servers of g GPUs, every ordered pair of GPUs joined by its own simplex link (one hop, cut-through): class
/// "intra" (bandwidth, latency `intra`) inside a server, class "inter" between servers.
func twoServerMesh(gpusPerServer g: Int, intra: (Double, SimTime), inter: (Double, SimTime)) throws -> Cluster {
    var net = Network()
    let intraClass = try net.addLinkClass(LinkClass(name: "intra", forwarding: .cutThrough))
    let interClass = try net.addLinkClass(LinkClass(name: "inter", forwarding: .cutThrough))
    let gpus = try (0..<2 * g).map { try net.addNode("gpu\($0)", kind: .gpu) }
    for i in gpus.indices {
        for j in gpus.indices where i != j {
            let same = i / g == j / g
            try net.addLink(
                from: gpus[i], to: gpus[j], bandwidth: same ? intra.0 : inter.0, latency: same ? intra.1 : inter.1,
                linkClass: same ? intraClass : interClass)
        }
    }
    return try Cluster(
        name: "two-server-mesh", gpu: .h100SXM5, network: net, gpus: gpus, serverOf: gpus.indices.map { $0 / g })
}
