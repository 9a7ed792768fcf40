import Foundation

extension RandomInputs {
    /// Elements of q, k and v, multiplied with overflow checks (each size may be up to 2^24: the product of four
    /// overflows Int), so an absurd shape is a one-line error, never a trap.
    public func elementCounts() throws -> [Int] {
        try shapes.map { _, shape, _ in try MemoryBudget.product(shape, for: "q, k and v") }
    }

    /// The peak of `write` beyond what it has written: the block being written (its f64 values and, below f64, their
    /// encoding) and the next block, generated meanwhile.
    public func peakBytes() throws -> Int {
        try MemoryBudget.product(
            [Self.blockValues, 16 + (dtype == .f64 ? 0 : dtype.byteSize)], for: "random-inputs")
    }

    /// Bytes of the files `write` writes: q, k and v at `dtype` (plus headers, under 1 MB).
    public func fileBytes() throws -> Int {
        let what = "random-inputs"
        return try MemoryBudget.sum(
            [
                MemoryBudget.product([MemoryBudget.sum(try elementCounts(), for: what), dtype.byteSize], for: what),
                1 << 20,
            ],
            for: what)
    }

    /// Generates the tensors and streams them to `out`, block by block: one .safetensors file (tensors q, k, v;
    /// metadata seed, layout, generator), or q.npy, k.npy and v.npy in the folder `out` (created if missing). The
    /// same bytes as encoding `generate()` whole, in at most one block of memory beyond what is written (checked
    /// against `MemoryBudget.current`), after checking that the files fit the disk and the values can be drawn in
    /// the time left (`TimeBudget.current`, also checked every block); the files appear together at the end, or not
    /// at all.
    public func write(to out: String) throws {
        try MemoryBudget.current.check(
            try peakBytes(),
            for: "random-inputs (two blocks of generated values and the \(dtype.rawValue) bytes of one)")
        let safetensors = (out as NSString).pathExtension.lowercased() == "safetensors"
        let outputs = try AtomicOutputs(
            safetensors ? [out] : shapes.map { out + "/\($0.name).npy" }, createFolders: !safetensors)
        defer { outputs.discard() }
        try Self.checkDisk(try fileBytes(), for: safetensors ? out : out + "/q.npy")
        let budget = TimeBudget.current
        let counts = try elementCounts()
        try checkTime(budget)
        var stream = NormalStream(generator: SeededGenerator(seed: seed), budget: budget)
        // One tensor's values, in the stream's order, block by block (f64 written from the block itself).
        func draw(_ count: Int, std: Double, into sink: ByteSink) throws {
            try stream.draw(count, std: std) { values in
                try TensorData(values: values, shape: [values.count], dtype: dtype).withUnsafeBytes {
                    try sink.append($0)
                }
            }
        }
        if safetensors {
            try outputs.stream(to: out) { sink in
                try sink.append(
                    try SafetensorsFile.header(
                        tensors: shapes.map { ($0.name, dtype, $0.shape) },
                        metadata: ["seed": "\(seed)", "layout": "bhsd", "generator": "treeattn random-inputs"]))
                for ((_, _, std), count) in zip(shapes, counts) { try draw(count, std: std, into: sink) }
            }
        } else {
            for ((name, shape, std), count) in zip(shapes, counts) {
                try outputs.stream(to: out + "/\(name).npy") { sink in
                    try sink.append(NPYFile.header(dtype: dtype, shape: shape))
                    try draw(count, std: std, into: sink)
                }
            }
        }
        try outputs.commit()
    }

    /// Refuses, with one line, files of `bytes` that would not fit the free space of the file system holding `path`.
    static func checkDisk(_ bytes: Int, for path: String) throws {
        var info = statvfs()
        guard statvfs(AtomicOutputs.parent(path), &info) == 0 else { return }
        let free = Double(info.f_bavail) * Double(info.f_frsize)
        guard Double(bytes) <= free else {
            throw CoreError.tooLarge(
                "random-inputs writes about \(MemoryBudget.format(bytes)), more than the \(MemoryBudget.format(Int(min(free, 9e18)))) free on the disk holding \(path)"
            )
        }
    }
}
