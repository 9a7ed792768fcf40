import Foundation

extension RandomInputs {
    /// Elements of q, k and v, multiplied with overflow checks (each size may be up to 2^24: the product of four
    /// overflows Int), so an absurd shape is a one-line error, never a trap.
    public func elementCounts() throws -> [Int] {
        try shapes.map { _, shape, _ in try MemoryBudget.product(shape, for: "q, k and v") }
    }

    /// The peak of `write`: the generated f64 values of one tensor, the three tensors rounded to `dtype`, and the
    /// encoded file bytes of all three (the .safetensors file, or the .npy files held until they are all written).
    public func peakBytes() throws -> Int {
        let what = "random-inputs"
        let counts = try elementCounts()
        let generated = try MemoryBudget.product([counts.max() ?? 0, 8], for: what)
        let stored = try MemoryBudget.product([MemoryBudget.sum(counts, for: what), dtype.byteSize], for: what)
        return try MemoryBudget.sum([generated, stored, stored], for: what)
    }

    /// Generates the tensors and writes them to `out`: one .safetensors file (tensors q, k, v; metadata seed, layout,
    /// generator), or q.npy, k.npy and v.npy in the folder `out` (created if missing). The peak memory is checked
    /// against `MemoryBudget.current` first; the files appear together at the end, or not at all.
    public func write(to out: String) throws {
        try MemoryBudget.current.check(
            try peakBytes(), for: "random-inputs (generated values, \(dtype.rawValue) copy, file bytes)")
        let safetensors = (out as NSString).pathExtension.lowercased() == "safetensors"
        let outputs = try AtomicOutputs(
            safetensors ? [out] : shapes.map { out + "/\($0.name).npy" }, createFolders: !safetensors)
        defer { outputs.discard() }
        let tensors = try generate()
        if safetensors {
            try outputs.write(
                SafetensorsFile(
                    tensors: tensors,
                    metadata: [
                        "seed": "\(seed)", "layout": "bhsd",
                        "generator": "treeattn random-inputs",
                    ]
                ).encode(), to: out)
        } else {
            for (name, t) in tensors { try outputs.write(NPYFile.encode(t), to: out + "/\(name).npy") }
        }
        try outputs.commit()
    }
}
