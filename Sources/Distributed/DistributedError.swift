import Reference

/// Errors of distributed runs, each one line. `rankFailed` is what every rank throws after `Communicator.agree`
/// found a failure: it names the lowest rank that failed and why.
public enum DistributedError: Error, CustomStringConvertible {
    case mpi(call: String, message: String)
    case rankFailed(rank: Int, message: String)
    case invalid(String)

    public var description: String {
        switch self {
        case .mpi(let call, let message): return "\(call) failed: \(message)"
        case .rankFailed(let rank, let message): return "rank \(rank): \(message)"
        case .invalid(let message): return message
        }
    }

    /// A one-line description of any error a rank may throw.
    static func describe(_ error: Error) -> String {
        let text: String
        switch error {
        case let e as DistributedError: text = e.description
        case let e as ReferenceError: text = e.description
        case let e as CoreError: text = e.description
        case let e as CustomStringConvertible: text = e.description
        default: text = String(describing: error)
        }
        return CoreError.escapingControlCharacters(text)
    }
}
