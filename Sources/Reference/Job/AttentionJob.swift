import Dispatch
import Foundation

/// One attention run from files to files, as `treeattn attention` runs it: read Q, K and V (every dtype path), build
/// the problem (dense, varlen or paged), estimate the memory before allocating, compute the forward (exact or
/// sharded with a reduction) and, with an upstream gradient, the (tree-parallel) backward, then write the results
/// (`AttentionOutputBundle`) all together or not at all.
///
/// ```swift
/// var job = AttentionJob(q: "in.safetensors", k: "in.safetensors", v: "in.safetensors", out: "tree.safetensors")
/// job.problem.causal = .bottomRight
/// (job.shards, job.reduction) = (8, .tree(.binary))
/// let summary = try job.run()   // summary.warnings, summary.phases
/// ```
public struct AttentionJob: Sendable {
    /// How the keys of the problem are laid out.
    public enum Keys: Sendable {
        /// (batch, heads, seq, dim) tensors (or bshd, per the problem's layout).
        case dense
        /// Packed variable-length sequences as `flash_attn_varlen_func` takes them: q (total_q, heads, dim), k and v
        /// (total_k, kv_heads, dim), and the cumulative lengths of the queries and keys; with FlashAttention 3's
        /// `seqused_q`/`seqused_k`, the rows each sequence uses (`VarlenLayout.using(queries:keys:)`).
        case varlen(cuSeqlensQ: [Int], cuSeqlensK: [Int], sequsedQ: [Int]? = nil, sequsedK: [Int]? = nil)
        /// A paged KV cache: k and v are the pages (tensors `k_cache`, `v_cache` in a .safetensors), `blockTable` the
        /// file of the (batch, max_blocks) block table; the problem's cache lengths are required.
        case paged(blockTable: String, layout: PageLayout)

        /// Whether the keys come from a paged cache.
        public var isPaged: Bool { if case .paged = self { true } else { false } }
    }

    /// Where the results go: `out` (.npy, or a .safetensors bundle that also holds the LSE, every shard partial and
    /// tree level, and the gradients), and optionally the LSE and the gradients as separate files.
    public struct Outputs: Sendable {
        /// The output tensor's file, or the bundle.
        public var out: String
        /// The LSE's file.
        public var lse: String?
        /// The gradients' files (.npy), for the backward.
        public var dq: String?
        /// The dK file (.npy), for the backward.
        public var dk: String?
        /// The dV file (.npy), for the backward.
        public var dv: String?
        /// The sinks' gradient file (.npy, one value per query head), for the backward of a problem with sinks.
        public var dsinks: String?
        /// The updated K cache's file (.npy), for a KV-cache update (`CacheAppend`).
        public var kCache: String?
        /// The updated V cache's file (.npy), for a KV-cache update.
        public var vCache: String?

        /// The outputs: `out`, and the LSE and gradient files when given.
        public init(
            out: String, lse: String? = nil, dq: String? = nil, dk: String? = nil, dv: String? = nil,
            dsinks: String? = nil
        ) {
            (self.out, self.lse, self.dq, self.dk, self.dv, self.dsinks) = (out, lse, dq, dk, dv, dsinks)
        }

        /// Every path given, `out` first.
        public var paths: [String] { [out] + [lse, dq, dk, dv, dsinks, kCache, vCache].compactMap { $0 } }

        /// Whether `out` is a .safetensors bundle.
        public var bundled: Bool { (out as NSString).pathExtension.lowercased() == "safetensors" }
    }

    /// What a run reports besides its files.
    public struct Summary: Sendable {
        /// Seconds per phase, in order: read, compute, write.
        public var phases: [(name: String, seconds: Double)] = []
        /// NaN/Inf counts of the inputs (such values propagate to the outputs they reach).
        public var warnings: [String] = []

        /// "read 0.010 s, compute 0.150 s, write 0.002 s".
        public var timingLine: String {
            phases.map { String(format: "%@ %.3f s", $0.name, $0.seconds) }.joined(separator: ", ")
        }
    }

