import ArgumentParser

/// `treeattn bench simulator` (placeholder until the simulator lands).
struct BenchSimulatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "simulator", abstract: "Simulator event-loop benchmark.")
}
