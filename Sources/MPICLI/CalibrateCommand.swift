import ArgumentParser
import CLICommon

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "calibrate", abstract: "TODO")
    func run() throws { throw CLIError("not yet") }
}
