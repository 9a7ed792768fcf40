@testable import Simulator

/// Relative closeness check used by the closed-form validation tests (0.1% by default).
func close(_ a: Double, _ b: Double, tolerance: Double = 1e-3) -> Bool {
    if a == b { return true }
    return abs(a - b) <= tolerance * max(abs(a), abs(b))
}

/// A chain gpu0 -> sw1 -> ... -> sw(h-1) -> gpu1 of h duplex hops with identical links.
func chainNetwork(hops: Int, bandwidth: Double, latency: SimTime, forwarding: Forwarding) throws -> (Network, Int, Int) {
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

/// Sends the given messages at time zero and returns each one's delivery time in seconds.
func deliveryTimes(_ network: Network, _ messages: [(from: Int, to: Int, bytes: Double)]) throws -> ([Double], FlowScheduler) {
    let sim = Simulation()
    let flows = FlowScheduler(network: network, simulation: sim)
    var done = [Double](repeating: -1, count: messages.count)
    flows.onDelivered = { done[Int($0)] = sim.now.seconds }
    for (i, m) in messages.enumerated() { try flows.send(from: m.from, to: m.to, bytes: m.bytes, context: Int64(i)) }
    sim.run()
    return (done, flows)
}

/// p GPUs with one simplex link per ordered pair (like an xGMI mesh): bandwidth B, latency a, one hop.
func fullyConnected(_ p: Int, bandwidth: Double, latency: SimTime, gpusPerServer: Int? = nil) throws -> Cluster {
    var net = Network()
    let cls = try net.addLinkClass(LinkClass(name: "mesh", forwarding: .cutThrough))
    let gpus = try (0..<p).map { try net.addNode("gpu\($0)", kind: .gpu) }
    for i in 0..<p { for j in 0..<p where i != j {
        try net.addLink(from: gpus[i], to: gpus[j], bandwidth: bandwidth, latency: latency, linkClass: cls)
    } }
    let g = gpusPerServer ?? p
    return try Cluster(name: "mesh\(p)", gpu: .h100SXM5, network: net, gpus: gpus, serverOf: (0..<p).map { $0 / g })
}
