/// A path between two nodes split into segments: a store-and-forward link ends a segment (the whole message is
/// received at its far end before moving on); cut-through and packetised links pipeline within a segment.
public struct Route: Sendable {
    /// One pipelined stretch of the path, simulated as a single fluid flow over all its links at once.
    public struct Segment: Sendable {
        /// Link indices along the segment.
        public var links: [Int32]
        /// Sum of link latencies.
        public var latency: SimTime
        /// (mtu, bandwidth) of each packetised link followed by another link of the same segment: the next hop
        /// starts after one packet has fully arrived, adding min(mtu, n)/bandwidth.
        public var packetDelays: [(mtuBytes: Double, bandwidth: Double)]
        /// Minimum link bandwidth (the uncontended rate), bytes/s.
        public var bottleneck: Double
    }

    /// Node the route starts at.
    public var source: Int
    /// Node the route ends at.
    public var destination: Int
    /// All links in order.
    public var links: [Int]
    /// The links split into pipelined segments (none for a route to oneself).
    public var segments: [Segment]

    /// Hop count.
    public var hops: Int { links.count }
}
