/// A named class of links (e.g. "nvlink", "ib", "pcie", "xgmi") sharing a forwarding mode. Bytes carried are
/// reported per class.
public struct LinkClass: Equatable, Hashable, Sendable {
    public var name: String
    public var forwarding: Forwarding

    public init(name: String, forwarding: Forwarding) {
        self.name = name
        self.forwarding = forwarding
    }
}
