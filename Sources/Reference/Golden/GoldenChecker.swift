import Foundation

/// Compares a backend's outputs with golden files: per case and tensor the max abs and rel errors, the normwise
/// relative error, the worst index and PASS/FAIL under the case's derived tolerance. Accepts bhsd or bshd outputs,
/// LSE in base e or 2, and FlashAttention 2's +inf LSE for empty rows. NaN never passes. For backward cases, the
/// gradients dq, dk, dv (each in bhsd or bshd) and dsinks are checked too when the results hold them. With sinks,
/// results whose metadata says `lse_includes_sink: false` are compared with the golden's `lse_without_sink`.
public struct GoldenChecker {
    /// The axis order of the results' rank-4 tensors.
    public enum Layout: String, Sendable {
        /// From the results' `layout` metadata, else from the shape.
        case auto
        /// (batch, heads, seq, dim).
        case bhsd
        /// (batch, seq, heads, dim), swapped to bhsd before comparing.
        case bshd
    }
    /// The logarithm base of the results' LSE.
    public enum LSEBase: String, Sendable {
        /// From the results' `lse_base` metadata, else the golden's own base.
        case auto
        /// Natural logarithm.
        case e
        /// Base 2 (raw value `2`), as FlashInfer keeps it.
        case two = "2"
    }

    /// One line of the report.
    public struct Row: Sendable {
        /// The golden case, `<case name>-<dtype>`.
        public let caseName: String
        /// The tensor compared: `out`, `lse`, `dq`, `dk` or `dv`.
        public let tensor: String
        /// Largest absolute error; infinite when an infinite golden value is not matched, NaN when an error is NaN.
        public let maxAbs: Double
        /// Largest relative error |got - golden| / |golden| over nonzero golden values of at least 1e-6 times the
        /// largest finite one.
        public let maxRel: Double
        /// ||got - golden||_2 / ||golden||_2 over the finite golden values (0 when both norms are 0).
        public let normwiseRel: Double
        /// Multi-index of the largest absolute error, in the golden's shape (bhsd for rank-4 tensors).
        public let worstIndex: [Int]
        /// The case's tolerance for this tensor, from the manifest.
        public let atol: Double
        /// True when `maxAbs` is at most `atol` and no NaN was found.
        public let passed: Bool
        /// How the result was read (layout, LSE base, +inf empty rows) and whether it held NaN.
        public let note: String
    }

    /// The golden folder: `manifest.json` and the case files.
    public let goldenFolder: String
    /// The backend's results: a .safetensors file (tensors `<case>.out`, `<case>.lse`, ...) or a folder of
    /// `<case>.safetensors`, `<case>.out.npy` or `<case>/out.npy` files.
    public let results: String
    /// The results' axis order (default `.auto`).
    public var layout: Layout = .auto
    /// The base of the results' LSE (default `.auto`).
    public var lseBase: LSEBase = .auto
    /// Only cases whose name contains this text (nil: every case in the manifest).
    public var filter: String?
    /// The naive-pipeline variant whose output tolerance applies to cases that have several (`ToleranceVariant`: an
    /// FP8 case's `p-fp8` or `p-dtype`, an FP8 KV-cache case's `kv-dequant` or `kv-scale`); nil: the results' metadata
    /// (`tolerance_variant`, or `p_rounding` fp8/dtype, or `kv_dequant` dtype/scale), else the case's first.
    public var toleranceVariant: String?
    /// The dtype of results stored as raw bytes ('|u1' .npy or U8 safetensors: FP8, whose format .npy cannot name);
    /// nil reads every tensor as its file says.
    public var resultsDtype: DType?

    /// A checker of every case in `goldenFolder` against `results`, layout and LSE base detected.
    public init(goldenFolder: String, results: String) {
        self.goldenFolder = goldenFolder
        self.results = results
    }

