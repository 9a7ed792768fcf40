/// The 16-bit float formats the kernel can read directly, widening one tile at a time.
public enum HalfFormat: String, Sendable {
    case bf16, f16
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
    public var batch: Int { shapes.q[0] }
    public var queryHeads: Int { shapes.q[1] }
    public var kvHeads: Int { shapes.k[1] }
    public var queries: Int { shapes.q[2] }
    public var keys: Int { shapes.k[2] }
    public var headDim: Int { shapes.q[3] }
    public var valueDim: Int { shapes.v[3] }
    /// Query heads per KV head: head h reads KV head h / groupSize.
    public var groupSize: Int { queryHeads / kvHeads }
}

extension AttentionInputs: AttentionOperands {
    public var shapes: (q: [Int], k: [Int], v: [Int]) { (q.shape, k.shape, v.shape) }
    public var storageBytes: Int { (q.count + k.count + v.count) * MemoryLayout<Scalar>.stride }

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
    public let format: HalfFormat
    public let q: Tensor<UInt16>
    public let k: Tensor<UInt16>
    public let v: Tensor<UInt16>

    public var shapes: (q: [Int], k: [Int], v: [Int]) { (q.shape, k.shape, v.shape) }
    public var storageBytes: Int { (q.count + k.count + v.count) * 2 }

    /// Checks the shapes as `AttentionInputs` does.
    public init(format: HalfFormat, q: Tensor<UInt16>, k: Tensor<UInt16>, v: Tensor<UInt16>, as _: Scalar.Type = Scalar.self) throws {
        try AttentionInputs<Scalar>.checkShapes(q: q.shape, k: k.shape, v: v.shape)
        (self.format, self.q, self.k, self.v) = (format, q, k, v)
    }

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
    public let q: Tensor<Float>
    public let k: Tensor<Float>
    public let v: Tensor<Float>

    public var shapes: (q: [Int], k: [Int], v: [Int]) { (q.shape, k.shape, v.shape) }
    public var storageBytes: Int { (q.count + k.count + v.count) * 4 }

    /// Checks the shapes as `AttentionInputs` does.
    public init(q: Tensor<Float>, k: Tensor<Float>, v: Tensor<Float>, as _: Scalar.Type = Scalar.self) throws {
        try AttentionInputs<Scalar>.checkShapes(q: q.shape, k: k.shape, v: v.shape)
        (self.q, self.k, self.v) = (q, k, v)
    }

    public func withKernelOperands<R>(
        _ body: (KernelOperand<Scalar>, KernelOperand<Scalar>, KernelOperand<Scalar>) throws -> R
    ) rethrows -> R {
        try withBases(q, k, v, KernelOperand.init(single:), body)
    }
}
