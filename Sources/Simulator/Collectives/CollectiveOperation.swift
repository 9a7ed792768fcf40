/// The collective operations, with nccl-tests size and bus-bandwidth conventions. `bytes` is the per-rank buffer
/// for all-reduce and broadcast, the total (gathered) output for all-gather and the total input for reduce-scatter.
public enum CollectiveOperation: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Every rank ends with the sum of all ranks' buffers; `bytes` is the per-rank buffer.
    case allreduce
    /// Every rank ends with every rank's share; `bytes` is the gathered output.
    case allgather
    /// Each rank ends with its share of the sum of all ranks' buffers; `bytes` is the total input.
    case reducescatter
    /// The root's buffer reaches every rank; `bytes` is the buffer.
    case broadcast

    /// The raw value: "allreduce", "allgather", "reducescatter" or "broadcast".
    public var description: String { rawValue }

    /// busBw = algBw * factor: 2(p-1)/p for all-reduce, (p-1)/p for all-gather and reduce-scatter, 1 for broadcast.
    public func busBandwidthFactor(ranks p: Int) -> Double {
        let p = Double(p)
        switch self {
        case .allreduce: return p > 1 ? 2 * (p - 1) / p : 0
        case .allgather, .reducescatter: return p > 1 ? (p - 1) / p : 0
        case .broadcast: return 1
        }
    }

    /// Parses an operation name in any case, ignoring "-" and "_" ("all-reduce" and "All_Gather" work). Throws
    /// `SimulatorError.invalidArgument` for any other name.
    public static func parse(_ text: String) throws -> CollectiveOperation {
        guard
            let op = CollectiveOperation(
                rawValue: text.lowercased().replacingOccurrences(of: "-", with: "")
                    .replacingOccurrences(of: "_", with: ""))
        else {
            throw SimulatorError.invalidArgument(
                "unknown operation '\(text)' (allreduce, allgather, reducescatter, broadcast)")
        }
        return op
    }
}
