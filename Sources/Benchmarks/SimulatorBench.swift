import Foundation
import Simulator

/// The measurements of `bench simulator`: the event core against a raw `Heap` baseline measured in the same run, a
/// ring all-reduce over thousands of GPUs (events per second), and tree and ring decode on the 3-tier fat tree up to
/// 65,536 GPUs (wall time and peak resident set). Each measurement returns a value that prints itself.
public enum SimulatorBench {
    /// Pop-then-push throughput of `Heap<Event>` (the floor of any event loop built on it) and of the simulator's own
    /// `EventQueue` on the same workload.
    public struct HeapRates: Sendable {
        /// Pop-then-push operations measured on each queue.
        public var operations: Int
        /// The raw `Heap<Event>` baseline: its rate (operations per second), wall seconds and checksum.
        public var heap: (rate: Double, seconds: Double, checksum: Int64)
        /// The simulator's `EventQueue`: its rate (operations per second), wall seconds and checksum (equal to the heap's).
        public var queue: (rate: Double, seconds: Double, checksum: Int64)

        /// Two lines: the baseline, then the event queue for information.
        public var text: String {
            String(
                format: "baseline  Heap<Event> pop+push: %.2fM ops/s (%d ops in %.2f s, checksum %lld)\n",
                heap.rate / 1e6, operations, heap.seconds, heap.checksum)
                + String(
                    format: "          EventQueue pop+push:  %.2fM ops/s (%d ops in %.2f s, checksum %lld)",
                    queue.rate / 1e6, operations, queue.seconds, queue.checksum)
        }
    }

    /// Measures `HeapRates` over `operations` pops and pushes.
    public static func heapRates(operations: Int) -> HeapRates {
        let h = HeapBaseline.measure(operations: operations), q = HeapBaseline.measureEventQueue(operations: operations)
        return HeapRates(
            operations: operations, heap: (h.opsPerSecond, h.seconds, h.checksum),
            queue: (q.opsPerSecond, q.seconds, q.checksum))
    }

    /// One simulated ring all-reduce and the wall time it took.
    public struct RingAllReduce: Sendable {
        /// Number of GPUs in the ring.
        public var gpus: Int
        /// The simulated collective's report (messages, events, simulated time, bus bandwidth).
        public var report: CollectiveReport
        /// Wall seconds the simulation took.
        public var seconds: Double

        /// Events per second of wall time.
        public var rate: Double { Double(report.events) / seconds }

        /// Three lines: the run, the simulated time and bus bandwidth, and the throughput against `baseline` (the raw
        /// heap's operations per second).
        public func text(baseline: Double) -> String {
            String(
                format: "ring all-reduce: %d GPUs, %d messages, %d events in %.2f s wall\n", gpus, report.messages,
                report.events, seconds)
                + "  simulated time \(report.time), busBw \(formatBandwidth(report.busBandwidth))\n"
                + String(
                    format: "  throughput %.2fM events/s (goal >= 5M); %.3f x the raw heap baseline", rate / 1e6,
                    rate / baseline)
        }
    }

    /// Simulates a ring all-reduce of `bytes` over `gpus` GPUs (dgx-h100 servers of 8); `progress` gets the events
    /// handled so far, their expected total (`ExecutionEstimate.events`) and the simulated time, every second.
    public static func ringAllReduce(
        gpus: Int, bytes: Double,
        progress: ((_ events: Int, _ expected: Double, _ now: SimTime) -> Void)? = nil
    ) throws -> RingAllReduce {
        let cluster = try ClusterPreset.dgxH100(servers: gpus / 8).build()
        let collective = try Collective(.allreduce, algorithm: .ring, bytes: bytes)
        let start = Date()
        let report = try collective.run(on: cluster, progress: progress)
        return RingAllReduce(gpus: gpus, report: report, seconds: Date().timeIntervalSince(start))
    }

    /// One decode strategy at one GPU count: wall time and this process's peak resident set during the run.
    public struct DecodeRun: Sendable {
        /// Number of GPUs simulated.
        public var gpus: Int
        /// The decode strategy simulated (tree or ring).
        public var strategy: DecodeStrategy
        /// Wall seconds the simulation took.
        public var seconds: Double
        /// Peak resident set of this process during the run, in bytes (VmHWM, reset before the run; 0 if unavailable).
        public var peakBytes: Double
        /// The simulated step.
        public var report: DecodeReport

        /// The table's heading (two lines).
        public static let heading = """
            decode on dgx-h100-3tier, N = 100M tokens, 16 heads x 128, bf16 (goals: tree at 65,536 GPUs < 10 s and < 2 GB; ring < 60 s):
               GPUs  strategy      wall   peak RSS   RSS/GPU  simulated latency      events      messages   note
            """

        /// One row of the table.
        public var text: String {
            let note =
                report.notes.contains { $0.contains("extrapolated") }
                ? "ring extrapolated (--ring-simulation auto)" : ""
            let name = strategy.description.padding(toLength: 8, withPad: " ", startingAt: 0)
            let latency =
                String(repeating: " ", count: max(0, 17 - report.latency.description.count))
                + report.latency.description
            return String(
                format: "  %5ld  %@ %8.1f s  %6.0f MB  %5.1f KB  %@   %9ld  %12ld   %@", gpus, name, seconds,
                peakBytes / 1e6, peakBytes / 1e3 / Double(gpus), latency, report.events, report.messages, note)
        }
    }

    /// Tree and ring decode (16 heads x 128, bf16, N = 100M) on dgx-h100-3tier with `gpus` GPUs (a multiple of 8).
    public static func decode(gpus: Int) throws -> [DecodeRun] {
        let workload = try DecodeWorkload(sequenceLength: 100_000_000, heads: 16, headDim: 128)
        let model = try DecodeModel(cluster: try Cluster.resolve("dgx-h100-3tier:\(gpus / 8)"), workload: workload)
        return try [DecodeStrategy.tree(collective: .tree), .ring(overlap: true)].map { strategy in
            HostMachine.resetPeakResidentSet()
            let start = Date()
            let report = try model.run(strategy, recording: false)
            return DecodeRun(
                gpus: gpus, strategy: strategy, seconds: Date().timeIntervalSince(start),
                peakBytes: HostMachine.peakResidentSetBytes, report: report)
        }
    }
}
