import Testing
import TreeCore

@testable import Simulator

/// Absurd sizes are clear errors, never overflow traps, hangs or silently clamped results.
@Suite struct LimitsTests {
    @Test func simTimeSumsSaturateInsteadOfTrapping() {
        let big = SimTime(picoseconds: Int64.max - 5)
        #expect((big + SimTime(picoseconds: 10)).picoseconds == Int64.max)
        #expect((big + SimTime(picoseconds: 10)).exceedsRange)
        #expect(!(SimTime.range - SimTime(picoseconds: 1)).exceedsRange)
        #expect(SimTime(picoseconds: 3) + SimTime(picoseconds: 4) == SimTime(picoseconds: 7))
    }

    @Test func runsBeyondTheClockRangeAreErrors() throws {
        let cluster = try Cluster.resolve("dgx-h100:2")
        // 1e20 bytes over 50 GB/s links: ~2e9 s, beyond the 2^62 ps (~53 days) range.
        #expect(throws: SimulatorError.self) {
            _ = try Collective(.allreduce, algorithm: .ring, bytes: 1e20).run(on: cluster)
        }
        #expect(throws: SimulatorError.self) {
            _ = try Collective(.allreduce, algorithm: .nccl(algorithm: nil), bytes: 1e30).run(on: cluster)
        }
        var options = DecodeOptions()
        options.kernelLaunch = .seconds(1e300)
        let workload = try DecodeWorkload(sequenceLength: 1000, heads: 16, headDim: 128)
        #expect(throws: SimulatorError.self) {
            _ = try DecodeModel(cluster: cluster, workload: workload, options: options).run(.tree(collective: .tree))
        }
        // A long but representable run still works.
        #expect(try Collective(.allreduce, algorithm: .ring, bytes: 1e12).run(on: cluster).time.seconds > 1)
    }

    @Test func segmentAndClusterSizesAreBounded() throws {
        let cluster = try Cluster.resolve("mi300x")
        #expect(throws: SimulatorError.self) {
            _ = try Collective(.allreduce, algorithm: .tree, bytes: 1e18).run(on: cluster)
        }
        #expect(throws: SimulatorError.self) {
            _ = try Collective(.broadcast, algorithm: .tree, bytes: 1e6, options: CollectiveOptions(segments: Int.max))
                .run(on: cluster)
        }
        for bad in ["dgx-h100:", "dgx-h100:100000000", "rtx4090-pcie:9223372036854775807", "mi300x:9"] {
            #expect(throws: SimulatorError.self, "\(bad)") { _ = try Cluster.resolve(bad) }
        }
        #expect(throws: SimulatorError.self) {
            _ = try ClusterFile.parse("gpus: 100000000000\ngpu: {model: H100-SXM5}\n")
        }
        #expect(throws: SimulatorError.self) {
            _ = try DecodeWorkload(sequenceLength: 1 << 50, heads: 16, headDim: 128)
        }
        #expect(throws: SimulatorError.cluster("cluster: give 'nodes' or 'gpus' with a preset, not both")) {
            _ = try ClusterFile.parse("preset: dgx-h100\nnodes: 2\ngpus: 16\n")
        }
    }

    /// Nothing is silently ignored: segments on a non-pipelined algorithm, pacing on the NCCL model, parallel links.
    @Test func unsupportedKnobsAreRefusedOrNoted() throws {
        let cluster = try Cluster.resolve("mi300x")
        #expect(throws: SimulatorError.self) {
            _ = try Collective(.allreduce, algorithm: .ring, bytes: 1e6, options: CollectiveOptions(segments: 4)).run(
                on: cluster)
        }
        let segmented = try Collective(
            .allreduce, algorithm: .tree, bytes: 1e6, options: CollectiveOptions(segments: 4)
        ).run(on: cluster)
        let whole = try Collective(.allreduce, algorithm: .tree, bytes: 1e6, options: CollectiveOptions(segments: 1))
            .run(on: cluster)
        #expect(segmented.time.picoseconds == 36_656_250)
        #expect(whole.time.picoseconds == 95_250_000)
        #expect(segmented.time < whole.time)  // pipelining four segments overlaps the tree's levels
        #expect(throws: SimulatorError.self) {
            _ = try Collective(
                .allreduce, algorithm: .nccl(algorithm: nil), bytes: 1e6, options: CollectiveOptions(segments: 4)
            ).run(on: cluster)
        }
        var options = DecodeOptions()
        options.collective.segments = 2
        let workload = try DecodeWorkload(sequenceLength: 10_000, heads: 16, headDim: 128)
        let report = try DecodeModel(cluster: cluster, workload: workload, options: options).run(
            .tree(collective: .ring))
        #expect(report.notes.contains { $0.contains("segments do not apply") })
        let twice = """
            gpus: 2
            gpu: {model: H100-SXM5}
            switches: [sw]
            link_classes: {nvlink: {forwarding: cut-through}}
            links:
              - {from: gpu0, to: sw, class: nvlink, bandwidth_GBps: 450, latency_ns: 25}
              - {from: gpu1, to: sw, class: nvlink, bandwidth_GBps: 450, latency_ns: 25}
              - {from: gpu0, to: sw, class: nvlink, bandwidth_GBps: 450, latency_ns: 25}
            """
        do {
            _ = try ClusterFile.parse(twice)
            Issue.record("a parallel link was accepted")
        } catch let error as SimulatorError {
            #expect(error.description.contains("links[2]: gpu0 -> sw is defined twice"), "\(error)")
        }
        // The same file without the duplicate is fine.
        _ = try ClusterFile.parse(twice.components(separatedBy: "\n").dropLast().joined(separator: "\n"))
    }
}

