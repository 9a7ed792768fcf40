import CKernels
import Dispatch
import Foundation
import Reference

/// The measurements of `bench reference`: every attention run alternates with its baseline (gemm, or a streaming
/// read of the same bytes), best of `repeats` each, so a busy machine slows both alike.
public struct ReferenceBench {
    /// The kernel's tile sizes and instruction set.
    public var blocking: KernelBlocking
    /// Repetitions; the best time of each side counts.
    public var repeats: Int
    /// Each decode timing repeats the call until about this many keys are processed.
    public var timingKeys: Int
    /// Called with each result as soon as it is measured.
    public var progress: ((BenchResult) -> Void)?

    /// A benchmark with these settings.
    public init(blocking: KernelBlocking, repeats: Int, timingKeys: Int, progress: ((BenchResult) -> Void)? = nil) {
        (self.blocking, self.repeats, self.timingKeys, self.progress) = (blocking, repeats, timingKeys, progress)
    }

    /// Every measurement `bench reference` makes, in order: prefill (non-causal and causal) per precision, the
    /// backward on the same shapes unless `backward` is false, then decode at 2^n keys for each n in `log2Keys`,
    /// GQA-8 and MHA, per precision.
    public func all(precisions: [Precision], heads: Int, seq: Int, log2Keys: [Int], backward: Bool) throws
        -> [BenchResult]
    {
        var results: [BenchResult] = []
        for p in precisions {
            for causal in [false, true] {
                results.append(
                    p == .f64
                        ? try prefill(Double.self, heads: heads, seq: seq, causal: causal)
                        : try prefill(Float.self, heads: heads, seq: seq, causal: causal))
            }
        }
        if backward {
            for p in precisions {
                for causal in [false, true] {
                    results.append(
                        p == .f64
                            ? try self.backward(Double.self, heads: heads, seq: seq, causal: causal)
                            : try self.backward(Float.self, heads: heads, seq: seq, causal: causal))
                }
            }
        }
        for p in precisions {
            for n in log2Keys {
                for group in [8, 1] {
                    results.append(
                        p == .f64
                            ? try decode(Double.self, keys: 1 << n, groupSize: group)
                            : try decode(Float.self, keys: 1 << n, groupSize: group))
                }
            }
        }
        return results
    }

    /// B = 1, Hq = Hkv = heads, Sq = Sk = seq, d = 128; FLOPs 4 d per visible (query, key) pair (QK^T and PV), so
    /// causal counts seq (seq + 1) / 2 pairs per head. Baseline: gemm on one head's QK^T (seq x seq x d), all threads.
    public func prefill<S: AttentionScalar>(_: S.Type, heads: Int, seq: Int, causal: Bool) throws -> BenchResult {
        let x = try prefillInputs(S.self, heads: heads, seq: seq)
        let options = AttentionOptions(causal: causal ? .bottomRight : .none)
        let (attentionTime, gemmRate) = try againstGemm(S.self, seq: seq, d: prefillDim) {
            _ = try ExactAttention.forward(x, options: options, blocking: blocking)
        }
        return prefillResult(
            S.self, kind: "prefill", flopsPerPair: 4, heads: heads, seq: seq, causal: causal,
            seconds: attentionTime, gemmRate: gemmRate, goal: S.self == Double.self ? 0.85 : 0.75)
    }

    /// The head dimension of the prefill and backward shapes.
    var prefillDim: Int { 128 }

    /// Q, K, V of the prefill shape (b = 1, Hq = Hkv = heads, Sq = Sk = seq, d = 128).
    func prefillInputs<S: AttentionScalar>(_: S.Type, heads: Int, seq: Int) throws -> AttentionInputs<S> {
        let shape = [1, heads, seq, prefillDim]
        return try AttentionInputs(
            q: pattern(S.self, shape, salt: 1), k: pattern(S.self, shape, salt: 2),
            v: pattern(S.self, shape, salt: 3))
    }

