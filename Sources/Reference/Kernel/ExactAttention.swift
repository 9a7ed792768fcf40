import Dispatch
import RealModule

/// Exact attention on BLAS: scores and P.V through gemm, softmax online over key blocks (memory bounded by the tile
/// sizes, never by Sq x Sk). Masked keys are excluded, never multiplied by zero: NaN or Inf in a masked K or V row
/// cannot reach the output. Fully masked rows give output 0 and LSE -inf. NaN in unmasked inputs propagates.
public enum ExactAttention {
    /// Attention of every query over the keys in `keyRange` (default all). Masks keep their global key positions,
    /// so the result over a key shard is that shard's partial (O_i, LSE_i). Sinks (`AttentionOptions.sinks`) join the
    /// whole problem's softmax: without `keyRange` the result includes them; a partial over a key range leaves them
    /// out (a reduction adds them once, `AttentionSinks.apply`).
    /// `x` may hold values of the compute type (`AttentionInputs`) or bf16/f16 bits widened per tile
    /// (`HalfPrecisionInputs`).
    @_specialize(exported:true,where X == AttentionInputs<Double>)
    @_specialize(exported:true,where X == AttentionInputs<Float>)
    public static func forward<X: AttentionOperands>(
        _ x: X, options: AttentionOptions = AttentionOptions(),
        keyRange: Range<Int>? = nil, blocking: KernelBlocking = .default
    ) throws -> AttentionPartial<X.Scalar> {
        let rule = try ScoreRule(
            options: options, batch: x.batch, queryHeads: x.queryHeads,
            queries: x.queries, keys: x.keys, headDim: x.headDim)
        let range = keyRange ?? 0..<x.keys
        guard range.lowerBound >= 0, range.upperBound <= x.keys else {
            throw ReferenceError.invalidOption("key range \(range) outside 0..<\(x.keys)")
        }
        let partial = try compute(x, rule: rule, keyRange: range, blocking: blocking)
        return keyRange == nil ? try AttentionSinks.apply(options.sinks, to: partial) : partial
    }

    /// The partial of one key shard when `x.k` and `x.v` hold only that shard: keys `keyOffset ..< keyOffset +
    /// x.keys` of a problem with `totalKeys` keys. Masks, causality, windows, ALiBi and cache lengths use the global
    /// positions, so the result equals `forward(full, keyRange: keyOffset ..< keyOffset + x.keys)` bit for bit (what a
    /// distributed rank computes from the shard it read). Sinks are left out, as for any key range.
    @_specialize(exported:true,where S == Double)
    @_specialize(exported:true,where S == Float)
    public static func forward<S: AttentionScalar>(
        shard x: AttentionInputs<S>, keyOffset: Int, totalKeys: Int, options: AttentionOptions = AttentionOptions(),
        blocking: KernelBlocking = .default
    ) throws -> AttentionPartial<S> {
        guard keyOffset >= 0, totalKeys >= 0, !keyOffset.addingReportingOverflow(x.keys).overflow,
            keyOffset + x.keys <= totalKeys
        else {
            throw ReferenceError.invalidOption(
                "key shard \(keyOffset)..<\(keyOffset &+ x.keys) outside 0..<\(totalKeys)")
        }
        let rule = try ScoreRule(
            options: options, batch: x.batch, queryHeads: x.queryHeads,
            queries: x.queries, keys: totalKeys, headDim: x.headDim)
        return try compute(
            x, rule: rule, keyRange: keyOffset..<keyOffset + x.keys, keyBase: keyOffset, blocking: blocking)
    }

