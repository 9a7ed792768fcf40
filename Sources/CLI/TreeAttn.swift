import ArgumentParser

@main
struct TreeAttn: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "treeattn",
        abstract: "Exact attention reference, tree reductions and a cluster simulator for Tree Attention.")
}
