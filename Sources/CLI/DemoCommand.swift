import ArgumentParser
import CLICommon
import Walkthrough

/// `treeattn demo`: the main job on embedded defaults, a short tour of everything the tool does (`Tour`).
struct DemoCommand: ParsableCommand, MemoryBoundedCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "A short tour on embedded defaults: exact vs tree reductions, the energy view.")

    @Option var seed: UInt64 = 2024
    @Option(help: "Keys in the decode example.") var keys = 4096
    @Option(help: "Shards (devices) in the decode example.") var shards = 8

    @OptionGroup var memory: MemoryOptions

    /// The tour these options ask for.
    var tour: Tour {
        var t = Tour()
        (t.seed, t.keys, t.shards) = (seed, keys, shards)
        return t
    }

    func validate() throws { try tour.validate() }

    func run() throws { try tour.run { print($0) } }
}