    @_specialize(where X == AttentionInputs<Double>)
    @_specialize(where X == AttentionInputs<Float>)
    static func compute<X: AttentionOperands>(
        _ x: X, rule: ScoreRule, keyRange: Range<Int>, keyBase: Int = 0, blocking: KernelBlocking,
        budget: TimeBudget = .current, progress: WorkProgress? = WorkProgress.current
    ) throws -> AttentionPartial<X.Scalar> {
        typealias S = X.Scalar
        let (B, Hq, Hkv, G) = (x.batch, x.queryHeads, x.kvHeads, x.groupSize)
        let (sq, sk, d, dv) = (x.queries, x.keys, x.headDim, x.valueDim)
        var result = AttentionPartial<S>.empty(batch: B, heads: Hq, queries: sq, valueDim: dv)
        let rowsPerGroup = G * sq
        if rowsPerGroup == 0 || B == 0 || Hkv == 0 { return result }

        let rowBlocks = (rowsPerGroup + blocking.queryRows - 1) / blocking.queryRows
        let chunks =
            (rowBlocks == 1 && keyRange.count > blocking.splitKeys)
            ? (keyRange.count + blocking.splitKeys - 1) / blocking.splitKeys : 1
        let groups = B * Hkv
        let items = groups * rowBlocks * chunks
        // Chunked problems write per-chunk partials here, merged afterwards in chunk order.
        var chunkOutputs = [S](repeating: 0, count: chunks > 1 ? items * rowsPerGroup * dv : 0)
        var chunkLSE = [S](repeating: -.infinity, count: chunks > 1 ? items * rowsPerGroup : 0)

        let savedThreads = BLASThreads.count
        if items > 1 { BLASThreads.set(1) }
        defer { if items > 1 { BLASThreads.set(savedThreads) } }

        x.withKernelOperands { qOperand, kOperand, vOperand in
            result.output.data.withUnsafeMutableBufferPointer { oBuf in
                result.lse.data.withUnsafeMutableBufferPointer { lBuf in
                    chunkOutputs.withUnsafeMutableBufferPointer { coBuf in
                        chunkLSE.withUnsafeMutableBufferPointer { clBuf in
                            let p = SendablePointers(
                                q: qOperand, k: kOperand, v: vOperand, o: oBuf.baseAddress, lse: lBuf.baseAddress,
                                chunkO: coBuf.baseAddress, chunkLSE: clBuf.baseAddress)
                            let pool = TileScratchPool<S>()
                            let body = { (item: Int) in
                                // Past the time limit the remaining tiles are skipped; the run then ends in an error.
                                if budget.expired { return }
                                pool.with { scratch in
                                    let chunk = item % chunks
                                    // Last row blocks first: under a causal mask they see the most keys, so the smallest tiles come
                                    // last and the cores finish together (tiles write disjoint rows: the order changes no value).
                                    let rowBlock = rowBlocks - 1 - (item / chunks) % rowBlocks
                                    let group = item / (chunks * rowBlocks)
                                    let b = group / Hkv, kvh = group % Hkv
                                    let r0 = rowBlock * blocking.queryRows
                                    let r1 = min(r0 + blocking.queryRows, rowsPerGroup)
                                    let keys: Range<Int>
                                    if chunks > 1 {
                                        let lo = keyRange.lowerBound + chunk * blocking.splitKeys
                                        keys = lo..<min(lo + blocking.splitKeys, keyRange.upperBound)
                                    } else {
                                        keys = keyRange
                                    }
                                    let tile = Tile(
                                        q: p.q.advanced(by: ((b * Hq + kvh * G) * sq + r0) * d),
                                        k: p.k.advanced(by: (b * Hkv + kvh) * sk * d),
                                        v: p.v.advanced(by: (b * Hkv + kvh) * sk * dv),
                                        d: d, dv: dv, batch: b, firstHead: kvh * G, queries: sq, rows: r0..<r1,
                                        keys: keys, keyBase: keyBase)
                                    defer { progress?.advance(by: Double(2 * (r1 - r0) * keys.count * (d + dv))) }
                                    if chunks > 1 {
                                        let base = (group * chunks + chunk) * rowsPerGroup
                                        tile.run(
                                            rule: rule, keyBlock: blocking.keyBlock(rows: r1 - r0), band: blocking.band,
                                            isa: blocking.isa, fewRowLimit: blocking.fewRows,
                                            scratch: scratch, o: p.chunkO! + base * dv, lse: p.chunkLSE! + base)
                                    } else {
                                        let rowBase = (b * Hq + kvh * G) * sq + r0
                                        tile.run(
                                            rule: rule, keyBlock: blocking.keyBlock(rows: r1 - r0), band: blocking.band,
                                            isa: blocking.isa, fewRowLimit: blocking.fewRows,
                                            scratch: scratch, o: p.o! + rowBase * dv, lse: p.lse! + rowBase)
                                    }
                                }
                            }
                            if items == 1 {
                                body(0)
                            } else {
                                DispatchQueue.concurrentPerform(iterations: items, execute: body)
                            }

                            if chunks > 1 {
                                for group in 0..<groups {
                                    let b = group / Hkv, kvh = group % Hkv
                                    for r in 0..<rowsPerGroup {
                                        let bases = (0..<chunks).map { (group * chunks + $0) * rowsPerGroup + r }
                                        let row = (b * Hq + kvh * G) * sq + r
                                        p.lse![row] = MergeOperator.mergeRow(
                                            outputs: bases.map { UnsafePointer(p.chunkO! + $0 * dv) },
                                            lses: bases.map { p.chunkLSE![$0] }, valueDim: dv, into: p.o! + row * dv)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        try budget.checkDeadline(for: "attention", done: "\(items) tiles of \(B * Hkv) (batch, KV head) groups")
        return result
    }
}

/// Raw base pointers shared by the parallel workers; each worker writes a disjoint region.
struct SendablePointers<S: AttentionScalar>: @unchecked Sendable {
    let q: KernelOperand<S>, k: KernelOperand<S>, v: KernelOperand<S>
    let o: UnsafeMutablePointer<S>?, lse: UnsafeMutablePointer<S>?
    let chunkO: UnsafeMutablePointer<S>?, chunkLSE: UnsafeMutablePointer<S>?
}
