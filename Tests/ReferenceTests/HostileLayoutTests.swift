import Foundation
import Testing
import TreeCore

@testable import Reference

/// Issue 24, in the library: page counts without overflow, a paged golden's estimate that counts each row's padded
/// last page, NaN/Inf warnings only where a query sees them, and the time estimate of an attention run.
@Suite struct HostileLayoutTests {
    @Test func pageCountsDoNotOverflowNearIntMax() throws {
        #expect(PagedKVCache<Double>.pages(holding: 0, pageSize: 16) == 0)
        #expect(PagedKVCache<Double>.pages(holding: 17, pageSize: 16) == 2)
        #expect(PagedKVCache<Double>.pages(holding: Int.max, pageSize: 4096) == Int.max / 4096 + 1)
        let pages = try Tensor<Double>(shape: [2, 2048, 1, 1], data: [Double](repeating: 0, count: 4096))
        // Before: `length + pageSize - 1` trapped for this length.
        #expect(throws: ReferenceError.self) {
            try PagedKVCache(
                kPages: pages, vPages: pages, layout: .nhd, blockTable: [[0, 1]],
                cacheSeqlens: [9_223_372_036_854_774_784])
        }
    }

    @Test func aPagedGoldenCountsEveryRowsPaddedLastPage() throws {
        // 512 rows of 1 token in pages of 4096: 514 pages of 4096 slots, not 512 tokens.
        var spec = GoldenCaseSpec(
            name: "p", batch: 512, heads: 1, seqQ: 1, seqK: 1, headDim: 32,
            cacheSeqlens: [Int](repeating: 1, count: 512), layout: "paged", pageSize: 4096)
        let estimate = try spec.estimatedBytes()
        #expect(estimate >= 514 * 4096 * 64 * 8 * 3)  // 3.2 GB
        #expect(
            oneLineMessage { _ = try GoldenCase(spec: spec, dtype: .f32, budget: MemoryBudget(limitBytes: 1 << 30)) }
                .contains("more than the 1.07 GB memory limit"))
        spec.batch = 2
        spec.cacheSeqlens = [1, 1]
        _ = try GoldenCase(spec: spec, dtype: .f32, budget: MemoryBudget(limitBytes: 1 << 30))
    }

    @Test func onlyKeysAQuerySeesCountTowardsTheWarning() throws {
        // 1 batch, 2 query heads on 1 KV head, 2 queries, 6 keys of dim 1; every key NaN.
        func bad(_ options: AttentionOptions, offset: Int = 0, keys: Int = 6, n: Int = 6) throws -> Int {
            let rule = try ScoreRule(options: options, batch: 1, queryHeads: 2, queries: 2, keys: keys, headDim: 1)
            return InputWarnings.visibleBad(
                shape: [1, 1, n, 1], keyOffset: offset, rule: rule, queryHeads: 2, isBad: { _ in true })
        }
        #expect(try bad(AttentionOptions()) == 6)
        #expect(try bad(AttentionOptions(cacheSeqlens: [4])) == 4)
        #expect(try bad(AttentionOptions(causal: .topLeft)) == 2)  // rows 0, 1 see keys 0...1
        #expect(try bad(AttentionOptions(causal: .bottomRight)) == 6)
        #expect(try bad(AttentionOptions(window: SlidingWindow(left: 0, right: 0))) == 2)  // keys 4, 5 only
        // A shard of keys 3..<6 of the same problem (keys keep their global positions).
        #expect(try bad(AttentionOptions(causal: .topLeft), offset: 3, n: 3) == 0)
        #expect(try bad(AttentionOptions(), offset: 3, n: 3) == 3)
        // A boolean mask that hides key 1 from both heads and both rows, and key 2 from all but head 1, row 0.
        var allowed = [Bool](repeating: true, count: 2 * 2 * 6)
        for h in 0..<2 { for i in 0..<2 { allowed[(h * 2 + i) * 6 + 1] = false } }
        for h in 0..<2 { for i in 0..<2 where !(h == 1 && i == 0) { allowed[(h * 2 + i) * 6 + 2] = false } }
        let mask = try BroadcastMask(
            try Tensor(shape: [1, 2, 2, 6], data: allowed), batch: 1, heads: 2, queries: 2, keys: 6)
        #expect(try bad(AttentionOptions(mask: mask)) == 5)
    }

    @Test func randomInputsThatWouldNotFitTheDiskAreRefusedFirst() throws {
        let folder = FileManager.default.temporaryDirectory.path + "/x.safetensors"
        let message = oneLineMessage { try RandomInputs.checkDisk(Int.max / 2, for: folder) }
        #expect(message.contains("random-inputs writes about") && message.contains("free on the disk holding"))
        try RandomInputs.checkDisk(1, for: folder)
        // The memory is two blocks however large the files: 2^20 f64 values written (with their bf16 bytes) and 2^20
        // drawn meanwhile.
        let spec = RandomInputs(batch: 1, heads: 8, kvHeads: 1, queries: 1, keys: 1 << 20, headDim: 128, dtype: .bf16)
        #expect(try spec.peakBytes() == (1 << 20) * 18)
        #expect(try spec.fileBytes() == ((8 * 128) + 2 * (1 << 27)) * 2 + (1 << 20))
    }

    /// Streamed in blocks (k spans two), the files hold the bytes of the whole tensors encoded at once.
    @Test(arguments: [DType.f32, .bf16])
    func streamedRandomInputsAreTheWholeEncoding(dtype: DType) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ri-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = RandomInputs(
            batch: 1, heads: 2, kvHeads: 1, queries: 3, keys: 262_145, headDim: 4, seed: 5, dtype: dtype)
        try spec.write(to: dir + "/r.safetensors")
        try spec.write(to: dir + "/npy")
        let tensors = try spec.generate()
        let whole = try SafetensorsFile(
            tensors: tensors, metadata: ["seed": "5", "layout": "bhsd", "generator": "treeattn random-inputs"]
        ).encode()
        #expect(try AtomicFile.read(dir + "/r.safetensors") == whole)
        for (name, t) in tensors { #expect(try AtomicFile.read(dir + "/npy/\(name).npy") == NPYFile.encode(t)) }
    }

    @Test func attentionWorkCountsLoopsOverEmptyDimensions() throws {
        let empty = AttentionWork(batch: 1, heads: 1 << 31, queries: 0, keys: 0, headDim: 8, valueDim: 8, shards: 2)
        #expect(empty.flops == 0 && empty.loops == 0)
        let one = AttentionWork(batch: 1, heads: 1 << 31, queries: 1, keys: 0, headDim: 8, valueDim: 8, shards: 2)
        #expect(one.flops == 0 && one.loops == Double(1 << 32))
        let prefill = AttentionWork(batch: 1, heads: 8, queries: 2048, keys: 2048, headDim: 128, valueDim: 128)
        #expect(prefill.flops == 2 * 8 * 2048 * 2048 * 256)
        #expect(throws: CoreError.self) {
            try prefill.check(for: "attention", budget: TimeBudget(limitSeconds: 1e-3))
        }
        try prefill.check(for: "attention", budget: TimeBudget(limitSeconds: 60))
    }

    /// A run that started inside its limit and passed it while running: the kernels skip the tiles left and end in
    /// one error naming the limit, forward and backward.
    @Test func kernelsStopAtTheDeadline() throws {
        let x = NaiveOracle.Case(hkv: 1, sq: 64, sk: 256, d: 16, dv: 16, seed: 3).inputs()
        let rule = try ScoreRule(
            options: AttentionOptions(), batch: 1, queryHeads: 2, queries: 64, keys: 256, headDim: 16)
        let passed = TimeBudget(limitSeconds: 1e-6)
        while !passed.expired { usleep(10) }
        do {
            _ = try ExactAttention.compute(x, rule: rule, keyRange: 0..<256, blocking: .default, budget: passed)
            Issue.record("the forward ran past its deadline")
        } catch let error as CoreError {
            #expect("\(error)".contains("attention passed the 0 ms time limit after"), "\(error)")
        }
        let forward = try ExactAttention.forward(x)
        let dO = try Tensor<Double>(shape: forward.output.shape, data: forward.output.data.map { $0 * 0.5 })
        let delta = try AttentionBackward.delta(output: forward.output, dO: dO)
        #expect(throws: CoreError.self) {
            _ = try AttentionBackward.compute(
                x, dO: dO, lse: forward.lse, delta: delta, rule: rule, keyRange: 0..<256, blocking: .default,
                budget: passed)
        }
        // The same calls inside their limit finish.
        _ = try ExactAttention.compute(x, rule: rule, keyRange: 0..<256, blocking: .default, budget: TimeBudget())
    }
}
