import Foundation

/// Where a writer's blocks go, in order: a file being written (`AtomicFile.stream`, `AtomicOutputs.stream`) or memory
/// (`collect`). Writers append the buffers they already hold (a header, a tensor's own storage), so a file is written
/// without being assembled whole in memory first.
public struct ByteSink {
    private let body: (UnsafeRawBufferPointer) throws -> Void

    /// A sink that hands every appended block to `body`.
    public init(_ body: @escaping (UnsafeRawBufferPointer) throws -> Void) { self.body = body }

    /// Appends the bytes of `raw`.
    public func append(_ raw: UnsafeRawBufferPointer) throws { try body(raw) }

    /// Appends `bytes`.
    public func append(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try body($0) } }

    /// Everything `write` appends, in one array (allocated for `capacity` bytes first, when known).
    public static func collect(capacity: Int = 0, _ write: (ByteSink) throws -> Void) rethrows -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(capacity)
        try write(ByteSink { out.append(contentsOf: $0) })
        return out
    }

    /// A sink writing to the open file `fd` (retrying short and interrupted writes); a failure is a one-line error
    /// naming `path`.
    static func file(_ fd: Int32, path: String) -> ByteSink {
        ByteSink { raw in
            if let failure = AtomicFile.writeAll(fd, raw) {
                throw CoreError.file(path: path, problem: "cannot write (\(String(cString: strerror(failure))))")
            }
        }
    }
}
