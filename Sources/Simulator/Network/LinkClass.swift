/// A named class of links (e.g. "nvlink", "ib", "pcie", "xgmi") sharing a forwarding mode. Bytes carried are
/// reported per class.
public struct LinkClass: Equatable, Hashable, Sendable {
    /// Name of the class (e.g. "nvlink"), unique within a network; bytes carried are reported under it.
    public var name: String
    /// How a node forwards a message arriving on a link of this class.
    public var forwarding: Forwarding

    /// A class called `name` whose links forward with `forwarding`.
    public init(name: String, forwarding: Forwarding) {
        self.name = name
        self.forwarding = forwarding
    }
}
