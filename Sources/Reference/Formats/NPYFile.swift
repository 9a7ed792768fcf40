/// NumPy .npy files: reads versions 1.0-3.0, writes 1.0 (data aligned to 64 bytes). C order, little endian only.
/// bf16 is written as '<u2' bits (NumPy has no bf16); when reading, '<u2' and '<V2' are taken as bf16 bits.
public enum NPYFile {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    /// Largest header we accept, so a corrupt length cannot make us allocate wildly.
    static let maxHeaderBytes = 1 << 20

    /// The bytes of a version 1.0 .npy file holding `t`: C order, little endian, the header padded with spaces so the
    /// data starts at a multiple of 64 bytes.
    public static func encode(_ t: TensorData) -> [UInt8] {
        // Appending to memory cannot fail.
        try! ByteSink.collect(capacity: 128 + t.count * t.dtype.byteSize) { try write(t, into: $0) }
    }

    /// Appends the bytes of `encode(t)` to `sink`: the header, then the tensor's data from where it is held.
    public static func write(_ t: TensorData, into sink: ByteSink) throws {
        try sink.append(header(dtype: t.dtype, shape: t.shape))
        try t.withUnsafeBytes { try sink.append($0) }
    }

    /// The bytes of a .npy file before its data (magic, version 1.0, the padded header of `dtype` and `shape`),
    /// exactly as `encode` writes them, so a writer can stream the data after it.
    public static func header(dtype: DType, shape: [Int]) -> [UInt8] {
        let text = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(dtype.npyDescr)', 'fortran_order': False, 'shape': \(text), }"
        let unpadded = magic.count + 2 + 2 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let length = UInt16(header.utf8.count)
        return magic + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(header.utf8)
    }

    /// Reads a .npy file strictly, as NumPy's format specification defines it: magic, version 1.0, 2.0 or 3.0, the
    /// declared header length, then a Python dict literal with exactly the keys 'descr', 'fortran_order' and 'shape'
    /// (any order, each once, optional trailing comma), `True`/`False` only, the shape a tuple of non-negative integers
    /// (`()`, `(3,)`, `(2, 3)`), the header padded with spaces and ending in `\n` at exactly the declared length.
    /// Fortran order is refused (unsupported). The data size is checked against the file before anything is copied.
    public static func decode(_ bytes: [UInt8], name: String = "npy") throws -> TensorData {
        let stored = try index(bytes, fileSize: bytes.count, name: name)
        return try TensorData(dtype: stored.dtype, shape: stored.shape, bytes: Array(bytes[stored.dataOffset...]))
    }

    /// Bytes of the file's start that `index` needs at most: the prefix plus the largest accepted header.
    static let maxPrefixBytes = 12 + maxHeaderBytes

