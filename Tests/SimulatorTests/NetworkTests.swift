import Testing

@testable import Simulator

@Suite("Network closed forms")
struct NetworkTests {
    let n = 1_048_576.0  // 1 MiB
    let bw = 50 * 1_073_741_824.0  // 50 * 2^30 B/s
    let a = SimTime.nanoseconds(500)

    @Test func singleMessage() throws {
        let (net, s, d) = try chainNetwork(
            hops: 1, bandwidth: 25e9, latency: .nanoseconds(700), forwarding: .cutThrough)
        let (t, _) = try deliveryTimes(net, [(s, d, 3e6)])
        #expect(close(t[0], 700e-9 + 3e6 / 25e9))
    }

    @Test(arguments: [1, 2, 3, 5])
    func hopsUnderEachForwardingMode(h: Int) throws {
        let aS = a.seconds
        let m = 4096.0
        let cases: [(Forwarding, Double)] = [
            (.storeAndForward, Double(h) * (aS + n / bw)),
            (.cutThrough, Double(h) * aS + n / bw),
            (.packetised(mtuBytes: 4096), Double(h) * aS + n / bw + Double(h - 1) * m / bw),
        ]
        for (mode, expected) in cases {
            let (net, s, d) = try chainNetwork(hops: h, bandwidth: bw, latency: a, forwarding: mode)
            let (t, _) = try deliveryTimes(net, [(s, d, n)])
            #expect(close(t[0], expected), "\(mode) over \(h) hops: \(t[0]) vs \(expected)")
        }
    }

    @Test func astraSimGoldenValues() throws {
        for (h, golden) in [(1, 20_031.0), (2, 40_062.0), (3, 60_093.0)] {
            let (net, s, d) = try chainNetwork(hops: h, bandwidth: bw, latency: a, forwarding: .storeAndForward)
            let (t, _) = try deliveryTimes(net, [(s, d, n)])
            #expect(close(t[0] * 1e9, golden), "\(h) hops: \(t[0] * 1e9) ns vs \(golden) ns")
        }
    }

    @Test(arguments: [2, 3, 8, 64])
    func kFlowsShareOneLink(k: Int) throws {
        let (net, s, d) = try chainNetwork(hops: 1, bandwidth: bw, latency: a, forwarding: .cutThrough)
        let (t, flows) = try deliveryTimes(net, Array(repeating: (s, d, n), count: k))
        let expected = a.seconds + Double(k) * n / bw
        for x in t { #expect(close(x, expected)) }
        let link = try #require(net.outgoing[s].first)
        #expect(flows.linkBytes[link] == Double(k) * n)  // bytes conserved
    }

    @Test func maxMinFairnessTextbookThreeLinks() {
        // A over links 0+1, B over link 0, C over link 1.
        let paths = [[0, 1], [0], [1]]
        let r1 = MaxMinFairShare.allocate(capacities: [10, 4], paths: paths)
        #expect(r1 == [2, 8, 2])  // link 1 saturates first at 4/2; B takes the rest of link 0
        let r2 = MaxMinFairShare.allocate(capacities: [6, 10], paths: paths)
        #expect(r2 == [3, 3, 7])
        // Third link shared by everyone caps the lot.
        let r3 = MaxMinFairShare.allocate(capacities: [10, 4, 3], paths: [[0, 1, 2], [0, 2], [1]])
        #expect(close(r3[0], 1.5) && close(r3[1], 1.5) && close(r3[2], 2.5))
    }

    @Test func maxMinFairnessDrivesCompletionTimes() throws {
        var net = Network()
        let cls = try net.addLinkClass(LinkClass(name: "wire", forwarding: .cutThrough))
        let x = try net.addNode("x", kind: .switch), y = try net.addNode("y", kind: .switch),
            z = try net.addNode("z", kind: .switch)
        try net.addLink(from: x, to: y, bandwidth: 10e9, latency: .zero, linkClass: cls)
        try net.addLink(from: y, to: z, bandwidth: 4e9, latency: .zero, linkClass: cls)
        let bytes = 8e6
        let (t, _) = try deliveryTimes(net, [(x, z, bytes), (x, y, bytes), (y, z, bytes)])
        // Rates A=2, B=8, C=2 GB/s: B ends at n/8e9; A and C keep 2 GB/s each (link 1 still shared): n/2e9.
        #expect(close(t[1], bytes / 8e9))
        #expect(close(t[0], bytes / 2e9))
        #expect(close(t[2], bytes / 2e9))
    }

    @Test func staggeredFlowsReshareWhenOneEnds() throws {
        // Two flows on one link; the second starts at half the first's solo time: closed form by hand.
        let (net, s, d) = try chainNetwork(hops: 1, bandwidth: 1e9, latency: .zero, forwarding: .cutThrough)
        var sim = TransferScript.simulation(net, [(.zero, s, d, 1e6), (.microseconds(500), s, d, 1e6)])
        sim.run()
        let done = sim.handler.observer.delivered.map { SimTime(picoseconds: $0).seconds }
        // Flow 0: 0.5 MB alone in 500 us, then 0.5 MB at 0.5 GB/s = 1000 us -> ends at 1500 us.
        // Flow 1: 0.5 MB at 0.5 GB/s by 1500 us, then 0.5 MB alone = 500 us -> ends at 2000 us.
        #expect(close(done[0], 1500e-6))
        #expect(close(done[1], 2000e-6))
    }

    @Test func routingAvoidsGPUsAndIsDeterministic() throws {
        var net = Network()
        let cls = try net.addLinkClass(LinkClass(name: "pcie", forwarding: .cutThrough))
        let g0 = try net.addNode("gpu0", kind: .gpu), g1 = try net.addNode("gpu1", kind: .gpu),
            g2 = try net.addNode("gpu2", kind: .gpu)
        let host = try net.addNode("host", kind: .host)
        try net.addDuplexLink(g0, g1, bandwidth: 1e9, latency: .zero, linkClass: cls)
        try net.addDuplexLink(g1, g2, bandwidth: 1e9, latency: .zero, linkClass: cls)
        try net.addDuplexLink(g0, host, bandwidth: 1e9, latency: .zero, linkClass: cls)
        try net.addDuplexLink(g2, host, bandwidth: 1e9, latency: .zero, linkClass: cls)
        let r = try net.route(from: g0, to: g2)
        #expect(r.links.map { net.nodes[net.links[$0].to].name } == ["host", "gpu2"])  // not through gpu1
        try net.validateGPUConnectivity()
    }

    @Test func disconnectedGPUsAreRejected() throws {
        var net = Network()
        let cls = try net.addLinkClass(LinkClass(name: "wire", forwarding: .cutThrough))
        let g0 = try net.addNode("gpu0", kind: .gpu), g1 = try net.addNode("gpu1", kind: .gpu)
        _ = try net.addNode("gpu2", kind: .gpu)
        try net.addDuplexLink(g0, g1, bandwidth: 1e9, latency: .zero, linkClass: cls)
        #expect(throws: SimulatorError.self) { try net.validateGPUConnectivity() }
        #expect(throws: SimulatorError.self) {
            try net.addLink(from: g0, to: g1, bandwidth: 0, latency: .zero, linkClass: cls)
        }
        #expect(throws: SimulatorError.self) {
            try net.addLink(from: g0, to: g1, bandwidth: -5, latency: .zero, linkClass: cls)
        }
    }
}