    /// The query, key and value files.
    public var q: String
    /// The key file.
    public var k: String
    /// The value file.
    public var v: String
    /// The layout, precision and score options.
    public var problem = AttentionProblem()
    /// Dense, varlen or paged keys.
    public var keys = Keys.dense
    /// Key shards (devices), 1...65536; more than one needs a reduction other than `.exact`.
    public var shards = 1
    /// How the shard partials are combined.
    public var reduction = Reduction.exact
    /// The upstream gradient dO (the output's shape and layout; tensor `do` in a .safetensors): with it the run
    /// also computes dQ, dK and dV.
    public var upstreamGradient: String?
    /// flash_attn_with_kvcache's update of the cache (k and v) before the attention; nil for none.
    public var cacheAppend: CacheAppend?
    /// The upstream gradient of the LSE (shape (batch, heads, seq_q) in every layout; tensor `dlse` in a
    /// .safetensors), for the backward: the gradients become those of sum(do * out) + sum(dlse * lse).
    public var upstreamLSEGradient: String?
    /// Where the results go.
    public var outputs: Outputs
    /// Called every 2 s of a run longer than 5 s with the fraction of the estimated work done and the seconds left at
    /// the rate so far (`WorkProgress`); nil for none.
    public var progress: (@Sendable (_ fraction: Double, _ secondsLeft: Double?) -> Void)?

    /// A dense, exact, forward job with the default problem.
    public init(q: String, k: String, v: String, out: String) {
        (self.q, self.k, self.v) = (q, k, v)
        outputs = Outputs(out: out)
    }

    /// Whether the backward runs.
    public var backward: Bool { upstreamGradient != nil }

    /// Every file the job reads: q, k, v, the upstream gradient, the mask and the block table (no output may be one).
    public var inputPaths: [String] {
        var paths =
            [q, k, v]
            + [upstreamGradient, upstreamLSEGradient, problem.maskPath, cacheAppend?.kNew, cacheAppend?.vNew]
            .compactMap { $0 }
        if case .paged(let table, _) = keys { paths.append(table) }
        return paths
    }

    /// Refuses combinations the job cannot run, before anything is read.
    public func validate() throws {
        guard (1...65_536).contains(shards) else {
            throw ReferenceError.invalidOption("shards must be in 1...65536, got \(shards)")
        }
        if reduction == .exact && shards != 1 {
            throw ReferenceError.invalidOption("\(shards) shards need a reduction other than exact")
        }
        for path in outputs.paths { try TensorFiles.checkOutputType(path) }
        switch keys {
        case .dense: break
        case .varlen:
            guard shards == 1, !backward, problem.maskPath == nil, problem.cacheSeqlens == nil, problem.layout == .bhsd
            else {
                throw ReferenceError.invalidOption(
                    "varlen attention takes no shards, backward, mask, cache lengths or layout (it is packed (tokens, heads, dim))"
                )
            }
        case .paged:
            guard problem.cacheSeqlens != nil else {
                throw ReferenceError.invalidOption("a paged KV cache needs the cache lengths")
            }
        }
        if let cacheAppend {
            try validateAppend(cacheAppend)
        } else if outputs.kCache != nil || outputs.vCache != nil {
            throw ReferenceError.invalidOption("updated-cache outputs need a KV-cache update (new keys and values)")
        }
        if problem.rotary != nil, case .varlen = keys {
            throw ReferenceError.invalidOption("rotary embeddings are not supported with varlen inputs")
        }
        let gradients = [outputs.dq, outputs.dk, outputs.dv].compactMap { $0 }
        if backward {
            guard outputs.bundled || gradients.count == 3 else {
                throw ReferenceError.invalidOption(
                    "the backward needs dq, dk and dv outputs (or a .safetensors out, which holds them)")
            }
        } else if !gradients.isEmpty || outputs.dsinks != nil || upstreamLSEGradient != nil {
            throw ReferenceError.invalidOption(
                "dq, dk, dv and dsinks outputs and an LSE gradient need the backward (an upstream gradient)")
        }
        if outputs.dsinks != nil, problem.sinks == nil {
            throw ReferenceError.invalidOption("a dsinks output needs sinks")
        }
    }

    /// Runs the job: every output location is checked and reserved first, the results appear together at the end
    /// (renamed from temporaries) or not at all. Memory estimates are checked against `MemoryBudget.current`.
    public func run() throws -> Summary {
        try validate()
        let files = try AtomicOutputs(outputs.paths, inputs: inputPaths)
        defer {
            files.discard()
            WorkProgress.current = nil
        }
        var run = Run(job: self, files: files)
        switch problem.precision {
        case .f64: try run.compute(Double.self)
        case .f32: try run.compute(Float.self)
        }
        try files.commit()
        run.mark("write")
        return run.summary
    }
}

