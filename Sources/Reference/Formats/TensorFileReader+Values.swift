import CKernels
import Foundation

extension TensorFileReader {
    /// Tensor `name` decoded straight into the compute type, read once: a file of the same type in the same layout is
    /// read directly into the result's storage; any other (another float type, or a (B, S, H, D) file moved to
    /// (B, H, S, D) when `swapAxes12`) is read in slabs of about `slabBytes` and decoded from each, so memory is the
    /// result plus one slab, never the file's bytes and a widened copy of them. f32 stays f32 in an f32 computation.
    /// Also returns the number of NaN/Inf values. The tensor must be a float tensor of rank 4 when `swapAxes12`.
    ///
    /// `slice` reads only the indices `range` of one axis (1 or 2) of a rank-4 tensor, every other axis whole: a
    /// distributed rank's keys of K and V, read without the rest of the file.
    @_specialize(where S == Double)
    @_specialize(where S == Float)
    public func values<S: AttentionScalar>(
        _ name: String, as _: S.Type, swapAxes12: Bool = false, slice: (axis: Int, range: Range<Int>)? = nil,
        slabBytes: Int = 1 << 22
    ) throws -> (tensor: Tensor<S>, nonFinite: Int) {
        let t = try stored(name)
        guard t.dtype.isFloatingPoint else {
            throw ReferenceError.file(
                path: path, problem: "\(TextEscaping.quoted(name)) must be a float tensor, got \(t.dtype.rawValue)")
        }
        let direct = (S.self == Double.self && t.dtype == .f64) || (S.self == Float.self && t.dtype == .f32)
        let tensor = try readRows(
            t, name: name, as: S.self, direct: direct, swapAxes12: swapAxes12, slice: slice,
            slabBytes: slabBytes
        ) {
            Self.decode($0, dtype: t.dtype, count: $1, into: $2)
        }
        let nonFinite = tensor.data.withUnsafeBufferPointer { b in
            if b.isEmpty || S.allFinite(b.baseAddress!, count: b.count) { return 0 }
            var bad = 0
            for x in b where !x.isFinite { bad += 1 }
            return bad
        }
        return (tensor, nonFinite)
    }

    /// Tensor `name`, a bf16 or f16 tensor, as its raw 16-bit values (moved like `values`), for the kernel to widen
    /// per tile (`HalfPrecisionInputs`); also the number of NaN/Inf values.
    public func halfBits(_ name: String, swapAxes12: Bool = false, slabBytes: Int = 1 << 22)
        throws -> (tensor: Tensor<UInt16>, format: HalfFormat, nonFinite: Int)
    {
        let t = try stored(name)
        guard t.dtype == .bf16 || t.dtype == .f16 else {
            throw ReferenceError.file(
                path: path, problem: "\(TextEscaping.quoted(name)) is \(t.dtype.rawValue), not bf16 or f16")
        }
        let tensor = try readRows(
            t, name: name, as: UInt16.self, direct: true, swapAxes12: swapAxes12, slice: nil,
            slabBytes: slabBytes
        ) {
            raw, count, out in
            for i in 0..<count {
                out[i] = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            }
        }
        // All exponent bits set: inf or NaN.
        let mask: UInt16 = t.dtype == .bf16 ? 0x7F80 : 0x7C00
        let nonFinite = tensor.data.withUnsafeBufferPointer { b in
            b.isEmpty ? 0 : tk_count_all_set16(b.baseAddress!, b.count, mask)
        }
        return (tensor, t.dtype == .bf16 ? .bf16 : .f16, nonFinite)
    }

    /// The tensor's elements as E, read once: `direct` (same bytes, no move) reads straight into the result's
    /// storage (little-endian host); otherwise slabs of about `slabBytes` are read and each row of the last axis is
    /// decoded by `decode` into its place ((b, s, h) -> (b, h, s) when `swapAxes12`). With `slice`, only the indices
    /// `range` of axis 1 or 2 of a rank-4 tensor are read (one contiguous run of rows per index of the axes before it).
    func readRows<E>(
        _ t: StoredTensor, name: String, as _: E.Type, direct: Bool, swapAxes12: Bool,
        slice: (axis: Int, range: Range<Int>)?, slabBytes: Int,
        decode: (UnsafeRawPointer, Int, UnsafeMutablePointer<E>) -> Void
    ) throws -> Tensor<E> {
        if swapAxes12 && t.shape.count != 4 {
            throw ReferenceError.shape(
                "\(path): \(TextEscaping.quoted(name)) must have rank 4 to change its layout, got shape \(t.shape)")
        }
        // The file's shape with the slice applied, and the runs of rows (first row, row count) to read in file order.
        var shape = t.shape
        let rowLength = max(t.shape.last ?? 1, 1)
        let fileRows = t.shape.reduce(1, *) / rowLength
        var runs = [(first: 0, count: fileRows)]
        if let slice {
            guard t.shape.count == 4, slice.axis == 1 || slice.axis == 2 else {
                throw ReferenceError.shape(
                    "\(path): \(TextEscaping.quoted(name)) of shape \(t.shape) cannot be read by a range of axis \(slice.axis)"
                )
            }
            guard slice.range.lowerBound >= 0, slice.range.upperBound <= t.shape[slice.axis] else {
                throw ReferenceError.shape(
                    "\(path): tensor \(TextEscaping.quoted(name)) has \(t.shape[slice.axis]) entries on axis \(slice.axis), asked for \(slice.range)"
                )
            }
            shape[slice.axis] = slice.range.count
            // Rows per index of the sliced axis, and how many (outer) runs there are.
            let rowsPerIndex = slice.axis == 1 ? t.shape[2] : 1
            let outer = slice.axis == 1 ? t.shape[0] : t.shape[0] * t.shape[1]
            runs = (0..<outer).map { o in
                ((o * t.shape[slice.axis] + slice.range.lowerBound) * rowsPerIndex, slice.range.count * rowsPerIndex)
            }
            if slice.range.isEmpty { runs = [] }
        }
        let count = shape.reduce(1, *)
        let size = t.dtype.byteSize
        let outShape = swapAxes12 ? [shape[0], shape[2], shape[1], shape[3]] : shape
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ReferenceError.file(path: path, problem: String(cString: strerror(errno))) }
        defer { close(fd) }

