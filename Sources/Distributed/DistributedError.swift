import Reference

/// Errors of distributed runs, each one line. `rankFailed` is what every rank throws after `Communicator.agree`
/// found a failure: it names the lowest rank that failed and why.
public enum DistributedError: OneLineError {
    /// The MPI function `call` returned an error; `message` is MPI's error string (or the error code).
    case mpi(call: String, message: String)
    /// Rank `rank`, the lowest that failed, threw an error described by `message`.
    case rankFailed(rank: Int, message: String)
    /// An invalid option, shard or run parameter, with the message to show.
    case invalid(String)

    /// The error as one line: "CALL failed: MESSAGE", "rank R: MESSAGE", or the message itself.
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
        case let e as CustomStringConvertible: text = e.description
        default: text = String(describing: error)
        }
        return TextEscaping.controlCharacters(text)
    }
}
