import Foundation

/// Knobs of the event-simulated collectives. Defaults are idealised: no reduction cost, no per-call overhead.
public struct CollectiveOptions: Equatable, Sendable {
    /// Reduction compute cost, seconds per byte reduced (the gamma of the alpha-beta-gamma model).
    public var reductionSecondsPerByte: Double = 0
    /// Segments for pipelined trees and chains; nil derives ceil(bytes / segmentBytes).
    public var segments: Int? = nil
    /// Target segment size when `segments` is nil.
    public var segmentBytes: Double = 1_048_576
    /// When the next segment on a connection may start.
    public var pacing: ChannelPacing = .backToBack
    /// Fixed overhead charged on every rank before the collective starts (launch and synchronisation).
    public var callOverhead: SimTime = .zero

    /// Every knob as an argument; the defaults are the idealised ones (no reduction cost, segments of about 1 MiB,
    /// back-to-back pacing, no call overhead).
    public init(
        reductionSecondsPerByte: Double = 0, segments: Int? = nil, segmentBytes: Double = 1_048_576,
        pacing: ChannelPacing = .backToBack, callOverhead: SimTime = .zero
    ) {
        self.reductionSecondsPerByte = reductionSecondsPerByte
        self.segments = segments
        self.segmentBytes = segmentBytes
        self.pacing = pacing
        self.callOverhead = callOverhead
    }

    /// The most segments a pipelined collective may use (each is a message per tree edge).
    public static let maxSegments = 1_000_000

    /// Segments for a message of `bytes`: the explicit count, or ceil(bytes / segmentBytes); at most `maxSegments`.
    func segmentCount(bytes: Double) throws -> Int {
        let k = segments.map(Double.init) ?? (bytes / segmentBytes).rounded(.up)
        guard k <= Double(Self.maxSegments) else {
            throw SimulatorError.invalidArgument(
                "\(String(format: "%.3g", k)) segments exceed the limit of \(Self.maxSegments); set --segments or use fewer bytes"
            )
        }
        return max(1, Int(k))
    }

    func reduceTime(_ bytes: Double) -> SimTime { SimTime(seconds: reductionSecondsPerByte * bytes) }
}