        var failure: Error?
        let data = [E](unsafeUninitializedCapacity: count) { out, initialized in
            initialized = 0
            guard count > 0 else { return }
            Self.adviseHugePages(UnsafeMutableRawPointer(out.baseAddress!), bytes: count * MemoryLayout<E>.stride)
            do {
                var written = 0  // rows placed so far, in file order (the result's order unless axes are swapped)
                for run in runs {
                    if direct && !swapAxes12 && MemoryLayout<E>.size == size {
                        try Self.readExactly(
                            fd, path: path, into: UnsafeMutableRawPointer(out.baseAddress! + written * rowLength),
                            count: run.count * rowLength * size, offset: t.dataOffset + run.first * rowLength * size)
                        written += run.count
                        continue
                    }
                    let rowsPerSlab = max(1, slabBytes / max(1, rowLength * size))
                    var slab = [UInt8](repeating: 0, count: min(run.count, rowsPerSlab) * rowLength * size)
                    var row = 0
                    while row < run.count {
                        let n = min(rowsPerSlab, run.count - row)
                        try slab.withUnsafeMutableBytes { raw in
                            try Self.readExactly(
                                fd, path: path, into: raw.baseAddress!, count: n * rowLength * size,
                                offset: t.dataOffset + (run.first + row) * rowLength * size)
                            for r in 0..<n {
                                let resultRow = written + r  // the row's index in the sliced tensor, in file order
                                let dst: Int
                                if swapAxes12 {
                                    // File (b, s, h) -> result (b, h, s).
                                    let (sAxis, hAxis) = (shape[1], shape[2])
                                    let b = resultRow / (sAxis * hAxis), s = (resultRow / hAxis) % sAxis,
                                        h = resultRow % hAxis
                                    dst = ((b * hAxis + h) * sAxis + s) * rowLength
                                } else {
                                    dst = resultRow * rowLength
                                }
                                decode(raw.baseAddress! + r * rowLength * size, rowLength, out.baseAddress! + dst)
                            }
                        }
                        row += n
                        written += n
                    }
                }
                initialized = count
            } catch {
                failure = error
                // Every element must be initialized before the array is released.
                let raw = UnsafeMutableRawPointer(out.baseAddress!)
                raw.initializeMemory(as: UInt8.self, repeating: 0, count: count * MemoryLayout<E>.stride)
                initialized = count
            }
        }
        if let failure { throw failure }
        return try Tensor(shape: outShape, data: data)
    }

    /// `count` little-endian values of `dtype` at `raw` as S (every float type converts exactly to f64; to f32 all but
    /// f64 do, and f64 rounds once).
    @_specialize(where S == Double)
    @_specialize(where S == Float)
    static func decode<S: AttentionScalar>(
        _ raw: UnsafeRawPointer, dtype: DType, count: Int, into out: UnsafeMutablePointer<S>
    ) {
        switch dtype {
        case .f64:
            for i in 0..<count {
                out[i] = S(
                    Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            }
        case .f32:
            for i in 0..<count {
                out[i] = S(
                    Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))))
            }
        case .f16:
            for i in 0..<count {
                out[i] = S(
                    Rounding.float16Value(
                        UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
            }
        case .bf16:
            // bf16 is the top half of an f32.
            for i in 0..<count {
                out[i] = S(
                    Float(
                        bitPattern: UInt32(
                            UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16))
            }
        case .f8e4m3fn, .f8e5m2:
            // Every FP8 value is exact in f32: decode through a table of the 256 codes.
            let table = (0..<256).map { S(Rounding.float8Value(UInt8($0), dtype.float8Format!)) }
            for i in 0..<count { out[i] = table[Int(raw.load(fromByteOffset: i, as: UInt8.self))] }
        case .i64, .i32, .u8, .bool:
            preconditionFailure("decode of a non-float tensor")
        }
    }

    /// Asks the kernel for 2 MiB pages in the 2 MiB-aligned interior of a large fresh buffer (transparent huge pages
    /// in `madvise` mode): filling gigabytes of 4 KiB pages costs more page faults than the read itself. Advice only:
    /// nothing changes where the kernel declines.
    static func adviseHugePages(_ p: UnsafeMutableRawPointer, bytes: Int) {
        let huge = 1 << 21
        guard bytes >= 2 * huge else { return }
        let start = (Int(bitPattern: p) + huge - 1) & ~(huge - 1)
        let end = (Int(bitPattern: p) + bytes) & ~(huge - 1)
        if end > start { _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_HUGEPAGE) }
    }

    /// Reads exactly `count` bytes at `offset` into `buffer`; a file that ends early is an error.
    static func readExactly(_ fd: Int32, path: String, into buffer: UnsafeMutableRawPointer, count: Int, offset: Int)
        throws
    {
        var done = 0
        while done < count {
            let n = Glibc.pread(fd, buffer + done, min(count - done, 1 << 30), off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw ReferenceError.file(
                    path: path,
                    problem: n < 0
                        ? String(cString: strerror(errno))
                        : "truncated: needs \(count) bytes at offset \(offset), file ended after \(done)")
            }
            done += n
        }
    }
}
