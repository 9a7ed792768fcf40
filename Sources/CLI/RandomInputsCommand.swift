import ArgumentParser
import CLICommon
import Foundation
import Reference

/// `treeattn random-inputs`: seeded Q, K, V for experiments and cross-checks (same seed, same bytes, any machine).
struct RandomInputsCommand: ParsableCommand, MemoryBoundedCommand {
    static let configuration = CommandConfiguration(
        commandName: "random-inputs",
        abstract: "Write seeded random q, k, v (bhsd) to a .safetensors file, or to q.npy/k.npy/v.npy in a folder.")

    @OptionGroup var shape: RandomShapeOptions
    @Option(help: "Output .safetensors file, or a folder for .npy files.") var out: String

    @OptionGroup var memory: MemoryOptions

    func validate() throws {
        let total = try elementCounts().reduce(0) { try MemoryBudget.sum([$0, $1], for: "q, k and v") }
        guard total <= 1 << 30 else { throw CLIError("q, k and v would hold \(total) elements; the limit is 2^30") }
    }

    /// What to generate (Reference's `RandomInputs`, shared with `treeattn-mpi attention --random`).
    var spec: RandomInputs { shape.spec }
    var dtype: DType { shape.dtype }
    var seed: UInt64 { shape.seed }

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
