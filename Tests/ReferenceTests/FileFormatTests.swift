import Foundation
import Testing

@testable import Reference

@Suite struct FileFormatTests {
    static let values: [Double] = [0, -0.0, 1, -2.5, 1e-3, 65504, 3.0e38, 1e-40, .infinity, -.infinity, 0.1, 123.456]

    /// The NaN/Inf count a read reports (the CLI's warning) equals a plain count, for 16-bit files (the vectorised
    /// all-ones-exponent count, over more than one of its 2^20-element blocks) and f32 files.
    @Test(arguments: [DType.bf16, .f16, .f32])
    func readCountsNonFiniteValues(_ dtype: DType) throws {
        let n = (1 << 20) + 4099
        var values = (0..<n).map { Double($0 % 97) - 48 }
        for (i, j) in [0, 5, 1 << 20, (1 << 20) + 1, n - 1, 777_777].enumerated() {
            values[j] = [Double.nan, .infinity, -.infinity][i % 3]
        }
        values[12] = dtype == .f16 ? 65504 : 3.0e38  // the largest finite values stay finite
        let folder = NSTemporaryDirectory() + "nonfinite-\(getpid())-\(dtype.rawValue)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/x.npy"
        try NPYFile.write(try TensorData(values: values, shape: [1, 1, n, 1], dtype: dtype), to: path)
        let reader = try TensorFileReader(path: path)
        let name = reader.tensors[0].name
        let counted =
            dtype == .f32 ? try reader.values(name, as: Double.self).nonFinite : try reader.halfBits(name).nonFinite
        #expect(counted == 6)
    }

    @Test(arguments: [DType.f64, .f32, .f16, .bf16])
    func npyRoundTripsEveryFloatType(_ dtype: DType) throws {
        let t = try TensorData(values: Self.values, shape: [3, 4], dtype: dtype)
        let bytes = NPYFile.encode(t)
        #expect(bytes.count % 64 == t.bytes.count % 64, "data starts at a multiple of 64")
        let back = try NPYFile.decode(bytes)
        #expect(back == t)
        #expect(back.doubles() == Self.values.map { Rounding.to(dtype, $0) })
    }

