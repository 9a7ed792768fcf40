import ArgumentParser
import CLICommon

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "validate", abstract: "TODO")
    func run() throws { throw CLIError("not yet") }
}