    /// Compares every selected case: one row for `out`, one for `lse` when the results hold it, and one per gradient
    /// of a backward case. Throws when the manifest or a file is missing or malformed, no case matches `filter`, a
    /// case has no results, or a result's shape or dtype does not fit its golden.
    public func run() throws -> [Row] {
        let manifest = try GoldenManifest.read(folder: goldenFolder)
        let entries = manifest.entries.filter { filter == nil || $0.name.contains(filter!) }
        guard !entries.isEmpty else {
            throw ReferenceError.invalidOption("no golden case matches \(TextEscaping.quoted(filter ?? ""))")
        }
        let resultFile: SafetensorsFile? = results.hasSuffix(".safetensors") ? try SafetensorsFile.read(results) : nil
        if resultFile == nil {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: results, isDirectory: &isDir), isDir.boolValue else {
                throw ReferenceError.file(path: results, problem: "results must be a folder or a .safetensors file")
            }
        }
        var rows: [Row] = []
        for entry in entries {
            let golden = try SafetensorsFile.read(goldenFolder + "/" + entry.file)
            let goldenOut = try golden.require("out", in: entry.file)
            let goldenLSE = try golden.require("lse", in: entry.file)
            // Varlen and merge goldens are rank 3 (total_q or rows, heads, dim) with their own LSE layouts; results must
            // have exactly their shapes. The others are bhsd, and results may be bhsd or bshd.
            let goldenLayout = golden.metadata["layout"] ?? "bhsd"
            let packed = goldenLayout == "varlen" || goldenLayout == "merge"
            let shapesOK =
                packed
                ? goldenOut.shape.count == 3 && goldenLSE.shape.count == 2
                : goldenOut.shape.count == 4 && goldenLSE.shape == Array(goldenOut.shape.prefix(3))
            guard shapesOK, goldenOut.dtype.isFloatingPoint, goldenLSE.dtype.isFloatingPoint else {
                throw ReferenceError.file(
                    path: goldenFolder + "/" + entry.file,
                    problem: packed
                        ? "not a \(goldenLayout) golden file: out has shape \(goldenOut.shape) and lse \(goldenLSE.shape), expected rank 3 and rank 2 of a float type"
                        : "not a golden file: out has shape \(goldenOut.shape) and lse \(goldenLSE.shape), expected (batch, heads, seq_q, value_dim) and (batch, heads, seq_q) of a float type"
                )
            }
            let found = try locate(entry.name, in: resultFile)
            let (out, outLayout): ([Double], String)
            if packed {
                guard found.out.dtype.isFloatingPoint else {
                    throw mismatch(entry.name, "out has dtype \(found.out.dtype.rawValue), expected a float type")
                }
                guard found.out.shape == goldenOut.shape else {
                    throw mismatch(
                        entry.name, "out has shape \(found.out.shape); the \(goldenLayout) golden is \(goldenOut.shape)"
                    )
                }
                (out, outLayout) = (found.out.doubles(), goldenLayout == "varlen" ? "thd" : "(rows, heads, dim)")
            } else {
                (out, outLayout) = try orient(
                    found.out, like: goldenOut.shape, metadata: found.metadata, name: entry.name)
            }
            // Varlen rows past seqused_q (q_used 0) are the kernel's to leave undefined: not compared.
            let unusedRows = golden["q_used"].map { t in t.doubles().enumerated().filter { $0.1 == 0 }.map(\.0) } ?? []
            let wantOut = goldenOut.doubles()
            var gotOut = out
            if packed, !unusedRows.isEmpty {
                let width = wantOut.count / max(goldenOut.shape[0], 1)
                for r in unusedRows { for e in r * width..<(r + 1) * width { gotOut[e] = wantOut[e] } }
            }
            let skipped = unusedRows.isEmpty ? "" : ", \(unusedRows.count) rows past seqused_q not compared"
            let (outAtol, variant) = try outputTolerance(entry, metadata: found.metadata)
            rows.append(
                compare(
                    entry.name, "out", got: gotOut, want: wantOut, shape: goldenOut.shape,
                    atol: outAtol, note: "layout \(outLayout)\(skipped)\(variant)"))
            if let lse = found.lse {
                guard lse.dtype.isFloatingPoint else {
                    throw mismatch(entry.name, "lse has dtype \(lse.dtype.rawValue), expected a float type")
                }
                guard lse.shape == goldenLSE.shape else {
                    throw mismatch(
                        entry.name, "lse has shape \(lse.shape), golden is \(goldenLSE.shape) (batch, heads, seq_q)")
                }
                // The results' base: --lse-base, else their metadata, else the golden's own (merge goldens may be base 2).
                let goldenBase: LSEBase = golden.metadata["lse_base"] == "2" ? .two : .e
                let base =
                    lseBase != .auto
                    ? lseBase
                    : found.metadata["lse_base"].map { $0 == "2" ? LSEBase.two : .e } ?? goldenBase
                var values = lse.doubles()
                if base == .two && goldenBase == .e { values = values.map { $0 * 0.6931471805599453 } }
                if base == .e && goldenBase == .two { values = values.map { $0 / 0.6931471805599453 } }
                var note =
                    "base \(base == .two ? "2" : "e")"
                    + (base != goldenBase ? " (golden base \(goldenBase == .two ? "2" : "e"))" : "")
                // Kernels whose LSE leaves the sink out (FlashMLA's attn_sink, gpt-oss's Triton kernel) say so in their
                // metadata (`lse_includes_sink: false`) and are compared with the keys' own LSE.
                var want = goldenLSE.doubles()
                if packed, !unusedRows.isEmpty {
                    let tq = goldenLSE.shape[1]
                    for r in unusedRows { for h in 0..<goldenLSE.shape[0] { values[h * tq + r] = want[h * tq + r] } }
                    note += skipped
                }
                if found.metadata["lse_includes_sink"] == "false", let keysOnly = golden["lse_without_sink"] {
                    want = keysOnly.doubles()
                    note += ", sink left out (lse_without_sink)"
                }
                if zip(values, want).contains(where: { $0 == .infinity && $1 == -.infinity }) {
                    values = zip(values, want).map { $0 == .infinity && $1 == -.infinity ? -.infinity : $0 }
                    note += ", +inf empty rows read as -inf (FlashAttention 2)"
                }
                rows.append(
                    compare(
                        entry.name, "lse", got: values, want: want, shape: goldenLSE.shape, atol: entry.lseAtol,
                        note: note))
            }
            for tensor in GoldenManifest.gradientNames {
                guard let atol = entry.gradientAtols[tensor], let got = found.gradients[tensor] else { continue }
                let want = try golden.require(tensor, in: entry.file)
                // dsinks is one value per query head; the others are rank 4 (bhsd or bshd).
                guard want.shape.count == 4 || got.shape == want.shape else {
                    throw mismatch(entry.name, "\(tensor) has shape \(got.shape), golden is \(want.shape)")
                }
                let (values, layout) =
                    want.shape.count == 4
                    ? try orient(got, like: want.shape, metadata: found.metadata, name: entry.name, tensor: tensor)
                    : (got.doubles(), "(heads)")
                rows.append(
                    compare(
                        entry.name, tensor, got: values, want: want.doubles(), shape: want.shape, atol: atol,
                        note: "layout \(layout)"))
            }
        }
        return rows
    }

    /// The output tolerance of `entry` for these results and the note naming its variant ("" for a case with one).
    func outputTolerance(_ entry: GoldenManifest.Entry, metadata: [String: String]) throws -> (Double, String) {
        guard let first = entry.outputVariantAtols.first else { return (entry.outputAtol, "") }
        let fromMetadata =
            metadata["tolerance_variant"] ?? metadata["p_rounding"].map { "p-" + $0 }
            ?? metadata["kv_dequant"].map { $0 == "dtype" ? "kv-dequant" : "kv-scale" }
        let asked = toleranceVariant ?? fromMetadata
        let name = asked ?? first.name
        guard let chosen = entry.outputVariantAtols.first(where: { $0.name == name }) else {
            throw ReferenceError.invalidOption(
                "case \(TextEscaping.quoted(entry.name)) has no tolerance variant \(TextEscaping.quoted(name)) ("
                    + entry.outputVariantAtols.map(\.name).joined(separator: ", ") + ")")
        }
        let how = toleranceVariant != nil ? "asked" : asked != nil ? "results' metadata" : "default"
        return (chosen.atol, ", tolerance variant \(chosen.name) (\(how))")
    }

    /// `t` read as `resultsDtype` when it holds raw bytes (u8) and FP8 results were announced.
    func typed(_ t: TensorData) throws -> TensorData {
        guard let d = resultsDtype, t.dtype == .u8, d.byteSize == 1 else { return t }
        return try t.reinterpreted(as: d)
    }

    /// Names a result's output and LSE may have: ours, FlashInfer's merge_state (v_merged, s_merged) and
    /// FlashAttention's softmax_lse.
    static let outNames = ["out", "v_merged"]
    static let lseNames = ["lse", "s_merged", "softmax_lse"]

    struct Found {
        var out: TensorData
        var lse: TensorData?
        let metadata: [String: String]
        var gradients: [String: TensorData] = [:]
    }

    func locate(_ name: String, in file: SafetensorsFile?) throws -> Found {
        var found = try locateRaw(name, in: file)
        found.out = try typed(found.out)
        found.lse = try found.lse.map(typed)
        for (k, v) in found.gradients { found.gradients[k] = try typed(v) }
        return found
    }

    func locateRaw(_ name: String, in file: SafetensorsFile?) throws -> Found {
        if let file {
            guard let out = Self.outNames.lazy.compactMap({ file["\(name).\($0)"] }).first else {
                throw ReferenceError.file(
                    path: results,
                    problem:
                        "no tensor \(TextEscaping.quoted(name + ".out")) for golden case \(TextEscaping.quoted(name))")
            }
            var found = Found(
                out: out, lse: Self.lseNames.lazy.compactMap({ file["\(name).\($0)"] }).first, metadata: file.metadata)
            for g in GoldenManifest.gradientNames { found.gradients[g] = file["\(name).\(g)"] }
            return found
        }
        let st = results + "/\(name).safetensors"
        if FileManager.default.fileExists(atPath: st) {
            let f = try SafetensorsFile.read(st)
            guard let out = Self.outNames.lazy.compactMap({ f[$0] }).first else {
                _ = try f.require("out", in: st)
                throw CancellationError()
            }
            var found = Found(out: out, lse: Self.lseNames.lazy.compactMap({ f[$0] }).first, metadata: f.metadata)
            for g in GoldenManifest.gradientNames { found.gradients[g] = f[g] }
            return found
        }
        for (outPath, lsePath) in [
            (results + "/\(name).out.npy", results + "/\(name).lse.npy"),
            (results + "/\(name)/out.npy", results + "/\(name)/lse.npy"),
        ]
        where FileManager.default.fileExists(atPath: outPath) {
            let lse = FileManager.default.fileExists(atPath: lsePath) ? try NPYFile.read(lsePath) : nil
            var found = Found(out: try NPYFile.read(outPath), lse: lse, metadata: [:])
            for g in GoldenManifest.gradientNames {
                let path = outPath.hasSuffix("/out.npy") ? results + "/\(name)/\(g).npy" : results + "/\(name).\(g).npy"
                if FileManager.default.fileExists(atPath: path) { found.gradients[g] = try NPYFile.read(path) }
            }
            return found
        }
        throw ReferenceError.file(
            path: results,
            problem:
                "no results for golden case \(TextEscaping.quoted(name)) (looked for \(TextEscaping.quoted(name + ".safetensors")), \(TextEscaping.quoted(name + ".out.npy")), \(TextEscaping.quoted(name + "/out.npy")))"
        )
    }

    /// Returns a rank-4 result (the output, or a gradient) in bhsd order and the layout it was read in.
    func orient(
        _ t: TensorData, like shape: [Int], metadata: [String: String], name: String,
        tensor: String = "out"
    ) throws -> ([Double], String) {
        guard t.dtype.isFloatingPoint else {
            throw mismatch(name, "\(tensor) has dtype \(t.dtype.rawValue), expected a float type")
        }
        guard shape.count == 4 else {
            throw mismatch(name, "golden \(tensor) has shape \(shape), expected rank 4 (bhsd)")
        }
        guard t.shape.count == 4 else {
            throw mismatch(
                name,
                "\(tensor) has shape \(t.shape) (rank \(t.shape.count)); golden is \(shape) in bhsd (or \([shape[0], shape[2], shape[1], shape[3]]) in bshd)"
            )
        }
        let bshdShape = [shape[0], shape[2], shape[1], shape[3]]
        var chosen = layout
        if chosen == .auto, let m = metadata["layout"], let l = Layout(rawValue: m) { chosen = l }
        if chosen == .auto { chosen = t.shape == shape ? .bhsd : (t.shape == bshdShape ? .bshd : .auto) }
        switch chosen {
        case .bhsd where t.shape == shape:
            return (t.doubles(), "bhsd")
        case .bshd where t.shape == bshdShape:
            return (try Tensor(shape: t.shape, data: t.doubles()).swappingAxes12().data, "bshd")
        default:
            throw mismatch(name, "\(tensor) has shape \(t.shape); golden is \(shape) in bhsd (or \(bshdShape) in bshd)")
        }
    }

    func mismatch(_ name: String, _ problem: String) -> ReferenceError {
        .shape("case \(TextEscaping.quoted(name)): \(problem)")
    }

    /// The JSON report of `rows` (what `check --json` writes): `passed`, `failed` and one object per row. Strings are
    /// escaped (quotes, backslashes, control characters); NaN and infinities, which JSON lacks, are written as strings.
    public static func jsonReport(_ rows: [Row]) -> String {
        func num(_ x: Double) -> String { x.isFinite ? "\(x)" : TextEscaping.jsonLiteral("\(x)") }
        let failed = rows.filter { !$0.passed }.count
        let items = rows.map { r in
            "{\"case\": \(TextEscaping.jsonLiteral(r.caseName)), \"tensor\": \(TextEscaping.jsonLiteral(r.tensor)), \"max_abs\": \(num(r.maxAbs)), "
                + "\"max_rel\": \(num(r.maxRel)), \"normwise_rel\": \(num(r.normwiseRel)), "
                + "\"worst_index\": [\(r.worstIndex.map(String.init).joined(separator: ", "))], \"tolerance\": \(num(r.atol)), "
                + "\"passed\": \(r.passed), \"note\": \(TextEscaping.jsonLiteral(r.note))}"
        }
        return "{\"passed\": \(failed == 0), \"failed\": \(failed), \"rows\": [\n  " + items.joined(separator: ",\n  ")
            + "\n]}\n"
    }

    func compare(
        _ name: String, _ tensor: String, got: [Double], want: [Double], shape: [Int], atol: Double, note: String
    ) -> Row {
        var maxAbs = 0.0, worst = 0, sumSq = 0.0, refSq = 0.0, maxRel = 0.0, nan = false
        let big = want.filter(\.isFinite).map(abs).max() ?? 0
        for (i, (g, w)) in zip(got, want).enumerated() {
            if w == -.infinity || w == .infinity {
                if g != w {
                    maxAbs = .infinity
                    worst = i
                    nan = nan || g.isNaN
                }
                continue
            }
            let e = abs(g - w)
            if e.isNaN {
                nan = true
                maxAbs = .nan
                worst = i
                continue
            }
            if !maxAbs.isNaN && e > maxAbs {
                maxAbs = e
                worst = i
            }
            sumSq += e * e
            refSq += w * w
            if abs(w) >= 1e-6 * big, w != 0 { maxRel = max(maxRel, e / abs(w)) }
        }
        var index: [Int] = []
        var rest = worst
        for n in shape.reversed() {
            index.insert(n == 0 ? 0 : rest % n, at: 0)
            rest /= max(n, 1)
        }
        let passed = !nan && !maxAbs.isNaN && maxAbs <= atol
        return Row(
            caseName: name, tensor: tensor, maxAbs: maxAbs, maxRel: maxRel,
            normwiseRel: refSq > 0 ? (sumSq / refSq).squareRoot() : (sumSq == 0 ? 0 : .infinity),
            worstIndex: index, atol: atol, passed: passed, note: nan ? note + ", NaN in results" : note)
    }
}
