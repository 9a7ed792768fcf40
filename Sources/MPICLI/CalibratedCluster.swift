import Distributed
import Foundation
import Simulator

/// The cluster file a calibration writes: the ranks as CPU devices on a star (rank uplinks and downlinks at the
/// ping-pong bandwidth, one shared core link at the aggregate bandwidth with the fitted latency) plus the measured
/// overheads. The collective call's fixed cost is what the measured 8-byte all-reduce takes beyond the simulator's
/// own prediction of it on this star.
struct CalibratedCluster {
    let c: MachineCalibration
    let name: String

    init(_ c: MachineCalibration, name: String) {
        self.c = c
        self.name = name
    }

    /// The CPU model from /proc/cpuinfo (or "CPU").
    static var cpuModel: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let value = line.split(separator: ":", maxSplits: 1).last else { return "CPU" }
        return value.trimmingCharacters(in: .whitespaces)
    }

    /// Bandwidths in GB/s, never infinite (one rank: no network measured, a placeholder that nothing crosses).
    var linkGBps: Double { c.bandwidth.isFinite ? c.bandwidth / 1e9 : 1000 }
    var coreGBps: Double { min(c.aggregateBandwidth.isFinite ? c.aggregateBandwidth / 1e9 : linkGBps * Double(c.ranks), linkGBps * Double(c.ranks)) }
    var memoryEfficiency: Double { min(1, max(1e-6, c.decodeBandwidth / c.memoryBandwidth)) }

    func yaml(collectiveCallUs call: Double) throws -> String {
        func q(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        func f(_ x: Double) -> String { String(format: "%.6g", x) }
        var lines = [
            "# Written by `treeattn-mpi calibrate` on \(ISO8601DateFormatter().string(from: Date())), \(c.ranks) ranks.",
            "# Ping-pong (rank 0 <-> 1, one-way): " + c.pingPong.map { "\($0.bytes) B \(f($0.seconds * 1e6)) us" }.joined(separator: ", "),
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
            "switches: [core-in, core-out]",
            "link_classes:",
            "  net: {forwarding: cut-through}",
            "links:",
        ]
        for r in 0..<c.ranks {
            lines.append("  - {from: cpu\(r), to: core-in, class: net, bandwidth_GBps: \(f(linkGBps)), latency_ns: 0, duplex: false}")
            lines.append("  - {from: core-out, to: cpu\(r), class: net, bandwidth_GBps: \(f(linkGBps)), latency_ns: 0, duplex: false}")
        }
        lines.append("  - {from: core-in, to: core-out, class: net, bandwidth_GBps: \(f(coreGBps)), latency_us: \(f(c.latency * 1e6)), duplex: false}")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Measured 8-byte all-reduce minus the simulator's time for it on this star with no call overhead, microseconds.
    func collectiveCall() throws -> Double {
        guard c.ranks > 1 else { return max(0, c.smallAllreduce * 1e6) }
        let cluster = try ClusterFile.parse(try yaml(collectiveCallUs: 0), origin: "calibration")
        let predicted = try Collective(.allreduce, algorithm: .recursiveDoubling, bytes: 8).run(on: cluster).time.seconds
        return max(0, (c.smallAllreduce - predicted) * 1e6)
    }

    func summary(collectiveCallUs call: Double) -> String {
        func f(_ x: Double) -> String { String(format: "%.4g", x) }
        return """
            ranks \(c.ranks): latency \(f(c.latency * 1e6)) us, bandwidth \(f(c.bandwidth / 1e9)) GB/s per pair, \(f(c.aggregateBandwidth / 1e9)) GB/s all at once
            per rank: memory \(f(c.memoryBandwidth / 1e9)) GB/s, dgemm \(f(c.gemmFlops / 1e9)) GFLOP/s, decode \(f(c.decodeBandwidth / 1e9)) GB/s (+\(f(c.decodeFixed * 1e6)) us)
            collective call \(f(call)) us beyond the network (8-byte all-reduce \(f(c.smallAllreduce * 1e6)) us)
            """
    }
}
