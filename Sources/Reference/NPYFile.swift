/// NumPy .npy files: reads versions 1.0-3.0, writes 1.0 (data aligned to 64 bytes). C order, little endian only.
/// bf16 is written as '<u2' bits (NumPy has no bf16); when reading, '<u2' and '<V2' are taken as bf16 bits.
public enum NPYFile {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    /// Largest header we accept, so a corrupt length cannot make us allocate wildly.
    static let maxHeaderBytes = 1 << 20

    public static func encode(_ t: TensorData) -> [UInt8] {
        let shape = t.shape.count == 1 ? "(\(t.shape[0]),)" : "(" + t.shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(t.dtype.npyDescr)', 'fortran_order': False, 'shape': \(shape), }"
        let unpadded = magic.count + 2 + 2 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let length = UInt16(header.utf8.count)
        return magic + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(header.utf8) + t.bytes
    }

    public static func decode(_ bytes: [UInt8], name: String = "npy") throws -> TensorData {
        func fail(_ problem: String) -> ReferenceError { .file(path: name, problem: problem) }
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw fail("not a .npy file (wrong magic)") }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw fail("truncated .npy header") }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw fail("unsupported .npy version \(major).\(bytes[7])")
        }
        guard headerLength <= maxHeaderBytes else { throw fail(".npy header too large (\(headerLength) bytes)") }
        guard bytes.count >= headerStart + headerLength else { throw fail("truncated .npy header") }
        guard let header = String(bytes: bytes[headerStart..<headerStart + headerLength], encoding: .utf8) else {
            throw fail(".npy header is not text")
        }
        let descr = try field(header, "descr", name: name)
        guard let descrValue = quoted(descr) else { throw fail("malformed 'descr' in .npy header") }
        guard let dtype = DType(npyDescr: descrValue) else {
            throw fail("unsupported dtype '\(descrValue)' (f8, f4, f2, bf16 as <u2, i8, i4, u1, b1; little endian)")
        }
        let fortran = try field(header, "fortran_order", name: name)
        if fortran.hasPrefix("True") { throw fail("Fortran-order arrays are not supported; save with C order") }
        guard fortran.hasPrefix("False") else { throw fail("malformed 'fortran_order' in .npy header") }
        let shapeText = try field(header, "shape", name: name)
        guard shapeText.hasPrefix("("), let close = shapeText.firstIndex(of: ")") else { throw fail("malformed 'shape' in .npy header") }
        let inner = shapeText[shapeText.index(after: shapeText.startIndex)..<close]
        var shape: [Int] = []
        for part in inner.split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let n = Int(trimmed), n >= 0 else { throw fail("bad dimension '\(trimmed)' in .npy shape") }
            shape.append(n)
        }
        let start = headerStart + headerLength
        let (count, overflow) = shape.reduce((1, false)) { acc, n in
            let (p, o) = acc.0.multipliedReportingOverflow(by: n); return (p, acc.1 || o)
        }
        let need = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, !need.overflow else { throw fail("shape \(shape) is too large") }
        guard bytes.count - start >= need.partialValue else {
            throw fail("truncated data: shape \(shape) needs \(need.partialValue) bytes, file has \(bytes.count - start)")
        }
        guard bytes.count - start == need.partialValue else {
            throw fail("\(bytes.count - start - need.partialValue) bytes after the data: shape/size mismatch")
        }
        return try TensorData(dtype: dtype, shape: shape, bytes: Array(bytes[start...]))
    }

    public static func read(_ path: String) throws -> TensorData {
        try decode(AtomicFile.read(path), name: path)
    }

    public static func write(_ t: TensorData, to path: String) throws {
        try AtomicFile.write(encode(t), to: path)
    }

    /// The text after "'key':" in a Python dict literal.
    private static func field(_ header: String, _ key: String, name: String) throws -> Substring {
        guard let r = header.range(of: "'\(key)':") ?? header.range(of: "\"\(key)\":") else {
            throw ReferenceError.file(path: name, problem: ".npy header has no '\(key)'")
        }
        return header[r.upperBound...].drop(while: { $0 == " " })
    }

    private static func quoted(_ text: Substring) -> String? {
        guard let q = text.first, q == "'" || q == "\"" else { return nil }
        let rest = text.dropFirst()
        guard let end = rest.firstIndex(of: q) else { return nil }
        return String(rest[..<end])
    }
}

extension Substring {
    func trimmingCharacters(in set: CharacterSet) -> String {
        String(self).trimmingCharacters(in: set)
    }
}
import Foundation
