/// Every way the shared core (shard layouts, reduction plans, atomic files) refuses its input. Each case renders as
/// one line that names the problem, worded like the reference's and the simulator's own errors.
public enum CoreError: Error, CustomStringConvertible, Equatable {
    /// An argument is out of range or malformed.
    case invalidOption(String)
    /// A command-line value (a list, a count, a byte size) cannot be read.
    case invalidArgument(String)
    /// A file could not be read or written.
    case file(path: String, problem: String)
    /// An input larger than a fixed limit or the memory budget (the message names the size and the limit).
    case tooLarge(String)

    /// The one-line message.
    public var description: String {
        switch self {
        case .invalidOption(let message): return "invalid option: \(message)"
        case .invalidArgument(let message): return "invalid argument: \(message)"
        case .file(let path, let problem): return "\(path): \(problem)"
        case .tooLarge(let message): return "too large: \(message)"
        }
    }
}
