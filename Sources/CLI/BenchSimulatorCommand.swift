import ArgumentParser
import Benchmarks
import CLICommon
import Foundation
import Simulator

/// `treeattn bench simulator`: event-loop throughput against a raw Heap baseline measured in the same run, the time
/// to simulate a ring all-reduce over many GPUs, and tree and ring decode up to 65,536 GPUs (`SimulatorBench`).
/// Build with -c release.
struct BenchSimulatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulator",
        abstract:
            "Simulator throughput: events/s vs raw Heap push/pop, ring all-reduce over 4096 GPUs, tree and ring decode up to 65,536 GPUs (wall time, peak RSS)."
    )

    @Option(name: .long, help: "GPUs in the ring all-reduce (a multiple of 8: dgx-h100 servers).")
    var gpus: Int = 4096

    @Option(name: .long, help: "All-reduce size.")
    var bytes: String = "1GB"

    @Option(name: .long, help: "Heap operations for the baseline.")
    var heapOperations: Int = 20_000_000

    @Option(
        name: .long,
        help:
            "Comma-separated GPU counts (multiples of 8, up to 65536) for tree and ring decode on dgx-h100-3tier at N = 100M tokens; 'none' skips them."
    )
    var decodeGpus: String = "8192,16384,32768,65536"

    /// The decode GPU counts asked for.
    func decodeCounts() throws -> [Int] {
        if decodeGpus == "none" { return [] }
        return try parseList(decodeGpus, "--decode-gpus") { text in
            guard let p = Int(text), p >= 8, p % 8 == 0, p <= 65_536 else {
                throw CoreError.invalidArgument("'\(text)' is not a multiple of 8 in 8...65536")
            }
            return p
        }
    }

    func validate() throws {
        guard gpus >= 8, gpus % 8 == 0 else {
            throw CoreError.invalidArgument("--gpus must be a positive multiple of 8")
        }
        _ = try decodeCounts()
    }

    func run() throws {
        #if DEBUG
        print("warning: debug build; run `swift build -c release` for meaningful numbers")
        #endif
        let heap = SimulatorBench.heapRates(operations: heapOperations)
        print(heap.text)
        let size = try parseBytes(bytes)
        print("simulating ring all-reduce of \(formatBytes(size)) over \(gpus) GPUs (dgx-h100:\(gpus / 8)) ...")
        let progress = ProgressLines(title: "  ... ring all-reduce")
        let ring = try SimulatorBench.ringAllReduce(gpus: gpus, bytes: size) { events, expected, now in
            progress.sayEvents("", events, of: expected, simulated: now.description)
        }
        print(ring.text(baseline: heap.heap.rate))
        let counts = try decodeCounts()
        guard !counts.isEmpty else { return }
        print(SimulatorBench.DecodeRun.heading)
        for p in counts { for run in try SimulatorBench.decode(gpus: p) { print(run.text) } }
    }
}
