/// One message as it happened (recorded only when `Executor.recording` is on).
public struct TransferRecord: Equatable, Sendable {
    public var sourceRank: Int
    public var destinationRank: Int
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
    public enum Kind: String, Sendable { case compute, overhead, communication }
    public var rank: Int
    public var kind: Kind
    public var label: String
    public var start: SimTime
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
    public var activities: [ActivityRecord]
    /// Present when `Execution.breakdown` was on.
    public var breakdown: ActivityBreakdown? = nil
}
