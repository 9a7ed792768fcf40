import ArgumentParser
import CLICommon

struct MPIBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "TODO")
    func run() throws { throw CLIError("not yet") }
}
