import Foundation
import Simulator

/// The cluster file a calibration writes: the ranks as CPU devices on a star (rank uplinks and downlinks at the
/// ping-pong bandwidth, one shared core link at the aggregate bandwidth with the fitted latency) plus the measured
/// overheads. The collective call's fixed cost is what the measured 8-byte all-reduce takes beyond the simulator's
/// own prediction of it on this star.
public struct CalibratedCluster: Sendable {
    /// What was measured on the ranks (Distributed's `MachineCalibration` fills it under MPI). Times are medians.
    public struct Measurements: Sendable {
        /// The ranks measured.
        public var ranks = 1
        /// Ping-pong points between ranks 0 and 1: message bytes and one-way seconds.
        public var pingPong: [(bytes: Int, seconds: Double)] = []
        /// Fitted alpha (s) of the ping-pong, t = alpha + bytes / beta.
        public var latency = 0.0
        /// Fitted beta (bytes/s) of the ping-pong; infinity when not measured (one rank).
        public var bandwidth = Double.infinity
        /// The bytes/s all ranks moved together exchanging with their ring neighbours at once; infinity when not measured.
        public var aggregateBandwidth = Double.infinity
        /// Per rank with all ranks busy: streaming-read bytes/s.
        public var memoryBandwidth = 0.0
        /// Per rank with all ranks busy: dgemm FLOP/s.
        public var gemmFlops = 0.0
        /// The decode kernel's fixed cost, in seconds.
        public var decodeFixed = 0.0
        /// The decode kernel's K/V bytes/s on a large problem.
        public var decodeBandwidth = 0.0
        /// The decode kernel's time at several shard sizes: K/V bytes and seconds, both increasing, the first above
        /// `decodeFixed` (by more than the file's 6 digits of `kernel_launch_us` round away; the file's
        /// `decode_kernel:`; empty: not measured, the roofline with `memory_efficiency` times the kernel).
        public var decodeCurve: [(bytes: Double, seconds: Double)] = []
        /// Seconds of an 8-byte all-reduce.
        public var smallAllreduce = 0.0
        /// The machine's physical memory, in bytes.
        public var memoryBytes = 0.0

        /// Nothing measured yet (one rank, infinite bandwidths).
        public init() {}
    }

    /// The measurements the cluster file is built from.
    public let c: Measurements
    /// The cluster's name, written as `name:` in the YAML.
    public let name: String

    /// The cluster of `measurements`, called `name`.
    public init(_ measurements: Measurements, name: String) {
        self.c = measurements
        self.name = name
    }

    /// The CPU model of this machine (or "CPU").
    static var cpuModel: String { HostMachine.cpuModel ?? "CPU" }

    /// Rank link bandwidth in GB/s, never infinite (one rank: no network measured, a placeholder that nothing crosses).
    var linkGBps: Double { c.bandwidth.isFinite ? c.bandwidth / 1e9 : 1000 }
    /// The shared core link's bandwidth in GB/s: what all ranks reached at once, at most every rank link together.
    var coreGBps: Double {
        min(
            c.aggregateBandwidth.isFinite ? c.aggregateBandwidth / 1e9 : linkGBps * Double(c.ranks),
            linkGBps * Double(c.ranks))
    }
    /// The decode kernel's K/V rate over the streaming read, in (0, 1]: the file's `memory_efficiency`.
    var memoryEfficiency: Double { min(1, max(1e-6, c.decodeBandwidth / c.memoryBandwidth)) }

