import ArgumentParser
import CLICommon
import Dispatch
import Foundation
import Reference

/// `treeattn golden`: writes golden test vectors (one .safetensors per case and dtype) and manifest.json.
struct GoldenCommand: ParsableCommand, MemoryBoundedCommand {
    static let configuration = CommandConfiguration(
        commandName: "golden",
        abstract: "Generate golden test vectors for GPU attention kernels.",
        discussion: """
            Suites: \(SuiteChoice.usage) listing cases (keys: name, batch, heads, kv_heads, \
            seq_q, seq_k, head_dim, value_dim, causal, window, softcap, scale, alibi, cache_seqlens, std, seed, splits; \
            layout varlen|paged|merge with seqlens_q/seqlens_k, page_size/page_layout, partials/lse_base). \
            Inputs are rounded once to each dtype; goldens are f64 (and f32) computed from those exact values; \
            tolerances come from an emulated naive pipeline in the same dtype. \
            --backward adds the upstream gradient do (rounded to the dtype) and the f64 gradients dq, dk, dv (and \
            their f32 roundings), per-shard gradients for tree splits, and each gradient's tolerance from an emulated \
            naive same-precision backward (docs/backward.md). Layouts: docs/golden.md.
            """)

    @Option(help: ArgumentHelp("\(SuiteChoice.usage).", valueName: "suite")) var suite: SuiteChoice = .builtIn(.standard)
    @Option(help: "Comma-separated test dtypes: bf16, f16, f32.") var dtype = "bf16,f16,f32"
    @Option(help: "Output folder: must not exist or be empty; appears complete at the end.") var out: String
    @Flag(help: "Also write every tensor as .npy under <out>/<case>/ (bf16 as '<u2' bits).") var npy = false
    @Flag(help: "Also write the backward: do, dq, dk, dv (and per-shard gradients of tree splits) with tolerances.")
    var backward = false

    @OptionGroup var memory: MemoryOptions

    func validate() throws { try suite.validate() }

    func run() throws {
        let specs = try loadSuite()
        let dtypes = try dtype.split(separator: ",").map { text -> DType in
            let t = try DType(parsing: String(text))
            guard [.bf16, .f16, .f32].contains(t) else { throw CLIError("--dtype takes bf16, f16, f32; got \(text)") }
            return t
        }
        guard !dtypes.isEmpty else { throw CLIError("--dtype needs at least one dtype") }
        for spec in specs { try spec.validate() }
        if Set(specs.map(\.name)).count != specs.count { throw CLIError("suite has duplicate case names") }
        // The whole suite is written into a temporary folder next to --out and renamed onto it at the end: a failed
        // or killed run never leaves case files without a manifest under --out.
        let folder = try AtomicFolder(out)
        defer { folder.discard() }
        let dir = folder.temporary
        var cases: [GoldenCase] = []
        let total = specs.count * dtypes.count
        for spec in specs {
            for t in dtypes {
                let start = DispatchTime.now().uptimeNanoseconds
                let c = try GoldenCase(spec: spec, dtype: t, backward: backward)
                try c.file.write(to: dir + "/\(c.name).safetensors")
                if npy {
                    let caseFolder = dir + "/\(c.name)"
                    try createFolder(caseFolder)
                    for (name, data) in c.file.tensors { try NPYFile.write(data, to: caseFolder + "/\(name).npy") }
                }
                cases.append(c)
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                let gradients = (c.gradientTolerances ?? []).map { String(format: "  %@ atol %.3g", $0.name, $0.tolerance.atol) }
                print(String(format: "[%d/%d] %@  out atol %.3g  lse atol %.3g%@  (%.2f s)", cases.count, total, c.name,
                             c.outputTolerance.atol, c.lseTolerance.atol, gradients.joined(), seconds))
            }
        }
        try AtomicFile.write(GoldenManifest(suite: suite.name, cases: cases).json, to: dir + "/manifest.json")
        try folder.commit()
        print("wrote \(cases.count) cases and manifest.json to \(out)")
    }

    /// The cases of a built-in suite, or of a suite file: a list of cases, or a mapping with key `cases`.
    func loadSuite() throws -> [GoldenCaseSpec] {
        let path: String
        switch suite {
        case .builtIn(let builtIn): return builtIn.cases
        case .file(let file): path = file
        }
        let text = String(decoding: try AtomicFile.read(path), as: UTF8.self)
        let root: Any?
        do {
            root = try StructuredText.load(text, json: (path as NSString).pathExtension.lowercased() == "json")
        } catch let error as CoreError {
            throw CoreError.file(path: path, problem: error.description)
        } catch {
            throw CLIError("\(path): not a list of golden cases (\(shortReason(error)))")
        }
        return try GoldenCaseSpec.parseSuite(root, context: path)
    }
}
