/// The collective operations, with nccl-tests size and bus-bandwidth conventions. `bytes` is the per-rank buffer
/// for all-reduce and broadcast, the total (gathered) output for all-gather and the total input for reduce-scatter.
public enum CollectiveOperation: String, Sendable, CaseIterable, CustomStringConvertible {
    case allreduce, allgather, reducescatter, broadcast

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

    public static func parse(_ text: String) throws -> CollectiveOperation {
        guard let op = CollectiveOperation(rawValue: text.lowercased().replacingOccurrences(of: "-", with: "")
                                                                    .replacingOccurrences(of: "_", with: "")) else {
            throw SimulatorError.invalidArgument("unknown operation '\(text)' (allreduce, allgather, reducescatter, broadcast)")
        }
        return op
    }
}
