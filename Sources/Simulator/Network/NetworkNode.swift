/// A vertex of the network graph.
public struct NetworkNode: Equatable, Sendable {
    /// What the node is; GPUs are endpoints and never forward traffic for others.
    public enum Kind: String, Equatable, Sendable, CaseIterable {
        case gpu, `switch`, nic, host

        /// Whether routes may pass through a node of this kind.
        public var forwards: Bool { self != .gpu }
    }

    public var name: String
    public var kind: Kind

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }
}
