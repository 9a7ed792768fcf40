/// Calibrated overheads and roofline efficiencies of a cluster: a cluster file's optional `overheads:` mapping
/// (`kernel_launch_us`, `collective_call_us`, `per_message_us`, `memory_efficiency`, `compute_efficiency`, and
/// `decode_kernel`: the decode kernel's time measured at several K/V sizes), e.g. as measured by `treeattn-mpi calibrate`. Each value is optional; a value that is absent leaves the corresponding
/// `DecodeOptions` field as it is (idealised: zero overhead, efficiency 1).
///
/// They are the defaults of `simulate decode` and `sweep` on that cluster, and an option given on the command line
/// overrides them. Library users build options from them with `DecodeOptions(cluster:)` or `apply(to:)`.
public struct ClusterOverheads: Equatable, Sendable {
    /// Fixed cost of every local kernel (`DecodeOptions.kernelLaunch`).
    public var kernelLaunch: SimTime?
    /// Fixed cost of every collective call, on every rank (`DecodeOptions.collectiveCall`).
    public var collectiveCall: SimTime?
    /// Software overhead per point-to-point message (`DecodeOptions.perMessage`).
    public var perMessage: SimTime?
    /// Fraction of the device's memory bandwidth reached by local kernels, in (0, 1] (`DecodeOptions.memoryEfficiency`).
    public var memoryEfficiency: Double?
    /// Fraction of the device's compute peak reached by local kernels, in (0, 1] (`DecodeOptions.computeEfficiency`).
    public var computeEfficiency: Double?
    /// The decode kernel's measured time by K/V bytes, which replaces the roofline for flash-decode
    /// (`DecodeOptions.decodeKernel`); its fixed cost is `kernel_launch_us`.
    public var decodeKernel: KernelCurve?

    /// Validates like the command-line options: times >= 0 (and finite), efficiencies in (0, 1].
    public init(
        kernelLaunch: SimTime? = nil, collectiveCall: SimTime? = nil, perMessage: SimTime? = nil,
        memoryEfficiency: Double? = nil, computeEfficiency: Double? = nil, decodeKernel: KernelCurve? = nil
    ) throws {
        for (value, key) in [
            (kernelLaunch, "kernel_launch_us"), (collectiveCall, "collective_call_us"), (perMessage, "per_message_us"),
        ] {
            if let v = value, v.picoseconds < 0 {
                throw SimulatorError.cluster("overheads: '\(key)' must be >= 0, got \(v)")
            }
        }
        for (value, key) in [(memoryEfficiency, "memory_efficiency"), (computeEfficiency, "compute_efficiency")] {
            if let v = value, !(v > 0 && v <= 1) {
                throw SimulatorError.cluster("overheads: '\(key)' must be in (0, 1], got \(v)")
            }
        }
        self.kernelLaunch = kernelLaunch
        self.collectiveCall = collectiveCall
        self.perMessage = perMessage
        self.memoryEfficiency = memoryEfficiency
        self.computeEfficiency = computeEfficiency
        self.decodeKernel = decodeKernel
    }

    /// Sets every value given here on `options`; the others keep their values.
    public func apply(to options: inout DecodeOptions) {
        if let v = kernelLaunch { options.kernelLaunch = v }
        if let v = collectiveCall { options.collectiveCall = v }
        if let v = perMessage { options.perMessage = v }
        if let v = memoryEfficiency { options.memoryEfficiency = v }
        if let v = computeEfficiency { options.computeEfficiency = v }
        if let v = decodeKernel { options.decodeKernel = v }
    }

    /// Parses the `overheads:` mapping of a cluster file (strict: unknown keys are errors).
    static func parse(_ value: Any?) throws -> ClusterOverheads {
        var f = try ConfigFields(value, context: "overheads")
        try f.onlyKeys([
            "kernel_launch_us", "collective_call_us", "per_message_us", "memory_efficiency", "compute_efficiency",
            "decode_kernel",
        ])
        let launch = try f.nonNegative("kernel_launch_us"), call = try f.nonNegative("collective_call_us")
        let message = try f.nonNegative("per_message_us")
        let memory = try f.double("memory_efficiency"), compute = try f.double("compute_efficiency")
        // decode_kernel: a list of {kv_bytes, us}, bytes increasing.
        let curve = try f.list("decode_kernel").map { items in
            let points = try items.enumerated().map { i, item in
                var p = try ConfigFields(item, context: "overheads: decode_kernel[\(i)]")
                try p.onlyKeys(["kv_bytes", "us"])
                guard let bytes = try p.positive("kv_bytes"), let us = try p.positive("us") else {
                    throw SimulatorError.cluster("overheads: decode_kernel[\(i)] needs kv_bytes and us")
                }
                try p.finish()
                return KernelCurve.Point(bytes: bytes, seconds: us / 1e6)
            }
            do {
                return try KernelCurve(points: points, fixed: .microseconds(launch ?? 0))
            } catch let error as SimulatorError {
                throw SimulatorError.cluster("overheads: decode_kernel: \(error)")
            }
        }
        try f.finish()
        return try ClusterOverheads(
            kernelLaunch: launch.map { .microseconds($0) }, collectiveCall: call.map { .microseconds($0) },
            perMessage: message.map { .microseconds($0) }, memoryEfficiency: memory,
            computeEfficiency: compute, decodeKernel: curve)
    }
}
