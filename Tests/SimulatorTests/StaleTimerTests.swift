import Testing

@testable import Simulator

/// An incast re-shares one link among all its senders at every arrival and departure, superseding every sender's
/// transmit-end timer each time (p^2 timers for p senders). The scheduler drops superseded timers from the queue once
/// they outnumber the live flows: the run is unchanged (same deliveries, to the picosecond), its memory is not p^2.
@Suite("Superseded flow timers")
struct StaleTimerTests {
    /// 300 senders, each behind its own link, into one 10 GB/s link to a sink; starts 1 us apart, 10 MB each (all
    /// overlap: each takes at least 1 ms alone).
    static func incast(floor: Int) throws -> (delivered: [Int64], highWater: Int, events: Int) {
        var net = Network()
        let cls = try net.addLinkClass(LinkClass(name: "wire", forwarding: .cutThrough))
        let hub = try net.addNode("hub", kind: .switch), sink = try net.addNode("sink", kind: .gpu)
        try net.addDuplexLink(hub, sink, bandwidth: 10e9, latency: .nanoseconds(500), linkClass: cls)
        var transfers: [(start: SimTime, from: Int, to: Int, bytes: Double)] = []
        for i in 0..<300 {
            let g = try net.addNode("gpu\(i)", kind: .gpu)
            try net.addDuplexLink(g, hub, bandwidth: 50e9, latency: .nanoseconds(500), linkClass: cls)
            transfers.append((.microseconds(Double(i)), g, sink, 10e6))
        }
        var sim = TransferScript.simulation(net, transfers)
        sim.handler.network.staleTimerFloor = floor
        sim.run()
        return (sim.handler.observer.delivered, sim.handler.network.staleTimersHighWater, sim.eventsHandled)
    }

    @Test func droppingSupersededTimersChangesNothing() throws {
        let kept = try Self.incast(floor: Int.max), dropped = try Self.incast(floor: 4096)
        #expect(kept.delivered.allSatisfy { $0 > 0 })
        #expect(dropped.delivered == kept.delivered)
        // Without dropping, superseded timers pile up (about p^2 / 2 = 45,000); with it, at most the floor + 1.
        #expect(kept.highWater > 40_000, "\(kept.highWater)")
        #expect(dropped.highWater <= 4097, "\(dropped.highWater)")
        // The dropped timers are never handled (they were no-ops).
        #expect(dropped.events < kept.events)
        // Processor sharing on the sink link: the last delivery is when all 3 GB have crossed it, plus the latencies.
        let last = Double(kept.delivered.max()!) * 1e-12
        #expect(close(last, 300 * 10e6 / 10e9 + 1e-6), "\(last)")
    }
}
