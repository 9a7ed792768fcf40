import Testing

@testable import Simulator

/// Randomised check of the incremental max-min scheduler. `FlowScheduler` skips the recompute when a new flow fits
/// at its full rate, or when a finishing flow limited nobody; both skips are exact by argument. Here, on many random
/// small topologies with flows starting and ending at random (often coinciding) times, the rates after every event
/// are compared with a from-scratch progressive filling written independently below, and every delivery time with
/// a second run that recomputes on every flow start and end (`alwaysRecompute`).
@Suite("Max-min fair sharing: incremental vs full recompute")
struct FairShareRandomTests {
    /// SplitMix64: seeded, identical on every platform.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ values: [T]) -> T { values[below(values.count)] }
    }

    /// Max-min fair rates by progressive filling, from scratch: raise every unfrozen flow's rate together; the links
    /// with the smallest remaining capacity per unfrozen flow saturate and freeze their flows.
    static func progressiveFilling(capacity: [Double], flows: [[Int32]]) -> [Double] {
        var rate = [Double](repeating: 0, count: flows.count)
        var frozen = [Bool](repeating: false, count: flows.count)
        var level = 0.0
        while frozen.contains(false) {
            // Increment of the common water level until the first link saturates.
            var step = Double.infinity
            for l in capacity.indices {
                var used = 0.0, active = 0
                for (f, links) in flows.enumerated() where links.contains(Int32(l)) {
                    if frozen[f] {
                        used += rate[f]
                    } else {
                        used += level
                        active += 1
                    }
                }
                if active > 0 { step = min(step, (capacity[l] - used) / Double(active)) }
            }
            level += max(step, 0)
            var saturated: [Int] = []
            for l in capacity.indices {
                var used = 0.0, active = 0
                for (f, links) in flows.enumerated() where links.contains(Int32(l)) {
                    if frozen[f] {
                        used += rate[f]
                    } else {
                        used += level
                        active += 1
                    }
                }
                if active > 0 && used >= capacity[l] * (1 - 1e-12) { saturated.append(l) }
            }
            for l in saturated {
                for (f, links) in flows.enumerated() where !frozen[f] && links.contains(Int32(l)) {
                    frozen[f] = true
                    rate[f] = level
                }
            }
        }
        return rate
    }

    struct Scenario {
        var network: Network
        var capacity: [Double]
        /// (start time in ps, source, destination, bytes)
        var transfers: [(start: Int64, from: Int, to: Int, bytes: Double)]
    }

    static func scenario(seed: UInt64) throws -> Scenario {
        var rng = Random(state: seed)
        var net = Network()
        let classes = [
            try net.addLinkClass(LinkClass(name: "cut", forwarding: .cutThrough)),
            try net.addLinkClass(LinkClass(name: "saf", forwarding: .storeAndForward)),
            try net.addLinkClass(LinkClass(name: "pkt", forwarding: .packetised(mtuBytes: 4096))),
        ]
        let nodes = 3 + rng.below(6)
        for i in 0..<nodes { try net.addNode("n\(i)", kind: .switch) }
        // Few distinct capacities so that fair shares tie often (the delicate case for both fast paths).
        let capacities = [1e9, 2e9, 3e9, 4e9, 6e9]
        let latencies: [SimTime] = [.zero, .nanoseconds(100), .microseconds(1)]
        func link(_ a: Int, _ b: Int) throws {
            let cls = rng.below(4) == 0 ? classes[1 + rng.below(2)] : classes[0]
            if rng.below(3) == 0 {  // asymmetric or one-way
                try net.addLink(
                    from: a, to: b, bandwidth: rng.pick(capacities), latency: rng.pick(latencies), linkClass: cls)
                try net.addLink(
                    from: b, to: a, bandwidth: rng.pick(capacities), latency: rng.pick(latencies), linkClass: cls)
            } else {
                try net.addDuplexLink(
                    a, b, bandwidth: rng.pick(capacities), latency: rng.pick(latencies), linkClass: cls)
            }
        }
        for i in 1..<nodes { try link(rng.below(i), i) }  // random spanning tree: every node reaches every other
        for _ in 0..<rng.below(nodes) {
            let a = rng.below(nodes), b = rng.below(nodes)
            if a != b { try link(a, b) }
        }
        let sizes = [1e5, 2e5, 5e5, 1e6, 1e6, 2e6, 3e6]
        let starts: [Int64] = [0, 0, 0, 50_000_000, 100_000_000, 250_000_000, 500_000_000]
        var transfers: [(start: Int64, from: Int, to: Int, bytes: Double)] = []
        for _ in 0..<(2 + rng.below(24)) {
            let a = rng.below(nodes)
            var b = rng.below(nodes - 1)
            if b >= a { b += 1 }
            let start = rng.below(3) == 0 ? Int64(rng.below(600)) * 1_000_000 : rng.pick(starts)
            transfers.append((start, a, b, rng.pick(sizes)))
        }
        return Scenario(network: net, capacity: net.links.map(\.bandwidth), transfers: transfers)
    }

    /// Runs a scenario; checks the rates after every event against progressive filling; returns delivery times (ps)
    /// and the number of rate checks made.
    static func run(_ s: Scenario, alwaysRecompute: Bool) throws -> (
        delivered: [Int64], checks: Int, mismatches: [String]
    ) {
        var sim = TransferScript.simulation(
            s.network, s.transfers.map { (SimTime(picoseconds: $0.start), $0.from, $0.to, $0.bytes) })
        sim.handler.network.alwaysRecompute = alwaysRecompute
        var checks = 0
        var mismatches: [String] = []
        sim.progressInterval = 1
        sim.progress = { sim in
            let active = sim.handler.network.activeFlows()
            let reference = progressiveFilling(capacity: s.capacity, flows: active.map(\.links))
            for (f, r) in zip(active, reference) where abs(f.rate - r) > 1e-9 * r && mismatches.count < 5 {
                mismatches.append(
                    "at \(sim.now.picoseconds) ps: flow over links \(f.links) has rate \(f.rate), progressive filling gives \(r)"
                )
            }
            checks += 1
        }
        sim.run()
        if let failure = sim.handler.observer.failure { throw failure }
        let delivered = sim.handler.observer.delivered
        return (delivered, checks, mismatches)
    }

    @Test func incrementalRatesAndCompletionTimesMatchFullRecompute() throws {
        var checks = 0
        var compared = 0
        for seed in UInt64(1)...300 {
            let s = try Self.scenario(seed: seed)
            let incremental = try Self.run(s, alwaysRecompute: false)
            let full = try Self.run(s, alwaysRecompute: true)
            #expect(incremental.mismatches.isEmpty, "seed \(seed): \(incremental.mismatches)")
            #expect(full.mismatches.isEmpty, "seed \(seed), full recompute: \(full.mismatches)")
            for (i, (a, b)) in zip(incremental.delivered, full.delivered).enumerated() {
                #expect(a >= 0 && b >= 0, "seed \(seed): transfer \(i) never delivered")
                // Exact, or within 1e-9 relative (a last-bit difference in a rate may move a rounding by 1 ps).
                #expect(
                    a == b || Double(abs(a - b)) <= 1e-9 * Double(max(a, b)),
                    "seed \(seed): transfer \(i) delivered at \(a) ps incrementally, \(b) ps with full recompute")
                compared += 1
            }
            checks += incremental.checks
        }
        #expect(checks > 5_000)
        #expect(compared > 2_000)
    }
}
