import Foundation
import Testing
import TreeCore

@testable import Reference

/// Issue 25's `sinks` suite: its goldens (energy formulation) agree with the BLAS kernel, forward and backward with
/// dlse and dsinks; the checker passes the right kernel's results and fails one that forgets the sink or its dlse.
@Suite struct SinkGoldenTests {
    static let dense = GoldenSuite.sinks.cases.filter { $0.goldenLayout == .dense }

    @Test(arguments: dense)
    func goldensAgreeWithTheKernel(_ spec: GoldenCaseSpec) throws {
        let c = try GoldenCase(spec: spec, dtype: .bf16, backward: true)
        let file = c.file
        let x = try AttentionInputs(q: file["q"]!.tensor(), k: file["k"]!.tensor(), v: file["v"]!.tensor())
        let options = try spec.options(dtype: .bf16)
        let dO = file["do"]!.tensor()
        let dlse = file["dlse"].map { $0.tensor() }
        #expect((dlse != nil) == (spec.dlse == true))
        let (forward, grads) = try AttentionBackward.gradients(x, dO: dO, options: options, dlse: dlse)
        #expect(relativeError(file["out"]!.doubles(), forward.output.data) < 1e-13, "\(spec.name)")
        #expect(relativeError(file["lse"]!.doubles(), forward.lse.data) < 1e-13, "\(spec.name)")
        for (name, t) in [("dq", grads.dq), ("dk", grads.dk), ("dv", grads.dv)] {
            #expect(relativeError(file[name]!.doubles(), t.data) < 1e-12, "\(spec.name) \(name)")
        }
        if let sinks = options.sinks {
            #expect(file["sinks"]!.doubles() == sinks)
            #expect(relativeError(file["dsinks"]!.doubles(), grads.dsinks!.data) < 1e-12, "\(spec.name) dsinks")
            #expect(c.gradientTolerances!.contains { $0.name == "dsinks" && $0.tolerance.atol > 0 })
            var plain = options
            plain.sinks = nil
            let keysOnly = try ExactAttention.forward(x, options: plain)
            #expect(relativeError(file["lse_without_sink"]!.doubles(), keysOnly.lse.data) < 1e-13)
            #expect(file.metadata["sinks"]?.contains("lse includes it") == true)
        }
    }

    /// The f32 kernel's results pass `check`; forgetting the sink, the dlse term, or reporting the LSE without the
    /// sink unannounced fail it; announcing `lse_includes_sink: false` compares with `lse_without_sink`.
    @Test func checkerPassesTheKernelAndFailsForgottenSinks() throws {
        let dir = NSTemporaryDirectory() + "sink-golden-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = try #require(GoldenSuite.sinks.cases.first { $0.name == "sinks-full-causal" })
        var writer = GoldenSuiteWriter(suite: "sinks", specs: [spec], dtypes: [.bf16])
        writer.backward = true
        try writer.write(to: dir + "/golden")
        let golden = try SafetensorsFile.read(dir + "/golden/sinks-full-causal-bf16.safetensors")
        let x = try AttentionInputs(
            q: golden["q"]!.tensor().map(Float.init), k: golden["k"]!.tensor().map(Float.init),
            v: golden["v"]!.tensor().map(Float.init))
        let options = try spec.options(dtype: .bf16)
        let dO = golden["do"]!.tensor().map(Float.init)
        let dlse = golden["dlse"]!.tensor().map(Float.init)
        func results(
            _ options: AttentionOptions, dlse: Tensor<Float>?, lseOf: AttentionOptions? = nil,
            metadata: [String: String] = [:]
        ) throws -> [GoldenChecker.Row] {
            let (f, g) = try AttentionBackward.gradients(x, dO: dO, options: options, dlse: dlse)
            let lse = try lseOf.map { try ExactAttention.forward(x, options: $0).lse } ?? f.lse
            var tensors: [(name: String, data: TensorData)] = [
                ("sinks-full-causal-bf16.out", try TensorData(f.output)),
                ("sinks-full-causal-bf16.lse", try TensorData(lse)),
                ("sinks-full-causal-bf16.dq", try TensorData(g.dq)),
                ("sinks-full-causal-bf16.dk", try TensorData(g.dk)),
                ("sinks-full-causal-bf16.dv", try TensorData(g.dv)),
            ]
            if let ds = g.dsinks { tensors.append(("sinks-full-causal-bf16.dsinks", try TensorData(ds))) }
            try SafetensorsFile(tensors: tensors, metadata: metadata).write(to: dir + "/r.safetensors")
            return try GoldenChecker(goldenFolder: dir + "/golden", results: dir + "/r.safetensors").run()
        }
        let right = try results(options, dlse: dlse)
        #expect(
            right.count == 6 && right.allSatisfy { $0.passed },
            "\(right.map { "\($0.tensor) \($0.maxAbs) \($0.atol)" })")
        var noSink = options
        noSink.sinks = nil
        let forgotten = try results(noSink, dlse: dlse)
        #expect(!forgotten.first { $0.tensor == "out" }!.passed && !forgotten.first { $0.tensor == "lse" }!.passed)
        let noDlse = try results(options, dlse: nil)
        #expect(noDlse.first { $0.tensor == "out" }!.passed)
        #expect(!noDlse.first { $0.tensor == "dq" }!.passed && !noDlse.first { $0.tensor == "dsinks" }!.passed)
        let unannounced = try results(options, dlse: dlse, lseOf: noSink)
        #expect(!unannounced.first { $0.tensor == "lse" }!.passed)
        let announced = try results(options, dlse: dlse, lseOf: noSink, metadata: ["lse_includes_sink": "false"])
        #expect(announced.allSatisfy { $0.passed })
    }
}
