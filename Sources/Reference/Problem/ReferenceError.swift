/// Every way the reference can refuse its input. Each case renders as one line that names the problem.
public enum ReferenceError: OneLineError, Equatable {
    /// Tensor shapes that do not fit together or are out of range.
    case shape(String)
    /// An option or argument outside what the reference accepts.
    case invalidOption(String)
    /// A file that cannot be read or written, or whose contents are malformed, with its path.
    case file(path: String, problem: String)
    /// Data that the requested file format or dtype cannot hold.
    case format(String)

    /// The one-line message: `shape error: ...`, `invalid option: ...`, `<path>: <problem>` or `format error: ...`.
    public var description: String {
        switch self {
        case .shape(let message): return "shape error: \(message)"
        case .invalidOption(let message): return "invalid option: \(message)"
        case .file(let path, let problem): return "\(path): \(problem)"
        case .format(let message): return "format error: \(message)"
        }
    }
}
