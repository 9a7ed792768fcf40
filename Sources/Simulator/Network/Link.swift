/// A simplex (one-direction) link between two network nodes. A full-duplex cable is two links.
public struct Link: Equatable, Sendable {
    public var from: Int
    public var to: Int
    /// Bytes per second (GB/s = 1e9 bytes per second).
    public var bandwidth: Double
    /// Propagation plus per-hop switching latency of this link.
    public var latency: SimTime
    /// Index into `Network.linkClasses`.
    public var linkClass: Int

    public init(from: Int, to: Int, bandwidth: Double, latency: SimTime, linkClass: Int) {
        self.from = from
        self.to = to
        self.bandwidth = bandwidth
        self.latency = latency
        self.linkClass = linkClass
    }
}