extension AttentionJob {
    /// One run in progress: the job, its reserved outputs, the phase clock and the warnings.
    struct Run {
        /// The job (a KV-cache update moves its cache lengths past the update before the attention).
        var job: AttentionJob
        let files: AtomicOutputs
        var summary = Summary()
        var last = DispatchTime.now().uptimeNanoseconds

        init(job: AttentionJob, files: AtomicOutputs) {
            self.job = job
            self.files = files
        }

        var problem: AttentionProblem { job.problem }

        /// Ends the current phase.
        mutating func mark(_ phase: String) {
            let now = DispatchTime.now().uptimeNanoseconds
            summary.phases.append((phase, Double(now - last) / 1e9))
            last = now
        }

        /// Reads Q, K and V once each, straight into the compute type S, then computes and writes.
        mutating func compute<S: AttentionScalar>(_: S.Type) throws {
            if let append = job.cacheAppend { return try computeAppend(S.self, append) }
            let paged: Bool
            switch job.keys {
            case .varlen(let cuQ, let cuK, let usedQ, let usedK):
                return try computeVarlen(S.self, cuSeqlensQ: cuQ, cuSeqlensK: cuK, used: (usedQ, usedK))
            case .paged: paged = true
            case .dense: paged = false
            }
            let files = try AttentionFiles(
                q: job.q, k: job.k, v: job.v, roles: paged ? ["q", "k_cache", "v_cache"] : ["q", "k", "v"],
                layout: problem.layout)
            let swap = problem.layout.swapsAxes
            // Q, K and V all bf16 (or all f16): kept as 16-bit values and widened by the kernel one tile at a time
            // (the backward reads them widened, as it reads dO).
            if !job.backward, !paged, problem.rotary == nil, let dtype = files.commonDType,
                dtype == .bf16 || dtype == .f16
            {
                try checkMemory(S.self, inputShapes: files.shapes, elementBytes: 2)
                let (bits, format, bad) = try files.halfBits(swap: swap)
                let exponent: UInt16 = format == .bf16 ? 0x7F80 : 0x7C00
                return try forward(
                    HalfPrecisionInputs<S>(format: format, q: bits[0], k: bits[1], v: bits[2]), bad: bad,
                    isBad: (
                        { bits[1].data[$0] & exponent == exponent }, { bits[2].data[$0] & exponent == exponent }
                    ))
            }
            // Q, K and V all f32 in an f64 run: kept as f32 and widened exactly by the kernel one tile at a time (no
            // f64 copy of the inputs to allocate and fill).
            if !job.backward, !paged, problem.rotary == nil, S.self == Double.self, files.commonDType == .f32 {
                try checkMemory(S.self, inputShapes: files.shapes, elementBytes: 4)
                let (singles, bad) = try files.values(as: Float.self, swap: [swap, swap, swap])
                return try forward(
                    SinglePrecisionInputs<S>(q: singles[0], k: singles[1], v: singles[2]), bad: bad,
                    isBad: ({ !singles[1].data[$0].isFinite }, { !singles[2].data[$0].isFinite }))
            }
            try checkMemory(S.self, inputShapes: files.shapes, elementBytes: MemoryLayout<S>.size)
            // Pages keep their own layout; only q follows the problem's layout.
            var (tensors, bad) = try files.values(as: S.self, swap: [swap, swap && !paged, swap && !paged])
            // A paged cache's K and V are counted after the gather (unused slots are gathered as zeros).
            if paged { bad = [bad[0], 1, 1] }
            var inputs =
                paged
                ? try pagedInputs(q: tensors[0], kPages: tensors[1], vPages: tensors[2])
                : try AttentionInputs(q: tensors[0], k: tensors[1], v: tensors[2])
            tensors = []
            if problem.rotary != nil {
                // Rope: q and k (a paged cache's gathered keys) rotated in f64 and rounded once to their files'
                // dtypes, as a kernel that rotates keeps its operands.
                let (q, k) = try problem.rotated(inputs.q, inputs.k)
                inputs = try AttentionInputs(
                    q: q.rounded(to: files.sources[0].stored.dtype), k: k.rounded(to: files.sources[1].stored.dtype),
                    v: inputs.v)
            }
            let isBad = ({ !inputs.k.data[$0].isFinite }, { !inputs.v.data[$0].isFinite })
            if let path = job.upstreamGradient {
                try backward(inputs, upstream: path, bad: bad, isBad: isBad)
            } else {
                try forward(inputs, bad: bad, isBad: isBad)
            }
        }

