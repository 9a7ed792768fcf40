import ArgumentParser
import Simulator

/// The overhead and efficiency knobs shared by `simulate decode` and `sweep`. An option left out takes the cluster
/// file's calibrated value (`overheads:`, `Cluster.overheads`) if it has one, else the idealised default; an option
/// given overrides the file.
public struct DecodeOverheadOptions: ParsableArguments {
    /// The options at their defaults (ArgumentParser fills them in).
    public init() {}

    @Option(name: .long, help: "Ring K/V heads on the wire: expanded (n_h, as the paper's code) or native (n_kv).")
    var ringKv: RingKV = .expanded

    @Option(
        name: .long,
        help:
            "How K/V rings are simulated: auto (every step up to 2^24 hops x GPUs, i.e. 4,096 GPUs; beyond, the steady state extrapolated from simulated prefixes), exact or extrapolate."
    )
    var ringSimulation: RingSimulation = .auto

    @Option(
        name: .long,
        help:
            "Kernel launch overhead per local kernel, microseconds (default: the cluster file's kernel_launch_us, else 0)."
    )
    var launchUs: Double?

    @Option(
        name: .long,
        help: "Overhead per collective call, microseconds (default: the cluster file's collective_call_us, else 0).")
    var collectiveCallUs: Double?

    @Option(
        name: .long,
        help: "Software overhead per message, microseconds (default: the cluster file's per_message_us, else 0).")
    var perMessageUs: Double?

    @Option(
        name: .long,
        help:
            "Fraction of the device's memory bandwidth reached, (0-1] (default: the cluster file's memory_efficiency, else 1)."
    )
    var etaMem: Double?

    @Option(
        name: .long,
        help:
            "Fraction of the device's compute peak reached, (0-1] (default: the cluster file's compute_efficiency, else 1)."
    )
    var etaCompute: Double?

    @Option(name: .long, help: "Segments for pipelined tree all-reduces (default: ceil(bytes / 1 MiB)).")
    var segments: Int?

    /// Checks the options given; a bad value is a one-line error naming its option.
    public func validate() throws {
        for (value, name) in [
            (launchUs, "--launch-us"), (collectiveCallUs, "--collective-call-us"), (perMessageUs, "--per-message-us"),
        ] {
            if let v = value, !(v >= 0 && v.isFinite) { throw SimulatorError.invalidArgument("\(name) must be >= 0") }
        }
        for (value, name) in [(etaMem, "--eta-mem"), (etaCompute, "--eta-compute")] {
            if let v = value, !(v > 0 && v <= 1) {
                throw SimulatorError.invalidArgument("\(name) must be in (0, 1], got \(v)")
            }
        }
        if let k = segments, k < 1 { throw SimulatorError.invalidArgument("--segments must be >= 1") }
    }

    /// The validated `DecodeOptions` for `cluster`: `DecodeOptions(cluster:)` (the file's overheads, if any), with
    /// every option given here overriding it (`--launch-us` or `--eta-mem` also replace the file's measured decode
    /// kernel curve by the roofline).
    public func decodeOptions(for cluster: Cluster) throws -> DecodeOptions {
        try validate()
        var options = DecodeOptions(cluster: cluster)
        if let v = launchUs { options.kernelLaunch = .microseconds(v) }
        if let v = collectiveCallUs { options.collectiveCall = .microseconds(v) }
        if let v = perMessageUs { options.perMessage = .microseconds(v) }
        if let v = etaMem { options.memoryEfficiency = v }
        if let v = etaCompute { options.computeEfficiency = v }
        options.collective.segments = segments
        options.ringSendsExpandedKV = ringKv == .expanded
        options.ringSimulation = ringSimulation
        // A launch cost or memory efficiency given here times the decode kernel by the roofline, not by the file's
        // measured curve.
        if launchUs != nil || etaMem != nil { options.decodeKernel = nil }
        return options
    }
}
