import ArgumentParser
import CLICommon
import Simulator

/// The overhead and efficiency knobs shared by `simulate decode` and `sweep`; every default is the idealised model.
struct DecodeOverheadOptions: ParsableArguments {
    @Option(name: .long, help: "Ring K/V heads on the wire: expanded (n_h, as the paper's code) or native (n_kv).")
    var ringKv: RingKV = .expanded

    @Option(name: .long, help: "Kernel launch overhead per local kernel, microseconds.")
    var launchUs: Double = 0

    @Option(name: .long, help: "Overhead per collective call, microseconds.")
    var collectiveCallUs: Double = 0

    @Option(name: .long, help: "Software overhead per message, microseconds.")
    var perMessageUs: Double = 0

    @Option(name: .long, help: "Fraction of peak HBM bandwidth reached (0-1].")
    var etaMem: Double = 1

    @Option(name: .long, help: "Fraction of peak FLOP/s reached (0-1].")
    var etaCompute: Double = 1

    @Option(name: .long, help: "Segments for pipelined tree all-reduces (default: ceil(bytes / 1 MiB)).")
    var segments: Int?

    func validate() throws { _ = try decodeOptions() }

    /// The validated `DecodeOptions`; a bad value is a one-line error naming its option.
    func decodeOptions() throws -> DecodeOptions {
        var options = DecodeOptions()
        for (value, name) in [(launchUs, "--launch-us"), (collectiveCallUs, "--collective-call-us"), (perMessageUs, "--per-message-us")] {
            guard value >= 0, value.isFinite else { throw SimulatorError.invalidArgument("\(name) must be >= 0") }
        }
        for (value, name) in [(etaMem, "--eta-mem"), (etaCompute, "--eta-compute")] {
            guard value > 0, value <= 1 else { throw SimulatorError.invalidArgument("\(name) must be in (0, 1], got \(value)") }
        }
        if let k = segments, k < 1 { throw SimulatorError.invalidArgument("--segments must be >= 1") }
        options.kernelLaunch = .microseconds(launchUs)
        options.collectiveCall = .microseconds(collectiveCallUs)
        options.perMessage = .microseconds(perMessageUs)
        options.memoryEfficiency = etaMem
        options.computeEfficiency = etaCompute
        options.collective.segments = segments
        options.ringSendsExpandedKV = ringKv == .expanded
        return options
    }
}
