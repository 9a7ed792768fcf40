import ArgumentParser
import CLICommon
import Foundation
import Reference

/// `treeattn random-inputs`: seeded Q, K, V for experiments and cross-checks (same seed, same bytes, any machine).
struct RandomInputsCommand: ParsableCommand, MemoryBoundedCommand {
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

    @OptionGroup var memory: MemoryOptions

    func validate() throws {
        let kv = kvHeads ?? heads, dv = valueDim ?? headDim
        for (name, value) in [("batch", batch), ("heads", heads), ("kv-heads", kv), ("seq-q", seqQ), ("seq-k", seqK),
                              ("head-dim", headDim), ("value-dim", dv)] where value < 0 || value > 1 << 24 {
            throw CLIError("--\(name) must be in 0...\(1 << 24), got \(value)")
        }
        let total = try elementCounts().reduce(0) { try MemoryBudget.sum([$0, $1], for: "q, k and v") }
        guard total <= 1 << 30 else { throw CLIError("q, k and v would hold \(total) elements; the limit is 2^30") }
        guard kv > 0, heads % kv == 0 else { throw CLIError("--heads (\(heads)) must be a multiple of --kv-heads (\(kv))") }
        guard std.isFinite, std > 0 else { throw CLIError("--std must be positive and finite") }
    }

    /// What to generate (Reference's `RandomInputs`, shared with `treeattn-mpi attention --random`).
    var spec: RandomInputs {
        RandomInputs(batch: batch, heads: heads, kvHeads: kvHeads, queries: seqQ, keys: seqK, headDim: headDim,
                     valueDim: valueDim, std: std, seed: seed, dtype: dtype)
    }

    /// The shapes of q, k and v (bhsd).
    var shapes: [(name: String, shape: [Int], std: Double)] { spec.shapes }

    /// Elements of q, k and v, multiplied with overflow checks (each size may be up to 2^24: the product of four
    /// overflows Int), so an absurd shape is a one-line error, never a trap.
    func elementCounts() throws -> [Int] {
        try shapes.map { name, shape, _ in try MemoryBudget.product(shape, for: "q, k and v") }
    }

    /// The peak of a run: the generated f64 values of one tensor, the three tensors rounded to --dtype, and the
    /// encoded file bytes of all three (the .safetensors file, or the .npy files held until they are all written).
    func peakBytes() throws -> Int {
        let what = "random-inputs"
        let counts = try elementCounts()
        let generated = try MemoryBudget.product([counts.max() ?? 0, 8], for: what)
        let stored = try MemoryBudget.product([MemoryBudget.sum(counts, for: what), dtype.byteSize], for: what)
        return try MemoryBudget.sum([generated, stored, stored], for: what)
    }

    func run() throws {
        try MemoryBudget.current.check(try peakBytes(), for: "random-inputs (generated values, \(dtype.rawValue) copy, file bytes)")
        // All files are checked and reserved first and appear together at the end, or not at all.
        let safetensors = (out as NSString).pathExtension.lowercased() == "safetensors"
        let outputs = try AtomicOutputs(safetensors ? [out] : shapes.map { out + "/\($0.name).npy" }, createFolders: !safetensors)
        defer { outputs.discard() }
        let tensors = try spec.generate()
        if safetensors {
            try outputs.write(SafetensorsFile(tensors: tensors, metadata: ["seed": "\(seed)", "layout": "bhsd",
                                                                           "generator": "treeattn random-inputs"]).encode(), to: out)
        } else {
            for (name, t) in tensors { try outputs.write(NPYFile.encode(t), to: out + "/\(name).npy") }
        }
        try outputs.commit()
    }
}
