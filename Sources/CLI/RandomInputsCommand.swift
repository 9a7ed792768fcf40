import ArgumentParser
import Foundation
import Reference

/// `treeattn random-inputs`: seeded Q, K, V for experiments and cross-checks (same seed, same bytes, any machine).
struct RandomInputsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "random-inputs",
        abstract: "Write seeded random q, k, v (bhsd) to a .safetensors file, or to q.npy/k.npy/v.npy in a folder.")

    @Option var batch = 1
    @Option var heads = 2
    @Option var kvHeads: Int?
    @Option var seqQ = 4
    @Option var seqK = 16
    @Option var headDim = 8
    @Option var valueDim: Int?
    @Option(help: "Standard deviation of q and k entries.") var std = 1.0
    @Option var seed: UInt64 = 0
    @Option(help: "f64, f32, f16 or bf16 (rounded once, to nearest even).") var dtype: DType = .f64
    @Option(help: "Output .safetensors file, or a folder for .npy files.") var out: String

    func validate() throws {
        let kv = kvHeads ?? heads, dv = valueDim ?? headDim
        for (name, value) in [("batch", batch), ("heads", heads), ("kv-heads", kv), ("seq-q", seqQ), ("seq-k", seqK),
                              ("head-dim", headDim), ("value-dim", dv)] where value < 0 || value > 1 << 24 {
            throw CLIError("--\(name) must be in 0...\(1 << 24), got \(value)")
        }
        // In Double: each size may be up to 2^24, so the product can overflow Int.
        let total = Double(batch) * (Double(heads) * Double(seqQ) * Double(headDim) + Double(kv) * Double(seqK) * Double(headDim + dv))
        guard total <= Double(1 << 30) else {
            throw CLIError("q, k and v would hold \(total < 1e18 ? String(Int(total)) : String(total)) elements; the limit is 2^30")
        }
        guard kv > 0, heads % kv == 0 else { throw CLIError("--heads (\(heads)) must be a multiple of --kv-heads (\(kv))") }
        guard std.isFinite, std > 0 else { throw CLIError("--std must be positive and finite") }
    }

    func run() throws {
        let kv = kvHeads ?? heads, dv = valueDim ?? headDim
        var g = SeededGenerator(seed: seed)
        let shapes = [("q", [batch, heads, seqQ, headDim], std), ("k", [batch, kv, seqK, headDim], std), ("v", [batch, kv, seqK, dv], 1.0)]
        let tensors = try shapes.map { name, shape, s in
            (name, try TensorData(values: g.normals(shape.reduce(1, *), std: s), shape: shape, dtype: dtype))
        }
        if (out as NSString).pathExtension.lowercased() == "safetensors" {
            try SafetensorsFile(tensors: tensors, metadata: ["seed": "\(seed)", "layout": "bhsd", "generator": "treeattn random-inputs"])
                .write(to: out)
        } else {
            try createFolder(out)
            for (name, t) in tensors { try NPYFile.write(t, to: out + "/\(name).npy") }
        }
    }
}
