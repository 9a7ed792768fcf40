import ArgumentParser
import CLICommon
import Foundation
import Simulator

/// `treeattn bench simulator`: event-loop throughput against a raw Heap baseline measured in the same run, and the
/// time to simulate a ring all-reduce over many GPUs. Build with -c release.
struct BenchSimulatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulator", abstract: "Simulator throughput: events/s vs raw Heap push/pop, ring all-reduce over 4096 GPUs, tree and ring decode up to 65,536 GPUs (wall time, peak RSS).")

    @Option(name: .long, help: "GPUs in the ring all-reduce (a multiple of 8: dgx-h100 servers).")
    var gpus: Int = 4096

    @Option(name: .long, help: "All-reduce size.")
    var bytes: String = "1GB"

    @Option(name: .long, help: "Heap operations for the baseline.")
    var heapOperations: Int = 20_000_000

    @Option(name: .long, help: "Comma-separated GPU counts (multiples of 8, up to 65536) for tree and ring decode on dgx-h100-3tier at N = 100M tokens; 'none' skips them.")
    var decodeGpus: String = "8192,16384,32768,65536"

    /// The decode GPU counts asked for.
    func decodeCounts() throws -> [Int] {
        if decodeGpus == "none" { return [] }
        return try decodeGpus.split(separator: ",").map { text in
            guard let p = Int(text.trimmingCharacters(in: .whitespaces)), p >= 8, p % 8 == 0, p <= 65_536 else {
                throw SimulatorError.invalidArgument("--decode-gpus: '\(text)' is not a multiple of 8 in 8...65536")
            }
            return p
        }
    }

    func validate() throws {
        guard gpus >= 8, gpus % 8 == 0 else { throw SimulatorError.invalidArgument("--gpus must be a positive multiple of 8") }
        _ = try decodeCounts()
    }

    func run() throws {
        #if DEBUG
        print("warning: debug build; run `swift build -c release` for meaningful numbers")
        #endif
        // Baseline: raw Heap<Event> pop + push, the floor of any event loop built on it.
        let (heapRate, heapSeconds, checksum) = HeapBaseline.measure(operations: heapOperations)
        print(String(format: "baseline  Heap<Event> pop+push: %.2fM ops/s (%d ops in %.2f s, checksum %lld)",
                     heapRate / 1e6, heapOperations, heapSeconds, checksum))
        // For information: the simulator's own event queue on the same workload (same checksum).
        let (queueRate, queueSeconds, queueChecksum) = HeapBaseline.measureEventQueue(operations: heapOperations)
        print(String(format: "          EventQueue pop+push:  %.2fM ops/s (%d ops in %.2f s, checksum %lld)",
                     queueRate / 1e6, heapOperations, queueSeconds, queueChecksum))

        let cluster = try ClusterPreset.dgxH100(servers: gpus / 8).build()
        let size = try parseBytes(bytes)
        let collective = try Collective(.allreduce, algorithm: .ring, bytes: size)
        print("simulating ring all-reduce of \(formatBytes(size)) over \(gpus) GPUs (dgx-h100:\(gpus / 8)) ...")
        let t1 = Date()
        var lastPrint = Date()
        let expectedEvents = Double(2 * (gpus - 1) * gpus * 2)
        let report = try collective.run(on: cluster, progress: { events, now in
            if Date().timeIntervalSince(lastPrint) >= 2 {
                lastPrint = Date()
                let done = Double(events)
                FileHandle.standardError.write(Data(String(format: "  ... %.1fM events (~%.0f%%), %.1f s, simulated %@\n",
                    done / 1e6, 100 * done / expectedEvents, Date().timeIntervalSince(t1), now.description).utf8))
            }
        })
        let seconds = Date().timeIntervalSince(t1)
        let rate = Double(report.events) / seconds
        print(String(format: "ring all-reduce: %d GPUs, %d messages, %d events in %.2f s wall", gpus, report.messages, report.events, seconds))
        print("  simulated time \(report.time), busBw \(formatBandwidth(report.busBandwidth))")
        print(String(format: "  throughput %.2fM events/s (goal >= 5M); %.3f x the raw heap baseline", rate / 1e6, rate / heapRate))
        try decodeScaling()
    }

    /// Tree and ring decode (16 heads x 128, bf16, N = 100M) on the 3-tier fat tree: wall time and this process's peak
    /// resident set during each run (VmHWM, reset before each through /proc/self/clear_refs).
    func decodeScaling() throws {
        let counts = try decodeCounts()
        guard !counts.isEmpty else { return }
        let workload = try DecodeWorkload(sequenceLength: 100_000_000, heads: 16, headDim: 128)
        print("decode on dgx-h100-3tier, N = 100M tokens, 16 heads x 128, bf16 (goals: tree at 65,536 GPUs < 10 s and < 2 GB; ring < 60 s):")
        print("   GPUs  strategy      wall   peak RSS   RSS/GPU  simulated latency      events      messages   note")
        for p in counts {
            let cluster = try Cluster.resolve("dgx-h100-3tier:\(p / 8)")
            let model = try DecodeModel(cluster: cluster, workload: workload)
            for strategy in [DecodeStrategy.tree(collective: .tree), .ring(overlap: true)] {
                PeakResidentSet.reset()
                let t = Date()
                let r = try model.run(strategy, recording: false)
                let wall = Date().timeIntervalSince(t), rss = PeakResidentSet.bytes
                let note = r.notes.contains { $0.contains("extrapolated") } ? "ring extrapolated (--ring-simulation auto)" : ""
                let name = strategy.description.padding(toLength: 8, withPad: " ", startingAt: 0)
                let latency = String(repeating: " ", count: max(0, 17 - r.latency.description.count)) + r.latency.description
                print(String(format: "  %5ld  %@ %8.1f s  %6.0f MB  %5.1f KB  %@   %9ld  %12ld   %@", p, name, wall,
                             rss / 1e6, rss / 1e3 / Double(p), latency, r.events, r.messages, note))
            }
        }
    }
}
