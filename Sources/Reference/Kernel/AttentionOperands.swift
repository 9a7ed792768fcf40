/// The 16-bit float formats the kernel can read directly, widening one tile at a time.
public enum HalfFormat: String, Sendable {
    /// bfloat16: the upper 16 bits of an f32.
    case bf16
    /// IEEE binary16 (half precision).
    case f16
}

/// One operand (Q, K or V) as the kernel reads it: values of the compute type, or narrower floats (bf16/f16 bits,
/// or f32 values in an f64 computation) that are widened block by block into a worker's scratch buffer (so such an
/// input is never held widened whole).
public struct KernelOperand<S: AttentionScalar>: @unchecked Sendable {
    /// Where the elements are: in the compute type, as 16-bit bits, as f32, or nowhere (an empty tensor).
    enum Storage {
        case values(UnsafePointer<S>)
        case half(UnsafePointer<UInt16>, HalfFormat)
        case single(UnsafePointer<Float>)
        case empty
    }
    let storage: Storage

    init(_ storage: Storage) { self.storage = storage }
    init(values: UnsafePointer<S>?) { storage = values.map { .values($0) } ?? .empty }
    init(half: UnsafePointer<UInt16>?, format: HalfFormat) { storage = half.map { .half($0, format) } ?? .empty }
    init(single: UnsafePointer<Float>?) { storage = single.map { .single($0) } ?? .empty }

    var isEmpty: Bool { if case .empty = storage { true } else { false } }
    /// True when reading needs a scratch buffer (storage narrower than S).
    var needsScratch: Bool {
        switch storage {
        case .half, .single: true
        case .values, .empty: false
        }
    }

    /// The operand `n` elements further on.
    func advanced(by n: Int) -> KernelOperand {
        switch storage {
        case .values(let p): KernelOperand(.values(p + n))
        case .half(let p, let format): KernelOperand(.half(p + n, format))
        case .single(let p): KernelOperand(.single(p + n))
        case .empty: self
        }
    }

    /// `count` elements from `offset` as S: a pointer into the operand itself, or `scratch` (at least `count` long)
    /// filled by widening the narrower storage exactly.
    @inline(__always)
    func elements(_ offset: Int, count: Int, scratch: UnsafeMutablePointer<S>?, isa: KernelISA) -> UnsafePointer<S> {
        switch storage {
        case .values(let p):
            return p + offset
        case .half(let p, let format):
            S.widen16(p + offset, count: count, bf16: format == .bf16, into: scratch!, isa: isa)
        case .single(let p):
            S.widen32(p + offset, count: count, into: scratch!)
        case .empty:
            preconditionFailure("elements of an empty operand")
        }
        return UnsafePointer(scratch!)
    }
}

/// What the exact kernel computes on: the problem's shape and its three operands. `AttentionInputs` holds values of
/// the compute type; `HalfPrecisionInputs` holds bf16/f16 bits that the kernel widens per tile. A new storage is one
/// new conforming type.
public protocol AttentionOperands<Scalar>: Sendable {
    /// The compute type of the kernel (f64 or f32).
    associatedtype Scalar: AttentionScalar
    /// Q (B, Hq, Sq, Dqk), K (B, Hkv, Sk, Dqk) and V (B, Hkv, Sk, Dv), checked against each other at init.
    var shapes: (q: [Int], k: [Int], v: [Int]) { get }
    /// Bytes the operands hold.
    var storageBytes: Int { get }
    /// Calls `body` with Q, K and V as the kernel reads them, valid for the call only.
    func withKernelOperands<R>(
        _ body: (KernelOperand<Scalar>, KernelOperand<Scalar>, KernelOperand<Scalar>) throws -> R
    ) rethrows -> R
}

extension AttentionOperands {
    /// Batch size B (Q's axis 0).
    public var batch: Int { shapes.q[0] }
    /// Query heads Hq (Q's axis 1).
    public var queryHeads: Int { shapes.q[1] }
    /// Key/value heads Hkv (K's axis 1); Hq is a multiple of it.
    public var kvHeads: Int { shapes.k[1] }
    /// Queries per head Sq (Q's axis 2).
    public var queries: Int { shapes.q[2] }
    /// Keys per head Sk (K's axis 2).
    public var keys: Int { shapes.k[2] }
    /// Dimension Dqk of queries and keys (Q's axis 3).
    public var headDim: Int { shapes.q[3] }
    /// Dimension Dv of values and of the output (V's axis 3).
    public var valueDim: Int { shapes.v[3] }
    /// Query heads per KV head: head h reads KV head h / groupSize.
    public var groupSize: Int { queryHeads / kvHeads }
}

extension AttentionInputs: AttentionOperands {
    /// The shapes of `q`, `k` and `v`.
    public var shapes: (q: [Int], k: [Int], v: [Int]) { (q.shape, k.shape, v.shape) }
    /// Bytes of `q`, `k` and `v` in the compute type.
    public var storageBytes: Int { (q.count + k.count + v.count) * MemoryLayout<Scalar>.stride }

