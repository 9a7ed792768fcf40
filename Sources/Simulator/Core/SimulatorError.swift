/// Every way the simulator refuses its input. Each case renders as one line that names the problem; nothing is
/// silently replaced by a fallback.
public enum SimulatorError: OneLineError, Equatable {
    /// A cluster description (file, preset or API call) is invalid.
    case cluster(String)
    /// An option value is out of range or malformed.
    case invalidArgument(String)
    /// A valid request that this simulator does not model (e.g. an algorithm for an operation it cannot run).
    case unsupported(String)
    /// A file could not be read or written.
    case file(path: String, problem: String)

    /// Simulated time beyond `SimTime.range` (a run, or an extrapolation, that would take longer than the clock holds).
    public static var clockRange: SimulatorError {
        .invalidArgument(
            "simulated time exceeds the clock's range (2^62 ps, about 53 days): reduce the sizes or overheads")
    }

    /// The one-line message: the problem prefixed by its kind ("cluster error: ", "invalid argument: ",
    /// "unsupported: "), or by the file's path for `file`.
    public var description: String {
        switch self {
        case .cluster(let message): return "cluster error: \(message)"
        case .invalidArgument(let message): return "invalid argument: \(message)"
        case .unsupported(let message): return "unsupported: \(message)"
        case .file(let path, let problem): return "\(path): \(problem)"
        }
    }
}
