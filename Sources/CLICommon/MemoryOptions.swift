import ArgumentParser
import Foundation
import TreeCore

/// `--max-memory SIZE` and `--max-time DURATION`, the one option group of every command that allocates or runs long.
/// `TreeAttn.main` applies it (sets `MemoryBudget.current` and `TimeBudget.current`) after parsing and before `run()`,
/// so the libraries and the CLI check their estimates against it before they allocate or start. Defaults: the memory
/// the machine has available now, and 30 minutes.
public struct MemoryOptions: ParsableArguments {
    /// `--max-memory`: the budget as text ("8GB", "512MiB", "1e9"); nil for the memory available now.
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Memory the run may use: 8GB, 512MiB, 1e9 (GB = 1e9 bytes, GiB = 2^30; default: the available memory).",
            valueName: "size"))
    public var maxMemory: String?

    /// `--max-time`: the time limit as text ("90s", "10m", "2h"); nil for `TimeBudget.defaultLimitSeconds`.
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Time the run may take: 90s, 10m, 2h (default: 30m). Work estimated above it is refused before it starts; long simulations and attention runs also stop when it passes.",
            valueName: "duration"))
    public var maxTime: String?

    /// The options, unparsed.
    public init() {}

    /// Checks that `--max-memory` parses as a size and `--max-time` as a duration; throws `CLIError` otherwise.
    public func validate() throws {
        _ = try budget()
        _ = try timeBudget()
    }

    /// The budget `--max-memory` names, or the default (the available memory).
    public func budget() throws -> MemoryBudget {
        guard let maxMemory else { return MemoryBudget.current }
        do { return try MemoryBudget(parsing: maxMemory) } catch CoreError.invalidOption(let message) {
            throw CLIError("--max-memory: \(message)")
        }
    }

    /// The time limit `--max-time` names, or the default (30 minutes), counted from now.
    public func timeBudget() throws -> TimeBudget {
        guard let maxTime else { return TimeBudget() }
        do { return try TimeBudget(parsing: maxTime) } catch CoreError.invalidOption(let message) {
            throw CLIError("--max-time: \(message)")
        }
    }
}

/// A command that allocates: it takes `--max-memory` and `--max-time` through `MemoryOptions`, applied before it runs.
public protocol MemoryBoundedCommand {
    /// The command's `--max-memory` option group.
    var memory: MemoryOptions { get }
}

extension MemoryBoundedCommand {
    /// Sets the process-wide budgets from `--max-memory` and `--max-time`.
    public func applyMemoryBudget() throws {
        MemoryBudget.current = try memory.budget()
        TimeBudget.current = try memory.timeBudget()
    }
}