    /// The result line of a prefill-shaped run: GFLOP/s at `flopsPerPair` x d per visible (query, key) pair (causal
    /// counts seq (seq + 1) / 2 pairs per head) next to the gemm baseline; reported to `progress`.
    func prefillResult<S: AttentionScalar>(
        _: S.Type, kind: String, flopsPerPair: Double, heads: Int, seq: Int, causal: Bool,
        seconds: Double, gemmRate: Double, goal: Double
    ) -> BenchResult {
        let pairs = causal ? Double(seq) * Double(seq + 1) / 2 : Double(seq) * Double(seq)
        let rate = flopsPerPair * Double(prefillDim) * Double(heads) * pairs / seconds / 1e9
        let result = BenchResult(
            kind: kind, precision: S.precisionName,
            shape: "b=1 hq=\(heads) hkv=\(heads) sq=\(seq) sk=\(seq) d=\(prefillDim)\(causal ? " causal" : "")",
            seconds: seconds, rate: rate, unit: "GFLOP/s", baselineName: S.self == Double.self ? "dgemm" : "sgemm",
            baselineRate: gemmRate, ratio: rate / gemmRate, goal: goal)
        progress?(result)
        return result
    }

    /// The backward on the prefill shape, given the forward's LSE and D (as a training step has them): FLOPs
    /// 10 d per visible (query, key) pair (five products: S = QK^T recomputed, dP = dO V^T, dV = P^T dO, dK = dS^T Q,
    /// dQ = dS K), so non-causal counts 10 B Hq Sq Sk d. Baseline: the same gemm as `prefill`, in the same run.
    public func backward<S: AttentionScalar>(_: S.Type, heads: Int, seq: Int, causal: Bool) throws -> BenchResult {
        let x = try prefillInputs(S.self, heads: heads, seq: seq)
        let dO = try pattern(S.self, [1, heads, seq, prefillDim], salt: 7)
        let options = AttentionOptions(causal: causal ? .bottomRight : .none)
        let forward = try ExactAttention.forward(x, options: options, blocking: blocking)
        let delta = try AttentionBackward.delta(output: forward.output, dO: dO)
        let (backwardTime, gemmRate) = try againstGemm(S.self, seq: seq, d: prefillDim) {
            _ = try AttentionBackward.gradients(
                x, dO: dO, lse: forward.lse, delta: delta, options: options, blocking: blocking)
        }
        return prefillResult(
            S.self, kind: "backward", flopsPerPair: 10, heads: heads, seq: seq, causal: causal,
            seconds: backwardTime, gemmRate: gemmRate, goal: 0.6)
    }

    /// Best-of-`repeats` seconds of `body`, alternating with the baseline: one head's QK^T gemm (seq x seq x d) on
    /// all threads, whose GFLOP/s is returned with it.
    func againstGemm<S: AttentionScalar>(_: S.Type, seq: Int, d: Int, _ body: () throws -> Void) rethrows
        -> (seconds: Double, gemmRate: Double)
    {
        let a = [S](repeating: 0.5, count: seq * d), b = [S](repeating: 0.25, count: seq * d)
        var c = [S](repeating: 0, count: seq * seq)
        var gemmTime = Double.infinity, bodyTime = Double.infinity
        for _ in 0..<repeats {
            gemmTime = min(
                gemmTime,
                seconds {
                    a.withUnsafeBufferPointer { pa in
                        b.withUnsafeBufferPointer { pb in
                            c.withUnsafeMutableBufferPointer { pc in
                                S.gemm(
                                    m: seq, n: seq, k: d, alpha: 1, a: pa.baseAddress!, lda: d, b: pb.baseAddress!,
                                    ldb: d,
                                    transB: true, beta: 0, c: pc.baseAddress!, ldc: seq)
                            }
                        }
                    }
                })
            bodyTime = min(bodyTime, try seconds(body))
        }
        return (bodyTime, 2 * Double(seq) * Double(seq) * Double(d) / gemmTime / 1e9)
    }

