/// One step of a rank's program (MPI-like): sends are non-blocking, receives block until the matching message
/// (same source rank and tag) has arrived, compute and overhead block for a duration.
public enum RankOperation: Sendable {
    /// Start sending `bytes` to rank `to`. Messages on the same (source, destination, channel) leave in FIFO order;
    /// see `ChannelPacing`.
    case send(to: Int, bytes: Double, tag: Int64, channel: Int32)
    /// Wait for the message with this tag from rank `from`.
    case recv(from: Int, tag: Int64)
    /// Busy computing for a duration (local attention, reductions, merges).
    case compute(SimTime, label: String)
    /// A fixed overhead (launch, synchronisation): blocks but is not compute.
    case overhead(SimTime, label: String)
    /// Communication whose time comes from a closed-form model (e.g. the NCCL model) rather than the network:
    /// blocks for the duration and counts as communication.
    case modelledCommunication(SimTime, label: String)
    /// Block until every message this lane has sent so far has been delivered (MPI_Waitall).
    case waitSends
    /// Start one flow through the ranks' common switch that reduces and multicasts in the fabric (NVLink SHARP; see
    /// `SwitchFlow`): non-blocking like `send`, delivered to every destination as a message from this rank. Flows
    /// between the same ranks leave in FIFO order.
    case switchFlow(SwitchFlow)

    /// A send on channel 0.
    public static func send(to: Int, bytes: Double, tag: Int64) -> RankOperation {
        .send(to: to, bytes: bytes, tag: tag, channel: 0)
    }
}

/// When the next queued message on a channel may start.
public enum ChannelPacing: String, Sendable, CaseIterable {
    /// As soon as the previous message has been transmitted (its latency overlaps the next message): the
    /// streaming behaviour of NCCL-style pipelines. Pipelined chain over d hops with k segments:
    /// d (a + n b / k) + (k - 1) n b / k.
    case backToBack = "back-to-back"
    /// Only after the previous message has arrived (textbook alpha-beta pipelining):
    /// (d + k - 1)(a + n b / k).
    case afterDelivery = "after-delivery"
}
