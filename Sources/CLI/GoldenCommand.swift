import ArgumentParser
import Dispatch
import Foundation
import Reference
import Yams

/// `treeattn golden`: writes golden test vectors (one .safetensors per case and dtype) and manifest.json.
struct GoldenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "golden",
        abstract: "Generate golden test vectors for GPU attention kernels.",
        discussion: """
            Suites: standard, decode, edge, tree, or a YAML/JSON file listing cases (keys: name, batch, heads, kv_heads, \
            seq_q, seq_k, head_dim, value_dim, causal, window, softcap, scale, alibi, cache_seqlens, std, seed, splits). \
            Inputs are rounded once to each dtype; goldens are f64 (and f32) computed from those exact values; \
            tolerances come from an emulated naive pipeline in the same dtype.
            """)

    @Option(help: "standard, decode, edge, tree, or a .yaml/.json suite file.") var suite = "standard"
    @Option(help: "Comma-separated test dtypes: bf16, f16, f32.") var dtype = "bf16,f16,f32"
    @Option(help: "Output folder (created if missing).") var out: String
    @Flag(help: "Also write every tensor as .npy under <out>/<case>/ (bf16 as '<u2' bits).") var npy = false

    func run() throws {
        do { try execute() } catch let error as ReferenceError { throw CLIError(error.description) }
    }

    func execute() throws {
        let specs = try loadSuite()
        let dtypes = try dtype.split(separator: ",").map { text -> DType in
            let t = try DType(parsing: String(text))
            guard [.bf16, .f16, .f32].contains(t) else { throw CLIError("--dtype takes bf16, f16, f32; got \(text)") }
            return t
        }
        guard !dtypes.isEmpty else { throw CLIError("--dtype needs at least one dtype") }
        for spec in specs { try spec.validate() }
        if Set(specs.map(\.name)).count != specs.count { throw CLIError("suite has duplicate case names") }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var cases: [GoldenCase] = []
        let total = specs.count * dtypes.count
        for spec in specs {
            for t in dtypes {
                let start = DispatchTime.now().uptimeNanoseconds
                let c = try GoldenCase(spec: spec, dtype: t)
                try c.file.write(to: out + "/\(c.name).safetensors")
                if npy {
                    let folder = out + "/\(c.name)"
                    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                    for (name, data) in c.file.tensors { try NPYFile.write(data, to: folder + "/\(name).npy") }
                }
                cases.append(c)
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                print(String(format: "[%d/%d] %@  out atol %.3g  lse atol %.3g  (%.2f s)", cases.count, total, c.name,
                             c.outputTolerance.atol, c.lseTolerance.atol, seconds))
            }
        }
        let suiteName = GoldenSuite(rawValue: suite) != nil ? suite : (suite as NSString).lastPathComponent
        try AtomicFile.write(GoldenManifest(suite: suiteName, cases: cases).json, to: out + "/manifest.json")
        print("wrote \(cases.count) cases and manifest.json to \(out)")
    }

    func loadSuite() throws -> [GoldenCaseSpec] {
        if let builtIn = GoldenSuite(rawValue: suite) { return builtIn.cases }
        let ext = (suite as NSString).pathExtension.lowercased()
        guard ["yaml", "yml", "json"].contains(ext) else {
            throw CLIError("unknown suite '\(suite)' (standard, decode, edge, tree, or a .yaml/.json file)")
        }
        let text = String(decoding: try AtomicFile.read(suite), as: UTF8.self)
        do {
            if let list = try? YAMLDecoder().decode([GoldenCaseSpec].self, from: text) { return list }
            struct Wrapped: Decodable { let cases: [GoldenCaseSpec] }
            return try YAMLDecoder().decode(Wrapped.self, from: text).cases
        } catch {
            throw CLIError("\(suite): not a list of golden cases (\(String(describing: error).split(separator: "\n").first ?? ""))")
        }
    }
}
