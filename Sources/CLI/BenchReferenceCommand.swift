import ArgumentParser
import Benchmarks
import CLICommon
import Foundation
import Reference

/// `treeattn bench reference`: the reference kernel against the machine's own limits, measured in the same run:
/// prefill and backward GFLOP/s next to dgemm/sgemm, decode GB/s of K/V next to a streaming read of the same bytes on all cores.
struct BenchReferenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reference",
        abstract:
            "Prefill and backward vs dgemm/sgemm, decode vs a streaming read, f64 and f32, in one run (release build).",
        discussion: """
            Every line is a ratio of two rates measured alternately in this process (best of --repeats each), so a \
            busy machine slows both alike. --json prints the same results with the CPU model, the OpenBLAS core and \
            thread count and the kernel instruction set, for comparing machines; python/bench_numpy.py runs NumPy \
            on the same shapes next to it.
            """)

    @Option(help: "Prefill sequence length (Sq = Sk).") var seq = 2048
    @Option(help: "Prefill query heads (= KV heads).") var heads = 8
    @Option(help: "Decode key counts as powers of two, comma separated.") var decodeLog2Keys = "12,14,16,18,20,22"
    @Option(help: "Precisions to run: f64, f32 or both.") var precision: [Precision] = [.f64, .f32]
    @Option(help: "Repetitions (best time is reported).") var repeats = 3
    @Option(help: "Each decode timing repeats the call until about this many keys are processed.") var timingKeys =
        1 << 21
    @Option(help: "Kernel element-wise instruction set: baseline or avx2-fma (default: the best this CPU has).")
    var kernels: KernelISA?
    @Option(help: "Kernel tile: query rows per block.") var queryRows = KernelBlocking.default.queryRows
    @Option(help: "Kernel tile: keys per block.") var keyBlock = KernelBlocking.default.keys
    @Option(help: "Kernel: keys per parallel chunk of few-row problems.") var splitKeys = KernelBlocking.default
        .splitKeys
    @Option(help: "Kernel: rows per band of a causal diagonal block (a value >= --query-rows computes whole blocks).")
    var band = KernelBlocking.default.band
    @Flag(help: "Print the results as JSON (with the machine description) instead of text.") var json = false
    @Flag(help: "Skip the backward (dQ, dK, dV on the prefill shape, 10 d FLOPs per visible pair vs dgemm/sgemm).")
    var noBackward = false

    func validate() throws {
        guard queryRows > 0, keyBlock > 0, splitKeys > 0, band > 0, timingKeys > 0 else {
            throw CLIError("--query-rows, --key-block, --split-keys, --band and --timing-keys must be positive")
        }
        guard (1...4096).contains(heads), (16...65_536).contains(seq), (1...100).contains(repeats) else {
            throw CLIError("--heads must be in 1...4096, --seq in 16...65536, --repeats in 1...100")
        }
        _ = try log2Keys()
    }

    func log2Keys() throws -> [Int] {
        try decodeLog2Keys.split(separator: ",").map {
            guard let n = Int($0.trimmingCharacters(in: .whitespaces)), (4...24).contains(n) else {
                throw CLIError("--decode-log2-keys takes integers in 4...24, got '\(decodeLog2Keys)'")
            }
            return n
        }
    }

    func run() throws {
        let bench = ReferenceBench(
            blocking: KernelBlocking(
                queryRows: queryRows, keys: keyBlock, splitKeys: splitKeys, isa: kernels ?? .supported, band: band),
            repeats: repeats, timingKeys: timingKeys,
            progress: json
                ? nil
                : {
                    print($0.textLine)
                    fflush(stdout)
                })
        if !json {
            #if DEBUG
            print(
                "warning: debug build; run `swift build -c release` and .build/release/treeattn for meaningful numbers")
            #endif
            print(BenchMachine.current(isa: kernels ?? .supported).textLine)
        }
        let results = try bench.all(
            precisions: precision, heads: heads, seq: seq, log2Keys: try log2Keys(), backward: !noBackward)
        if json {
            let report = BenchReport(
                machine: .current(isa: kernels ?? .supported), blocking: [queryRows, keyBlock, splitKeys, band],
                results: results)
            print(try JSONText.pretty(report))
        } else {
            print("\(results.filter { $0.ratio >= $0.goal }.count) of \(results.count) ratios meet their goal")
        }
    }
}

extension KernelISA: ExpressibleByArgument {}
