/// A simplex (one-direction) link between two network nodes. A full-duplex cable is two links.
public struct Link: Equatable, Sendable {
    /// Index of the node the link leaves, in `Network.nodes`.
    public var from: Int
    /// Index of the node the link enters, in `Network.nodes`.
    public var to: Int
    /// Bytes per second (GB/s = 1e9 bytes per second).
    public var bandwidth: Double
    /// Propagation plus per-hop switching latency of this link.
    public var latency: SimTime
    /// Index into `Network.linkClasses`.
    public var linkClass: Int

    /// A link with every field given (not validated; `Network.addLink` validates).
    public init(from: Int, to: Int, bandwidth: Double, latency: SimTime, linkClass: Int) {
        self.from = from
        self.to = to
        self.bandwidth = bandwidth
        self.latency = latency
        self.linkClass = linkClass
    }
}
