import Foundation
import Testing

@testable import Reference

/// The strict .npy and safetensors readers: every form NumPy and safetensors refuse is a one-line error (one
/// generated file per refused form), and every form they write is still read.
@Suite struct StrictNPYTests {
    /// 4 f32 values (16 bytes).
    static let data = [UInt8](repeating: 0, count: 16)

    /// A .npy file with exactly this header text (padding and newline included), version major.0.
    static func npy(_ header: String, major: UInt8 = 1, minor: UInt8 = 0, data: [UInt8] = data) -> [UInt8] {
        let h = Array(header.utf8)
        let length: [UInt8] =
            major == 1
            ? [UInt8(h.count & 0xFF), UInt8(h.count >> 8)]
            : (0..<4).map { UInt8((h.count >> (8 * $0)) & 0xFF) }
        return NPYFile.magic + [major, minor] + length + h + data
    }

    /// The header NumPy writes around `dict`, padded so the data starts at a multiple of 64.
    static func padded(_ dict: String, major: UInt8 = 1) -> String {
        let prefix = major == 1 ? 10 : 12
        return dict + String(repeating: " ", count: (64 - (prefix + dict.utf8.count + 1) % 64) % 64) + "\n"
    }

    static let standard = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }"

    static func message(_ bytes: [UInt8]) -> String {
        oneLineMessage { _ = try NPYFile.decode(bytes, name: "x.npy") }
    }

    @Test(arguments: [
        // (the header dict, the expected part of the message)
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), 'extra': 1, }", "unknown key 'extra'"),
        (
            "{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2, 2), }",
            "'fortran_order' must be True or False, got 'Falsey'"
        ),
        ("{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 2), }", "'fortran_order' must be True or False, got '0'"),
        ("{'descr': '<f4', 'fortran_order': false, 'shape': (2, 2), }", "must be True or False, got 'false'"),
        ("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", "Fortran-order arrays are not supported"),
        ("{'descr': '<f4', 'shape': (2, 2), }", "missing key 'fortran_order'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), 'shape': (2, 2), }", "repeated key 'shape'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (4), }", "'shape' (4) is not a tuple"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': [2, 2], }", "'shape' must be a tuple"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2.0, 2), }", "expected ',' or ')'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, -2), }", "non-negative integers"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (02, 2), }", "non-negative integers, got '02'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2,,), }", "non-negative integers"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", "too large"),
        ("{'descr': <f4, 'fortran_order': False, 'shape': (2, 2), }", "expected a quoted string"),
        ("{descr: '<f4', 'fortran_order': False, 'shape': (2, 2), }", "expected a quoted string"),
        ("{'descr': '<f4' 'fortran_order': False, 'shape': (2, 2), }", "expected ',' or '}'"),
        ("{'descr': '<c8', 'fortran_order': False, 'shape': (2, 2), }", "unsupported dtype '<c8'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), } junk", "unexpected text after the dict"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n   ", "unexpected text after the dict"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\t", "unexpected text after the dict"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }}", "unexpected text after the dict"),
        ("('descr', '<f4')", "must start with '{'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), 'caf\u{e9}': 1}", "not ASCII"),
    ])
    func refusedHeaders(_ dict: String, _ expected: String) {
        let m = Self.message(Self.npy(Self.padded(dict)))
        #expect(m.contains(expected), "\(dict): \(m)")
        #expect(m.hasPrefix("x.npy: "))
    }

    @Test func refusedFraming() {
        // Junk padding (not spaces), no final newline, a header shorter than declared, unknown versions.
        let text = Self.padded(Self.standard)
        #expect(
            Self.message(Self.npy(text.replacingOccurrences(of: "  ", with: "xx"))).contains(
                "unexpected text after the dict"))
        #expect(Self.message(Self.npy(String(text.dropLast()) + " ")).contains("must end with a newline"))
        #expect(Self.message(Self.npy(String(text.dropLast(2)) + "\n\n")).contains("unexpected text after the dict"))
        #expect(Self.message(Self.npy(text, minor: 1)).contains("unsupported .npy version 1.1"))
        #expect(Self.message(Self.npy(text, major: 4)).contains("unsupported .npy version 4.0"))
        // A declared length one byte short: the header then lacks its newline.
        var short = Self.npy(text)
        short[8] -= 1
        #expect(Self.message(short).contains("must end with a newline"))
    }

    @Test func aHeaderClaimingHugeSizesIsRefusedBeforeAllocating() {
        for (shape, expected) in [
            ("(1152921504606846976,)", "needs 4611686018427387904 bytes, file has 16"),
            ("(4294967296, 4294967296)", "is too large"),
            ("(3037000500, 3037000500, 3)", "is too large"),
        ] {
            let m = Self.message(Self.npy(Self.padded("{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }")))
            #expect(m.contains(expected), "\(shape): \(m)")
        }
    }

    @Test func everyFormNumPyWritesIsRead() throws {
        let want = try TensorData(dtype: .f32, shape: [2, 2], bytes: Self.data)
        for header in [
            Self.padded(Self.standard), Self.padded(Self.standard, major: 2),
            Self.padded("{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,2)}"),
            Self.padded("{'shape': (2, 2), 'fortran_order': False, 'descr': '<f4'}"),
            "{'descr':'<f4','fortran_order':False,'shape':(2 , 2 ,),}\n",
            Self.standard + "\n",
        ] {
            let major: UInt8 = header == Self.padded(Self.standard, major: 2) ? 2 : 1
            #expect(try NPYFile.decode(Self.npy(header, major: major)) == want, "\(header)")
            if major == 2 { #expect(try NPYFile.decode(Self.npy(header, major: 3)) == want) }
        }
        // Scalars and empty arrays.
        let scalar = Self.npy(
            Self.padded("{'descr': '<f8', 'fortran_order': False, 'shape': (), }"),
            data: [UInt8](repeating: 0, count: 8))
        #expect(try NPYFile.decode(scalar).shape == [])
        let empty = Self.npy(Self.padded("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }"), data: [])
        #expect(try NPYFile.decode(empty).shape == [0, 3])
        // Our own output for every rank.
        for shape in [[], [3], [2, 3], [1, 2, 3, 1]] {
            let t = try TensorData(
                values: [Double](repeating: 1, count: shape.reduce(1, *)), shape: shape, dtype: .bf16)
            #expect(try NPYFile.decode(NPYFile.encode(t)) == t)
        }
    }

    /// Files written by NumPy itself (np.save of f32, f64, bool, u1, i8 arrays, a scalar, C order), when python3 with
    /// numpy is installed.
    @Test func numpysOwnFilesAreRead() throws {
        let dir = try temporaryFolder("numpy")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = """
            import numpy as np, sys
            d = sys.argv[1]
            np.save(d + '/a.npy', np.arange(6, dtype='<f4').reshape(2, 3))
            np.save(d + '/b.npy', np.arange(5, dtype='<f8'))
            np.save(d + '/c.npy', np.array([True, False]))
            np.save(d + '/d.npy', np.zeros((2, 0, 3), dtype='u1'))
            np.save(d + '/e.npy', np.float64(2.5))
            np.save(d + '/f.npy', np.arange(4, dtype='<i8').reshape(1, 4))
            np.lib.format.write_array(open(d + '/g.npy', 'wb'), np.arange(3, dtype='<f2'), version=(2, 0))
            np.lib.format.write_array(open(d + '/h.npy', 'wb'), np.arange(3, dtype='<f2'), version=(3, 0))
            """
        guard runPython(["-c", script, dir]) else { return }  // no numpy here: nothing to compare with
        let expected: [String: [Int]] = [
            "a": [2, 3], "b": [5], "c": [2], "d": [2, 0, 3], "e": [], "f": [1, 4], "g": [3], "h": [3],
        ]
        for (name, shape) in expected {
            let t = try NPYFile.read(dir + "/\(name).npy")
            #expect(t.shape == shape, "\(name)")
        }
        #expect(try NPYFile.read(dir + "/a.npy").doubles() == [0, 1, 2, 3, 4, 5])
        // NumPy's Fortran-order file: refused with the clear message.
        _ = runPython([
            "-c", "import numpy as np, sys; np.save(sys.argv[1], np.asfortranarray(np.ones((2, 3), dtype='<f4')))",
            dir + "/fortran.npy",
        ])
        if FileManager.default.fileExists(atPath: dir + "/fortran.npy") {
            #expect(
                oneLineMessage { _ = try NPYFile.read(dir + "/fortran.npy") }.contains(
                    "Fortran-order arrays are not supported"))
        }
    }
}

