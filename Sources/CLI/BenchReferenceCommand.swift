import ArgumentParser
import CLICommon
import Dispatch
import Foundation
import Reference

/// `treeattn bench reference`: exact-attention throughput against raw BLAS measured in the same run.
struct BenchReferenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reference",
        abstract: "Prefill GFLOP/s vs raw cblas_dgemm, and decode GB/s of K/V vs a BLAS streaming read (release build).")

    @Option(help: "Prefill sequence length (Sq = Sk).") var seq = 4096
    @Option(help: "Prefill heads.") var heads = 8
    @Option(help: "Decode keys.") var decodeKeys = 1 << 20
    @Option(help: "Repetitions (best time is reported).") var repeats = 3
    @Option(help: "Kernel tile: query rows per block.") var queryRows = KernelBlocking.default.queryRows
    @Option(help: "Kernel tile: keys per block.") var keyBlock = KernelBlocking.default.keys

    func validate() throws {
        guard queryRows > 0, keyBlock > 0 else { throw CLIError("--query-rows and --key-block must be positive") }
    }

    func run() throws {
        #if DEBUG
        print("warning: debug build; run `swift run -c release treeattn bench reference` for meaningful numbers")
        #endif
        let d = 128
        let blocking = KernelBlocking(queryRows: queryRows, keys: keyBlock)
        print("BLAS threads: \(BLASThreads.count); kernel tile \(queryRows) query rows x \(keyBlock) keys")

        // Baseline: raw dgemm on the QK^T shape of one head (seq x seq x d), all BLAS threads. Baseline and
        // attention runs alternate, best of each, so a busy machine slows both alike.
        var g = SeededGenerator(seed: 1)
        let a = g.normals(seq * d), b = g.normals(seq * d)
        var c = [Double](repeating: 0, count: seq * seq)
        let x = try AttentionInputs(
            q: Tensor(shape: [1, heads, seq, d], data: g.normals(heads * seq * d)),
            k: Tensor(shape: [1, heads, seq, d], data: g.normals(heads * seq * d)),
            v: Tensor(shape: [1, heads, seq, d], data: g.normals(heads * seq * d)))
        var gemmTime = Double.infinity, attentionTime = Double.infinity
        for _ in 0..<max(1, repeats) {
            gemmTime = min(gemmTime, time {
                a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                    Double.gemm(m: seq, n: seq, k: d, alpha: 1, a: pa.baseAddress!, lda: d, b: pb.baseAddress!, ldb: d,
                                transB: true, beta: 0, c: pc.baseAddress!, ldc: seq)
                } } }
            })
            // Prefill: b=1, h=heads, s=seq, d=128, f64, no mask. FLOPs = 4 b h s^2 d (QK^T and PV).
            attentionTime = min(attentionTime, try time { _ = try ExactAttention.forward(x, blocking: blocking) })
        }
        c = []
        let gemmRate = 2 * Double(seq) * Double(seq) * Double(d) / gemmTime / 1e9
        let attentionRate = 4 * Double(heads) * Double(seq) * Double(seq) * Double(d) / attentionTime / 1e9
        print(String(format: "prefill b=1 h=%d s=%d d=%d f64: %.3f s, %.1f GFLOP/s", heads, seq, d, attentionTime, attentionRate))
        print(String(format: "raw cblas_dgemm %dx%dx%d:        %.1f GFLOP/s", seq, seq, d, gemmRate))
        print(String(format: "ratio attention / dgemm: %.2f (goal >= 0.70)", attentionRate / gemmRate))

        // Decode: Sq=1, Sk=decodeKeys, 8 query heads sharing 1 KV head (MQA), d=128, f64.
        let n = decodeKeys
        let kv = try AttentionInputs(
            q: Tensor(shape: [1, 8, 1, d], data: g.normals(8 * d)),
            k: Tensor(shape: [1, 1, n, d], data: [Double](repeating: 0.01, count: n * d)),
            v: Tensor(shape: [1, 1, n, d], data: [Double](repeating: 1, count: n * d)))
        let rssBefore = peakResidentBytes()
        var decodeTime = Double.infinity, streamTime = Double.infinity
        for _ in 0..<max(1, repeats) {
            decodeTime = min(decodeTime, try time { _ = try ExactAttention.forward(kv, blocking: blocking) })
            // Baseline: the same bytes streamed by BLAS (dasum over K and V).
            streamTime = min(streamTime, time {
                kv.k.data.withUnsafeBufferPointer { _ = Double.absoluteSum($0.baseAddress!, count: n * d) }
                kv.v.data.withUnsafeBufferPointer { _ = Double.absoluteSum($0.baseAddress!, count: n * d) }
            })
        }
        let rssGrowth = peakResidentBytes() - rssBefore
        let kvBytes = Double(2 * n * d * 8)
        print(String(format: "decode Sq=1 Sk=%d Hq=8 Hkv=1 d=%d f64: %.4f s, %.2f GB/s of K/V", n, d, decodeTime, kvBytes / decodeTime / 1e9))
        print(String(format: "BLAS streaming read (dasum) of K/V:      %.2f GB/s", kvBytes / streamTime / 1e9))
        print(String(format: "ratio decode / stream: %.2f; peak RSS growth during decode: %.1f MB (K/V: %.0f MB)",
                     streamTime / decodeTime, Double(rssGrowth) / 1e6, kvBytes / 1e6))
    }

    func time(_ body: () throws -> Void) rethrows -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }
}

/// The process's peak resident set size in bytes (ru_maxrss is KiB on Linux).
func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return usage.ru_maxrss * 1024
}
