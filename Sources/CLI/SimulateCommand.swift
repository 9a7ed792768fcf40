import ArgumentParser
import Foundation
import Reference
import Simulator

/// `treeattn simulate ...`: the discrete-event cluster simulator (see docs/simulator.md).
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Discrete-event cluster simulation: collectives and Tree vs Ring decoding.",
        subcommands: [SimulateCollectiveCommand.self, SimulateDecodeCommand.self, SimulateClusterCommand.self])
}

/// Options shared by the simulate subcommands to pick a cluster.
struct SimulateClusterOptions: ParsableArguments {
    @Option(name: .long, help: "Preset (\(ClusterPreset.usage)) or a YAML/JSON cluster file.")
    var cluster: String

    @Option(name: .long, help: "Number of servers for dgx-h100 (or GPUs for mi300x / rtx4090-pcie); same as PRESET:N.")
    var nodes: Int?

    @Option(name: .long, help: "Use only the first N GPUs of the cluster.")
    var gpus: Int?

    func load() throws -> Cluster {
        let c = try Cluster.resolve(cluster, count: nodes)
        return try gpus.map { try c.prefix($0) } ?? c
    }
}

/// Output formats.
enum SimulateFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv
}

/// Runs a body and turns simulator errors into one-line messages with exit code 1 (never a crash).
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as SimulatorError {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(1)
    } catch let error as ReferenceError {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

/// Parses a byte count: a plain number ("1048576", "1e9") or one with a unit (B, kB, MB, GB, KiB, MiB, GiB).
func parseBytes(_ text: String) throws -> Double {
    let units: [(String, Double)] = [("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824),
                                     ("kB", 1e3), ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("B", 1)]
    var number = text.trimmingCharacters(in: .whitespaces), scale = 1.0
    for (suffix, factor) in units where number.hasSuffix(suffix) {
        number = String(number.dropLast(suffix.count)).trimmingCharacters(in: .whitespaces)
        scale = factor
        break
    }
    guard let value = Double(number), value.isFinite, value >= 0 else {
        throw SimulatorError.invalidArgument("cannot read '\(text)' as a byte count (e.g. 1048576, 1e9, 64MB, 1MiB)")
    }
    return value * scale
}

/// Pretty JSON with sorted keys, newline-terminated.
func jsonString(_ object: Any) throws -> String {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    return String(decoding: data, as: UTF8.self)
}

/// Left-aligned text table.
func renderTable(_ header: [String], _ rows: [[String]]) -> String {
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
            .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }
    return ([line(header), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line)).joined(separator: "\n")
}

/// JSON-safe number (NaN/inf become null).
func jsonNumber(_ x: Double?) -> Any {
    guard let x, x.isFinite else { return NSNull() }
    return x
}

/// `treeattn simulate cluster`: prints what a cluster description resolved to.
struct SimulateClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cluster", abstract: "Show a cluster: GPUs, servers, link classes.")

    @OptionGroup var clusterOptions: SimulateClusterOptions

    func run() throws {
        try reportingErrors {
            let c = try clusterOptions.load()
            let net = c.network
            print("cluster   \(c.name)")
            print("gpus      \(c.gpuCount) x \(c.gpu.name) (\(formatBytes(c.gpu.memoryBytes)), HBM \(formatBandwidth(c.gpu.memoryBandwidth)), BF16 \(String(format: "%.1f", c.gpu.bf16FlopsPerSecond / 1e12)) TFLOP/s)")
            print("servers   \(c.serverCount)")
            print("nodes     \(net.nodes.count) (\(NetworkNode.Kind.allCases.map { k in "\(net.nodes.filter { $0.kind == k }.count) \(k.rawValue)" }.joined(separator: ", ")))")
            var rows: [[String]] = []
            for (i, cls) in net.linkClasses.enumerated() {
                let links = net.links.filter { $0.linkClass == i }
                let bws = Set(links.map(\.bandwidth)).sorted().map(formatBandwidth).joined(separator: ", ")
                let lats = Set(links.map(\.latency)).sorted().map(\.description).joined(separator: ", ")
                rows.append([cls.name, "\(links.count)", bws, lats, cls.forwarding.description])
            }
            print(renderTable(["link class", "simplex links", "bandwidth", "latency", "forwarding"], rows))
        }
    }
}