/// Runs python3 with `arguments`; false when python3 (or the module the script imports) is missing.
func runPython(_ arguments: [String]) -> Bool {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3"] + arguments
    p.standardError = FileHandle.nullDevice
    p.standardOutput = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}

@Suite struct StrictSafetensorsTests {
    static func file(_ json: String, data: Int) -> [UInt8] {
        withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { Array($0) } + Array(json.utf8)
            + [UInt8](repeating: 0, count: data)
    }

    static func message(_ bytes: [UInt8]) -> String {
        oneLineMessage { _ = try SafetensorsFile.decode(bytes, name: "x.safetensors") }
    }

    static let q = "\"q\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}"

    @Test(arguments: [
        (
            "{\"q\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}",
            "shape entries must be non-negative integers, got the number 2.0"
        ),
        (
            "{\"q\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8.0]}}",
            "data_offsets entries must be non-negative integers, got the number 8.0"
        ),
        ("{\"q\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8e0]}}", "got the number 8e0"),
        ("{\"q\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", "got the integer -2"),
        ("{\"q\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", "got the string '2'"),
        ("{\"q\":{\"dtype\":\"F32\",\"shape\":[true],\"data_offsets\":[0,8]}}", "got true"),
        ("{\"q\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", "shape must be a list of integers"),
        ("{\"q\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":1}}", "unknown key 'extra'"),
        ("{\"q\":{\"dtype\":\"F32\",\"shape\":[2]}}", "needs dtype, shape and data_offsets"),
        ("{\"q\":{\"dtype\":\"F32\",\"shape\":[2],\"shape\":[2],\"data_offsets\":[0,8]}}", "repeated key 'shape'"),
        ("{\(q),\(q)}", "repeated key 'q'"),
        ("{\"q\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,8]}}", "bad data_offsets [0, 8, 8]"),
        ("{\"q\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", "bad data_offsets [8, 0]"),
        ("{\"q\":{\"dtype\":7,\"shape\":[2],\"data_offsets\":[0,8]}}", "dtype must be a string"),
        ("{\"q\":[1]}", "tensor 'q' must be an object"),
        ("{\"__metadata__\":{\"a\":1},\(q)}", "__metadata__ value of 'a' must be a string, got the integer 1"),
        ("{\"__metadata__\":[\"a\"],\(q)}", "__metadata__ must be an object of strings"),
        ("{\"__metadata__\":null,\(q)}", "__metadata__ must be an object of strings"),
        ("{\(q)} x", "unexpected text after the JSON value"),
        ("{\(q),}", "expected a string key"),
        ("{\"q\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,08]}}", "leading zero"),
        (
            "{\"q\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,99999999999999999999]}}",
            "got the number 99999999999999999999"
        ),
        (
            "{\"q\\u0000\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"r\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
            "tensor 'r' starts at 0, expected 4"
        ),
        ("{\"q\\ud800\":{}}", "lone surrogate"),
        (
            "{\"q\":{\"dtype\":\"F32\",\"shape\":[1152921504606846976],\"data_offsets\":[0,8]}}",
            "does not match its 8 bytes"
        ),
        (
            "{\"q\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}",
            "does not match its 8 bytes"
        ),
    ])
    func refusedHeaders(_ json: String, _ expected: String) {
        let m = Self.message(Self.file(json, data: 8))
        #expect(m.contains(expected), "\(json): \(m)")
        #expect(m.hasPrefix("x.safetensors: "))
    }

    @Test func refusedFraming() {
        #expect(Self.message(Self.file(" {\(Self.q)}", data: 8)).contains("does not start with '{'"))
        #expect(Self.message(Self.file("{\(Self.q)}", data: 12)).contains("4 bytes after the last tensor"))
        #expect(
            Self.message(
                Self.file(
                    "{\"q\":{\"dtype\":\"F32\",\"shape\":[1152921504606846976],\"data_offsets\":[0,4611686018427387904]}}",
                    data: 8)
            )
            .contains("truncated data: tensor 'q' ends at byte 4611686018427387904 of 8"))
        // A header length beyond the 100 MB the specification allows.
        let big = withUnsafeBytes(of: UInt64(100 << 20 + 1).littleEndian) { Array($0) } + Array("{}".utf8)
        #expect(Self.message(big).contains("header too large (104857601 bytes, at most 104857600)"))
        let invalidUTF8 = Array(Self.file("{\"q\":{}}", data: 0))
        var bad = invalidUTF8
        bad[10] = 0xFF
        #expect(Self.message(bad).contains("not valid UTF-8"))
    }

    @Test func everyValidFormIsRead() throws {
        // Whitespace anywhere JSON allows it, tensors in any header order, metadata with escapes, empty tensors, {}.
        let json =
            " { \"b\" : { \"data_offsets\" : [ 8 , 12 ] , \"dtype\" : \"F32\" , \"shape\" : [ 1 ] } ,\n"
            + "\"e\":{\"dtype\":\"BF16\",\"shape\":[0,3],\"data_offsets\":[12,12]},"
            + "\"__metadata__\":{\"k\\\"\\\\\":\"caf\\u00e9 \\ud83d\\ude00 \\n\"}, \"a\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}   "
        let f = try SafetensorsFile.decode(Self.file(String(json.dropFirst()), data: 12))
        #expect(f.tensors.map(\.name) == ["a", "b", "e"])
        #expect(f.metadata == ["k\"\\": "caf\u{e9} \u{1F600} \n"])
        #expect(try SafetensorsFile.decode(Self.file("{}", data: 0)).tensors.isEmpty)
        #expect(try SafetensorsFile.decode(Self.file("{\"__metadata__\":{}}      ", data: 0)).metadata.isEmpty)
    }

    /// Files written by the safetensors package itself (numpy API), when python3 has it.
    @Test func safetensorsOwnFilesAreRead() throws {
        let dir = try temporaryFolder("st")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = """
            import numpy as np, sys
            from safetensors.numpy import save_file
            save_file({'z': np.zeros((0, 2), dtype=np.float32), 'b': np.arange(6, dtype=np.float64).reshape(2, 3),
                       'a': np.ones(3, dtype=np.uint8), 'c': np.array([True]), 'h': np.arange(5, dtype=np.float16)},
                      sys.argv[1], metadata={'format': 'np', 'x': 'y"z'})
            """
        guard runPython(["-c", script, dir + "/t.safetensors"]) else { return }
        let f = try SafetensorsFile.read(dir + "/t.safetensors")
        #expect(Set(f.tensors.map(\.name)) == ["z", "b", "a", "c", "h"])
        #expect(f["b"]?.doubles() == [0, 1, 2, 3, 4, 5] && f["b"]?.shape == [2, 3])
        #expect(f.metadata == ["format": "np", "x": "y\"z"])
        #expect(try SafetensorsFile.decode(try f.encode()).tensors.map(\.name) == f.tensors.map(\.name))
    }

    @Test func theCommittedFixtureIsRead() throws {
        let folder = repositoryRoot + "/fixtures/golden/standard-bf16"
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) where name.hasSuffix(".safetensors") {
            let bytes = try AtomicFile.read(folder + "/" + name)
            #expect(try SafetensorsFile.decode(bytes).encode() == bytes, "\(name)")
        }
    }
}
