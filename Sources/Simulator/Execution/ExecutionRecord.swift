/// One message as it happened (recorded only when `Executor.recording` is on).
public struct TransferRecord: Equatable, Sendable {
    /// Rank that sent the message.
    public var sourceRank: Int
    /// Rank the message was sent to.
    public var destinationRank: Int
    /// Size of the message, bytes.
    public var bytes: Double
    /// When the message entered the network (after waiting for its channel).
    public var start: SimTime
    /// When its last byte left the sender.
    public var transmitted: SimTime
    /// When it had fully arrived.
    public var delivered: SimTime
}

/// One compute, overhead or modelled-communication interval on a rank (recorded only when `Executor.recording` is on).
/// The per-message overhead (`Executor.messageOverhead`) is an `overhead` interval on the sending rank, from when the
/// message is started until it enters the network, with `destinationRank` set.
public struct ActivityRecord: Equatable, Sendable {
    /// What an interval counts as in the activity breakdown; the raw value is its category in Chrome traces.
    public enum Kind: String, Sendable {
        /// A `RankOperation.compute` interval (local kernels, reductions, merges).
        case compute
        /// A fixed overhead (`RankOperation.overhead`) or a message's per-message overhead (`destinationRank` set).
        case overhead
        /// Modelled communication (`RankOperation.modelledCommunication`): time from a closed-form model, not the
        /// network.
        case communication
    }
    /// Rank the interval ran on.
    public var rank: Int
    /// What the interval counts as.
    public var kind: Kind
    /// The operation's label (e.g. "flash-decode", "reduce", "message overhead"), the event's name in traces.
    public var label: String
    /// When the interval began.
    public var start: SimTime
    /// When the interval ended.
    public var end: SimTime
    /// For a per-message overhead: the rank the message goes to; nil for every other interval.
    public var destinationRank: Int? = nil
}

/// What one execution produced.
public struct ExecutionResult: Sendable {
    /// Time when the last rank finished its last phase.
    public var makespan: SimTime
    /// Finish time of each rank.
    public var rankFinish: [SimTime]
    /// Events handled by the simulation core.
    public var events: Int
    /// Messages sent.
    public var messages: Int
    /// Bytes sent by each rank.
    public var bytesSent: [Double]
    /// Bytes carried per link class (a message crossing h links of a class counts h times).
    public var bytesPerLinkClass: [(name: String, bytes: Double)]
    /// Present when recording was on.
    public var transfers: [TransferRecord]
    /// Every compute, overhead and modelled-communication interval, when recording was on (empty otherwise).
    public var activities: [ActivityRecord]
    /// Present when `Execution.breakdown` was on.
    public var breakdown: ActivityBreakdown? = nil
}
