import ArgumentParser
import CLICommon
import Foundation
import Simulator

/// `treeattn bench simulator`: event-loop throughput against a raw Heap baseline measured in the same run, and the
/// time to simulate a ring all-reduce over many GPUs. Build with -c release.
struct BenchSimulatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulator", abstract: "Simulator throughput: events/s vs raw Heap push/pop, ring all-reduce over 4096 GPUs.")

    @Option(name: .long, help: "GPUs in the ring all-reduce (a multiple of 8: dgx-h100 servers).")
    var gpus: Int = 4096

    @Option(name: .long, help: "All-reduce size.")
    var bytes: String = "1GB"

    @Option(name: .long, help: "Heap operations for the baseline.")
    var heapOperations: Int = 20_000_000

    func validate() throws {
        guard gpus >= 8, gpus % 8 == 0 else { throw SimulatorError.invalidArgument("--gpus must be a positive multiple of 8") }
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
    }
}