        /// The NaN/Inf warnings of q (`bad[0]` values) and of k and v where a query sees them (`InputWarnings`;
        /// `bad[1]`, `bad[2]` are their counts as read, 0 meaning nothing to look for).
        mutating func warn<X: AttentionOperands>(
            _ inputs: X, options: AttentionOptions, bad: [Int], isBad: ((Int) -> Bool, (Int) -> Bool),
            propagation: String = "in unmasked positions they propagate to the output"
        ) throws {
            let roles = job.keys.isPaged ? ["q", "k_cache", "v_cache"] : ["q", "k", "v"]
            let counts = try InputWarnings.counts(
                inputs, bad: bad, options: options, keys: inputs.keys, isBad: (k: isBad.0, v: isBad.1))
            for (role, count) in zip(roles, counts) { summary.warnings += InputWarnings.line(role, count, propagation) }
        }

        /// The forward, exact or sharded, and its outputs.
        mutating func forward<X: AttentionOperands>(
            _ inputs: X, bad: [Int], isBad: ((Int) -> Bool, (Int) -> Bool),
            caches: (k: TensorData, v: TensorData)? = nil
        ) throws {
            mark("read")
            let options = try problem.options(
                batch: inputs.batch, heads: inputs.queryHeads, queries: inputs.queries, keys: inputs.keys)
            try warn(inputs, options: options, bad: bad, isBad: isBad)
            let layout = try ShardLayout(keys: inputs.keys, shards: job.shards)
            let r = try ShardedAttention.forward(inputs, options: options, layout: layout, reduction: job.reduction)
            mark("compute")
            try AttentionOutputBundle(job: job).write(r, caches: caches, into: files)
        }

        /// What the run holds at its peak, estimated from the headers before anything is read: Q, K and V at
        /// `elementBytes` each (the compute type, or 2 for bf16/f16 kept as is; read once, no widened copy; one 4 MiB
        /// slab while decoding), the mask file read whole, and the outputs: the output and LSE as tensors, their
        /// converted copies and encoded bytes (3 x), times the tensors a .safetensors output also holds (one per
        /// shard and, at most, one per tree node: 1 + 2 x shards). Also the time (`AttentionWork`): `work`, or for a
        /// dense problem the work its shapes imply (a paged problem's keys are known only from its block table, so it
        /// checks its time in `pagedInputs`).
        func checkMemory<S: AttentionScalar>(
            _: S.Type, inputShapes: [[Int]], elementBytes: Int, bshd: Bool? = nil, work: AttentionWork? = nil
        ) throws {
            let what = "reading the inputs"
            let inputs = try MemoryBudget.sum(
                inputShapes.map { try MemoryBudget.product($0 + [elementBytes], for: what) }
                    + [1 << 22, problem.maskPath.map { try TensorFiles.readEstimate([$0]) } ?? 0], for: what)
            try MemoryBudget.current.check(inputs, for: what)
            let (qShape, vShape) = (inputShapes[0], inputShapes[2])
            let bshd = bshd ?? problem.layout.swapsAxes
            let rows = try MemoryBudget.product([qShape[0], qShape[bshd ? 2 : 1], qShape[bshd ? 1 : 2]], for: what)
            let perResult = try MemoryBudget.product([rows, vShape[3] + 1, 8, 3], for: "writing the outputs")
            let copies = job.outputs.bundled ? 1 + 2 * job.shards : 1
            let total = try MemoryBudget.sum(
                [inputs, MemoryBudget.product([perResult, copies], for: "writing the outputs")],
                for: "writing the outputs")
            try MemoryBudget.current.check(total, for: "attention (inputs and outputs)")
            if let work {
                try checkTime(work, for: "attention")
            } else if case .dense = job.keys {
                let (q, k) = (inputShapes[0], inputShapes[1])
                try checkTime(
                    AttentionWork(
                        batch: q[0], heads: q[bshd ? 2 : 1], queries: q[bshd ? 1 : 2], keys: k[bshd ? 1 : 2],
                        headDim: q[3], valueDim: vShape[3], shards: job.shards, backward: job.backward),
                    for: "attention")
            }
        }

        /// Refuses `work` when it cannot finish in the time left; otherwise, with `job.progress`, follows the kernels'
        /// floating-point operations against it (`WorkProgress.current`, until the run ends).
        func checkTime(_ work: AttentionWork, for what: String) throws {
            try work.check(for: what)
            if let report = job.progress { WorkProgress.current = WorkProgress(total: work.flops, report: report) }
        }

