import ArgumentParser

/// `treeattn bench reference` (placeholder).
struct BenchReferenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reference", abstract: "Reference attention benchmark.")
}