    /// The cluster file as YAML, with `call` microseconds of fixed cost per collective call.
    public func yaml(collectiveCallUs call: Double) throws -> String {
        func q(_ s: String) -> String {
            "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        func f(_ x: Double) -> String { String(format: "%.6g", x) }
        var lines = [
            "# Written by `treeattn-mpi calibrate` on \(ISO8601DateFormatter().string(from: Date())), \(c.ranks) ranks.",
            "# Ping-pong (rank 0 <-> 1, one-way): "
                + c.pingPong.map { "\($0.bytes) B \(f($0.seconds * 1e6)) us" }.joined(separator: ", "),
            "# Fitted: latency \(f(c.latency * 1e6)) us, bandwidth \(f(c.bandwidth / 1e9)) GB/s; all ranks exchanging at once: \(f(c.aggregateBandwidth / 1e9)) GB/s in total.",
            "# Per rank with all ranks busy: streaming read \(f(c.memoryBandwidth / 1e9)) GB/s, dgemm \(f(c.gemmFlops / 1e9)) GFLOP/s;",
            "# decode kernel: fixed \(f(c.decodeFixed * 1e6)) us, \(f(c.decodeBandwidth / 1e9)) GB/s of K/V; 8-byte MPI_Allreduce \(f(c.smallAllreduce * 1e6)) us.",
            "name: \(q(name))",
            "gpus: \(c.ranks)",
            "gpu:",
            "  kind: cpu",
            "  name: \(q(Self.cpuModel + " (MPI rank)"))",
            "  memory_bandwidth_GBps: \(f(c.memoryBandwidth / 1e9))",
            "  gemm_GFLOPS: \(f(c.gemmFlops / 1e9))",
            "  memory_GB: \(f(c.memoryBytes / 1e9 / Double(c.ranks)))",
            "overheads:",
            "  kernel_launch_us: \(f(c.decodeFixed * 1e6))",
            "  collective_call_us: \(f(call))",
            "  per_message_us: 0",
            "  memory_efficiency: \(f(memoryEfficiency))",
            "  compute_efficiency: 1",
        ]
        if !c.decodeCurve.isEmpty {
            lines.append("  decode_kernel:  # measured at each shard size, all ranks running; replaces the roofline")
            for p in c.decodeCurve {
                lines.append(
                    "    - {kv_bytes: \(String(format: "%.0f", p.bytes)), us: \(String(format: "%.9g", p.seconds * 1e6))}"
                )
            }
        }
        lines += [
            "switches: [core-in, core-out]",
            "link_classes:",
            "  net: {forwarding: cut-through}",
            "links:",
        ]
        for r in 0..<c.ranks {
            lines.append(
                "  - {from: cpu\(r), to: core-in, class: net, bandwidth_GBps: \(f(linkGBps)), latency_ns: 0, duplex: false}"
            )
            lines.append(
                "  - {from: core-out, to: cpu\(r), class: net, bandwidth_GBps: \(f(linkGBps)), latency_ns: 0, duplex: false}"
            )
        }
        lines.append(
            "  - {from: core-in, to: core-out, class: net, bandwidth_GBps: \(f(coreGBps)), latency_us: \(f(c.latency * 1e6)), duplex: false}"
        )
        return lines.joined(separator: "\n") + "\n"
    }

    /// Measured 8-byte all-reduce minus the simulator's time for it on this star with no call overhead, microseconds.
    public func collectiveCall() throws -> Double {
        guard c.ranks > 1 else { return max(0, c.smallAllreduce * 1e6) }
        let cluster = try ClusterFile.parse(try yaml(collectiveCallUs: 0), origin: "calibration")
        let predicted = try Collective(.allreduce, algorithm: .recursiveDoubling, bytes: 8).run(on: cluster).time
            .seconds
        return max(0, (c.smallAllreduce - predicted) * 1e6)
    }

    /// Three lines for the terminal: the network, the per-rank rates and the collective call's fixed cost.
    public func summary(collectiveCallUs call: Double) -> String {
        func f(_ x: Double) -> String { String(format: "%.4g", x) }
        return """
            ranks \(c.ranks): latency \(f(c.latency * 1e6)) us, bandwidth \(f(c.bandwidth / 1e9)) GB/s per pair, \(f(c.aggregateBandwidth / 1e9)) GB/s all at once
            per rank: memory \(f(c.memoryBandwidth / 1e9)) GB/s, dgemm \(f(c.gemmFlops / 1e9)) GFLOP/s, decode \(f(c.decodeBandwidth / 1e9)) GB/s (+\(f(c.decodeFixed * 1e6)) us)
            collective call \(f(call)) us beyond the network (8-byte all-reduce \(f(c.smallAllreduce * 1e6)) us)
            """
    }
}