    /// Where the tensor of a .npy file lies, from the file's first bytes (`prefix`, at least its header) and its total
    /// size, with every check of `decode`: the data must be exactly shape x dtype bytes up to the end of the file.
    /// `TensorFileReader` uses it to read key ranges of a tensor without reading the rest.
    public static func index(_ prefix: [UInt8], fileSize: Int, name: String = "npy") throws -> StoredTensor {
        func fail(_ problem: String) -> ReferenceError { .file(path: name, problem: problem) }
        guard prefix.count >= 10, Array(prefix[0..<6]) == magic else { throw fail("not a .npy file (wrong magic)") }
        let major = prefix[6], minor = prefix[7]
        let headerLength: Int, headerStart: Int
        switch (major, minor) {
        case (1, 0):
            headerLength = Int(prefix[8]) | Int(prefix[9]) << 8
            headerStart = 10
        case (2, 0), (3, 0):
            guard prefix.count >= 12 else { throw fail("truncated .npy header") }
            headerLength = (0..<4).reduce(0) { $0 | Int(prefix[8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw fail("unsupported .npy version \(major).\(minor) (1.0, 2.0 and 3.0 are read)")
        }
        guard headerLength <= maxHeaderBytes else { throw fail(".npy header too large (\(headerLength) bytes)") }
        guard prefix.count >= headerStart + headerLength else { throw fail("truncated .npy header") }
        let header = try NPYHeader.parse(prefix[headerStart..<headerStart + headerLength], name: name)
        guard let dtype = DType(npyDescr: header.descr) else {
            throw fail(
                "unsupported dtype \(TextEscaping.quoted(header.descr)) (f8, f4, f2, bf16 as <u2, i8, i4, u1, b1; little endian)"
            )
        }
        if header.fortranOrder { throw fail("Fortran-order arrays are not supported; save with C order") }
        let shape = header.shape
        let start = headerStart + headerLength
        guard let need = try? MemoryBudget.product(shape + [dtype.byteSize], for: "shape") else {
            throw fail("shape \(shape) is too large")
        }
        guard fileSize - start >= need else {
            throw fail("truncated data: shape \(shape) needs \(need) bytes, file has \(fileSize - start)")
        }
        guard fileSize - start == need else {
            throw fail("\(fileSize - start - need) bytes after the data: shape/size mismatch")
        }
        return StoredTensor(dtype: dtype, shape: shape, dataOffset: start)
    }

    /// Reads the .npy file at `path` and decodes it strictly (`decode`); errors name the path.
    public static func read(_ path: String) throws -> TensorData {
        try decode(AtomicFile.read(path), name: path)
    }

    /// Writes `t` to `path` as a .npy file (the bytes of `encode`, streamed), atomically through `AtomicFile`.
    public static func write(_ t: TensorData, to path: String) throws {
        try AtomicFile.stream(to: path) { try write(t, into: $0) }
    }
}

/// The header dict of a .npy file, parsed byte by byte (no Python evaluation): see `NPYFile.decode`.
struct NPYHeader {
    var descr: String
    var fortranOrder: Bool
    var shape: [Int]

    static func parse(_ header: ArraySlice<UInt8>, name: String) throws -> NPYHeader {
        let b = Array(header)
        var at = 0
        func fail(_ problem: String) -> ReferenceError {
            .file(path: name, problem: "malformed .npy header: \(problem)")
        }
        func spaces() { while at < b.count, b[at] == 0x20 { at += 1 } }
        func byte(_ c: Character) -> Bool {
            guard at < b.count, b[at] == c.asciiValue! else { return false }
            at += 1
            return true
        }
        guard b.allSatisfy({ $0 < 0x80 }) else { throw fail("not ASCII") }
        guard b.last == 0x0A else { throw fail("it must end with a newline at its declared length") }
        func string() throws -> String {
            guard at < b.count, b[at] == 0x27 || b[at] == 0x22 else {
                throw fail("expected a quoted string at byte \(at)")
            }
            let q = b[at]
            at += 1
            let start = at
            while at < b.count, b[at] != q {
                guard b[at] >= 0x20, b[at] != 0x5C else {
                    throw fail("unsupported character in a string at byte \(at)")
                }
                at += 1
            }
            guard at < b.count else { throw fail("unterminated string") }
            defer { at += 1 }
            return String(decoding: b[start..<at], as: UTF8.self)
        }
        /// A Python name token (True, False) or integer: the run of letters and digits.
        func token() -> String {
            let start = at
            while at < b.count,
                (0x30...0x39).contains(b[at]) || (0x41...0x5A).contains(b[at]) || (0x61...0x7A).contains(b[at])
                    || b[at] == 0x5F
            {
                at += 1
            }
            return String(decoding: b[start..<at], as: UTF8.self)
        }
        func dimension() throws -> Int {
            let t = token()
            guard !t.isEmpty, t.allSatisfy({ $0.isASCII && $0.isNumber }), t == "0" || !t.hasPrefix("0") else {
                throw fail(
                    "shape entries must be non-negative integers, got \(TextEscaping.quoted(t.isEmpty ? String(decoding: b[at..<min(at + 1, b.count)], as: UTF8.self) : t))"
                )
            }
            guard let n = Int(t) else { throw fail("shape entry \(t) is too large") }
            return n
        }
        var descr: String?, fortran: Bool?, shape: [Int]?
        guard byte("{") else { throw fail("it must start with '{'") }
        spaces()
        while !byte("}") {
            let key = try string()
            spaces()
            guard byte(":") else { throw fail("expected ':' after \(TextEscaping.quoted(key))") }
            spaces()
            switch key {
            case "descr":
                guard descr == nil else { throw fail("repeated key 'descr'") }
                descr = try string()
            case "fortran_order":
                guard fortran == nil else { throw fail("repeated key 'fortran_order'") }
                let t = token()
                guard t == "True" || t == "False" else {
                    throw fail("'fortran_order' must be True or False, got \(TextEscaping.quoted(t))")
                }
                fortran = t == "True"
            case "shape":
                guard shape == nil else { throw fail("repeated key 'shape'") }
                guard byte("(") else { throw fail("'shape' must be a tuple") }
                var dims: [Int] = []
                spaces()
                var tuple = false
                while !byte(")") {
                    dims.append(try dimension())
                    spaces()
                    if byte(",") {
                        tuple = true
                        spaces()
                        continue
                    }
                    guard byte(")") else { throw fail("expected ',' or ')' in 'shape' at byte \(at)") }
                    break
                }
                // (3) is the integer 3 in Python, not a tuple: one dimension needs its trailing comma.
                guard dims.count != 1 || tuple else {
                    throw fail("'shape' (\(dims[0])) is not a tuple; write (\(dims[0]),)")
                }
                shape = dims
            default:
                throw fail(
                    "unknown key \(TextEscaping.quoted(key)) (NumPy writes exactly 'descr', 'fortran_order' and 'shape')"
                )
            }
            spaces()
            if byte(",") {
                spaces()
                continue
            }
            guard byte("}") else { throw fail("expected ',' or '}' at byte \(at)") }
            break
        }
        guard let descr, let fortran, let shape else {
            let missing = [("descr", descr == nil), ("fortran_order", fortran == nil), ("shape", shape == nil)].filter(
                \.1
            ).map(\.0)
            throw fail("missing key '\(missing[0])'")
        }
        spaces()
        guard at == b.count - 1 else {
            throw fail("unexpected text after the dict at byte \(at) (only spaces and a final newline may follow)")
        }
        return NPYHeader(descr: descr, fortranOrder: fortran, shape: shape)
    }
}
