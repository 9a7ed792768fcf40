import Foundation

/// Q, K and V of an attention problem in their files, indexed once: one `TensorFileReader` per distinct file (a
/// .safetensors given as q, k and v is indexed once), each tensor checked to be a float tensor of the expected rank
/// before anything is read. Reads go straight into the compute type, whole or for a range of keys (a distributed
/// rank's shard), and count NaN/Inf values (`InputWarnings` turns them into warnings).
public struct AttentionFiles: Sendable {
    /// One input tensor: the file it is in, its name there and its role (`q`, `k`, `v`, or `k_cache`/`v_cache` for
    /// the pages of a paged cache).
    public struct Source: Sendable {
        /// The file.
        public let path: String
        /// The file's index.
        public let reader: TensorFileReader
        /// The tensor's name in the file (a .npy file's one tensor, whatever it was passed as).
        public let tensor: String
        /// The role the tensor plays, used in messages.
        public let role: String
        /// Its dtype and shape as stored.
        public let stored: StoredTensor
    }

    /// q, k and v, in that order (or the inputs of `init(paths:roles:rank:layout:)` in theirs).
    public let sources: [Source]

    /// Opens and indexes the files. `roles` names the tensors looked up in a .safetensors file; `rank` is the rank
    /// every tensor must have (4 for (batch, heads, seq, dim) problems, 3 for varlen's (tokens, heads, dim)), and
    /// `layout` only words the message of a rank mismatch.
    public init(
        q: String, k: String, v: String, roles: [String] = ["q", "k", "v"], rank: Int = 4,
        layout: TensorLayout = .bhsd
    ) throws {
        try self.init(paths: [q, k, v], roles: roles, rank: rank, layout: layout)
    }

    /// Any number of inputs, `paths[i]` in role `roles[i]` (a kvcache update's q, k_cache, v_cache, k_new, v_new),
    /// indexed as `init(q:k:v:roles:rank:layout:)` indexes three.
    public init(paths: [String], roles: [String], rank: Int = 4, layout: TensorLayout = .bhsd) throws {
        var readers: [String: TensorFileReader] = [:]
        var sources: [Source] = []
        for (path, role) in zip(paths, roles) {
            let key = AtomicOutputs.resolvedPath(path)
            let reader = try readers[key] ?? TensorFileReader(path: path, npyName: role)
            readers[key] = reader
            let tensor = (path as NSString).pathExtension.lowercased() == "npy" ? reader.tensors[0].name : role
            let stored = try reader.stored(tensor)
            guard stored.dtype.isFloatingPoint else {
                throw ReferenceError.file(
                    path: path, problem: "\(role) must be a float tensor, got \(stored.dtype.rawValue)")
            }
            guard stored.shape.count == rank else {
                throw ReferenceError.file(
                    path: path,
                    problem: rank == 3
                        ? "varlen \(role) must have rank 3 (total_tokens, heads, dim), got shape \(stored.shape)"
                        : "\(role) must have rank \(rank) (\(layout)), got shape \(stored.shape)")
            }
            sources.append(Source(path: path, reader: reader, tensor: tensor, role: role, stored: stored))
        }
        self.sources = sources
    }

    /// The stored shapes of q, k and v.
    public var shapes: [[Int]] { sources.map(\.stored.shape) }

    /// The common dtype of q, k and v, nil when they differ.
    public var commonDType: DType? {
        let dtypes = Set(sources.map(\.stored.dtype))
        return dtypes.count == 1 ? dtypes.first : nil
    }

    /// q, k and v read into S, each moved from bshd when its entry of `swap` says so; with `keys`, only that range
    /// of k's and v's sequence axis `keyAxis` is read (q whole). Also returns each tensor's count of NaN/Inf values
    /// (`InputWarnings` words the warnings, counting k and v only where a query sees them).
    public func values<S: AttentionScalar>(
        as _: S.Type, swap: [Bool], keys: Range<Int>? = nil, keyAxis: Int = 2
    ) throws -> (tensors: [Tensor<S>], bad: [Int]) {
        var tensors: [Tensor<S>] = [], counts: [Int] = []
        for (index, source) in sources.enumerated() {
            let slice = index > 0 ? keys.map { (axis: keyAxis, range: $0) } : nil
            let (t, bad) = try source.reader.values(source.tensor, as: S.self, swapAxes12: swap[index], slice: slice)
            counts.append(bad)
            tensors.append(t)
        }
        return (tensors, counts)
    }

    /// q, k and v as their raw 16-bit values (all three bf16, or all three f16), moved from bshd when `swap`, for
    /// the kernel to widen one tile at a time (`HalfPrecisionInputs`); with each tensor's count of NaN/Inf values.
    public func halfBits(swap: Bool) throws -> (tensors: [Tensor<UInt16>], format: HalfFormat, bad: [Int]) {
        var tensors: [Tensor<UInt16>] = [], counts: [Int] = [], format = HalfFormat.bf16
        for source in sources {
            let (t, f, bad) = try source.reader.halfBits(source.tensor, swapAxes12: swap)
            counts.append(bad)
            tensors.append(t)
            format = f
        }
        return (tensors, format, counts)
    }
}