/// Hostile or huge inputs are refused early with one line, or handled in time linear in their size.
@Suite struct HostileInputTests {
    /// A few hundred bytes of YAML whose aliases expand to 10^12 nodes: refused with one line, fast.
    @Test func yamlAliasBombIsRefused() throws {
        var lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
        for i in 1...11 {
            lines.append(
                "b\(i): &b\(i) [" + Array(repeating: i == 1 ? "*a" : "*b\(i - 1)", count: 10).joined(separator: ", ")
                    + "]")
        }
        let bomb = lines.joined(separator: "\n") + "\n"
        #expect(throws: CoreError.self) { _ = try StructuredText.load(bomb, json: false) }
        do {
            _ = try ClusterFile.parse(bomb)
            Issue.record("an alias bomb was accepted")
        } catch let error as SimulatorError {
            #expect(error.description.contains("expands to more than 1000000 nodes"), "\(error)")
        }
        // Ordinary anchors and aliases still load, as Yams would load them.
        let ok = try #require(
            try StructuredText.load("base: &b {x: 1, y: [2, 3]}\ncopy: *b\n", json: false) as? [String: Any])
        #expect((ok["copy"] as? [String: Any])?["x"] as? Int == 1)
        #expect(((ok["copy"] as? [String: Any])?["y"] as? [Any])?.count == 2)
    }

    /// GPU connectivity is validated through a hub in linear time: the largest preset (65,536 GPUs) builds at once
    /// (all-pairs search took minutes), and a GPU that only the hub can reach but that cannot reach the hub is found.
    @Test func connectivityIsValidatedThroughAHub() throws {
        let big = try ClusterPreset.dgxH100(servers: 8192).build()
        #expect(big.gpuCount == 65_536)
        func network(lastGPUHasNIC: Bool) throws -> Network {
            var net = Network()
            let cls = try net.addLinkClass(LinkClass(name: "wire", forwarding: .cutThrough))
            let gpus = try (0..<4).map { try net.addNode("gpu\($0)", kind: .gpu) }
            let sw = try (0..<2).map { try net.addNode("nvswitch\($0)", kind: .switch) }
            let leaf = try net.addNode("leaf", kind: .switch)
            for g in 0..<4 { try net.addDuplexLink(gpus[g], sw[g / 2], bandwidth: 1e9, latency: .zero, linkClass: cls) }
            for g in 0..<(lastGPUHasNIC ? 4 : 3) {
                let nic = try net.addNode("nic\(g)", kind: .nic)
                try net.addDuplexLink(gpus[g], nic, bandwidth: 1e9, latency: .zero, linkClass: cls)
                try net.addDuplexLink(nic, leaf, bandwidth: 1e9, latency: .zero, linkClass: cls)
            }
            return net
        }
        try network(lastGPUHasNIC: true).validateGPUConnectivity()
        // gpu3 reaches gpu2 through its NVSwitch only; GPUs do not forward, so gpu0 cannot reach it.
        #expect(throws: SimulatorError.cluster("impossible topology: GPU 'gpu0' cannot reach GPU 'gpu3'")) {
            try network(lastGPUHasNIC: false).validateGPUConnectivity()
        }
    }

    /// Recording every transfer and interval is refused before the run when it would not fit the memory budget.
    @Test func recordingBeyondTheBudgetIsRefusedBeforeRunning() throws {
        let cluster = try fullyConnected(8, bandwidth: 10e9, latency: .microseconds(1))
        let ring = try Collective(.allreduce, algorithm: .ring, bytes: 1e6).phases(
            ranks: 8, serverGroups: cluster.serverGroups)
        // 8 ranks x 14 steps: 112 sends plus 56 reductions; 20 kB holds 156 records (and the run's own state, about
        // 17 kB).
        #expect(throws: CoreError.self) {
            _ = try Execution(recording: true, memoryBudget: MemoryBudget(limitBytes: 20_000)).run(ring, on: cluster)
        }
        let recorded = try Execution(recording: true, memoryBudget: MemoryBudget(limitBytes: 1 << 30)).run(
            ring, on: cluster)
        #expect(recorded.transfers.count == 112)
        // Without recording nothing is held per message, and the small budget does not apply.
        let plain = try Execution(recording: false, memoryBudget: MemoryBudget(limitBytes: 20_000)).run(
            ring, on: cluster)
        #expect(plain.makespan == recorded.makespan)
        // The run's own state (flows per link, processes and messages in flight per lane) is estimated too.
        #expect(throws: CoreError.self) {
            _ = try Execution(memoryBudget: MemoryBudget(limitBytes: 1000)).run(ring, on: cluster)
        }
    }

    /// Issue 24: a run's events are estimated from its programs before it starts (the ring's 2 x 8 x 7 sends make 224
    /// events, its 56 reductions 56 more), and refused when they cannot be handled in the time left.
    @Test func runsOverTheTimeLimitAreRefusedBeforeRunning() throws {
        let cluster = try fullyConnected(8, bandwidth: 10e9, latency: .microseconds(1))
        let ring = try Collective(
            .allreduce, algorithm: .ring, bytes: 1e6, options: CollectiveOptions(reductionSecondsPerByte: 1e-12)
        ).phases(
            ranks: 8, serverGroups: cluster.serverGroups)
        let estimate = ExecutionEstimate(ring, links: cluster.network.links.count)
        #expect(estimate.messages == 112)
        #expect(estimate.events == 2 * 112 + 56)
        let result = try Execution().run(ring, on: cluster)
        #expect(result.messages == 112)
        #expect(Double(result.events) <= estimate.events)
        // A 128-rank ring: 32,512 messages, about 81k events, about 16 ms at the assumed rate.
        let cluster64 = try fullyConnected(128, bandwidth: 10e9, latency: .microseconds(1))
        let ring64 = try Collective(
            .allreduce, algorithm: .ring, bytes: 1e6, options: CollectiveOptions(reductionSecondsPerByte: 1e-12)
        ).phases(ranks: 128, serverGroups: cluster64.serverGroups)
        let estimate64 = ExecutionEstimate(ring64, links: cluster64.network.links.count)
        let refused = #expect(throws: CoreError.self) {
            _ = try Execution(timeBudget: TimeBudget(limitSeconds: 1e-3)).run(ring64, on: cluster64)
        }
        #expect(refused?.description.contains("would take about") == true, "\(String(describing: refused))")
        #expect(estimate64.seconds > 1e-3)
        // Let through by its estimate (here assumed to run at 1e12 events/s, so that no build's speed decides the
        // outcome), then stopped by a 1 s deadline while it runs: a 1024-rank ring on a star (2 x 1024 x 1023 sends,
        // about 4.2M messages) takes about 2 s at the ~5M events/s of a release build, while estimating it takes tens
        // of ms in a debug build (a 100 ms limit was used up by the estimate itself when the test ran beside others on
        // two loaded cores). An error naming how far it got, never a partial result.
        let star1024 = try star(1024, bandwidth: 10e9, latency: .microseconds(1))
        let ring1024 = try Collective(
            .allreduce, algorithm: .ring, bytes: 1e6, options: CollectiveOptions(reductionSecondsPerByte: 1e-12)
        ).phases(ranks: 1024, serverGroups: star1024.serverGroups)
        var fast = Execution(timeBudget: TimeBudget(limitSeconds: 1))
        fast.assumedEventsPerSecond = 1e12
        let stopped = #expect(throws: CoreError.self) { _ = try fast.run(ring1024, on: star1024) }
        #expect(stopped?.description.contains("passed the") == true, "\(String(describing: stopped))")
    }

    /// The estimate counts every rank's messages exactly while the programs are small (trees: interior ranks send
    /// more than leaves, and sampling ranks at multiples of p/16 overcounted a binary tree's 2,045 events 2x-3x), and
    /// its events (two per message on a one-hop network, one per timed operation) bound the run's.
    @Test(
        arguments: [CollectiveAlgorithm.ring, .tree, .doubleBinaryTree, .recursiveDoubling, .plan(.binary)],
        [8, 128, 512])
    func estimatesMatchRunsOfEveryCollective(algorithm: CollectiveAlgorithm, p: Int) throws {
        let cluster = try fullyConnected(p, bandwidth: 10e9, latency: .microseconds(1))
        let collective = try Collective(.allreduce, algorithm: algorithm, bytes: 1e6)
        let phases = try collective.phases(ranks: p, serverGroups: cluster.serverGroups)
        let estimate = ExecutionEstimate(phases, links: cluster.network.links.count)
        let result = try Execution().run(phases, on: cluster)
        #expect(estimate.messages == Double(result.messages))
        #expect(Double(result.events) <= estimate.events && estimate.events <= 1.5 * Double(result.events) + 16)
    }

    /// The watchdog stops a run between events; `Execution` turns that into an error, never a partial result.
    @Test func theWatchdogStopsARun() throws {
        let cluster = try fullyConnected(8, bandwidth: 10e9, latency: .microseconds(1))
        let ring = try Collective(.allreduce, algorithm: .ring, bytes: 1e6).phases(
            ranks: 8, serverGroups: cluster.serverGroups)
        var sim = Simulation(
            NetworkModel(
                network: FlowScheduler(network: cluster.network),
                observer: try Executor(devices: cluster.gpus, phases: ring)))
        sim.watchdogInterval = 10
        sim.watchdog = { $0.eventsHandled < 50 }
        sim.handler.observer.start(network: &sim.handler.network, queue: &sim.queue)
        sim.run()
        #expect(sim.stoppedByWatchdog)
        #expect(sim.eventsHandled == 50)
        // An expired budget: refused before the run starts, with one line naming the limit.
        var expired = TimeBudget(limitSeconds: 1)
        expired.startNanoseconds = 0
        #expect(throws: CoreError.self) { _ = try Execution(timeBudget: expired).run(ring, on: cluster) }
    }
}
