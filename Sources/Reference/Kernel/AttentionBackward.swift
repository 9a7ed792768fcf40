import Dispatch

/// The exact backward pass of attention on BLAS. For the loss L with dL/dO = dO:
///   P = exp(S - LSE) (recomputed from the forward's LSE, never stored), D = rowsum(dO * O),
///   dV = P^T dO, dS = P * (dO V^T - D) (times tanh' of the softcap), dQ = scale dS K, dK = scale dS^T Q,
/// with dK and dV summed over the query heads of each KV head (GQA/MQA). Options are the forward's: masked keys and
/// rows that see no key get exactly zero gradient, and NaN/Inf in masked K/V never reaches any gradient.
/// With an upstream gradient of the LSE (`dlse`, as context-parallel training has, because its merges use the LSE),
/// dS = P * (dO V^T - (D - dlse)): D is replaced by D - dlse and nothing else changes. With sinks the LSE includes
/// them, dQ, dK, dV follow unchanged and the sinks' own gradient is `AttentionSinks.gradient`.
/// Memory: inputs, dO, the gradients and the tiles' scratch, plus one dQ share per key chunk when the keys are cut
/// into chunks (at most `maxChunks`), never Sq x Sk.
///
/// The keys of a range take the gradients of that range only: with the global LSE and D, a key shard's dK and dV are
/// final and its dQ is its share of the sum (the tree-parallel backward, `ShardedBackward`).
public enum AttentionBackward {
    /// Key chunks of one backward call at most (each holds a dQ share while the call runs).
    public static let maxChunks = 16

    /// D = rowsum(dO * O) per (batch, head, query) row: (B, Hq, Sq).
    public static func delta<S: AttentionScalar>(output: Tensor<S>, dO: Tensor<S>) throws -> Tensor<S> {
        guard output.shape == dO.shape, output.rank == 4 else {
            throw ReferenceError.shape("dO \(dO.shape) must have the output's shape \(output.shape)")
        }
        let dv = output.shape[3]
        var out = Tensor<S>(shape: Array(output.shape.prefix(3)), repeating: 0)
        for row in 0..<out.count {
            var sum: S = 0
            for c in 0..<dv { sum += dO.data[row * dv + c] * output.data[row * dv + c] }
            out.data[row] = sum
        }
        return out
    }

    /// The forward (O, LSE), then the gradients over all keys.
    @_specialize(exported:true,where S == Double)
    @_specialize(exported:true,where S == Float)
    public static func gradients<S: AttentionScalar>(
        _ x: AttentionInputs<S>, dO: Tensor<S>, options: AttentionOptions = AttentionOptions(), dlse: Tensor<S>? = nil,
        blocking: KernelBlocking = .default
    ) throws -> (forward: AttentionPartial<S>, gradients: AttentionGradients<S>) {
        try checkUpstream(x, dO)
        let forward = try ExactAttention.forward(x, options: options, blocking: blocking)
        let d = try delta(output: forward.output, dO: dO)
        return (
            forward,
            try gradients(x, dO: dO, lse: forward.lse, delta: d, options: options, dlse: dlse, blocking: blocking)
        )
    }

    /// The gradients from the keys in `keyRange` (default all) given the forward's global `lse` and `delta` (both
    /// (B, Hq, Sq)) and the LSE's upstream gradient `dlse` (nil: none): dK and dV of those keys (n = keyRange.count of
    /// them) and their share of dQ; without `keyRange`, the sinks' gradient too when the options have sinks.
    @_specialize(exported:true,where S == Double)
    @_specialize(exported:true,where S == Float)
    public static func gradients<S: AttentionScalar>(
        _ x: AttentionInputs<S>, dO: Tensor<S>, lse: Tensor<S>, delta: Tensor<S>,
        options: AttentionOptions = AttentionOptions(), keyRange: Range<Int>? = nil, dlse: Tensor<S>? = nil,
        blocking: KernelBlocking = .default
    ) throws -> AttentionGradients<S> {
        try checkUpstream(x, dO)
        let rowShape = [x.batch, x.queryHeads, x.queries]
        guard lse.shape == rowShape, delta.shape == rowShape else {
            throw ReferenceError.shape("lse \(lse.shape) and delta \(delta.shape) must have shape \(rowShape)")
        }
        if let dlse, dlse.shape != rowShape {
            throw ReferenceError.shape("dlse must have the LSE's shape \(rowShape), got \(dlse.shape)")
        }
        let rule = try ScoreRule(
            options: options, batch: x.batch, queryHeads: x.queryHeads,
            queries: x.queries, keys: x.keys, headDim: x.headDim)
        let range = keyRange ?? 0..<x.keys
        guard range.lowerBound >= 0, range.upperBound <= x.keys else {
            throw ReferenceError.invalidOption("key range \(range) outside 0..<\(x.keys)")
        }
        // dS = P (dP - D + dlse): the kernel takes D - dlse in place of D.
        var shifted = delta
        if let dlse { for r in 0..<shifted.count { shifted.data[r] -= dlse.data[r] } }
        var result = try compute(
            x, dO: dO, lse: lse, delta: shifted, rule: rule, keyRange: range, blocking: blocking)
        if keyRange == nil, let sinks = options.sinks {
            result.dsinks = try AttentionSinks.gradient(sinks, lse: lse, delta: delta, dlse: dlse)
        }
        return result
    }

