import ArgumentParser
import Dispatch
import Foundation
import Reference
import CLICommon

/// `treeattn attention`: exact attention, or shard partials plus a reduction, on tensors read from files.
struct AttentionCommand: ParsableCommand, MemoryBoundedCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "Compute exact or tree-reduced attention from .npy/.safetensors inputs.",
        discussion: """
            Inputs are (batch, heads, seq, dim) by default (--layout bshd for FlashAttention's order). A .safetensors \
            input is read by tensor name (q, k, v); one file may serve as --q, --k and --v and is then indexed once. \
            Each input is read once, straight into --precision (f32 files stay f32 in an f32 run; bf16/f16 inputs, \
            and f32 inputs of an f64 run, stay as stored and are widened exactly, one tile at a time, by the kernel). \
            LSE is natural log with layout (batch, heads, seq_q). NaN or Inf in unmasked inputs propagates to the \
            output (a warning is printed); in masked positions it never reaches the output.

            --backward also computes dQ, dK and dV for the upstream gradient --do (the output's shape and layout; a \
            .safetensors --do is read by tensor name 'do'). They go to --dq/--dk/--dv (.npy), or into a .safetensors \
            --out as dq, dk, dv (with each shard's dq share and its keys' dk, dv). With shards, the backward is the \
            tree-parallel one: each shard's gradients from the global LSE and D = rowsum(dO * O), the dQ shares \
            summed along the reduction.

            --cu-seqlens-q/--cu-seqlens-k take packed variable-length sequences as flash_attn_varlen_func does: q \
            (total_q, heads, dim), k and v (total_k, kv_heads, dim); sequence i is rows cu[i]..<cu[i+1]; causal, \
            window and ALiBi align per sequence and no sequence sees another's keys. The output is (total_q, heads, \
            value_dim) and the LSE (heads, total_q), FlashAttention's varlen layouts.
            """)

    @Option(help: "Query tensor file (.npy or .safetensors with tensor 'q').") var q: String
    @Option(help: "Key tensor file (.npy or .safetensors with tensor 'k').") var k: String
    @Option(help: "Value tensor file (.npy or .safetensors with tensor 'v').") var v: String
    @Option(help: "Number of key shards (devices).") var shards: Int = 1
    @Option(help: "exact, binary, kary:K, two-level:G, flat, ring or algorithm3.") var reduction: Reduction = .exact
    @Option(help: "Output file (.npy, or .safetensors which also holds lse, shard partials and tree levels).") var out: String
    @Option(help: "LSE output file (.npy).") var lse: String?
    @OptionGroup var problem: AttentionOptionGroup
    @Flag(help: "Also compute the gradients dQ, dK, dV for the upstream gradient --do.") var backward = false
    @Option(name: .customLong("do"), help: "Upstream gradient dO (.npy or .safetensors with tensor 'do'), the output's shape.")
    var dO: String?
    @Option(help: "dQ output file (.npy).") var dq: String?
    @Option(help: "dK output file (.npy).") var dk: String?
    @Option(help: "dV output file (.npy).") var dv: String?
    @Option(help: "Varlen: cumulative query lengths 0,s1,s1+s2,... (packed q of shape (total_q, heads, dim)).")
    var cuSeqlensQ: String?
    @Option(help: "Varlen: cumulative key lengths (packed k and v of shape (total_k, kv_heads, dim)).")
    var cuSeqlensK: String?
    @Option(help: "Paged KV cache: the block table (B, max_blocks) of int32/int64 (.npy, or .safetensors tensor 'block_table'); --k and --v are then the pages (tensors 'k_cache', 'v_cache' in a .safetensors) and --cache-seqlens is required.")
    var blockTable: String?
    @Option(help: "Paged KV cache: page layout nhd (num_pages, page_size, kv_heads, dim) or hnd (num_pages, kv_heads, page_size, dim).")
    var pageLayout: PageLayout = .nhd

    @OptionGroup var memory: MemoryOptions
    @Flag(help: "Print the seconds spent reading, computing and writing, and the peak RSS, to stderr (one line).")
    var timings = false

    /// Phase clock for --timings.
    final class Clock {
        var marks: [(String, UInt64)] = [("start", DispatchTime.now().uptimeNanoseconds)]
        func mark(_ phase: String) { marks.append((phase, DispatchTime.now().uptimeNanoseconds)) }
        var line: String {
            zip(marks, marks.dropFirst()).map { String(format: "%@ %.3f s", $1.0, Double($1.1 - $0.1) / 1e9) }
                .joined(separator: ", ")
        }
    }

    func validate() throws {
        guard (1...65_536).contains(shards) else { throw CLIError("--shards must be in 1...65536, got \(shards)") }
        if reduction == .exact && shards != 1 { throw CLIError("--shards \(shards) needs a --reduction other than exact") }
        if blockTable != nil {
            guard problem.cacheSeqlens != nil, cuSeqlensQ == nil else {
                throw CLIError("a paged KV cache (--block-table) needs --cache-seqlens and takes no --cu-seqlens-q/-k")
            }
        }
        if (cuSeqlensQ == nil) != (cuSeqlensK == nil) { throw CLIError("varlen needs both --cu-seqlens-q and --cu-seqlens-k") }
        if cuSeqlensQ != nil {
            guard shards == 1, !backward, problem.mask == nil, problem.cacheSeqlens == nil, problem.layout == .bhsd else {
                throw CLIError("varlen (--cu-seqlens-q/-k) takes no --shards, --backward, --mask, --cache-seqlens or --layout (it is packed (tokens, heads, dim))")
            }
        }
        let gradientPaths = [dq, dk, dv].compactMap { $0 }
        if !backward {
            guard dO == nil, gradientPaths.isEmpty else { throw CLIError("--do, --dq, --dk and --dv need --backward") }
        } else {
            guard dO != nil else { throw CLIError("--backward needs the upstream gradient --do") }
            let bundled = (out as NSString).pathExtension.lowercased() == "safetensors"
            guard bundled || gradientPaths.count == 3 else {
                throw CLIError("--backward needs --dq, --dk and --dv (or a .safetensors --out, which holds them)")
            }
        }
    }

    func run() throws {
        // All outputs are checked and reserved before any work, and appear together at the end or not at all.
        let paths = [out] + [lse, dq, dk, dv].compactMap { $0 }
        for path in paths { try TensorFiles.checkOutputType(path) }
        let outputs = try AtomicOutputs(paths)
        defer { outputs.discard() }
        let clock = Clock()
        switch problem.precision {
        case .f64: try compute(Double.self, into: outputs, clock: clock)
        case .f32: try compute(Float.self, into: outputs, clock: clock)
        }
        try outputs.commit()
        clock.mark("write")
        if timings {
            let peak = PeakResidentSet.text ?? "unknown"
            FileHandle.standardError.write(Data("timings: \(clock.line); peak RSS \(peak)\n".utf8))
        }
    }

    /// Reads Q, K and V once each, straight into the compute type S (`TensorFileReader.values`: one reader per
    /// distinct file, so a .safetensors given as --q, --k and --v is indexed once), then computes and writes.
    func compute<S: AttentionScalar>(_: S.Type, into outputs: AtomicOutputs, clock: Clock) throws {
        var readers: [String: TensorFileReader] = [:]
        var sources: [(reader: TensorFileReader, tensor: String, path: String, name: String)] = []
        var stored: [StoredTensor] = []
        let paged = blockTable != nil
        for (path, name) in [(q, "q"), (k, paged ? "k_cache" : "k"), (v, paged ? "v_cache" : "v")] {
            let key = AtomicOutputs.resolvedPath(path)
            let reader = try readers[key] ?? TensorFileReader(path: path, npyName: name)
            readers[key] = reader
            // A .npy file holds one tensor, whatever it is passed as.
            let tensor = (path as NSString).pathExtension.lowercased() == "npy" ? reader.tensors[0].name : name
            let t = try reader.stored(tensor)
            guard t.dtype.isFloatingPoint else {
                throw CLIError("\(path): \(name) must be a float tensor, got \(t.dtype.rawValue)")
            }
            guard t.shape.count == (cuSeqlensQ == nil ? 4 : 3) else {
                throw CLIError(cuSeqlensQ == nil ? "\(path): \(name) must have rank 4 (\(problem.layout)), got shape \(t.shape)"
                               : "\(path): varlen \(name) must have rank 3 (total_tokens, heads, dim), got shape \(t.shape)")
            }
            sources.append((reader, tensor, path, name))
            stored.append(t)
        }
        if cuSeqlensQ != nil {
            try computeVarlen(S.self, sources: sources, stored: stored, into: outputs, clock: clock)
            return
        }
        let swap = problem.layout == .bshd
        func warn(_ name: String, _ bad: Int) {
            if bad > 0 { printWarning("\(name) holds \(bad) NaN/Inf values; in unmasked positions they propagate to the output") }
        }
        // Q, K and V all bf16 (or all f16): kept as 16-bit values and widened by the kernel one tile at a time
        // (the backward reads them widened, as it reads dO).
        if !backward, !paged, let format = stored[0].dtype == .bf16 ? HalfFormat.bf16 : stored[0].dtype == .f16 ? .f16 : nil,
           stored.allSatisfy({ $0.dtype == stored[0].dtype }) {
            try checkMemory(S.self, inputShapes: stored.map(\.shape), elementBytes: 2)
            var bits: [Tensor<UInt16>] = []
            for source in sources {
                let (t, _, bad) = try source.reader.halfBits(source.tensor, swapAxes12: swap)
                warn(source.name, bad)
                bits.append(t)
            }
            try compute(HalfPrecisionInputs<S>(format: format, q: bits[0], k: bits[1], v: bits[2]), into: outputs, clock: clock)
            return
        }
        // Q, K and V all f32 in an f64 run: kept as f32 and widened exactly by the kernel one tile at a time (no
        // f64 copy of the inputs to allocate and fill).
        if !backward, !paged, S.self == Double.self, stored.allSatisfy({ $0.dtype == .f32 }) {
            try checkMemory(S.self, inputShapes: stored.map(\.shape), elementBytes: 4)
            var singles: [Tensor<Float>] = []
            for source in sources {
                let (t, bad) = try source.reader.values(source.tensor, as: Float.self, swapAxes12: swap)
                warn(source.name, bad)
                singles.append(t)
            }
            try compute(SinglePrecisionInputs<S>(q: singles[0], k: singles[1], v: singles[2]), into: outputs, clock: clock)
            return
        }
        try checkMemory(S.self, inputShapes: stored.map(\.shape), elementBytes: MemoryLayout<S>.size)
        var tensors: [Tensor<S>] = []
        for (index, source) in sources.enumerated() {
            // Pages keep their own layout; only q follows --layout.
            let (t, bad) = try source.reader.values(source.tensor, as: S.self, swapAxes12: swap && (index == 0 || !paged))
            warn(source.name, bad)
            tensors.append(t)
        }
        let inputs = paged ? try pagedInputs(q: tensors[0], kPages: tensors[1], vPages: tensors[2])
            : try AttentionInputs(q: tensors[0], k: tensors[1], v: tensors[2])
        tensors = []
        if backward {
            try computeBackward(inputs, into: outputs, clock: clock)
        } else {
            try compute(inputs, into: outputs, clock: clock)
        }
    }

    func compute<X: AttentionOperands>(_ inputs: X, into outputs: AtomicOutputs, clock: Clock) throws {
        clock.mark("read")
        let options = try problem.makeOptions(batch: inputs.batch, heads: inputs.queryHeads, queries: inputs.queries, keys: inputs.keys)
        let layoutShards = try ShardLayout(keys: inputs.keys, shards: shards)
        let r = try ShardedAttention.forward(inputs, options: options, layout: layoutShards, reduction: reduction)
        clock.mark("compute")
        try write(r, into: outputs)
    }

    /// What the run holds at its peak, estimated from the headers before anything is read: Q, K and V at
    /// `elementBytes` each (the compute type, or 2 for bf16/f16 kept as is; read once, no widened copy; one 4 MiB slab
    /// while decoding), the mask file read whole, and the outputs: the
    /// output and LSE as tensors, their converted copies and encoded bytes (3 x), times the tensors a .safetensors output
    /// also holds (one per shard and, at most, one per tree node: 1 + 2 x shards).
    func checkMemory<S: AttentionScalar>(_: S.Type, inputShapes: [[Int]], elementBytes: Int, bshd: Bool? = nil) throws {
        let what = "reading the inputs"
        let inputs = try MemoryBudget.sum(inputShapes.map { try MemoryBudget.product($0 + [elementBytes], for: what) }
                                          + [1 << 22, problem.mask.map { try TensorFiles.readEstimate([$0]) } ?? 0], for: what)
        try MemoryBudget.current.check(inputs, for: what)
        let (qShape, vShape) = (inputShapes[0], inputShapes[2])
        let bshd = bshd ?? (problem.layout == .bshd)
        let rows = try MemoryBudget.product([qShape[0], qShape[bshd ? 2 : 1], qShape[bshd ? 1 : 2]], for: what)
        let perResult = try MemoryBudget.product([rows, vShape[3] + 1, 8, 3], for: "writing the outputs")
        let copies = (out as NSString).pathExtension.lowercased() == "safetensors" ? 1 + 2 * shards : 1
        let total = try MemoryBudget.sum([inputs, MemoryBudget.product([perResult, copies], for: "writing the outputs")],
                                         for: "writing the outputs")
        try MemoryBudget.current.check(total, for: "attention (inputs and outputs)")
    }

    /// Packed variable-length sequences: each sequence alone through the exact kernel.
    func computeVarlen<S: AttentionScalar>(
        _: S.Type, sources: [(reader: TensorFileReader, tensor: String, path: String, name: String)], stored: [StoredTensor],
        into outputs: AtomicOutputs, clock: Clock
    ) throws {
        func offsets(_ text: String, _ option: String) throws -> [Int] {
            try parseNumbers(text, option).map { value -> Int in
                guard let n = Int(exactly: value) else { throw CLIError("\(option) needs integers, got \(value)") }
                return n
            }
        }
        let layout = try VarlenLayout(cuSeqlensQ: try offsets(cuSeqlensQ!, "--cu-seqlens-q"),
                                      cuSeqlensK: try offsets(cuSeqlensK!, "--cu-seqlens-k"),
                                      totalQ: stored[0].shape[0], totalK: stored[1].shape[0])
        let (qs, ks, vs) = (stored[0].shape, stored[1].shape, stored[2].shape)
        guard ks == [ks[0], vs[1], qs[2]], vs[0] == ks[0], vs[1] > 0, qs[1] % vs[1] == 0 else {
            throw CLIError("varlen shapes do not fit: q \(qs), k \(ks), v \(vs) (q (total_q, heads, d), k (total_k, kv_heads, d), v (total_k, kv_heads, dv), heads a multiple of kv_heads)")
        }
        // As a (1, total, heads, dim) problem in bshd: the same bytes, so the same estimate.
        try checkMemory(S.self, inputShapes: [qs, ks, vs].map { [1, $0[0], $0[1], $0[2]] }, elementBytes: MemoryLayout<S>.size, bshd: true)
        var tensors: [Tensor<S>] = []
        for source in sources {
            let (t, bad) = try source.reader.values(source.tensor, as: S.self)
            if bad > 0 { printWarning("\(source.name) holds \(bad) NaN/Inf values; within its own sequence they propagate to the output") }
            tensors.append(t)
        }
        clock.mark("read")
        let options = try problem.makeOptions(batch: 1, heads: qs[1], queries: 1, keys: 1)
        let r = try VarlenAttention.forward(q: tensors[0], k: tensors[1], v: tensors[2], layout: layout, options: options)
        clock.mark("compute")
        let output = try problem.data(r.output, swap: false), lseData = try problem.data(r.lse, swap: false)
        if (out as NSString).pathExtension.lowercased() == "safetensors" {
            let i32 = { (xs: [Int]) in try TensorData(values: xs.map(Double.init), shape: [xs.count], dtype: .i32) }
            let file = SafetensorsFile(tensors: [("out", output), ("lse", lseData), ("cu_seqlens_q", try i32(layout.cuSeqlensQ)),
                                                 ("cu_seqlens_k", try i32(layout.cuSeqlensK))],
                                       metadata: ["layout": "varlen", "out_layout": "thd (total_q, heads, value_dim)",
                                                  "lse_layout": "ht (heads, total_q)", "lse_base": "e",
                                                  "precision": problem.precision.rawValue, "generator": "treeattn attention"])
            try outputs.write(file.encode(), to: out)
        } else {
            try outputs.write(TensorFiles.encode(output, for: out, name: "out"), to: out)
        }
        if let lse { try outputs.write(TensorFiles.encode(lseData, for: lse, name: "lse"), to: lse) }
    }

    /// The forward and the (tree-parallel) backward; dO is read once into S after its size is checked.
    func computeBackward<S: AttentionScalar>(_ inputs: AttentionInputs<S>, into outputs: AtomicOutputs, clock: Clock) throws {
        let path = dO!
        let reader = try TensorFileReader(path: path, npyName: "do")
        let name = (path as NSString).pathExtension.lowercased() == "npy" ? reader.tensors[0].name : "do"
        let stored = try reader.stored(name)
        guard stored.dtype.isFloatingPoint else { throw CLIError("\(path): do must be a float tensor, got \(stored.dtype.rawValue)") }
        let want = [inputs.batch, inputs.queryHeads, inputs.queries, inputs.valueDim]
        let shape = problem.layout == .bshd && stored.shape.count == 4
            ? [stored.shape[0], stored.shape[2], stored.shape[1], stored.shape[3]] : stored.shape
        guard shape == want else {
            throw CLIError("\(path): do must have the output's shape \(problem.layout == .bshd ? [want[0], want[2], want[1], want[3]] : want) (\(problem.layout)), got \(stored.shape)")
        }
        let (upstream, bad) = try reader.values(name, as: S.self, swapAxes12: problem.layout == .bshd)
        if bad > 0 { printWarning("do holds \(bad) NaN/Inf values; in rows that see keys they propagate to the gradients") }
        clock.mark("read")
        let options = try problem.makeOptions(batch: inputs.batch, heads: inputs.queryHeads, queries: inputs.queries, keys: inputs.keys)
        let layoutShards = try ShardLayout(keys: inputs.keys, shards: shards)
        // The gradients' encoded copies (3 x 8 bytes per element at most), on top of what the backward holds.
        let gradientElements = try MemoryBudget.sum([inputs.q.count, inputs.k.count, inputs.v.count], for: "writing the gradients")
        try MemoryBudget.current.check(
            try MemoryBudget.sum([try ShardedBackward.estimatedBytes(inputs, layout: layoutShards, reduction: reduction),
                                  try MemoryBudget.product([gradientElements, 24], for: "writing the gradients")],
                                 for: "the backward and its outputs"),
            for: "the backward and its outputs")
        let r = try ShardedBackward.backward(inputs, dO: upstream, options: options, layout: layoutShards, reduction: reduction)
        clock.mark("compute")
        try write(r.forward, gradients: r, into: outputs)
    }

    func write<S: AttentionScalar>(_ r: ShardedAttention.Result<S>, gradients: ShardedBackward.Result<S>? = nil,
                                   into outputs: AtomicOutputs) throws {
        func data(_ t: Tensor<S>, swap: Bool) throws -> TensorData { try problem.data(t, swap: swap) }
        let bshd = problem.layout == .bshd
        let (output, lseData) = try problem.encode(r.result)
        if (out as NSString).pathExtension.lowercased() == "safetensors" {
            var file = SafetensorsFile(tensors: [("out", output), ("lse", lseData)], metadata: [
                "layout": problem.layout.rawValue, "lse_layout": "bhs", "lse_base": "e", "precision": problem.precision.rawValue,
                "reduction": reduction.description, "shards": "\(shards)", "generator": "treeattn attention"])
            for (i, p) in r.shardPartials.enumerated() {
                file.tensors.append(("shard\(i).out", try data(p.output, swap: bshd)))
                file.tensors.append(("shard\(i).lse", try data(p.lse, swap: false)))
            }
            if let tree = r.tree {
                for (l, level) in tree.levels.enumerated().dropFirst() {
                    for (n, node) in level.enumerated() {
                        file.tensors.append(("level\(l).node\(n).out", try data(node.output, swap: bshd)))
                        file.tensors.append(("level\(l).node\(n).lse", try data(node.lse, swap: false)))
                    }
                }
            }
            if let g = gradients {
                file.metadata["backward"] = "dq, dk, dv: gradients of sum(do * out); shardI.dq is shard I's dq share, shardI.dk/dv its keys' gradients"
                for (key, t) in [("dq", g.gradients.dq), ("dk", g.gradients.dk), ("dv", g.gradients.dv)] {
                    file.tensors.append((key, try data(t, swap: bshd)))
                }
                for (i, shard) in g.shards.enumerated() {
                    for (key, t) in [("dq", shard.dq), ("dk", shard.dk), ("dv", shard.dv)] {
                        file.tensors.append(("shard\(i).\(key)", try data(t, swap: bshd)))
                    }
                }
            }
            try outputs.write(file.encode(), to: out)
        } else {
            try outputs.write(TensorFiles.encode(output, for: out, name: "out"), to: out)
        }
        if let g = gradients {
            for (path, key, t) in [(dq, "dq", g.gradients.dq), (dk, "dk", g.gradients.dk), (dv, "dv", g.gradients.dv)] {
                guard let path else { continue }
                try outputs.write(TensorFiles.encode(try data(t, swap: bshd), for: path, name: key), to: path)
            }
        }
        if let lse { try outputs.write(TensorFiles.encode(lseData, for: lse, name: "lse"), to: lse) }
    }
}