    @Test(arguments: [DType.f64, .f32, .f16, .bf16, .i64, .i32, .u8, .bool])
    func safetensorsRoundTripsWithMetadata(_ dtype: DType) throws {
        let vals: [Double] = dtype.isFloatingPoint ? Self.values : [0, 1, 1, 0, 1, 0]
        let t = try TensorData(values: vals, shape: [vals.count], dtype: dtype)
        let file = SafetensorsFile(tensors: [("a", t), ("b", t)], metadata: ["seed": "7", "note": "quote \" and \\"])
        let bytes = try file.encode()
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.1) << (8 * $1.0) }
        #expect(headerLength % 8 == 0)
        let back = try SafetensorsFile.decode(bytes)
        #expect(back.metadata == file.metadata)
        #expect(back.tensors.map(\.name) == ["a", "b"])
        #expect(back["b"] == t)
        #expect(try back.encode() == bytes, "re-encoding reproduces the same bytes")
    }

    @Test func npyHeaderIsWhatNumPyWrites() throws {
        let t = try TensorData(values: [1, 2, 3, 4, 5, 6], shape: [2, 3], dtype: .f64)
        let bytes = NPYFile.encode(t)
        let header = String(decoding: bytes[10..<(bytes.count - 48)], as: UTF8.self)
        #expect(header.hasPrefix("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"))
        #expect(header.hasSuffix("\n"))
        #expect(NPYFile.encode(try TensorData(values: [1], shape: [1], dtype: .f32)).count % 64 == 4)
        let oneD = String(
            decoding: NPYFile.encode(try TensorData(values: [1, 2], shape: [2], dtype: .f32)), as: UTF8.self)
        #expect(oneD.contains("'shape': (2,)"))
    }

    @Test func malformedNpyFilesGiveOneLineErrors() throws {
        let good = NPYFile.encode(try TensorData(values: [1, 2, 3, 4], shape: [2, 2], dtype: .f32))
        func message(_ bytes: [UInt8]) -> String {
            do {
                _ = try NPYFile.decode(bytes, name: "x.npy")
                return "no error"
            } catch { return "\(error)" }
        }
        #expect(message(Array("hello world".utf8)).contains("wrong magic"))
        #expect(message(Array(good.dropLast(3))).contains("truncated data"))
        #expect(message(Array(good.prefix(20))).contains("truncated .npy header"))
        #expect(message(good + [0, 0, 0, 0]).contains("shape/size mismatch"))
        var big = good
        big[8] = 0xFF
        big[9] = 0xFF
        #expect(message(big).contains("truncated .npy header"))
        var v2 = Array(good.prefix(8)) + [0, 0, 0, 0x10, 0, 0]
        v2[6] = 2
        #expect(message(v2).contains("header too large"))
        // Edit the ASCII header only (the magic's 0x93 byte is not UTF-8).
        func edited(_ from: String, _ to: String) -> [UInt8] {
            let header = String(decoding: good[10..<(good.count - 16)], as: UTF8.self).replacingOccurrences(
                of: from, with: to)
            return Array(good[0..<10]) + Array(header.utf8) + Array(good.suffix(16))
        }
        #expect(message(edited("<f4", "<c8")).contains("unsupported dtype '<c8'"))
        #expect(message(edited("<f4", ">f4")).contains("unsupported dtype"))
        #expect(message(edited("False", "True ")).contains("Fortran"))
        for m in [message(Array("hello world".utf8)), message(big)] {
            #expect(!m.contains("\n") && m.hasPrefix("x.npy: "))
        }
    }

    @Test func malformedSafetensorsFilesGiveOneLineErrors() throws {
        let t = try TensorData(values: [1, 2, 3, 4], shape: [2, 2], dtype: .f32)
        let good = try SafetensorsFile(tensors: [("q", t)]).encode()
        func message(_ bytes: [UInt8]) -> String {
            do {
                _ = try SafetensorsFile.decode(bytes, name: "x.safetensors")
                return "no error"
            } catch { return "\(error)" }
        }
        func withHeader(_ json: String, data: Int) -> [UInt8] {
            withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { Array($0) } + Array(json.utf8)
                + [UInt8](repeating: 0, count: data)
        }
        #expect(message([1, 2, 3]).contains("truncated"))
        #expect(message(Array(good.dropLast(1))).contains("truncated data"))
        #expect(message([0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0] + [0]).contains("header too large"))
        #expect(message(withHeader("[1,2]", data: 0)).contains("does not start with '{'"))
        #expect(
            message(withHeader("{\"q\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}", data: 8)).contains(
                "unsupported dtype 'C64'"))
        #expect(
            message(withHeader("{\"q\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", data: 8)).contains(
                "does not match"))
        #expect(
            message(withHeader("{\"q\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", data: 8)).contains(
                "holes"))
        #expect(message(good + [0]).contains("after the last tensor"))
        #expect(message(withHeader("{\"q\":", data: 0)).contains("not a JSON object"))
        let file = try SafetensorsFile.decode(good)
        #expect(throws: ReferenceError.file(path: "f", problem: "no tensor 'k' (has: 'q')")) {
            try file.require("k", in: "f")
        }
    }

    /// Round to nearest even in ONE step from f64, checked against hand-computed neighbours.
    @Test func roundingIsNearestEvenWithoutDoubleRounding() {
        // bf16 has 8 significant bits: around 1 the spacing is 2^-7.
        #expect(Rounding.toBFloat16(1 + 0x1p-8) == 1)  // tie -> even (1.0)
        #expect(Rounding.toBFloat16(1 + 3 * 0x1p-8) == 1 + 0x1p-6)  // tie -> even (1 + 2^-6)
        #expect(Rounding.toBFloat16(1 + 0x1p-8 + 0x1p-40) == 1 + 0x1p-7)  // just above the tie -> up
        // Double rounding trap: f64 -> f32 would round 1 + 2^-8 + 2^-30 down to the tie 1 + 2^-8, then bf16 to 1.
        #expect(Rounding.toBFloat16(1 + 0x1p-8 + 0x1p-30) == 1 + 0x1p-7)
        #expect(Rounding.bfloat16Bits(Rounding.toBFloat16(.nan)) == 0x7FC0)
        #expect(Rounding.toBFloat16(3.4e38) == .infinity)
        #expect(Rounding.toFloat16(65504) == 65504)
        #expect(Rounding.toFloat16(65520) == .infinity)  // the tie above the largest f16 overflows
        #expect(Rounding.toFloat16(0x1p-25) == 0)  // tie between 0 and 2^-24 -> even (0)
        #expect(Rounding.toFloat16(0x1p-25 + 0x1p-40) == 0x1p-24)
        #expect(
            Rounding.float16Bits(1) == 0x3C00 && Rounding.float16Bits(-2) == 0xC000
                && Rounding.float16Bits(0x1p-24) == 1)
        for bits in stride(from: 0, to: 0x7C00, by: 37) {
            #expect(Rounding.float16Bits(Rounding.float16Value(UInt16(bits))) == UInt16(bits))
        }
        // Against Swift's own Float16 conversion (correctly rounded) on many values.
        var g = SeededGenerator(seed: 3)
        for _ in 0..<2000 {
            let x = g.normal() * 100
            #expect(Rounding.toFloat16(x) == Double(Float16(x)))
        }
    }

    @Test func generatorIsPortableAndPinned() {
        var g = SeededGenerator(seed: 42)
        // First outputs of xoshiro256** seeded by SplitMix64(42), pinned so a change of algorithm is caught.
        let first = (0..<3).map { _ in g.next() }
        var h = SeededGenerator(seed: 42)
        #expect(first == (0..<3).map { _ in h.next() })
        #expect(first[0] == SeededGenerator.pinnedFirstOutputOfSeed42)
    }

    @Test func atomicWritesLeaveNoPartialFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try AtomicFile.write([1, 2, 3], to: dir + "/a.bin")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["a.bin"])
        #expect(throws: CoreError.self) { try AtomicFile.write([1], to: dir + "/missing/b.bin") }
        #expect(throws: CoreError.file(path: dir + "/nope.npy", problem: "no such file")) {
            _ = try NPYFile.read(dir + "/nope.npy")
        }
    }
}

