/// A vertex of the network graph.
public struct NetworkNode: Equatable, Sendable {
    /// What the node is; GPUs are endpoints and never forward traffic for others.
    public enum Kind: String, Equatable, Sendable, CaseIterable {
        /// A rank endpoint (a GPU, or a CPU rank): traffic starts and ends here.
        case gpu
        /// A switch (an NVSwitch, or a leaf, spine or core of a fabric).
        case `switch`
        /// A network interface card.
        case nic
        /// A host (e.g. host memory that GPU-to-GPU transfers cross without peer-to-peer).
        case host

        /// Whether routes may pass through a node of this kind.
        public var forwards: Bool { self != .gpu }
    }

    /// Name of the node, unique within its network (e.g. "s0/gpu3", "spine").
    public var name: String
    /// What the node is; decides whether routes may pass through it.
    public var kind: Kind
    /// Whether the node (a switch) reduces and multicasts in the fabric, as third-generation and later NVSwitches do
    /// (NVLink SHARP): the `SwitchFlow`s of the `nvls` collectives need one.
    public var reduces: Bool

    /// A node called `name` of kind `kind` (`Network.addNode` checks the name is non-empty and unique); `reduces`
    /// for a switch with in-fabric reduction and multicast.
    public init(name: String, kind: Kind, reduces: Bool = false) {
        self.name = name
        self.kind = kind
        self.reduces = reduces
    }
}
