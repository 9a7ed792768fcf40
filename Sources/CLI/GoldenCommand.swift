import ArgumentParser
import CLICommon
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
            tolerances come from an emulated naive pipeline in the same dtype. The fp8 suite's inputs are FP8 codes \
            (e4m3fn, e5m2) with descale factors, its dtype the output's (bf16 or f16), its output tolerance in two \
            variants (P rounded to e4m3fn or not). \
            --backward adds the upstream gradient do (rounded to the dtype) and the f64 gradients dq, dk, dv (and \
            their f32 roundings), per-shard gradients for tree splits, and each gradient's tolerance from an emulated \
            naive same-precision backward (docs/backward.md). Layouts: docs/golden.md.
            """)

    @Option(help: ArgumentHelp("\(SuiteChoice.usage).", valueName: "suite")) var suite: SuiteChoice = .builtIn(
        .standard)
    @Option(help: "Comma-separated test dtypes: bf16, f16, f32.") var dtype = "bf16,f16,f32"
    @Option(help: "Output folder: must not exist or be empty; appears complete at the end.") var out: String
    @Flag(help: "Also write every tensor as .npy under <out>/<case>/ (bf16 as '<u2' bits, FP8 as '|u1' bytes).")
    var npy = false
    @Flag(help: "Also write the backward: do, dq, dk, dv (and per-shard gradients of tree splits) with tolerances.")
    var backward = false

    @OptionGroup var memory: MemoryOptions

    func validate() throws { try suite.validate() }

    func run() throws {
        let specs: [GoldenCaseSpec]
        switch suite {
        case .builtIn(let builtIn): specs = builtIn.cases
        case .file(let path): specs = try GoldenSuiteWriter.loadSuite(path: path)
        }
        var writer = GoldenSuiteWriter(
            suite: suite.name, specs: specs,
            dtypes: try parseList(dtype, "--dtype") { try DType(parsing: $0) })
        (writer.npy, writer.backward) = (npy, backward)
        try writer.write(to: out) { done, total, written in
            let c = written.golden
            let gradients = (c.gradientTolerances ?? []).map {
                String(format: "  %@ atol %.3g", $0.name, $0.tolerance.atol)
            }
            print(
                String(
                    format: "[%d/%d] %@  out atol %.3g  lse atol %.3g%@  (%.2f s)", done, total, c.name,
                    c.outputTolerance.atol, c.lseTolerance.atol, gradients.joined(), written.seconds))
        }
        print("wrote \(total(writer)) cases and manifest.json to \(out)")
    }

    func total(_ writer: GoldenSuiteWriter) -> Int { writer.specs.count * writer.dtypes.count }
}