    /// Bytes a full backward holds at its peak, overflow-checked: the inputs, dO, the forward's O and LSE and D,
    /// the gradients, and one dQ share per key chunk.
    public static func estimatedBytes<X: AttentionOperands>(_ x: X, blocking: KernelBlocking = .default) throws -> Int {
        let what = "the backward pass"
        let size = MemoryLayout<X.Scalar>.stride
        let rows = try MemoryBudget.product([x.batch, x.queryHeads, x.queries], for: what)
        let qElements = try MemoryBudget.product([rows, x.headDim], for: what)
        let oElements = try MemoryBudget.product([rows, x.valueDim], for: what)
        let kvElements = try MemoryBudget.product([x.batch, x.kvHeads, x.keys, x.headDim + x.valueDim], for: what)
        let chunks = chunking(keys: x.keys, blocking: blocking).chunks
        let shares = chunks > 1 ? try MemoryBudget.product([qElements, chunks], for: what) : 0
        // dO, O, dQ + dK + dV, LSE and D, the dQ shares (the inputs are `storageBytes`).
        let elements = try MemoryBudget.sum(
            [
                oElements, oElements, qElements, kvElements,
                try MemoryBudget.product([rows, 2], for: what), shares,
            ], for: what)
        return try MemoryBudget.sum(
            [try MemoryBudget.product([elements, size], for: what), x.storageBytes], for: what)
    }

    /// Keys per chunk and the number of chunks for `keys` keys: chunks of `splitKeys`, at most `maxChunks` of them.
    /// Depends only on the sizes, never on the number of cores, so results are the same on every machine.
    static func chunking(keys: Int, blocking: KernelBlocking) -> (size: Int, chunks: Int) {
        guard keys > 0 else { return (1, 0) }
        let size = max(blocking.splitKeys, (keys + maxChunks - 1) / maxChunks)
        return (size, (keys + size - 1) / size)
    }

    static func checkUpstream<S>(_ x: AttentionInputs<S>, _ dO: Tensor<S>) throws {
        let want = [x.batch, x.queryHeads, x.queries, x.valueDim]
        guard dO.shape == want else {
            throw ReferenceError.shape("dO must have the output's shape \(want), got \(dO.shape)")
        }
    }

