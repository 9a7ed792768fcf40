/// Element types our files carry. bf16 has no NumPy dtype: in .npy it is stored as '<u2' bits (say so to readers);
/// the FP8 formats likewise as '|u1' bytes, their format named by the golden's metadata and manifest (readers
/// reinterpret with `TensorData.reinterpreted(as:)`).
public enum DType: String, CaseIterable, Sendable {
    /// IEEE binary64, 8 bytes.
    case f64
    /// IEEE binary32, 4 bytes.
    case f32
    /// IEEE binary16 (half precision), 2 bytes.
    case f16
    /// bfloat16 (8 significant bits, f32's exponent range), 2 bytes; stored as '<u2' bits in .npy.
    case bf16
    /// Signed 64-bit integer.
    case i64
    /// Signed 32-bit integer.
    case i32
    /// Unsigned 8-bit integer.
    case u8
    /// Boolean, one byte per element (written as 0 or 1).
    case bool
    /// FP8 e4m3fn (`Float8Format.e4m3fn`: no infinity, largest 448), one byte; '|u1' bytes in .npy, F8_E4M3 in
    /// safetensors.
    case f8e4m3fn
    /// FP8 e5m2 (`Float8Format.e5m2`: IEEE-like, largest 57344), one byte; '|u1' bytes in .npy, F8_E5M2 in
    /// safetensors.
    case f8e5m2

    /// Bytes per element: 8, 4, 2 or 1.
    public var byteSize: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16: return 2
        case .u8, .bool, .f8e4m3fn, .f8e5m2: return 1
        }
    }

    /// True for f64, f32, f16, bf16 and the FP8 formats.
    public var isFloatingPoint: Bool { [.f64, .f32, .f16, .bf16, .f8e4m3fn, .f8e5m2].contains(self) }

    /// The FP8 format of an FP8 dtype; nil for the others.
    public var float8Format: Float8Format? {
        switch self {
        case .f8e4m3fn: return .e4m3fn
        case .f8e5m2: return .e5m2
        default: return nil
        }
    }

    /// safetensors' dtype names.
    public var safetensorsName: String {
        switch self {
        case .f64: return "F64"
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .i64: return "I64"
        case .i32: return "I32"
        case .u8: return "U8"
        case .bool: return "BOOL"
        case .f8e4m3fn: return "F8_E4M3"
        case .f8e5m2: return "F8_E5M2"
        }
    }

    /// The dtype whose safetensors name (`F64`, `BF16`, `BOOL`, ...) is exactly `safetensorsName`; nil for any other
    /// name.
    public init?(safetensorsName: String) {
        guard let t = DType.allCases.first(where: { $0.safetensorsName == safetensorsName }) else { return nil }
        self = t
    }

    /// NumPy descr written to .npy files (bf16 as its raw bits, '<u2'; FP8 as raw bytes, '|u1').
    public var npyDescr: String {
        switch self {
        case .f64: return "<f8"
        case .f32: return "<f4"
        case .f16: return "<f2"
        case .bf16: return "<u2"
        case .i64: return "<i8"
        case .i32: return "<i4"
        case .u8: return "|u1"
        case .bool: return "|b1"
        case .f8e4m3fn, .f8e5m2: return "|u1"
        }
    }

    /// Parses a .npy descr; '<u2', '<V2' and '|V2' are read as bf16 bits, '|V1' (ml_dtypes' FP8 arrays) as raw bytes
    /// (u8) for `TensorData.reinterpreted(as:)` to name their format.
    public init?(npyDescr: String) {
        switch npyDescr {
        case "<f8": self = .f64
        case "<f4": self = .f32
        case "<f2": self = .f16
        case "<u2", "<V2", "|V2": self = .bf16
        case "<i8": self = .i64
        case "<i4": self = .i32
        case "|u1", "<u1", "|V1", "<V1": self = .u8
        case "|b1": self = .bool
        default: return nil
        }
    }

    /// Parses user-facing names: f64, f32, f16, bf16 (and float64, float32, float16, bfloat16), and the FP8 formats
    /// f8e4m3fn, f8e5m2 (and float8_e4m3fn, float8_e5m2, e4m3fn, e5m2, as ml_dtypes and PyTorch spell them).
    public init(parsing text: String) throws {
        switch text.lowercased() {
        case "f64", "float64", "fp64": self = .f64
        case "f32", "float32", "fp32": self = .f32
        case "f16", "float16", "fp16", "half": self = .f16
        case "bf16", "bfloat16": self = .bf16
        case "f8e4m3fn", "float8_e4m3fn", "e4m3fn", "fp8e4m3fn": self = .f8e4m3fn
        case "f8e5m2", "float8_e5m2", "e5m2", "fp8e5m2": self = .f8e5m2
        default:
            throw ReferenceError.invalidOption("unknown dtype '\(text)' (f64, f32, f16, bf16, f8e4m3fn, f8e5m2)")
        }
    }
}
