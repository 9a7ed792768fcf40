import Foundation
import Reference
import Testing

@testable import Distributed

/// What each rank of `treeattn-mpi attention` loads, tested without mpirun (no MPI call is needed to load a shard):
/// for every rank count and rank, the ranged read of its keys equals the same keys of the whole tensors, in every
/// layout and precision, and its partial is the single-process shard partial bit for bit.
@Suite struct ShardLoadingTests {
    static func folder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("distributed-\(UUID())").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// q, k, v of (2, 4 | 2, 3, 6) with 13 keys, written in `layout` as `dtype` to `dir`/in.safetensors.
    static func inputs(_ dir: String, layout: TensorLayout, dtype: DType) throws -> RandomInputs {
        let spec = RandomInputs(batch: 2, heads: 4, kvHeads: 2, queries: 3, keys: 13, headDim: 6, seed: 5, dtype: dtype)
        var tensors = try spec.generate()
        if layout == .bshd {
            tensors = try tensors.map { name, t in (name, try TensorData(t.tensor().swappingAxes12(), dtype: dtype)) }
        }
        try SafetensorsFile(tensors: tensors).write(to: dir + "/in.safetensors")
        return spec
    }

    @Test(arguments: [TensorLayout.bhsd, .bshd], [DType.f64, .f32, .bf16])
    func rankedReadsAreSlicesOfTheWholeTensors(_ layout: TensorLayout, _ dtype: DType) throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = try Self.inputs(dir, layout: layout, dtype: dtype)
        let whole = try spec.generate().map { $0.data.tensor() }  // bhsd, f64 (every dtype widens exactly)
        let path = dir + "/in.safetensors"
        var job = DistributedAttentionJob(inputs: .files(q: path, k: path, v: path))
        job.problem.layout = layout
        job.problem.causal = .bottomRight
        for ranks in [1, 2, 3, 5, 13, 17] {
            let layoutShards = try ShardLayout(keys: 13, shards: ranks)
            let x = try AttentionInputs(q: whole[0], k: whole[1], v: whole[2])
            let options = AttentionOptions(causal: .bottomRight)
            let single = try ShardedAttention.partials(x, options: options, layout: layoutShards)
            for rank in 0..<ranks {
                let (shard, bad) = try job.shard(Double.self, rank: rank, ranks: ranks)
                #expect(bad == [0, 0, 0])
                let range = layoutShards.ranges[rank]
                #expect(shard.inputs.q.data == whole[0].data)
                #expect(shard.inputs.k.data == Self.keys(whole[1], range).data, "k \(layout) \(dtype) \(rank)/\(ranks)")
                #expect(shard.inputs.v.data == Self.keys(whole[2], range).data, "v \(layout) \(dtype) \(rank)/\(ranks)")
                let partial = try shard.localPartial()
                #expect(partial.output.data == single[rank].output.data && partial.lse.data == single[rank].lse.data)
            }
        }
    }

    /// Keys `range` of a (B, H, S, D) tensor.
    static func keys(_ t: Tensor<Double>, _ range: Range<Int>) -> Tensor<Double> {
        let (b, h, s, d) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
        var data: [Double] = []
        for i in 0..<b * h { data += t.data[(i * s + range.lowerBound) * d..<(i * s + range.upperBound) * d] }
        return try! Tensor(shape: [b, h, range.count, d], data: data)
    }

    /// f32 runs read straight into f32: the values are the f64 ones rounded once.
    @Test func f32ShardsRoundOnce() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = try Self.inputs(dir, layout: .bhsd, dtype: .f64)
        let whole = try spec.generate().map { $0.data.tensor() }
        let path = dir + "/in.safetensors"
        let job = DistributedAttentionJob(inputs: .files(q: path, k: path, v: path))
        let (shard, _) = try job.shard(Float.self, rank: 1, ranks: 3)
        #expect(shard.inputs.k.data == Self.keys(whole[1], 5..<9).data.map(Float.init))
    }

    /// `--random` shards are the same keys of `treeattn random-inputs`' tensors.
    @Test func randomShardsAreSlicesOfTheWholeStream() throws {
        let spec = RandomInputs(batch: 1, heads: 2, queries: 2, keys: 11, headDim: 4, seed: 9, dtype: .bf16)
        let whole = try spec.generate().map { $0.data.tensor() }
        let job = DistributedAttentionJob(inputs: .random(spec))
        for rank in 0..<4 {
            let (shard, _) = try job.shard(Double.self, rank: rank, ranks: 4)
            let range = try ShardLayout(keys: 11, shards: 4).ranges[rank]
            #expect(shard.inputs.k.data == Self.keys(whole[1], range).data)
            #expect(shard.inputs.v.data == Self.keys(whole[2], range).data)
        }
    }

    @Test func refusalsNameTheRankAndTheProblem() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try Self.inputs(dir, layout: .bhsd, dtype: .f64)
        let path = dir + "/in.safetensors"
        let job = DistributedAttentionJob(inputs: .files(q: path, k: path, v: path))
        do {
            _ = try job.shard(Double.self, rank: 2, ranks: 4, budget: MemoryBudget(limitBytes: 1000))
            Issue.record("a shard over the memory limit was loaded")
        } catch let error as CoreError {
            #expect(error.description.hasPrefix("too large: rank 2's q and key shard (3 keys) needs about"))
        }
        var nothing = job
        nothing.out = nil
        #expect(throws: DistributedError.self) { try nothing.validate() }
        var bad = job
        (bad.out, bad.repeats) = ("o.npy", 0)
        #expect(throws: DistributedError.self) { try bad.validate() }
        // 13 keys over 4 ranks: ranks 0 to 3 hold 4, 3, 3, 3 keys.
        #expect(
            try DistributedAttentionJob.fileRankBytes(
                [[2, 4, 3, 6], [2, 2, 13, 6], [2, 2, 13, 6]], keys: 3, totalKeys: 13, size: 8)
                == (2 * 4 * 3 * 6 * 5 + 2 * 2 * 3 * 6 * 2) * 8 + (1 << 22))
    }
}

/// The memory a ring rank holds: its shard and the two blocks of the largest shard it receives in turn.
@Suite struct RingMemoryTests {
    @Test func ringRanksCountTheirReceiveBuffers() throws {
        let spec = RandomInputs(batch: 1, heads: 2, queries: 1, keys: 13, headDim: 4)
        var job = DistributedAttentionJob(inputs: .random(spec))
        let layout = try ShardLayout(keys: 13, shards: 4)  // 4, 3, 3, 3 keys
        #expect(job.ringBufferKeys(layout) == 0)
        job.reduction = .ring
        #expect(job.ringBufferKeys(layout) == 8)
        let shapes = [[1, 2, 1, 4], [1, 2, 13, 4], [1, 2, 13, 4]]
        let plain = try DistributedAttentionJob.fileRankBytes(shapes, keys: 3, totalKeys: 13, size: 8)
        let ring = try DistributedAttentionJob.fileRankBytes(shapes, keys: 3, totalKeys: 13, size: 8, ringKeys: 8)
        #expect(ring - plain == 2 * (2 * 4 * 8) * 8)  // k and v, 2 heads x 4 dims per key, 8 keys, 8 bytes
        let random = try DistributedAttentionJob.randomRankBytes(spec, keys: 3, precision: .f64)
        let randomRing = try DistributedAttentionJob.randomRankBytes(spec, keys: 3, precision: .f64, ringKeys: 8)
        #expect(randomRing - random == 2 * 8 * 8 * 8)
    }
}
