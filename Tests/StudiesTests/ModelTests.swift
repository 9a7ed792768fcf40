import Foundation
import Simulator
import Testing

@testable import Studies

@Suite("Model presets and model-level workloads")
struct ModelTests {
    @Test func presetsHaveTheStatedShapes() throws {
        let m8 = try ModelSpec.resolve("llama-3.1-8b")
        #expect((m8.layers, m8.heads, m8.kvHeads, m8.headDim, m8.hidden) == (32, 32, 8, 128, 4096))
        let m1 = try ModelSpec.resolve("llama-3.2-1b")
        #expect((m1.layers, m1.heads, m1.kvHeads, m1.headDim, m1.hidden) == (16, 32, 8, 64, 2048))
        // Parameter counts match the published sizes (8.03B, 1.24B).
        #expect(close(m8.parameters, 8.03e9, tolerance: 0.01), "\(m8.parameters)")
        #expect(close(m1.parameters, 1.236e9, tolerance: 0.01), "\(m1.parameters)")
        let w = try m8.decodeWorkload(sequenceLength: 1000)
        #expect(w.groupSize == 4 && w.modelDim == 4096)
        #expect(try m8.decodeWorkload(sequenceLength: 1000, expandedKV: true).kvHeads == 32)
    }

    @Test func fixtureFilesMatchPresets() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let dir = root.appendingPathComponent("fixtures/models").path
        #expect(try ModelSpec.load(path: dir + "/llama-3.1-8b.yaml") == .llama31_8B)
        #expect(try ModelSpec.load(path: dir + "/llama-3.2-1b.yaml") == .llama32_1B)
        #expect(try ModelSpec.load(path: dir + "/llama-3.2-1b.json") == .llama32_1B)
        #expect(try ModelSpec.parse(ModelSpec.llama31_8B.yaml) == .llama31_8B)
        #expect(try ModelSpec.parse("preset: llama-3.2-1b\nname: mine").name == "mine")
    }

    @Test func badModelFilesAreRejected() {
        let good = ModelSpec.llama31_8B.yaml
        #expect(throws: StudyError.self) { try ModelSpec.parse(good + "extra: 1\n") }
        #expect(throws: StudyError.self) {
            try ModelSpec.parse(good.replacingOccurrences(of: "layers: 32\n", with: ""))
        }
        #expect(throws: StudyError.self) {
            try ModelSpec.parse(good.replacingOccurrences(of: "kv_heads: 8", with: "kv_heads: 5"))
        }
        #expect(throws: StudyError.self) {
            try ModelSpec.parse(good.replacingOccurrences(of: "layers: 32", with: "layers: 0"))
        }
        #expect(throws: StudyError.self) {
            try ModelSpec.parse(good.replacingOccurrences(of: "dtype: bf16", with: "dtype: int3"))
        }
        #expect(throws: StudyError.self) { try ModelSpec.parse("[1, 2]") }
        #expect(throws: StudyError.self) { try ModelSpec.parse("{", json: true) }
        #expect(throws: StudyError.self) { try ModelSpec.resolve("gpt-5") }
        #expect(throws: StudyError.self) { try ModelSpec.load(path: "/nonexistent/model.yaml") }
    }

    @Test func generationAddsUp() throws {
        let w = try GenerationWorkload(model: .llama32_1B, promptTokens: 8_000)
        #expect(w.decodeSteps == 9)
        let g = try GenerationModel(
            cluster: try Cluster.resolve("rtx4090-pcie:2"), workload: w, calibration: .idealised)
        let r = try g.run(.tree(collective: .tree))
        let expected =
            r.prefillAttention.seconds + r.prefillOther.seconds
            + 9 * (16 * r.decodeAttentionPerLayer.seconds + r.decodeOtherPerStep.seconds)
        #expect(close(r.total.seconds, expected, tolerance: 1e-9))
        // Idealised decode outside attention = weights read once per layer at full HBM bandwidth + LM head.
        let m = ModelSpec.llama32_1B
        let weights = 16 * m.layerParameters * 2 / 1008e9
        let head = (m.headParameters * 2 + Double(m.vocab) * 4) / 1008e9
        #expect(close(r.decodeOtherPerStep.seconds, weights + head, tolerance: 1e-6))
        // Attention only: no time outside attention.
        let a = try GenerationModel(
            cluster: try Cluster.resolve("rtx4090-pcie:2"), workload: w, calibration: .idealised,
            includeNonAttention: false)
        #expect(try a.run(.tree(collective: .tree)).prefillOther == .zero)
    }

    @Test func idealisedPrefillIsComputeBoundCausalRing() throws {
        // One node of 8 H100: the busiest rank computes p - 1/2 blocks of 4 n_h t^2 d_h FLOPs per layer.
        let w = try GenerationWorkload(model: .llama31_8B, promptTokens: 256_000)
        let g = try GenerationModel(cluster: try Cluster.resolve("dgx-h100:1"), workload: w, calibration: .idealised)
        let t = 32_000.0
        let block = 4 * 32 * t * t * 128 / 989e12
        let layer = try g.prefillAttentionLayer().seconds
        #expect(layer >= 7.5 * block * 0.999)
        #expect(layer <= 7.5 * block * 1.05, "\(layer) vs \(7.5 * block)")
    }

    @Test func calibrationScalesLinks() throws {
        let c = try Cluster.resolve("mi300x:2")
        var cal = Calibration.idealised
        cal.linkEfficiency = 0.5
        let scaled = try cal.apply(to: c)
        #expect(scaled.network.links.map(\.bandwidth) == c.network.links.map { $0.bandwidth * 0.5 })
        #expect(scaled.gpus == c.gpus && scaled.serverOf == c.serverOf)
        #expect(throws: StudyError.self) { try Calibration(name: "bad", memoryEfficiency: 0) }
        #expect(throws: StudyError.self) { try GenerationWorkload(model: .llama32_1B, promptTokens: 0) }
    }
}
