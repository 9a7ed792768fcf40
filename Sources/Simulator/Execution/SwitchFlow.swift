/// One transfer through a switch that reduces and multicasts in the fabric (NVLink SHARP, "NVLS"): the switch reads
/// `bytes` from every rank in `sources` (adding them up when there are several) and writes the result to every rank
/// in `destinations`. It is one fluid flow over the sources' links into the switch and the switch's links out to the
/// destinations, so each of those links carries `bytes` once, at a rate max-min shared with everything else on them.
///
/// The switch is the one node every source links to directly and that links directly to every destination (a DGX
/// server's NVSwitch, an NVL72 rack's switch trays); a run whose ranks share no such switch stops with
/// `SimulatorError.unsupported`. Each destination receives the result as a message from the rank that started the
/// flow (`RankOperation.switchFlow`), with `tag`.
///
/// NVLS all-reduce ("multimem.ld_reduce" then "multimem.st") is a reduction flow (all ranks -> the slice's owner)
/// followed by a multicast flow (the owner -> all ranks) per slice; see `NVLSProgram`.
public struct SwitchFlow: Sendable, Equatable {
    /// Ranks whose data the switch reads (and reduces when there are several).
    public var sources: [Int]
    /// Ranks the switch writes the result to.
    public var destinations: [Int]
    /// Bytes read from each source and written to each destination.
    public var bytes: Double
    /// The tag each destination receives it with.
    public var tag: Int64
    /// Flows started by one rank between the same ranks on the same channel leave in FIFO order (like `send`'s).
    public var channel: Int32

    /// A flow reading `bytes` from each of `sources` and writing them to each of `destinations`.
    public init(sources: [Int], destinations: [Int], bytes: Double, tag: Int64, channel: Int32 = 0) {
        self.sources = sources
        self.destinations = destinations
        self.bytes = bytes
        self.tag = tag
        self.channel = channel
    }

    /// The same flow with every rank r renamed `map(r)` (for programs run inside groups of ranks).
    func mapRanks(_ map: (Int) -> Int) -> SwitchFlow {
        SwitchFlow(
            sources: sources.map(map), destinations: destinations.map(map), bytes: bytes, tag: tag, channel: channel)
    }
}