    /// Sq = 1, `groupSize` query heads on one KV head (8: GQA/MQA, 1: MHA), d = 128. Baseline: a streaming read of the
    /// same K/V bytes (a vectorised max over slices, one per core at a time; `streamingRead`). Small sizes repeat the
    /// call inside one timing so each timing is at least about `timingKeys` keys of work. The ceiling streams the same
    /// bytes the same way doing the decode's `groupSize` FMAs per element with everything else in registers
    /// (`CKernels`' `tk_stream_fma`): what any decode kernel could reach here. All three alternate, best of `repeats`.
    public func decode<S: AttentionScalar>(_: S.Type, keys: Int, groupSize: Int) throws -> BenchResult {
        let d = 128
        let x = try AttentionInputs(
            q: pattern(S.self, [1, groupSize, 1, d], salt: 4),
            k: pattern(S.self, [1, 1, keys, d], salt: 5),
            v: pattern(S.self, [1, 1, keys, d], salt: 6))
        let inner = max(1, timingKeys / keys)
        var decodeTime = Double.infinity, streamTime = Double.infinity, ceilingTime = Double.infinity
        for _ in 0..<repeats {
            decodeTime = min(
                decodeTime,
                try seconds {
                    for _ in 0..<inner { _ = try ExactAttention.forward(x, blocking: blocking) }
                } / Double(inner))
            streamTime = min(
                streamTime,
                seconds {
                    for _ in 0..<inner { streamingRead(x.k.data, x.v.data) }
                } / Double(inner))
            ceilingTime = min(
                ceilingTime,
                seconds {
                    for _ in 0..<inner { streamingRead(x.k.data, x.v.data, fmasPerElement: groupSize) }
                } / Double(inner))
        }
        let bytes = Double(2 * keys * d * MemoryLayout<S>.size)
        var result = BenchResult(
            kind: "decode", precision: S.precisionName,
            shape:
                "b=1 hq=\(groupSize) hkv=1 sq=1 sk=2^\(keys.trailingZeroBitCount) d=\(d) (\(groupSize > 1 ? "GQA" : "MHA"))",
            seconds: decodeTime, rate: bytes / decodeTime / 1e9, unit: "GB/s", baselineName: "streaming read",
            baselineRate: bytes / streamTime / 1e9, ratio: streamTime / decodeTime, goal: 0.8)
        result.ceiling = min(1, streamTime / ceilingTime)
        progress?(result)
        return result
    }

    /// Reads every element of `k` and `v` once, slices spread over the cores: with `fmasPerElement` 0, the kernel's
    /// vectorised max at the best instruction set (memory-bound: two vector loads a cycle), not BLAS's asum, whose speed
    /// depends on the core OpenBLAS picks (under its Zen core `sasum` ran at half the memory's speed here); otherwise
    /// that many FMAs per element in registers (`tk_stream_fma`), the decode's ceiling.
    func streamingRead<S: AttentionScalar>(_ k: [S], _ v: [S], fmasPerElement: Int = 0) {
        let slices = 4 * ProcessInfo.processInfo.activeProcessorCount
        let isa = KernelISA.supported
        k.withUnsafeBufferPointer { kb in
            v.withUnsafeBufferPointer { vb in
                let pointers = StreamSlices(k: kb.baseAddress!, v: vb.baseAddress!)
                let per = (k.count + slices - 1) / slices
                DispatchQueue.concurrentPerform(iterations: 2 * slices) { i in
                    let base = i < slices ? pointers.k : pointers.v
                    let lo = (i % slices) * per, hi = min(lo + per, k.count)
                    guard lo < hi else { return }
                    if fmasPerElement == 0 {
                        _ = S.rowMax(base + lo, count: hi - lo, isa: isa)
                    } else {
                        _ = S.streamFMA(base + lo, count: hi - lo, rows: fmasPerElement, isa: isa)
                    }
                }
            }
        }
    }

    /// A cheap deterministic fill in [-1, 1) (the values only need to be ordinary numbers).
    func pattern<S: AttentionScalar>(_: S.Type, _ shape: [Int], salt: UInt64) throws -> Tensor<S> {
        let n = shape.reduce(1, *)
        var data = [S](repeating: 0, count: n)
        for i in 0..<n {
            let h = (UInt64(i) &+ salt &* 0x9E37_79B9_7F4A_7C15) &* 0xBF58_476D_1CE4_E5B9
            data[i] = S(Double(h >> 40) / Double(1 << 23) - 1)
        }
        return try Tensor(shape: shape, data: data)
    }

    func seconds(_ body: () throws -> Void) rethrows -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }
}

/// Base pointers shared by the streaming-read workers (read only).
private struct StreamSlices<S>: @unchecked Sendable {
    let k: UnsafePointer<S>, v: UnsafePointer<S>
}

extension AttentionScalar {
    /// `tk_stream_fma` of this precision: `rows` FMAs per element of x[0..<count], streamed once.
    static func streamFMA(_ x: UnsafePointer<Self>, count: Int, rows: Int, isa: KernelISA) -> Self {
        if Self.self == Double.self {
            return Self(
                tk_stream_fma_f64(isa.level, UnsafeRawPointer(x).assumingMemoryBound(to: Double.self), count, rows))
        }
        return Self(tk_stream_fma_f32(isa.level, UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), count, rows))
    }
}
