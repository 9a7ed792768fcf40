import ArgumentParser
import CLICommon
import Foundation
import Reference

/// `treeattn check`: compares backend outputs with golden files and exits non-zero if any case fails.
struct CheckCommand: ParsableCommand, MemoryBoundedCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check backend outputs against golden files.",
        discussion: """
            Results: a folder with <case>.safetensors (tensors out, optional lse; metadata layout, lse_base), or \
            <case>.out.npy and <case>.lse.npy, or <case>/out.npy; or one .safetensors with <case>.out and <case>.lse. \
            Output layout bhsd or bshd (auto: metadata, then shape); LSE natural log or base 2; FlashAttention 2's +inf \
            LSE of empty rows is recognised. Varlen and merge results must have the golden's exact shape; merge results \
            may use FlashInfer's names v_merged and s_merged (and LSE, softmax_lse), in the golden's LSE base unless \
            their metadata or --lse-base says otherwise. Backward cases: dq, dk, dv are checked when the results hold \
            them. FP8 cases (suite fp8) carry two output tolerances, p-fp8 (P rounded to e4m3fn before P.V, \
            FlashAttention 3) and p-dtype (P in the test dtype): --tolerance-variant or the results' metadata \
            p_rounding (fp8, dtype) picks one, else p-fp8; FP8 KV-cache cases (suite fp8-kvcache) likewise with \
            kv-dequant (vLLM) and kv-scale (FlashInfer), metadata kv_dequant (dtype, scale); the report names the \
            variant. FP8 results in .npy are raw '|u1' \
            bytes: say their format with --results-dtype. Rule: \(GoldenTolerance.rule).
            """)

    @Option(help: "Golden folder (with manifest.json).") var golden: String
    @Option(help: "Results folder or .safetensors file.") var results: String
    @Option(help: "Write a JSON report here ('-' or /dev/stdout: standard output, instead of the table).")
    var json: String?
    @Option(help: "auto, bhsd or bshd.") var layout: GoldenChecker.Layout = .auto
    @Option(help: "auto, e or 2.") var lseBase: GoldenChecker.LSEBase = .auto
    @Option(help: "Only cases whose name contains this text.") var cases: String?
    @Option(
        help:
            "Output tolerance of cases with several: p-fp8 or p-dtype (fp8), kv-dequant or kv-scale (fp8-kvcache); default: the results' metadata, else the case's first."
    )
    var toleranceVariant: ToleranceVariant?
    @Option(help: "Read raw-byte results ('|u1' .npy, U8) as this FP8 dtype: f8e4m3fn or f8e5m2.")
    var resultsDtype: DType?

    @OptionGroup var memory: MemoryOptions

    func run() throws {
        // The report's location is checked (and reserved) before the check runs.
        let report = try json.map {
            try AtomicOutputs(
                [$0], inputs: AtomicOutputs.filesIn([golden, results, golden + "/manifest.json"]),
                standardOutput: true)
        }
        defer { report?.discard() }
        var checker = GoldenChecker(goldenFolder: golden, results: results)
        checker.layout = layout
        checker.lseBase = lseBase
        checker.filter = cases
        checker.toleranceVariant = toleranceVariant?.rawValue
        if let resultsDtype {
            guard resultsDtype.float8Format != nil else {
                throw ValidationError("--results-dtype is for FP8 results read from raw bytes: f8e4m3fn or f8e5m2")
            }
            checker.resultsDtype = resultsDtype
        }
        let rows = try checker.run()
        // A report on standard output is the command's output: the table is not printed before it.
        if !(json.map(AtomicFile.isStandardOutput) ?? false) { print(GoldenChecker.table(rows)) }
        if let json {
            try report?.write(GoldenChecker.jsonReport(rows), to: json)
            try report?.commit()
        }
        // The only exit 1: the check ran and a case failed.
        if rows.contains(where: { !$0.passed }) { throw ExitCode(1) }
    }
}
