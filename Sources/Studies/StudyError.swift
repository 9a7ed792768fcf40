import TreeCore

/// Every way a study (a sweep, the scale study, the paper reproduction, a model file, a calibration or validation
/// document) refuses its input. Each case renders as one line that names the problem.
public enum StudyError: OneLineError, Equatable {
    /// An option or a configuration value is out of range or malformed.
    case invalidArgument(String)
    /// A program a study launched (mpirun, ip, tc) failed; the message names it and its last stderr line.
    case processFailed(String)
    /// A file could not be read or written, or holds something a study cannot use.
    case file(path: String, problem: String)

    /// The one-line message.
    public var description: String {
        switch self {
        case .invalidArgument(let message): return "invalid argument: \(message)"
        case .processFailed(let message): return message
        case .file(let path, let problem): return "\(path): \(problem)"
        }
    }
}
