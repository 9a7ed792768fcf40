/// The network graph: nodes (GPUs, switches, NICs, hosts), simplex links and link classes. Built once, then
/// read-only during a simulation.
public struct Network: Sendable {
    /// The nodes in insertion order; a node's index is its id.
    public private(set) var nodes: [NetworkNode] = []
    /// The simplex links in insertion order; a link's index is its id.
    public private(set) var links: [Link] = []
    /// The link classes in insertion order, indexed by `Link.linkClass`.
    public private(set) var linkClasses: [LinkClass] = []
    /// Outgoing link indices per node, in insertion order (routing tie-breaks by this order).
    public private(set) var outgoing: [[Int]] = []
    private var nodeIndex: [String: Int] = [:]
    private var classIndex: [String: Int] = [:]
    /// Structured routing when the network is a generated fat tree (`FatTreeSpec.build`); nil: breadth-first search.
    public internal(set) var fatTree: FatTreeRouting?

    /// An empty network: add nodes, link classes and links with `addNode`, `addLinkClass` and `addLink`.
    public init() {}

    /// Reserves room for a network of known size (a generator's estimate), so building it does not regrow tables.
    public mutating func reserve(nodes: Int, links: Int) {
        self.nodes.reserveCapacity(nodes)
        outgoing.reserveCapacity(nodes)
        nodeIndex.reserveCapacity(nodes)
        self.links.reserveCapacity(links)
    }

    /// Adds a node; names must be unique.
    @discardableResult
    public mutating func addNode(_ name: String, kind: NetworkNode.Kind, reduces: Bool = false) throws -> Int {
        guard !name.isEmpty else { throw SimulatorError.cluster("node names must not be empty") }
        guard nodeIndex[name] == nil else { throw SimulatorError.cluster("duplicate node name '\(name)'") }
        guard !reduces || kind == .switch else {
            throw SimulatorError.cluster("'\(name)': only a switch reduces in the fabric")
        }
        nodes.append(NetworkNode(name: name, kind: kind, reduces: reduces))
        outgoing.append([])
        nodeIndex[name] = nodes.count - 1
        return nodes.count - 1
    }

    /// Adds (or returns the existing index of) a link class. Re-adding a name with another forwarding mode is an error.
    @discardableResult
    public mutating func addLinkClass(_ linkClass: LinkClass) throws -> Int {
        if let i = classIndex[linkClass.name] {
            guard linkClasses[i] == linkClass else {
                throw SimulatorError.cluster("link class '\(linkClass.name)' defined twice with different forwarding")
            }
            return i
        }
        linkClasses.append(linkClass)
        classIndex[linkClass.name] = linkClasses.count - 1
        return linkClasses.count - 1
    }

    /// Adds one simplex link. Bandwidth must be finite and > 0, latency >= 0, endpoints distinct and existing.
    @discardableResult
    public mutating func addLink(from: Int, to: Int, bandwidth: Double, latency: SimTime, linkClass: Int) throws -> Int
    {
        guard nodes.indices.contains(from), nodes.indices.contains(to) else {
            throw SimulatorError.cluster("link endpoint out of range (\(from) -> \(to))")
        }
        guard from != to else { throw SimulatorError.cluster("link from '\(nodes[from].name)' to itself") }
        guard bandwidth.isFinite, bandwidth > 0 else {
            throw SimulatorError.cluster(
                "link \(nodes[from].name) -> \(nodes[to].name): bandwidth must be > 0, got \(bandwidth) B/s")
        }
        guard latency.picoseconds >= 0 else {
            throw SimulatorError.cluster("link \(nodes[from].name) -> \(nodes[to].name): latency must be >= 0")
        }
        guard linkClasses.indices.contains(linkClass) else {
            throw SimulatorError.cluster("unknown link class index \(linkClass)")
        }
        links.append(Link(from: from, to: to, bandwidth: bandwidth, latency: latency, linkClass: linkClass))
        outgoing[from].append(links.count - 1)
        return links.count - 1
    }

    /// Adds two simplex links, a -> b then b -> a, with the same parameters.
    public mutating func addDuplexLink(_ a: Int, _ b: Int, bandwidth: Double, latency: SimTime, linkClass: Int) throws {
        try addLink(from: a, to: b, bandwidth: bandwidth, latency: latency, linkClass: linkClass)
        try addLink(from: b, to: a, bandwidth: bandwidth, latency: latency, linkClass: linkClass)
    }

    /// Index of the node called `name`, or nil when there is none.
    public func node(named name: String) -> Int? { nodeIndex[name] }
    /// Index of the link class called `name`, or nil when there is none.
    public func linkClass(named name: String) -> Int? { classIndex[name] }

    /// Indices of all GPU nodes in insertion order.
    public var gpuNodes: [Int] { nodes.indices.filter { nodes[$0].kind == .gpu } }
}
