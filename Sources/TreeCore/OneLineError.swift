/// The error contract every module of this package keeps: an error renders as one line that names the problem.
///
/// Each library has its own error type (`CoreError`, `ReferenceError`, `SimulatorError`, `StudyError`,
/// `DistributedError`, the command line's `CLIError`), and each conforms to this protocol, so the one error path of
/// the executables (`ErrorReport`) prints any of them as `Error: <description>` without knowing the module it came
/// from, and with its control characters escaped (`TextEscaping.controlCharacters`).
public protocol OneLineError: Error, CustomStringConvertible {}

extension CoreError: OneLineError {}