        /// A per-row tensor (the LSE's shape (batch, heads, seq_q) in every layout) read from `path` (tensor `name` in a
        /// .safetensors) into S, finite values only.
        func rowTensor<S: AttentionScalar>(_ path: String, name: String, shape: [Int], as: S.Type) throws -> Tensor<S> {
            let reader = try TensorFileReader(path: path, npyName: name)
            let key = (path as NSString).pathExtension.lowercased() == "npy" ? reader.tensors[0].name : name
            let stored = try reader.stored(key)
            guard stored.dtype.isFloatingPoint, stored.shape == shape else {
                throw ReferenceError.file(
                    path: path,
                    problem:
                        "\(name) must be a float tensor of the LSE's shape \(shape), got \(stored.dtype.rawValue) \(stored.shape)"
                )
            }
            let (values, bad) = try reader.values(key, as: S.self, swapAxes12: false)
            guard bad == 0 else {
                throw ReferenceError.file(path: path, problem: "\(name) holds \(bad) NaN or Inf values")
            }
            return values
        }

        /// The forward and the (tree-parallel) backward; dO is read once into S after its size is checked.
        mutating func backward<S: AttentionScalar>(
            _ inputs: AttentionInputs<S>, upstream path: String, bad: [Int], isBad: ((Int) -> Bool, (Int) -> Bool)
        ) throws {
            let reader = try TensorFileReader(path: path, npyName: "do")
            let name = (path as NSString).pathExtension.lowercased() == "npy" ? reader.tensors[0].name : "do"
            let stored = try reader.stored(name)
            guard stored.dtype.isFloatingPoint else {
                throw ReferenceError.file(
                    path: path, problem: "do must be a float tensor, got \(stored.dtype.rawValue)")
            }
            let want = [inputs.batch, inputs.queryHeads, inputs.queries, inputs.valueDim]
            let bshd = problem.layout.swapsAxes
            let shape =
                bshd && stored.shape.count == 4
                ? [stored.shape[0], stored.shape[2], stored.shape[1], stored.shape[3]] : stored.shape
            guard shape == want else {
                throw ReferenceError.file(
                    path: path,
                    problem:
                        "do must have the output's shape \(bshd ? [want[0], want[2], want[1], want[3]] : want) (\(problem.layout)), got \(stored.shape)"
                )
            }
            let (upstream, badUpstream) = try reader.values(name, as: S.self, swapAxes12: bshd)
            let dlse = try job.upstreamLSEGradient.map {
                try rowTensor($0, name: "dlse", shape: [inputs.batch, inputs.queryHeads, inputs.queries], as: S.self)
            }
            mark("read")
            let options = try problem.options(
                batch: inputs.batch, heads: inputs.queryHeads, queries: inputs.queries, keys: inputs.keys)
            try warn(inputs, options: options, bad: bad, isBad: isBad)
            summary.warnings += InputWarnings.line(
                "do", badUpstream, "in rows that see keys they propagate to the gradients")
            let layout = try ShardLayout(keys: inputs.keys, shards: job.shards)
            // The gradients' encoded copies (3 x 8 bytes per element at most), on top of what the backward holds.
            let gradientElements = try MemoryBudget.sum(
                [inputs.q.count, inputs.k.count, inputs.v.count], for: "writing the gradients")
            try MemoryBudget.current.check(
                try MemoryBudget.sum(
                    [
                        try ShardedBackward.estimatedBytes(inputs, layout: layout, reduction: job.reduction),
                        try MemoryBudget.product([gradientElements, 24], for: "writing the gradients"),
                    ],
                    for: "the backward and its outputs"),
                for: "the backward and its outputs")
            var r = try ShardedBackward.backward(
                inputs, dO: upstream, options: options, layout: layout, reduction: job.reduction, dlse: dlse)
            if problem.rotary != nil {
                // Rope: the gradients of the unrotated q and k (each shard's keys at their own positions).
                let all = 0..<inputs.keys
                r = ShardedBackward.Result(
                    forward: r.forward, delta: r.delta,
                    shards: try zip(r.shards, layout.ranges).map {
                        try problem.unrotated($0, keys: $1, totalKeys: inputs.keys)
                    },
                    gradients: try problem.unrotated(r.gradients, keys: all, totalKeys: inputs.keys), dqLevels: nil)
            }
            mark("compute")
            try AttentionOutputBundle(job: job).write(r.forward, gradients: r, into: files)
        }
    }
}