    @_specialize(where S == Double)
    @_specialize(where S == Float)
    static func compute<S: AttentionScalar>(
        _ x: AttentionInputs<S>, dO: Tensor<S>, lse: Tensor<S>, delta: Tensor<S>, rule: ScoreRule,
        keyRange: Range<Int>, blocking: KernelBlocking, budget: TimeBudget = .current,
        progress: WorkProgress? = WorkProgress.current
    ) throws -> AttentionGradients<S> {
        let (B, Hq, Hkv, G) = (x.batch, x.queryHeads, x.kvHeads, x.groupSize)
        let (sq, sk, d, dv) = (x.queries, x.keys, x.headDim, x.valueDim)
        let n = keyRange.count
        var result = AttentionGradients<S>.zeros(q: x.q.shape, k: x.k.shape, v: x.v.shape, keys: n)
        let rowsPerGroup = G * sq
        let (chunkSize, chunks) = chunking(keys: n, blocking: blocking)
        if rowsPerGroup == 0 || B == 0 || chunks == 0 { return result }
        let groups = B * Hkv
        let items = groups * chunks
        var shares = [S](repeating: 0, count: chunks > 1 ? items * rowsPerGroup * d : 0)

        let savedThreads = BLASThreads.count
        if items > 1 { BLASThreads.set(1) }
        defer { if items > 1 { BLASThreads.set(savedThreads) } }

        withBackwardPointers(x, dO, lse, delta, &result, &shares) { ptr in
            let pool = TileScratchPool<S>()
            let body = { (item: Int) in
                // Past the time limit the remaining tiles are skipped; the run then ends in an error.
                if budget.expired { return }
                pool.with { scratch in
                    let chunk = item % chunks, group = item / chunks
                    let b = group / Hkv, kvh = group % Hkv
                    let lo = keyRange.lowerBound + chunk * chunkSize
                    let chunkKeys = lo..<min(lo + chunkSize, keyRange.upperBound)
                    defer { progress?.advance(by: Double(5 * rowsPerGroup * chunkKeys.count * (d + dv))) }
                    let rowBase = (b * Hq + kvh * G) * sq
                    let kvBase = (b * Hkv + kvh) * sk, outBase = (b * Hkv + kvh) * n + (lo - keyRange.lowerBound)
                    let dqTarget = chunks > 1 ? ptr.shares! + item * rowsPerGroup * d : ptr.dq + rowBase * d
                    let tile = BackwardTile(
                        q: ptr.q + rowBase * d, dO: ptr.dO + rowBase * dv, k: ptr.k + kvBase * d,
                        v: ptr.v + kvBase * dv,
                        lse: ptr.lse + rowBase, delta: ptr.delta + rowBase, dq: dqTarget,
                        dk: ptr.dk + outBase * d, dv: ptr.dv + outBase * dv, d: d, dv_: dv, batch: b,
                        firstHead: kvh * G,
                        queries: sq, rows: rowsPerGroup, keys: chunkKeys, keyBase: 0)
                    tile.run(
                        rule: rule, rowBlock: blocking.queryRows, keyBlock: blocking.keys, band: blocking.band,
                        isa: blocking.isa, scratch: scratch)
                }
            }
            if items == 1 { body(0) } else { DispatchQueue.concurrentPerform(iterations: items, execute: body) }
            // The chunks' dQ shares, summed in chunk order (the same on every machine).
            if chunks > 1 {
                for group in 0..<groups {
                    let b = group / Hkv, kvh = group % Hkv
                    let target = ptr.dq + (b * Hq + kvh * G) * sq * d
                    for chunk in 0..<chunks {
                        let share = ptr.shares! + (group * chunks + chunk) * rowsPerGroup * d
                        for e in 0..<rowsPerGroup * d { target[e] += share[e] }
                    }
                }
            }
        }
        try budget.checkDeadline(for: "the backward", done: "\(items) tiles of \(groups) (batch, KV head) groups")
        return result
    }
}

/// The base addresses the backward's workers share; each worker writes disjoint regions.
struct BackwardPointers<S: AttentionScalar>: @unchecked Sendable {
    let q: UnsafePointer<S>, k: UnsafePointer<S>, v: UnsafePointer<S>, dO: UnsafePointer<S>
    let lse: UnsafePointer<S>, delta: UnsafePointer<S>
    let dq: UnsafeMutablePointer<S>, dk: UnsafeMutablePointer<S>, dv: UnsafeMutablePointer<S>
    let shares: UnsafeMutablePointer<S>?
}

private func withBackwardPointers<S: AttentionScalar>(
    _ x: AttentionInputs<S>, _ dO: Tensor<S>, _ lse: Tensor<S>, _ delta: Tensor<S>, _ g: inout AttentionGradients<S>,
    _ shares: inout [S], _ body: (BackwardPointers<S>) -> Void
) {
    x.q.data.withUnsafeBufferPointer { q in
        x.k.data.withUnsafeBufferPointer { k in
            x.v.data.withUnsafeBufferPointer { v in
                dO.data.withUnsafeBufferPointer { o in
                    lse.data.withUnsafeBufferPointer { l in
                        delta.data.withUnsafeBufferPointer { dl in
                            g.dq.data.withUnsafeMutableBufferPointer { dq in
                                g.dk.data.withUnsafeMutableBufferPointer { dk in
                                    g.dv.data.withUnsafeMutableBufferPointer { dv in
                                        shares.withUnsafeMutableBufferPointer { sh in
                                            // Empty tensors have no base address; the kernel never reads them (rows or keys are zero then).
                                            let empty = UnsafeMutablePointer<S>.allocate(capacity: 1)
                                            defer { empty.deallocate() }
                                            body(
                                                BackwardPointers(
                                                    q: q.baseAddress ?? UnsafePointer(empty),
                                                    k: k.baseAddress ?? UnsafePointer(empty),
                                                    v: v.baseAddress ?? UnsafePointer(empty),
                                                    dO: o.baseAddress ?? UnsafePointer(empty),
                                                    lse: l.baseAddress ?? UnsafePointer(empty),
                                                    delta: dl.baseAddress ?? UnsafePointer(empty),
                                                    dq: dq.baseAddress ?? empty, dk: dk.baseAddress ?? empty,
                                                    dv: dv.baseAddress ?? empty, shares: sh.baseAddress))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
