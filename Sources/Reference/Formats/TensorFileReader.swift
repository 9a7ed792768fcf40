import Foundation

/// Reads parts of the tensors in a .npy or .safetensors file without reading the rest: the header is parsed and
/// checked as strictly as a whole-file read (`NPYFile.index`, `SafetensorsFile.index`), then only the bytes of the
/// requested slab are read with `pread`. A distributed rank reads its key shard of K and V this way (`values(_:as:
/// swapAxes12:slice:slabBytes:)` with a `slice`), so the whole tensor never has to fit in one machine's memory.
public struct TensorFileReader: Sendable {
    /// The file being read.
    public let path: String
    /// The file's tensors by name (a .npy file's one tensor is listed under the name it was opened for).
    public let tensors: [(name: String, stored: StoredTensor)]

    /// Opens `path` and indexes it. For a .npy file `npyName` names its one tensor.
    public init(path: String, npyName: String = "npy") throws {
        self.path = path
        let ext = (path as NSString).pathExtension.lowercased()
        guard ext == "npy" || ext == "safetensors" else {
            throw ReferenceError.file(path: path, problem: "unknown file type (expected .npy or .safetensors)")
        }
        let size = try Self.fileSize(path)
        if ext == "npy" {
            var prefix = try Self.read(path, offset: 0, count: min(size, 12))
            if prefix.count >= 10 {
                let long = prefix.count >= 12 && prefix[6] != 1
                let header =
                    long
                    ? (0..<4).reduce(0) { $0 | Int(prefix[8 + $1]) << (8 * $1) } : Int(prefix[8]) | Int(prefix[9]) << 8
                let want = min(size, (long ? 12 : 10) + min(header, NPYFile.maxHeaderBytes))
                prefix = try Self.read(path, offset: 0, count: want)
            }
            tensors = [(npyName, try NPYFile.index(prefix, fileSize: size, name: path))]
        } else {
            var prefix = try Self.read(path, offset: 0, count: min(size, 8))
            if prefix.count == 8 {
                let n = (0..<8).reduce(UInt64(0)) { $0 | UInt64(prefix[$1]) << (8 * UInt64($1)) }
                let want = min(UInt64(size), 8 + min(n, UInt64(SafetensorsFile.maxHeaderBytes)))
                prefix = try Self.read(path, offset: 0, count: Int(want))
            }
            tensors = try SafetensorsFile.index(prefix, fileSize: size, name: path).tensors
        }
    }

    /// The tensor `name`, or a one-line error naming the file and what it holds.
    public func stored(_ name: String) throws -> StoredTensor {
        guard let t = tensors.first(where: { $0.name == name }) else {
            throw ReferenceError.file(
                path: path,
                problem:
                    "no tensor \(TextEscaping.quoted(name)) (has: \(tensors.map { TextEscaping.quoted($0.name, limit: 40) }.joined(separator: ", ")))"
            )
        }
        return t.stored
    }

    /// The whole tensor `name`.
    public func read(_ name: String) throws -> TensorData {
        let t = try stored(name)
        return try TensorData(
            dtype: t.dtype, shape: t.shape, bytes: Self.read(path, offset: t.dataOffset, count: t.byteCount))
    }

    static func fileSize(_ path: String) throws -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else {
            // The same words as every other read of a missing file (AtomicFile.read).
            throw ReferenceError.file(
                path: path, problem: errno == ENOENT ? "no such file" : String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw ReferenceError.file(path: path, problem: "not a regular file")
        }
        return Int(info.st_size)
    }

    /// `count` bytes at `offset`; a file shorter than that (truncated since it was indexed) is an error.
    static func read(_ path: String, offset: Int, count: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ReferenceError.file(path: path, problem: String(cString: strerror(errno))) }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: count)
        if count > 0 {
            try bytes.withUnsafeMutableBytes {
                try readExactly(fd, path: path, into: $0.baseAddress!, count: count, offset: offset)
            }
        }
        return bytes
    }
}
