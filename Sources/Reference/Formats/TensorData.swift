/// A typed, shaped block of little-endian bytes as stored in .npy and safetensors files.
///
/// A tensor encoded in its own type (`init(_:as:)` of f32 values as f32, f64 as f64) keeps the tensor's storage rather
/// than a copy of it (on little-endian machines its memory is already the file's bytes): writers append it to the file
/// as it is (`withUnsafeBytes`), and `bytes` copies it out only when asked.
public struct TensorData: Equatable, Sendable {
    /// Element type of `bytes`.
    public let dtype: DType
    /// Dimensions, outermost first (C order); an empty shape holds one element.
    public let shape: [Int]
    /// Number of elements.
    public let count: Int
    private let storage: Storage

    /// The memory holding the elements: encoded bytes, or a tensor's own f64 or f32 storage (little endian only).
    private enum Storage: Sendable {
        case bytes([UInt8])
        case f64([Double])
        case f32([Float])
    }

    /// The elements, little endian in C order: exactly the product of `shape` times `dtype.byteSize` bytes (a copy
    /// when the data keeps a tensor's storage; `withUnsafeBytes` reads them in place).
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Calls `body` with the elements' bytes in place (`bytes` without the copy).
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch storage {
        case .bytes(let b): return try b.withUnsafeBytes(body)
        case .f64(let v): return try v.withUnsafeBytes(body)
        case .f32(let v): return try v.withUnsafeBytes(body)
        }
    }

    /// Same dtype, shape and bytes, however each is stored.
    public static func == (a: TensorData, b: TensorData) -> Bool {
        a.dtype == b.dtype && a.shape == b.shape
            && a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.elementsEqual(y) } }
    }

    /// Wraps `bytes` as they are; throws `ReferenceError.shape` when a dimension is negative, the size overflows or
    /// the byte count is not the shape times the dtype size.
    public init(dtype: DType, shape: [Int], bytes: [UInt8]) throws {
        try self.init(dtype: dtype, shape: shape, storage: .bytes(bytes), byteCount: bytes.count)
    }

    private init(dtype: DType, shape: [Int], storage: Storage, byteCount: Int) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw ReferenceError.shape("negative dimension in \(shape)") }
        let (count, overflow) = shape.reduce((1, false)) { acc, n in
            let (p, o) = acc.0.multipliedReportingOverflow(by: n)
            return (p, acc.1 || o)
        }
        guard !overflow, count.multipliedReportingOverflow(by: dtype.byteSize).overflow == false else {
            throw ReferenceError.shape("shape \(shape) is too large")
        }
        guard byteCount == count * dtype.byteSize else {
            throw ReferenceError.shape(
                "shape \(shape) of \(dtype.rawValue) needs \(count * dtype.byteSize) bytes, got \(byteCount)")
        }
        self.dtype = dtype
        self.shape = shape
        self.count = count
        self.storage = storage
    }

    /// Encodes `values` as `dtype`, rounding once (to nearest even) from f64. f64 keeps `values` as they are (on
    /// little-endian machines); the other float dtypes are written in one pass into the final buffer (f32 narrowed by
    /// a loop the compiler vectorises); the integer dtypes check each value.
    public init(values: [Double], shape: [Int], dtype: DType) throws {
        #if _endian(little)
        if dtype == .f64 {
            try self.init(dtype: dtype, shape: shape, storage: .f64(values), byteCount: values.count * 8)
            return
        }
        #endif
        if let bytes = Self.floatBytes(values, dtype: dtype) {
            try self.init(dtype: dtype, shape: shape, bytes: bytes)
            return
        }
        var out = [UInt8]()
        out.reserveCapacity(values.count * dtype.byteSize)
        func put<T: FixedWidthInteger>(_ v: T) {
            Swift.withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
        }
        for x in values {
            switch dtype {
            case .f64: put(x.bitPattern)
            case .f32: put(Float(x).bitPattern)
            case .f16: put(Rounding.float16Bits(Rounding.toFloat16(x)))
            case .bf16: put(Rounding.bfloat16Bits(Rounding.toBFloat16(x)))
            case .i64, .i32, .u8:
                guard x.isFinite, x == x.rounded(), let v = Int64(exactly: x) else {
                    throw ReferenceError.format("value \(x) is not an integer for dtype \(dtype.rawValue)")
                }
                switch dtype {
                case .i64: put(v)
                case .i32:
                    guard let w = Int32(exactly: v) else { throw ReferenceError.format("value \(x) overflows i32") }
                    put(w)
                default:
                    guard let w = UInt8(exactly: v) else { throw ReferenceError.format("value \(x) overflows u8") }
                    put(w)
                }
            case .bool: out.append(x != 0 ? 1 : 0)
            case .f8e4m3fn, .f8e5m2: break  // floatBytes
            }
        }
        try self.init(dtype: dtype, shape: shape, bytes: out)
    }

    /// Encodes an f64 tensor as `dtype`, rounding once (as `init(values:shape:dtype:)`).
    public init(_ tensor: Tensor<Double>, dtype: DType) throws {
        try self.init(values: tensor.data, shape: tensor.shape, dtype: dtype)
    }

    /// Encodes an f32 tensor as f32 (exact; keeps the tensor's storage, as `init(_:as:)`).
    public init(_ tensor: Tensor<Float>) throws { try self.init(tensor, as: .f32) }

    /// The little-endian bytes of `values` rounded once to a float `dtype`, written straight into the result; nil for
    /// the integer dtypes.
    static func floatBytes(_ values: [Double], dtype: DType) -> [UInt8]? {
        let n = values.count
        switch dtype {
        case .f64, .f32, .f16, .bf16, .f8e4m3fn, .f8e5m2: break
        case .i64, .i32, .u8, .bool: return nil
        }
        return [UInt8](unsafeUninitializedCapacity: n * dtype.byteSize) { buffer, initialized in
            values.withUnsafeBufferPointer { source in
                guard let src = source.baseAddress, let raw = UnsafeMutableRawPointer(buffer.baseAddress) else {
                    return
                }
                switch dtype {
                case .f64:
                    let dst = raw.bindMemory(to: UInt64.self, capacity: n)
                    for i in 0..<n { dst[i] = src[i].bitPattern.littleEndian }
                case .f32:
                    let dst = raw.bindMemory(to: UInt32.self, capacity: n)
                    for i in 0..<n { dst[i] = Float(src[i]).bitPattern.littleEndian }
                case .f16:
                    let dst = raw.bindMemory(to: UInt16.self, capacity: n)
                    for i in 0..<n { dst[i] = Rounding.float16Bits(Rounding.toFloat16(src[i])).littleEndian }
                case .f8e4m3fn, .f8e5m2:
                    // ml_dtypes' and PyTorch's cast (Float8Overflow.cast); quantisers clamp before they get here.
                    let format = dtype.float8Format!
                    let dst = raw.bindMemory(to: UInt8.self, capacity: n)
                    for i in 0..<n { dst[i] = Rounding.float8Bits(Rounding.toFloat8(src[i], format), format) }
                default:
                    let dst = raw.bindMemory(to: UInt16.self, capacity: n)
                    for i in 0..<n { dst[i] = Rounding.bfloat16Bits(Rounding.toBFloat16(src[i])).littleEndian }
                }
            }
            initialized = n * dtype.byteSize
        }
    }

    /// Encodes `tensor` as `dtype`, rounding once (to nearest even): a tensor already of the dtype's own type keeps its
    /// storage (no copy, no widening; on little-endian machines), others are rounded in one pass from their exact f64
    /// values.
    public init<S: BinaryFloatingPoint>(_ tensor: Tensor<S>, as dtype: DType) throws {
        #if _endian(little)
        if dtype == .f64, S.self == Double.self {
            let values = unsafeBitCast(tensor.data, to: [Double].self)
            try self.init(dtype: dtype, shape: tensor.shape, storage: .f64(values), byteCount: values.count * 8)
            return
        }
        if dtype == .f32, S.self == Float.self {
            let values = unsafeBitCast(tensor.data, to: [Float].self)
            try self.init(dtype: dtype, shape: tensor.shape, storage: .f32(values), byteCount: values.count * 4)
            return
        }
        #endif
        try self.init(values: tensor.data.map { Double($0) }, shape: tensor.shape, dtype: dtype)
    }

    /// Every element of an integer tensor (i64, i32, u8, bool) exactly, whatever its magnitude; nil for a float dtype.
    public func integers() -> [Int]? {
        let size = dtype.byteSize
        return withUnsafeBytes { raw -> [Int]? in
            switch dtype {
            case .i64:
                return (0..<count).map {
                    Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * size, as: Int64.self)))
                }
            case .i32:
                return (0..<count).map {
                    Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * size, as: Int32.self)))
                }
            case .u8, .bool: return (0..<count).map { Int(raw[$0]) }
            case .f64, .f32, .f16, .bf16, .f8e4m3fn, .f8e5m2: return nil
            }
        }
    }

    /// Every element as an exact f64 (all supported types convert exactly).
    public func doubles() -> [Double] {
        if case .f64(let values) = storage { return values }
        var out = [Double](repeating: 0, count: count)
        withUnsafeBytes { raw in
            for i in 0..<count {
                let o = i * dtype.byteSize
                switch dtype {
                case .f64:
                    out[i] = Double(
                        bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self)))
                case .f32:
                    out[i] = Double(
                        Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self))))
                case .f16:
                    out[i] = Rounding.float16Value(
                        UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
                case .bf16:
                    out[i] = Rounding.bfloat16Value(
                        UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
                case .i64: out[i] = Double(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int64.self)))
                case .i32: out[i] = Double(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int32.self)))
                case .u8, .bool: out[i] = Double(raw[o])
                case .f8e4m3fn: out[i] = Rounding.float8Value(raw[o], .e4m3fn)
                case .f8e5m2: out[i] = Rounding.float8Value(raw[o], .e5m2)
                }
            }
        }
        return out
    }

    /// The same bytes read as `dtype`, of the same byte size: FP8 stored in .npy as '|u1' bytes (or ml_dtypes' '|V1')
    /// named by the golden's metadata. Throws `ReferenceError.format` when the sizes differ.
    public func reinterpreted(as dtype: DType) throws -> TensorData {
        guard dtype.byteSize == self.dtype.byteSize else {
            throw ReferenceError.format(
                "cannot read \(self.dtype.rawValue) bytes as \(dtype.rawValue) (\(self.dtype.byteSize) vs \(dtype.byteSize) bytes per element)"
            )
        }
        if dtype == self.dtype { return self }
        return try TensorData(dtype: dtype, shape: shape, bytes: bytes)
    }

    /// The elements as an f64 tensor of the same shape (exact for every dtype).
    public func tensor() -> Tensor<Double> { try! Tensor(shape: shape, data: doubles()) }
}
