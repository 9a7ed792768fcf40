/// A personalised all-to-all: every rank sends `bytes(source, destination)` to every other rank, all sends posted
/// at once (non-blocking, to ranks r+1, r+2, ... in turn) and then received from r-1, r-2, ... (NCCL's and MPI's
/// pairwise order). Pass-Q ring attention returns its partial outputs to their queries' owners with it. Operations
/// are computed on demand; a pair with zero bytes still sends an empty message (it pays the latency).
public struct AllToAllProgram: RankProgram {
    public let ranks: Int
    /// Bytes rank `source` sends to rank `destination` (never asked for source == destination).
    public let bytes: @Sendable (_ source: Int, _ destination: Int) -> Double

    /// An all-to-all over `ranks` ranks. Throws `SimulatorError.invalidArgument` unless `ranks` >= 1.
    public init(ranks: Int, bytes: @escaping @Sendable (_ source: Int, _ destination: Int) -> Double) throws {
        guard ranks >= 1 else { throw SimulatorError.invalidArgument("an all-to-all needs at least one rank") }
        self.ranks = ranks
        self.bytes = bytes
    }

    public func operation(rank: Int, lane: Int, step: Int) -> RankOperation? {
        let peers = ranks - 1
        guard step < 2 * peers else { return step == 2 * peers && peers > 0 ? .waitSends : nil }
        if step < peers {
            let to = (rank + step + 1) % ranks
            return .send(to: to, bytes: bytes(rank, to), tag: 0)
        }
        let from = ((rank - (step - peers) - 1) % ranks + ranks) % ranks
        return .recv(from: from, tag: 0)
    }
}