/// Issue 29, part 1: the one-pass encoders write exactly the bytes of the element-by-element definition (each value
/// rounded once from f64 to nearest even, little endian), for every float dtype and every kind of value, and a tensor
/// of the dtype's own type is stored as it is.
@Suite struct BulkEncodingTests {
    /// The definition, one element at a time.
    static func reference(_ values: [Double], _ dtype: DType) -> [UInt8] {
        var out: [UInt8] = []
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        for x in values {
            switch dtype {
            case .f64: put(x.bitPattern)
            case .f32: put(Float(x).bitPattern)
            case .f16: put(Rounding.float16Bits(Rounding.toFloat16(x)))
            default: put(Rounding.bfloat16Bits(Rounding.toBFloat16(x)))
            }
        }
        return out
    }

    @Test(arguments: [DType.f64, .f32, .f16, .bf16])
    func oneBulkPassWritesTheDefinedBytes(dtype: DType) throws {
        var g = SeededGenerator(seed: 29)
        var values = (0..<10_001).map { _ in g.normal() * pow(10, Double(Int(g.uniform() * 80) - 40)) }
        values += FileFormatTests.values + [.nan, -.nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1 + 0x1p-24]
        let t = try TensorData(values: values, shape: [values.count], dtype: dtype)
        #expect(t.bytes == Self.reference(values, dtype))
        // Each size around the vector width, empty included.
        for n in 0..<20 {
            #expect(
                try TensorData(values: Array(values.prefix(n)), shape: [n], dtype: dtype).bytes
                    == Self.reference(Array(values.prefix(n)), dtype))
        }
    }

    @Test func tensorsOfTheDtypesOwnTypeAreStoredAsTheyAre() throws {
        let floats: [Float] = [0, -0.0, 1.5, .infinity, -.leastNonzeroMagnitude, 3.4e38, .nan]
        let f = try TensorData(Tensor(shape: [7], data: floats), as: .f32)
        #expect(f.bytes == Self.reference(floats.map(Double.init), .f32))
        let doubles = floats.map(Double.init) + [0.1, Double.leastNormalMagnitude / 4]
        let d = try TensorData(Tensor(shape: [9], data: doubles), as: .f64)
        #expect(d.bytes == Self.reference(doubles, .f64))
        // An f32 tensor into bf16, an f64 one into f32: rounded once from their exact values.
        #expect(
            try TensorData(Tensor(shape: [7], data: floats), as: .bf16).bytes
                == Self.reference(floats.map(Double.init), .bf16))
        #expect(try TensorData(Tensor(shape: [9], data: doubles), as: .f32).bytes == Self.reference(doubles, .f32))
    }

    @Test func tensorsOfTheDtypesOwnTypeAreNotCopied() throws {
        // The data keeps the tensor's storage (the same memory), and the writers append it from there.
        let tensor = try Tensor(shape: [3, 5], data: (0..<15).map { Float($0) * 0.37 })
        let data = try TensorData(tensor, as: .f32)
        let storage = tensor.data.withUnsafeBytes { $0.baseAddress }
        #expect(data.withUnsafeBytes { $0.baseAddress } == storage)
        let values = (0..<9).map { Double($0) / 7 }
        let wide = try TensorData(values: values, shape: [9], dtype: .f64)
        #expect(wide.withUnsafeBytes { $0.baseAddress } == values.withUnsafeBytes { $0.baseAddress })
        // Kept storage or encoded bytes: the same data, the same files.
        let encoded = try TensorData(
            dtype: .f32, shape: [3, 5], bytes: Self.reference(tensor.data.map(Double.init), .f32))
        #expect(data == encoded && data.count == 15)
        #expect(NPYFile.encode(data) == NPYFile.encode(encoded))
        let file = SafetensorsFile(tensors: [("a", data), ("b", wide)], metadata: ["k": "v"])
        let bytes = try file.encode()
        #expect(
            try SafetensorsFile.decode(bytes).tensors.map(\.data) == [
                encoded, try TensorData(dtype: .f64, shape: [9], bytes: Self.reference(values, .f64)),
            ])
        // Streamed to disk through AtomicOutputs and AtomicFile: the bytes of `encode`.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stream-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let outputs = try AtomicOutputs([dir + "/a.npy", dir + "/b.safetensors"])
        try outputs.write(data, to: dir + "/a.npy", name: "a")
        try outputs.stream(to: dir + "/b.safetensors") { try file.write(into: $0) }
        try outputs.commit()
        try file.write(to: dir + "/c.safetensors")
        #expect(try AtomicFile.read(dir + "/a.npy") == NPYFile.encode(encoded))
        #expect(try AtomicFile.read(dir + "/b.safetensors") == bytes)
        #expect(try AtomicFile.read(dir + "/c.safetensors") == bytes)
    }
}
