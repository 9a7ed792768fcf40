import ArgumentParser
import Foundation
import TreeCore

/// `--max-memory SIZE`, the one option group of every command that allocates. `TreeAttn.main` applies it (sets
/// `MemoryBudget.current`) after parsing and before `run()`, so the libraries and the CLI check their estimates
/// against it before they allocate. Default: the memory the machine has available now.
public struct MemoryOptions: ParsableArguments {
    /// `--max-memory`: the budget as text ("8GB", "512MiB", "1e9"); nil for the memory available now.
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Memory the run may use: 8GB, 512MiB, 1e9 (GB = 1e9 bytes, GiB = 2^30; default: the available memory).",
            valueName: "size"))
    public var maxMemory: String?

    /// The options, unparsed.
    public init() {}

    /// Checks that `--max-memory` parses as a size; throws `CLIError` otherwise.
    public func validate() throws { _ = try budget() }

    /// The budget `--max-memory` names, or the default (the available memory).
    public func budget() throws -> MemoryBudget {
        guard let maxMemory else { return MemoryBudget.current }
        do { return try MemoryBudget(parsing: maxMemory) } catch CoreError.invalidOption(let message) {
            throw CLIError("--max-memory: \(message)")
        }
    }
}

/// A command that allocates: it takes `--max-memory` through `MemoryOptions`, applied before it runs.
public protocol MemoryBoundedCommand {
    /// The command's `--max-memory` option group.
    var memory: MemoryOptions { get }
}

extension MemoryBoundedCommand {
    /// Sets the process-wide budget from `--max-memory`.
    public func applyMemoryBudget() throws { MemoryBudget.current = try memory.budget() }
}
