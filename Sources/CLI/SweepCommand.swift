import ArgumentParser
import Foundation
import Reference
import Simulator
import Studies

/// `treeattn sweep`: decode latency over sequence lengths x GPU counts x strategies, peak memory over hidden sizes;
/// writes CSV tables and SVG plots (docs/sweep.md).
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Sweep decode latency and memory; write CSV and SVG plots.",
        discussion: """
            Writes into --out: sweep.csv (one row per GPU count x sequence length x strategy, every report field),
            latency.svg, speedup.svg, and with --hidden-sizes memory.csv and memory.svg. Overheads default to zero
            (idealised). Columns and the overhead model: docs/sweep.md.
            """)

    @Option(name: .long, help: "Preset (\(ClusterPreset.usage)) or a YAML/JSON cluster file; must hold the largest --gpus.")
    var cluster: String

    @Option(name: .long, help: "Comma-separated sequence lengths N (e.g. 80000,160000 or 80k,1.28M).")
    var seqLens: String

    @Option(name: .long, help: "Comma-separated GPU counts (the first N GPUs of the cluster).")
    var gpus: String

    @Option(name: .long, help: "Comma-separated strategies (\(DecodeStrategy.usage)).")
    var strategy: String = "tree,ring"

    @Option(name: .long, help: "Query heads n_h.")
    var heads: Int = 16

    @Option(name: .long, help: "Key/value heads n_kv (default: heads).")
    var kvHeads: Int?

    @Option(name: .long, help: "Head dimension d_h.")
    var headDim: Int = 128

    @Option(name: .long, help: "Batch size b.")
    var batch: Int = 1

    @Option(name: .long, help: "bf16, fp16, fp32 or fp8.")
    var dtype: String = "bf16"

    @Option(name: .long, help: "Comma-separated hidden sizes d for the memory plot (\"\" for none).")
    var hiddenSizes: String = "2048,4096"

    @Option(name: .long, help: "Output directory (created if missing).")
    var out: String = "sweep-out"

    @OptionGroup var overheads: DecodeOverheadOptions

    @Flag(name: .long, help: "No progress bar.")
    var quiet = false

    func configuration() throws -> SweepConfiguration {
        let strategies = try parseList(strategy, "--strategy") { try DecodeStrategy.parse($0) }
        var c = SweepConfiguration(cluster: cluster, sequenceLengths: try parseList(seqLens, "--seq-lens", parseCount),
                                   gpuCounts: try parseList(gpus, "--gpus", parseCount), strategies: strategies)
        c.heads = heads
        c.kvHeads = kvHeads
        c.headDim = headDim
        c.batch = batch
        c.dtype = dtype
        c.hiddenSizes = hiddenSizes.trimmingCharacters(in: .whitespaces).isEmpty ? [] : try parseList(hiddenSizes, "--hidden-sizes", parseCount)
        c.options = try overheads.decodeOptions()
        try c.validate()
        return c
    }

    func run() throws {
        try reportingErrors {
            let c = try configuration()
            let bar = ProgressBar(title: "sweep", enabled: !quiet)
            defer { bar.close() }
            let result = try Sweep.run(c) { bar.update($0, $1, $2) }
            let files = try Sweep.files(result)
            try writeFiles(files, into: out)
            bar.close()
            print("wrote \(files.map { (out as NSString).appendingPathComponent($0.name) }.joined(separator: ", ")) (\(result.points.count) points)")
        }
    }
}

/// Splits "a,b,c" and parses each item; an empty list or a bad item is a one-line error.
func parseList<T>(_ text: String, _ option: String, _ parse: (String) throws -> T) throws -> [T] {
    let items = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    guard !items.isEmpty, !items.contains(where: \.isEmpty) else {
        throw SimulatorError.invalidArgument("\(option) must be a comma-separated list without empty items, got '\(text)'")
    }
    return try items.map { item in
        do { return try parse(item) } catch SimulatorError.invalidArgument(let message) {
            throw SimulatorError.invalidArgument("\(option): \(message)")
        }
    }
}

/// A positive count: "80000", "80k", "1.28M", "5.12M" (k = 1e3, M = 1e6, exact integers only).
func parseCount(_ text: String) throws -> Int {
    var number = text, scale = 1.0
    if let last = text.last, let factor = ["k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9][String(last)] {
        number = String(text.dropLast())
        scale = factor
    }
    guard let v = Double(number), v.isFinite, v * scale >= 1, v * scale < 1e15,
          (v * scale).rounded() == v * scale || abs((v * scale).rounded() - v * scale) < 1e-6 else {
        throw SimulatorError.invalidArgument("'\(text)' is not a positive integer count (e.g. 80000, 80k, 1.28M)")
    }
    return Int((v * scale).rounded())
}

/// Creates the directory if needed and writes every file atomically (temporary name, then rename).
func writeFiles(_ files: [(name: String, contents: String)], into directory: String) throws {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
        guard isDirectory.boolValue else { throw SimulatorError.file(path: directory, problem: "exists and is not a directory") }
    } else {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw SimulatorError.file(path: directory, problem: "cannot create directory")
        }
    }
    for f in files {
        try AtomicFile.write(f.contents, to: (directory as NSString).appendingPathComponent(f.name))
    }
}
