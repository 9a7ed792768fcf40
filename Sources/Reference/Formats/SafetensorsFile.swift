import Foundation

/// safetensors files: u64 little-endian header length, a JSON header (padded with spaces to a multiple of 8), then the
/// tensors' bytes, contiguous in C order with no holes. Validated fully on read; written deterministically
/// (tensors in the order given, metadata keys sorted).
public struct SafetensorsFile: Sendable {
    /// The tensors with their names, in file order.
    public var tensors: [(name: String, data: TensorData)]
    /// The header's `__metadata__` map of strings to strings (written with its keys sorted).
    public var metadata: [String: String]

    static let maxHeaderBytes = 100 << 20

    /// A file holding `tensors`, in this order, and `metadata`.
    public init(tensors: [(name: String, data: TensorData)] = [], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The first tensor called `name`, or nil when the file has none.
    public subscript(name: String) -> TensorData? { tensors.first { $0.name == name }?.data }

    /// The tensor `name`, or a one-line error naming the file and what it does hold.
    public func require(_ name: String, in path: String) throws -> TensorData {
        guard let t = self[name] else {
            throw ReferenceError.file(
                path: path,
                problem:
                    "no tensor \(TextEscaping.quoted(name)) (has: \(tensors.map { TextEscaping.quoted($0.name, limit: 40) }.joined(separator: ", ")))"
            )
        }
        return t
    }

    /// The file's bytes. Refuses repeated tensor names (safetensors readers reject them) and the reserved name
    /// `__metadata__`.
    public func encode() throws -> [UInt8] {
        let data = tensors.reduce(0) { $0 + $1.data.count * $1.data.dtype.byteSize }
        return try ByteSink.collect(capacity: data + 4096) { try write(into: $0) }
    }

    /// Appends the bytes of `encode()` to `sink`: the header, then each tensor's data from where it is held (no copy
    /// of the file in memory). Refuses repeated and reserved names before appending anything.
    public func write(into sink: ByteSink) throws {
        try sink.append(
            Self.header(tensors: tensors.map { ($0.name, $0.data.dtype, $0.data.shape) }, metadata: metadata))
        for (_, t) in tensors { try t.withUnsafeBytes { try sink.append($0) } }
    }

    /// The bytes of a file's start up to its data: the header length and the JSON header of tensors of these dtypes
    /// and shapes, in this order, and `metadata`, exactly as `encode` writes them (so a writer can stream the tensors'
    /// bytes after it). Refuses repeated names and `__metadata__` as a name.
    public static func header(tensors: [(name: String, dtype: DType, shape: [Int])], metadata: [String: String])
        throws -> [UInt8]
    {
        var seen = Set<String>()
        for (name, _, _) in tensors {
            guard name != "__metadata__" else {
                throw ReferenceError.format("'__metadata__' cannot name a tensor in a safetensors file")
            }
            guard seen.insert(name).inserted else {
                throw ReferenceError.format(
                    "tensor name \(TextEscaping.quoted(name)) is used twice in one safetensors file")
            }
        }
        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map {
                "\(TextEscaping.jsonLiteral($0)):\(TextEscaping.jsonLiteral(metadata[$0]!))"
            }
            entries.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for (name, dtype, shape) in tensors {
            let bytes = try MemoryBudget.product(shape + [dtype.byteSize], for: "tensor \(TextEscaping.quoted(name))")
            let text = "[" + shape.map(String.init).joined(separator: ",") + "]"
            entries.append(
                "\(TextEscaping.jsonLiteral(name)):{\"dtype\":\"\(dtype.safetensorsName)\",\"shape\":\(text),\"data_offsets\":[\(offset),\(offset + bytes)]}"
            )
            offset += bytes
        }
        var header = "{" + entries.joined(separator: ",") + "}"
        header += String(repeating: " ", count: (8 - header.utf8.count % 8) % 8)
        let n = UInt64(header.utf8.count)
        return withUnsafeBytes(of: n.littleEndian) { Array($0) } + Array(header.utf8)
    }

    /// Reads a file strictly, as the safetensors specification (and its Rust and Python readers) define it: the
    /// header is a JSON object (first byte `{`, at most 100 MB) with no repeated keys; each tensor entry has exactly
    /// `dtype`, `shape` and `data_offsets`, with shape and offsets JSON integers (not `4.0`, not negative); offsets
    /// tile the data from 0 with no holes or overlaps up to its end; each tensor's bytes equal shape x dtype size
    /// (overflow-checked, before anything is copied); `__metadata__` is a map of strings to strings.
    public static func decode(_ bytes: [UInt8], name: String = "safetensors") throws -> SafetensorsFile {
        let index = try Self.index(bytes, fileSize: bytes.count, name: name)
        var file = SafetensorsFile(metadata: index.metadata)
        for (tensorName, stored) in index.tensors {
            file.tensors.append(
                (
                    tensorName,
                    try TensorData(
                        dtype: stored.dtype, shape: stored.shape,
                        bytes: Array(bytes[stored.dataOffset..<stored.dataOffset + stored.byteCount]))
                ))
        }
        return file
    }

    /// Where each tensor of a file lies (in data order) and its metadata: what `index` returns.
    public struct Index: Sendable {
        /// Each tensor's name and where its data lies, in data order.
        public var tensors: [(name: String, stored: StoredTensor)] = []
        /// The header's `__metadata__` map (empty when the header has none).
        public var metadata: [String: String] = [:]
    }

    /// Bytes of the file's start that `index` needs at most: the length word plus the largest accepted header.
    static let maxPrefixBytes = 8 + maxHeaderBytes

    /// The checks of `decode` from the file's first bytes (`prefix`, at least its header) and its total size: where
    /// each tensor lies, without reading any tensor data. `TensorFileReader` uses it for ranged reads.
    public static func index(_ prefix: [UInt8], fileSize: Int, name: String = "safetensors") throws -> Index {
        func fail(_ problem: String) -> ReferenceError { .file(path: name, problem: problem) }
        guard prefix.count >= 8 else { throw fail("truncated: shorter than the 8-byte header length") }
        let n = (0..<8).reduce(UInt64(0)) { $0 | UInt64(prefix[$1]) << (8 * UInt64($1)) }
        guard n <= UInt64(maxHeaderBytes) else {
            throw fail("safetensors header too large (\(n) bytes, at most \(maxHeaderBytes))")
        }
        guard prefix.count >= 8 + Int(n) else {
            throw fail("truncated header: needs \(n) bytes, file has \(fileSize - 8)")
        }
        let headerBytes = prefix[8..<8 + Int(n)]
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw fail("not a safetensors file (header does not start with '{')")
        }
        let json: StrictJSON
        do { json = try StrictJSON.parse(headerBytes) } catch let e as StrictJSON.ParseError {
            throw fail("safetensors header is not a JSON object (\(e.message))")
        }
        guard case .object(let entries) = json else { throw fail("safetensors header is not a JSON object") }
        let dataStart = 8 + Int(n)
        let dataLength = fileSize - dataStart
        var result = Index()
        var spans: [(begin: Int, end: Int, index: Int)] = []
        var found: [(name: String, dtype: DType, shape: [Int])] = []
        for (key, value) in entries {
            let tensor = "tensor \(TextEscaping.quoted(key))"
            if key == "__metadata__" {
                guard case .object(let meta) = value else {
                    throw fail("__metadata__ must be an object of strings, got \(value.kind)")
                }
                for (k, v) in meta {
                    guard case .string(let s) = v else {
                        throw fail("__metadata__ value of \(TextEscaping.quoted(k)) must be a string, got \(v.kind)")
                    }
                    result.metadata[k] = s
                }
                continue
            }
            guard case .object(let fields) = value else { throw fail("\(tensor) must be an object, got \(value.kind)") }
            let allowed = ["dtype", "shape", "data_offsets"]
            if let extra = fields.first(where: { !allowed.contains($0.key) }) {
                throw fail(
                    "\(tensor) has unknown key \(TextEscaping.quoted(extra.key)) (allowed: dtype, shape, data_offsets)")
            }
            func field(_ k: String) throws -> StrictJSON {
                guard let v = fields.first(where: { $0.key == k })?.value else {
                    throw fail("\(tensor) needs dtype, shape and data_offsets")
                }
                return v
            }
            func integers(_ k: String) throws -> [Int] {
                guard case .array(let items) = try field(k) else {
                    throw fail("\(tensor): \(k) must be a list of integers")
                }
                return try items.map { item in
                    guard case .integer(let v) = item, v >= 0 else {
                        throw fail("\(tensor): \(k) entries must be non-negative integers, got \(item.kind)")
                    }
                    return v
                }
            }
            guard case .string(let dtypeName) = try field("dtype") else {
                throw fail("\(tensor): dtype must be a string")
            }
            guard let dtype = DType(safetensorsName: dtypeName) else {
                throw fail(
                    "\(tensor) has unsupported dtype \(TextEscaping.quoted(dtypeName)) (F64, F32, F16, BF16, I64, I32, U8, BOOL)"
                )
            }
            let shape = try integers("shape")
            let offsets = try integers("data_offsets")
            guard offsets.count == 2, offsets[0] <= offsets[1] else {
                throw fail("\(tensor) has bad data_offsets \(offsets) (need [begin, end], begin <= end)")
            }
            guard offsets[1] <= dataLength else {
                throw fail("truncated data: \(tensor) ends at byte \(offsets[1]) of \(dataLength)")
            }
            let need = try? MemoryBudget.product(shape + [dtype.byteSize], for: tensor)
            guard need == offsets[1] - offsets[0] else {
                throw fail(
                    "\(tensor): shape \(shape) of \(dtypeName) does not match its \(offsets[1] - offsets[0]) bytes")
            }
            spans.append((offsets[0], offsets[1], found.count))
            found.append((key, dtype, shape))
        }
        spans.sort { ($0.begin, $0.end, $0.index) < ($1.begin, $1.end, $1.index) }
        var expected = 0
        for span in spans {
            guard span.begin == expected else {
                throw fail(
                    "tensor \(TextEscaping.quoted(found[span.index].name)) starts at \(span.begin), expected \(expected): holes or overlaps"
                )
            }
            expected = span.end
        }
        guard expected == dataLength else { throw fail("\(dataLength - expected) bytes after the last tensor") }
        // Tensors in data order (the header's own order for empty tensors at one offset), so re-encoding reproduces
        // the same bytes. Every span was checked against the data length above.
        result.tensors = spans.map { span in
            let t = found[span.index]
            return (t.name, StoredTensor(dtype: t.dtype, shape: t.shape, dataOffset: dataStart + span.begin))
        }
        return result
    }

    /// Reads the safetensors file at `path` and decodes it strictly (`decode`); errors name the path.
    public static func read(_ path: String) throws -> SafetensorsFile {
        try decode(AtomicFile.read(path), name: path)
    }

    /// Writes the file (the bytes of `encode()`, streamed) to `path` atomically through `AtomicFile`; throws `ReferenceError.format` for a
    /// repeated or reserved tensor name.
    public func write(to path: String) throws {
        try AtomicFile.stream(to: path) { try write(into: $0) }
    }
}