    /// Calls `body` with pointers into `q`, `k` and `v` themselves (nothing is widened).
    public func withKernelOperands<R>(
        _ body: (KernelOperand<Scalar>, KernelOperand<Scalar>, KernelOperand<Scalar>) throws -> R
    ) rethrows -> R {
        try withBases(q, k, v, KernelOperand.init(values:), body)
    }
}

/// Calls `body` with the base addresses of three tensors' storage, each made into a `KernelOperand` by `operand`.
private func withBases<E, S: AttentionScalar, R>(
    _ q: Tensor<E>, _ k: Tensor<E>, _ v: Tensor<E>, _ operand: (UnsafePointer<E>?) -> KernelOperand<S>,
    _ body: (KernelOperand<S>, KernelOperand<S>, KernelOperand<S>) throws -> R
) rethrows -> R {
    try q.data.withUnsafeBufferPointer { qb in
        try k.data.withUnsafeBufferPointer { kb in
            try v.data.withUnsafeBufferPointer { vb in
                try body(operand(qb.baseAddress), operand(kb.baseAddress), operand(vb.baseAddress))
            }
        }
    }
}

/// Q, K and V as bf16 or f16 bits (B, H, S, D), computed in `Scalar` (f32 or f64): every value widens exactly, one
/// tile of Q rows and one key block of K and V at a time, so memory is the 16-bit inputs plus the tiles.
public struct HalfPrecisionInputs<Scalar: AttentionScalar>: AttentionOperands {
    /// Whether `q`, `k` and `v` hold bf16 or f16 bits.
    public let format: HalfFormat
    /// Query bits, (batch, query heads, seq_q, head dim).
    public let q: Tensor<UInt16>
    /// Key bits, (batch, KV heads, seq_k, head dim).
    public let k: Tensor<UInt16>
    /// Value bits, (batch, KV heads, seq_k, value dim).
    public let v: Tensor<UInt16>

    /// The shapes of `q`, `k` and `v`.
    public var shapes: (q: [Int], k: [Int], v: [Int]) { (q.shape, k.shape, v.shape) }
    /// Bytes of the 16-bit inputs: 2 per element.
    public var storageBytes: Int { (q.count + k.count + v.count) * 2 }

    /// Checks the shapes as `AttentionInputs` does.
    public init(
        format: HalfFormat, q: Tensor<UInt16>, k: Tensor<UInt16>, v: Tensor<UInt16>, as _: Scalar.Type = Scalar.self
    ) throws {
        try AttentionInputs<Scalar>.checkShapes(q: q.shape, k: k.shape, v: v.shape)
        (self.format, self.q, self.k, self.v) = (format, q, k, v)
    }

    /// Calls `body` with the 16-bit operands, which the kernel widens to `Scalar` one tile at a time.
    public func withKernelOperands<R>(
        _ body: (KernelOperand<Scalar>, KernelOperand<Scalar>, KernelOperand<Scalar>) throws -> R
    ) rethrows -> R {
        try withBases(q, k, v, { KernelOperand(half: $0, format: format) }, body)
    }
}

/// Q, K and V as f32 values (B, H, S, D) computed in `Scalar`: for an f64 computation of f32 inputs, every value
/// widens exactly one tile of Q rows and one key block of K and V at a time, so memory is the f32 inputs plus the
/// tiles (an f32 computation reads them in place through `AttentionInputs<Float>` instead).
public struct SinglePrecisionInputs<Scalar: AttentionScalar>: AttentionOperands {
    /// Queries in f32, (batch, query heads, seq_q, head dim).
    public let q: Tensor<Float>
    /// Keys in f32, (batch, KV heads, seq_k, head dim).
    public let k: Tensor<Float>
    /// Values in f32, (batch, KV heads, seq_k, value dim).
    public let v: Tensor<Float>

    /// The shapes of `q`, `k` and `v`.
    public var shapes: (q: [Int], k: [Int], v: [Int]) { (q.shape, k.shape, v.shape) }
    /// Bytes of the f32 inputs: 4 per element.
    public var storageBytes: Int { (q.count + k.count + v.count) * 4 }

    /// Checks the shapes as `AttentionInputs` does.
    public init(q: Tensor<Float>, k: Tensor<Float>, v: Tensor<Float>, as _: Scalar.Type = Scalar.self) throws {
        try AttentionInputs<Scalar>.checkShapes(q: q.shape, k: k.shape, v: v.shape)
        (self.q, self.k, self.v) = (q, k, v)
    }

    /// Calls `body` with the f32 operands, which the kernel widens to `Scalar` one tile at a time (an f32
    /// computation copies them into its scratch).
    public func withKernelOperands<R>(
        _ body: (KernelOperand<Scalar>, KernelOperand<Scalar>, KernelOperand<Scalar>) throws -> R
    ) rethrows -> R {
        try withBases(q, k, v, KernelOperand.init(single:), body)
    }
}
