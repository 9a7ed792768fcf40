import Foundation
import Simulator

/// The cluster file a calibration writes: the ranks as CPU devices on a star (rank uplinks and downlinks at the
/// ping-pong bandwidth, one shared core link at the aggregate bandwidth with the fitted latency) plus the measured
/// overheads. With two tiers (ranks on several hosts), one such star per host, and each host's star joined to a
/// core switch by an uplink and a downlink at the measured uplink bandwidth, with the latency between hosts. The collective call's fixed cost is what the measured 8-byte all-reduce takes beyond the simulator's
/// own prediction of it on this star.
public struct CalibratedCluster: Sendable {
    /// What was measured on the ranks (Distributed's `MachineCalibration` fills it under MPI). Times are medians.
    public struct Measurements: Sendable {
        /// The ranks measured.
        public var ranks = 1
        /// The host of every rank, 0, 1, ...; more than one host makes the cluster two-tier (hosts hold equal
        /// numbers of consecutive ranks).
        public var hosts = [0]
        /// Two tiers: ping-pong points between hosts (rank 0 and the first rank of host 1).
        public var interPingPong: [(bytes: Int, seconds: Double)] = []
        /// Two tiers: fitted alpha (s) between hosts.
        public var interLatency = 0.0
        /// Two tiers: fitted beta (bytes/s) between hosts; infinity with one host.
        public var interBandwidth = Double.infinity
        /// Two tiers: bytes/s through one host's link each way with every rank sending across and receiving at once.
        public var uplinkBandwidth = Double.infinity
        /// Ping-pong points between ranks 0 and 1 (on one host): message bytes and one-way seconds.
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
    /// The number of hosts (two tiers when more than one).
    var hostCount: Int { (c.hosts.max() ?? 0) + 1 }
    /// Two tiers: the ranks per host.
    var perHost: Int { max(1, c.ranks / hostCount) }
    /// Two tiers: each direction of a host's link in GB/s, what one message between hosts reached (the ping-pong's
    /// fitted bandwidth).
    var uplinkGBps: Double { c.interBandwidth.isFinite ? c.interBandwidth / 1e9 : linkGBps }
    /// Two tiers: what a host's link carries in both directions together, in GB/s: twice what each direction got while
    /// every rank sent across and received from another rank at once, and both directions' full rate when the exchange
    /// reached it (a full-duplex link; then this shared limit never binds). On the emulated hosts the links are full
    /// duplex, except with two ranks, where the exchange is both directions of one pair: Open MPI's TCP carries one
    /// pair's two directions at about half the rate each.
    var hostLinkGBps: Double {
        let both = c.uplinkBandwidth.isFinite ? 2 * c.uplinkBandwidth / 1e9 : 2 * uplinkGBps
        return both >= 1.9 * uplinkGBps ? 2 * uplinkGBps : both
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
        ]
        if hostCount > 1 {
            lines += [
                "# Two tiers: \(hostCount) hosts of \(perHost) ranks. Between hosts (rank 0 <-> \(perHost), one-way): "
                    + c.interPingPong.map { "\($0.bytes) B \(f($0.seconds * 1e6)) us" }.joined(separator: ", "),
                "# Fitted between hosts: latency \(f(c.interLatency * 1e6)) us, bandwidth \(f(c.interBandwidth / 1e9)) GB/s; one host's ranks sending across at once: \(f(c.uplinkBandwidth / 1e9)) GB/s.",
            ]
        }
        lines += [
            "name: \(q(name))",
            "gpus: \(c.ranks)",
            "gpus_per_server: \(hostCount > 1 ? perHost : c.ranks)",
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
        if hostCount > 1 {
            lines += twoTierTopology(f)
        } else {
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
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Two tiers: a star per host (`hK-in` to `hK-out` at the host's share of the aggregate, with the latency inside a
    /// host), and each host's link: the uplink `hK-in` to `hK-a` (with the latency between hosts) and the downlink
    /// `core` to `hK-a` at `uplinkGBps`, both then crossing one `hK-a` to `hK-b` link at `hostLinkGBps` (what the two
    /// directions share), and on from `hK-b` to `core` or to `hK-out`. Shortest routes: inside a host, rank, hK-in,
    /// hK-out, rank; between hosts, rank, hK-in, hK-a, hK-b, core, hJ-a, hJ-b, hJ-out, rank.
    func twoTierTopology(_ f: (Double) -> String) -> [String] {
        let hostShare = coreGBps / Double(hostCount)
        var lines = [
            "switches: ["
                + (0..<hostCount).map { "h\($0)-in, h\($0)-out, h\($0)-a, h\($0)-b" }.joined(separator: ", ")
                + ", core]",
            "link_classes:",
            "  host: {forwarding: cut-through}",
            "  net: {forwarding: cut-through}",
            "links:",
        ]
        for r in 0..<c.ranks {
            let h = c.hosts[r]
            lines.append(
                "  - {from: cpu\(r), to: h\(h)-in, class: host, bandwidth_GBps: \(f(linkGBps)), latency_ns: 0, duplex: false}"
            )
            lines.append(
                "  - {from: h\(h)-out, to: cpu\(r), class: host, bandwidth_GBps: \(f(linkGBps)), latency_ns: 0, duplex: false}"
            )
        }
        let up = f(uplinkGBps), both = f(hostLinkGBps)
        for h in 0..<hostCount {
            lines += [
                "  - {from: h\(h)-in, to: h\(h)-out, class: host, bandwidth_GBps: \(f(hostShare)), latency_us: \(f(c.latency * 1e6)), duplex: false}",
                "  - {from: h\(h)-in, to: h\(h)-a, class: net, bandwidth_GBps: \(up), latency_us: \(f(c.interLatency * 1e6)), duplex: false}",
                "  - {from: core, to: h\(h)-a, class: net, bandwidth_GBps: \(up), latency_ns: 0, duplex: false}",
                "  - {from: h\(h)-a, to: h\(h)-b, class: net, bandwidth_GBps: \(both), latency_ns: 0, duplex: false}",
                "  - {from: h\(h)-b, to: core, class: net, bandwidth_GBps: \(up), latency_ns: 0, duplex: false}",
                "  - {from: h\(h)-b, to: h\(h)-out, class: net, bandwidth_GBps: \(up), latency_ns: 0, duplex: false}",
            ]
        }
        return lines
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
