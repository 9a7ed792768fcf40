import ArgumentParser

/// `treeattn attention` (placeholder).
struct AttentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "attention", abstract: "Exact or tree-reduced attention.")
}
