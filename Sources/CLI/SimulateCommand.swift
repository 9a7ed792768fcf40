import ArgumentParser

/// `treeattn simulate ...` (placeholder until the simulator lands).
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "simulate", abstract: "Cluster simulation.")
}
