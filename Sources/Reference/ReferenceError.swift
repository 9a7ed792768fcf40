/// Every way the reference can refuse its input. Each case renders as one line that names the problem.
public enum ReferenceError: Error, CustomStringConvertible, Equatable {
    case shape(String)
    case invalidOption(String)
    case file(path: String, problem: String)
    case format(String)

    public var description: String {
        switch self {
        case .shape(let message): return "shape error: \(message)"
        case .invalidOption(let message): return "invalid option: \(message)"
        case .file(let path, let problem): return "\(path): \(problem)"
        case .format(let message): return "format error: \(message)"
        }
    }
}
