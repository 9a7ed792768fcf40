import Foundation
import Testing

@testable import Reference

/// What a distributed rank builds on: the attention of a K/V shard held alone, ranged reads of tensor files, and
/// seeded shards generated without the rest of the tensor.
@Suite struct ShardInputTests {
    /// Keys `range` of a (B, H, S, D) tensor, by plain indexing.
    static func keys<S>(_ t: Tensor<S>, _ range: Range<Int>) -> Tensor<S> {
        let (b, h, s, d) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
        var data: [S] = []
        for i in 0..<b * h { for j in range { data += t.data[(i * s + j) * d..<(i * s + j + 1) * d] } }
        return try! Tensor(shape: [b, h, range.count, d], data: data)
    }

    static let cases: [NaiveOracle.Case] = [
        NaiveOracle.Case(b: 2, hq: 4, hkv: 2, sq: 7, sk: 13, d: 6, dv: 5, causal: .bottomRight, seqlens: [13, 9]),
        NaiveOracle.Case(sq: 4, sk: 11, causal: .topLeft, window: (3, 1), softcap: 4, alibi: [0.5, 0.25]),
        NaiveOracle.Case(
            b: 1, hq: 2, hkv: 1, sq: 3, sk: 9, scale: 0.2,
            boolMask: (0..<54).map { $0 % 4 != 1 }, additive: (0..<54).map { Double($0 % 5) * -0.3 }),
    ]

    @Test(arguments: 0..<cases.count)
    func shardHeldAloneGivesTheSameBitsAsAKeyRange(_ index: Int) throws {
        let c = Self.cases[index]
        let x = c.inputs()
        for p in [1, 2, 3, 5, 16] {
            for range in try ShardLayout(keys: c.sk, shards: p).ranges {
                let alone = try AttentionInputs(q: x.q, k: Self.keys(x.k, range), v: Self.keys(x.v, range))
                let a = try ExactAttention.forward(
                    shard: alone, keyOffset: range.lowerBound, totalKeys: c.sk, options: c.options)
                let b = try ExactAttention.forward(x, options: c.options, keyRange: range)
                #expect(
                    a.output.data.map(\.bitPattern) == b.output.data.map(\.bitPattern), "case \(index) shard \(range)")
                #expect(
                    a.lse.data.map(\.bitPattern) == b.lse.data.map(\.bitPattern), "case \(index) shard \(range) lse")
                // And in f32.
                let a32 = try ExactAttention.forward(
                    shard: try AttentionInputs(
                        q: alone.q.map(Float.init), k: alone.k.map(Float.init), v: alone.v.map(Float.init)),
                    keyOffset: range.lowerBound, totalKeys: c.sk, options: c.options)
                let b32 = try ExactAttention.forward(
                    try AttentionInputs(q: x.q.map(Float.init), k: x.k.map(Float.init), v: x.v.map(Float.init)),
                    options: c.options, keyRange: range)
                #expect(
                    a32.output.data.map(\.bitPattern) == b32.output.data.map(\.bitPattern),
                    "case \(index) shard \(range) f32")
            }
        }
    }

    @Test func shardOutsideTheKeysIsRefused() throws {
        let x = NaiveOracle.Case(sk: 5).inputs()
        #expect(throws: ReferenceError.self) { try ExactAttention.forward(shard: x, keyOffset: 1, totalKeys: 5) }
        #expect(throws: ReferenceError.self) { try ExactAttention.forward(shard: x, keyOffset: -1, totalKeys: 9) }
        #expect(throws: ReferenceError.self) { try ExactAttention.forward(shard: x, keyOffset: Int.max, totalKeys: 9) }
    }

    @Test func rangedReadsEqualSlicesOfWholeReads() throws {
        let folder = NSTemporaryDirectory() + "shard-reader-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var g = SeededGenerator(seed: 3)
        let t = try Tensor(shape: [2, 3, 10, 4], data: g.normals(240))
        for dtype in [DType.f64, .f32, .bf16] {
            let data = try TensorData(t, dtype: dtype)
            let npy = folder + "/k.npy", st = folder + "/kv.safetensors"
            try NPYFile.write(data, to: npy)
            try SafetensorsFile(tensors: [("v", try TensorData(t.map { $0 * 2 }, dtype: dtype)), ("k", data)]).write(
                to: st)
            let whole = data.tensor()
            for (reader, name) in [
                (try TensorFileReader(path: npy, npyName: "k"), "k"), (try TensorFileReader(path: st), "k"),
            ] {
                #expect(try reader.read(name) == data)
                for range in [0..<10, 0..<0, 3..<7, 9..<10] {
                    #expect(
                        try reader.values(name, as: Double.self, slice: (2, range)).tensor.data
                            == Self.keys(whole, range).data,
                        "\(dtype) \(range)")
                }
                // Axis 1 (bshd's sequence axis when the file is (B, S, H, D)).
                let axis1 = try reader.values(name, as: Double.self, slice: (1, 1..<3)).tensor
                #expect(axis1.shape == [2, 2, 10, 4])
                #expect(axis1.data[0] == whole.data[40] && axis1.data[80] == whole.data[160])
                #expect(throws: ReferenceError.self) { try reader.values(name, as: Double.self, slice: (2, 5..<11)) }
                #expect(throws: ReferenceError.self) { try reader.values(name, as: Double.self, slice: (3, 0..<1)) }
            }
            #expect(throws: ReferenceError.self) { try TensorFileReader(path: st).stored("q") }
        }
        // A truncated file is refused at open, from its header and size, before any data is read.
        let bytes = try AtomicFile.read(folder + "/k.npy")
        try AtomicFile.write(Array(bytes.dropLast(8)), to: folder + "/short.npy")
        #expect(throws: ReferenceError.self) { try TensorFileReader(path: folder + "/short.npy") }
        try AtomicFile.write(Array(bytes.prefix(5)), to: folder + "/tiny.npy")
        #expect(throws: ReferenceError.self) { try TensorFileReader(path: folder + "/tiny.npy") }
        #expect(throws: ReferenceError.self) { try TensorFileReader(path: folder + "/missing.npy") }
        #expect(throws: ReferenceError.self) { try TensorFileReader(path: folder) }
    }

    @Test func seededShardsAreSlicesOfTheWholeStream() throws {
        let spec = RandomInputs(
            batch: 2, heads: 4, kvHeads: 2, queries: 3, keys: 11, headDim: 5, valueDim: 3, std: 0.5, seed: 9,
            dtype: .bf16)
        let whole = try spec.generate()
        #expect(whole.map(\.data.shape) == [[2, 4, 3, 5], [2, 2, 11, 5], [2, 2, 11, 3]])
        // The stream order is pinned: q, then k, then v, one normal per element (same bytes as before the refactor).
        var g = SeededGenerator(seed: 9)
        #expect(whole[0].data == (try TensorData(values: g.normals(120, std: 0.5), shape: [2, 4, 3, 5], dtype: .bf16)))
        for range in [0..<11, 0..<0, 2..<5, 10..<11] {
            let part = try spec.generate(keyRange: range)
            #expect(part[0].data == whole[0].data)
            for i in 1...2 {
                #expect(
                    part[i].data.tensor().data == Self.keys(whole[i].data.tensor(), range).data, "\(range) tensor \(i)")
            }
        }
        #expect(throws: ReferenceError.self) { try spec.generate(keyRange: 3..<12) }
    }
}
