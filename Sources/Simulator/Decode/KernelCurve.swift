/// A kernel's measured time as a function of the bytes it streams: piecewise linear through the measured points,
/// from `fixed` at zero bytes to the first point, and past the last point along the last segment's slope.
/// `treeattn-mpi calibrate` measures the decode kernel this way at shard sizes from 2^11 keys up, with every rank
/// running, and writes it as the cluster file's `overheads: decode_kernel:`; the roofline then times flash-decode from
/// it (`Roofline.decodeKernel`) instead of from one rate, which a single calibrated size cannot give at both ends (a
/// shard that fits the caches streams faster than one that does not).
public struct KernelCurve: Equatable, Sendable {
    /// One measurement: the bytes the kernel streamed (its K/V) and the seconds it took.
    public struct Point: Equatable, Sendable {
        /// K/V bytes of the problem measured.
        public var bytes: Double
        /// Seconds the kernel took.
        public var seconds: Double

        /// A measurement of `bytes` in `seconds`.
        public init(bytes: Double, seconds: Double) {
            self.bytes = bytes
            self.seconds = seconds
        }
    }

    /// The measurements, bytes and seconds strictly increasing.
    public let points: [Point]
    /// The kernel's time at zero bytes (a tiny problem), below the first point's.
    public let fixed: SimTime

    /// Throws `SimulatorError.invalidArgument` unless there is at least one point, bytes are positive and finite,
    /// bytes and seconds strictly increase, and `fixed` is at least zero and below the first point's time.
    public init(points: [Point], fixed: SimTime = .zero) throws {
        guard let first = points.first else {
            throw SimulatorError.invalidArgument("a kernel curve needs at least one measured point")
        }
        for p in points where !(p.bytes > 0 && p.bytes.isFinite && p.seconds.isFinite && p.seconds > 0) {
            throw SimulatorError.invalidArgument(
                "a kernel curve's points need positive finite bytes and seconds, got (\(p.bytes), \(p.seconds))")
        }
        for (a, b) in zip(points, points.dropFirst()) where !(b.bytes > a.bytes && b.seconds > a.seconds) {
            throw SimulatorError.invalidArgument(
                "a kernel curve's bytes and seconds must both increase, got (\(a.bytes), \(a.seconds)) then (\(b.bytes), \(b.seconds))"
            )
        }
        guard fixed.picoseconds >= 0, fixed.seconds < first.seconds else {
            throw SimulatorError.invalidArgument(
                "a kernel curve's fixed cost (\(fixed)) must be >= 0 and below its first point's \(first.seconds) s")
        }
        self.points = points
        self.fixed = fixed
    }

    /// The time for `bytes` (zero bytes cost nothing: no kernel runs).
    public func time(bytes: Double) -> SimTime {
        guard bytes > 0 else { return .zero }
        var previous = Point(bytes: 0, seconds: fixed.seconds)
        for p in points {
            if bytes <= p.bytes {
                return .seconds(
                    previous.seconds + (p.seconds - previous.seconds) * (bytes - previous.bytes)
                        / (p.bytes - previous.bytes))
            }
            previous = p
        }
        // Past the last point: the last segment's slope (from the fixed cost when there is one point).
        let last = points[points.count - 1]
        let before = points.count > 1 ? points[points.count - 2] : Point(bytes: 0, seconds: fixed.seconds)
        return .seconds(
            last.seconds + (last.seconds - before.seconds) / (last.bytes - before.bytes) * (bytes - last.bytes))
    }
}
