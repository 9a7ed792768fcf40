import Foundation

/// safetensors files: u64 little-endian header length, a JSON header (padded with spaces to a multiple of 8), then the
/// tensors' bytes, contiguous in C order with no holes. Validated fully on read; written deterministically
/// (tensors in the order given, metadata keys sorted).
public struct SafetensorsFile: Sendable {
    public var tensors: [(name: String, data: TensorData)]
    public var metadata: [String: String]

    static let maxHeaderBytes = 100 << 20

    public init(tensors: [(name: String, data: TensorData)] = [], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    public subscript(name: String) -> TensorData? { tensors.first { $0.name == name }?.data }

    /// The tensor `name`, or a one-line error naming the file and what it does hold.
    public func require(_ name: String, in path: String) throws -> TensorData {
        guard let t = self[name] else {
            throw ReferenceError.file(path: path, problem: "no tensor '\(name)' (has: \(tensors.map(\.name).joined(separator: ", ")))")
        }
        return t
    }

    public func encode() -> [UInt8] {
        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            entries.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for (name, t) in tensors {
            let shape = "[" + t.shape.map(String.init).joined(separator: ",") + "]"
            entries.append("\(jsonString(name)):{\"dtype\":\"\(t.dtype.safetensorsName)\",\"shape\":\(shape),\"data_offsets\":[\(offset),\(offset + t.bytes.count)]}")
            offset += t.bytes.count
        }
        var header = "{" + entries.joined(separator: ",") + "}"
        header += String(repeating: " ", count: (8 - header.utf8.count % 8) % 8)
        let n = UInt64(header.utf8.count)
        var out = withUnsafeBytes(of: n.littleEndian) { Array($0) } + Array(header.utf8)
        out.reserveCapacity(out.count + offset)
        for (_, t) in tensors { out += t.bytes }
        return out
    }

    public static func decode(_ bytes: [UInt8], name: String = "safetensors") throws -> SafetensorsFile {
        func fail(_ problem: String) -> ReferenceError { .file(path: name, problem: problem) }
        guard bytes.count >= 8 else { throw fail("truncated: shorter than the 8-byte header length") }
        let n = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) }
        guard n <= UInt64(maxHeaderBytes) else { throw fail("safetensors header too large (\(n) bytes)") }
        guard bytes.count >= 8 + Int(n) else { throw fail("truncated header: needs \(n) bytes, file has \(bytes.count - 8)") }
        let headerBytes = bytes[8..<8 + Int(n)]
        guard headerBytes.first == UInt8(ascii: "{") else { throw fail("not a safetensors file (header does not start with '{')") }
        guard let json = try? JSONSerialization.jsonObject(with: Data(headerBytes)), let dict = json as? [String: Any] else {
            throw fail("safetensors header is not a JSON object")
        }
        let dataStart = 8 + Int(n)
        let dataLength = bytes.count - dataStart
        var file = SafetensorsFile()
        var spans: [(Int, Int, String)] = []
        for (key, value) in dict {
            if key == "__metadata__" {
                guard let meta = value as? [String: Any] else { throw fail("__metadata__ must be an object of strings") }
                for (k, v) in meta {
                    guard let s = v as? String else { throw fail("__metadata__ value of '\(k)' is not a string") }
                    file.metadata[k] = s
                }
                continue
            }
            guard let entry = value as? [String: Any], let dtypeName = entry["dtype"] as? String,
                  let shapeAny = entry["shape"] as? [Any], let offsetsAny = entry["data_offsets"] as? [Any] else {
                throw fail("tensor '\(key)' needs dtype, shape and data_offsets")
            }
            guard let dtype = DType(safetensorsName: dtypeName) else {
                throw fail("tensor '\(key)' has unsupported dtype \(dtypeName) (F64, F32, F16, BF16, I64, I32, U8, BOOL)")
            }
            let shape = try shapeAny.map { (x: Any) -> Int in
                guard let v = x as? Int, v >= 0 else { throw fail("tensor '\(key)' has a bad shape entry") }
                return v
            }
            let offsets = try offsetsAny.map { (x: Any) -> Int in
                guard let v = x as? Int, v >= 0 else { throw fail("tensor '\(key)' has bad data_offsets") }
                return v
            }
            guard offsets.count == 2, offsets[0] <= offsets[1] else { throw fail("tensor '\(key)' has bad data_offsets") }
            guard offsets[1] <= dataLength else {
                throw fail("truncated data: tensor '\(key)' ends at byte \(offsets[1]) of \(dataLength)")
            }
            let (count, overflow) = shape.reduce((1, false)) { acc, n in
                let (p, o) = acc.0.multipliedReportingOverflow(by: n); return (p, acc.1 || o)
            }
            guard !overflow, count.multipliedReportingOverflow(by: dtype.byteSize) == (offsets[1] - offsets[0], false) else {
                throw fail("tensor '\(key)': shape \(shape) of \(dtypeName) does not match its \(offsets[1] - offsets[0]) bytes")
            }
            let data = try TensorData(dtype: dtype, shape: shape,
                                      bytes: Array(bytes[dataStart + offsets[0]..<dataStart + offsets[1]]))
            spans.append((offsets[0], offsets[1], key))
            file.tensors.append((key, data))
        }
        spans.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        var expected = 0
        for (begin, end, key) in spans {
            guard begin == expected else { throw fail("tensor '\(key)' starts at \(begin), expected \(expected): holes or overlaps") }
            expected = end
        }
        guard expected == dataLength else { throw fail("\(dataLength - expected) bytes after the last tensor") }
        // Keep file order, so re-encoding reproduces the same bytes.
        let order = Dictionary(uniqueKeysWithValues: spans.enumerated().map { ($1.2, $0) })
        file.tensors.sort { order[$0.name]! < order[$1.name]! }
        return file
    }

    public static func read(_ path: String) throws -> SafetensorsFile {
        try decode(AtomicFile.read(path), name: path)
    }

    public func write(to path: String) throws {
        try AtomicFile.write(encode(), to: path)
    }
}

/// A JSON string literal with the escapes JSON requires.
func jsonString(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
        }
    }
    return out + "\""
}
