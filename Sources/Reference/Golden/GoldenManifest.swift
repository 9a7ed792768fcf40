import Foundation

/// manifest.json of a golden folder: which cases exist, their files, dtypes and tolerances.
public struct GoldenManifest: Sendable {
    /// One case of the manifest.
    public struct Entry: Sendable, Equatable {
        /// The case name, `<case>-<dtype>`.
        public let name: String
        /// The case's golden file, relative to the folder.
        public let file: String
        /// The test dtype: bf16, f16 or f32.
        public let dtype: String
        /// The output's tolerance (`out_atol`).
        public let outputAtol: Double
        /// The LSE's tolerance (`lse_atol`).
        public let lseAtol: Double
        /// Tolerances of the gradients (keys dq, dk, dv, and dsinks with sinks) of a backward case; empty for a
        /// forward-only case.
        public var gradientAtols: [String: Double] = [:]
        /// The output's tolerance under each variant of the naive pipeline (an FP8 case's `p-fp8` and `p-dtype`,
        /// key `out_atol_variants`); `outputAtol` is the first variant's. Empty for other cases.
        public var outputVariantAtols: [(name: String, atol: Double)] = []
        /// The inputs' dtype when it is not the test dtype (an FP8 case's f8e4m3fn or f8e5m2, key `input_dtype`).
        public var inputDtype: String? = nil

        /// Every field equal, variants in order.
        public static func == (a: Entry, b: Entry) -> Bool {
            a.name == b.name && a.file == b.file && a.dtype == b.dtype && a.outputAtol == b.outputAtol
                && a.lseAtol == b.lseAtol && a.gradientAtols == b.gradientAtols && a.inputDtype == b.inputDtype
                && a.outputVariantAtols.map(\.name) == b.outputVariantAtols.map(\.name)
                && a.outputVariantAtols.map(\.atol) == b.outputVariantAtols.map(\.atol)
        }
    }

    /// The naive-pipeline variants in the order manifests list them (the default first).
    public static let variantOrder = ToleranceVariant.allCases.map(\.rawValue)

    /// The gradients a backward case holds, in file and report order.
    public static let gradientNames = ["dq", "dk", "dv", "dsinks", "k_cache_updated", "v_cache_updated"]

    /// The suite's name (`?` when a manifest read from disk has none).
    public let suite: String
    /// The cases, in manifest order.
    public let entries: [Entry]

    /// The manifest of the generated `cases`, in their order.
    public init(suite: String, cases: [GoldenCase]) {
        self.suite = suite
        entries = cases.map { c in
            var e = Entry(
                name: c.name, file: "\(c.name).safetensors", dtype: c.dtype.rawValue,
                outputAtol: c.outputTolerance.atol, lseAtol: c.lseTolerance.atol)
            for (name, tol) in c.gradientTolerances ?? [] { e.gradientAtols[name] = tol.atol }
            e.outputVariantAtols = c.outputVariantTolerances.map { ($0.name, $0.tolerance.atol) }
            e.inputDtype = (c.spec.float8Format ?? c.spec.kvFloat8Format)?.dtype.rawValue
            return e
        }
        specs = cases.map(\.spec.canonicalJSON)
    }

    private var specs: [String] = []

    /// Deterministic JSON text (fixed key order, Swift's round-trip number text).
    public var json: String {
        var lines = [
            "{", "  \"generator\": \(TextEscaping.jsonLiteral(GoldenCase.generatorVersion)),",
            "  \"suite\": \(TextEscaping.jsonLiteral(suite)),",
            "  \"layout\": \"bhsd\",", "  \"lse_base\": \"e\",",
            "  \"tolerance_rule\": \(TextEscaping.jsonLiteral(GoldenTolerance.rule)),",
            "  \"cases\": [",
        ]
        for (n, e) in entries.enumerated() {
            let spec = n < specs.count ? specs[n] : "{}"
            lines.append(
                "    {\"name\": \(TextEscaping.jsonLiteral(e.name)), \"file\": \(TextEscaping.jsonLiteral(e.file)), \"dtype\": \(TextEscaping.jsonLiteral(e.dtype)), "
                    + "\"out_atol\": \(e.outputAtol), \"lse_atol\": \(e.lseAtol), "
                    + GoldenManifest.gradientNames.compactMap { n in e.gradientAtols[n].map { "\"\(n)_atol\": \($0), " }
                    }.joined()
                    + (e.inputDtype.map { "\"input_dtype\": \(TextEscaping.jsonLiteral($0)), " } ?? "")
                    + (e.outputVariantAtols.isEmpty
                        ? ""
                        : "\"out_atol_variants\": {"
                            + e.outputVariantAtols.map { "\(TextEscaping.jsonLiteral($0.name)): \($0.atol)" }.joined(
                                separator: ", ") + "}, ")
                    + "\"case\": \(spec)}"
                    + (n + 1 < entries.count ? "," : ""))
        }
        lines += ["  ]", "}", ""]
        return lines.joined(separator: "\n")
    }

    /// Reads manifest.json of `folder`, with one-line errors for a missing or malformed file.
    public static func read(folder: String) throws -> GoldenManifest {
        let path = folder + "/manifest.json"
        let bytes = try AtomicFile.read(path)
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let cases = object["cases"] as? [[String: Any]]
        else {
            throw ReferenceError.file(
                path: path, problem: "not a golden manifest (expected a JSON object with 'cases')")
        }
        let entries = try cases.map { c -> Entry in
            guard let name = c["name"] as? String, let file = c["file"] as? String, let dtype = c["dtype"] as? String,
                let out = (c["out_atol"] as? NSNumber)?.doubleValue, let lse = (c["lse_atol"] as? NSNumber)?.doubleValue
            else {
                throw ReferenceError.file(path: path, problem: "a case lacks name, file, dtype, out_atol or lse_atol")
            }
            var entry = Entry(name: name, file: file, dtype: dtype, outputAtol: out, lseAtol: lse)
            for n in gradientNames {
                guard let value = c["\(n)_atol"] else { continue }
                guard let atol = (value as? NSNumber)?.doubleValue, atol.isFinite, atol >= 0 else {
                    throw ReferenceError.file(
                        path: path,
                        problem: "case \(TextEscaping.quoted(name)): \(n)_atol must be a non-negative number")
                }
                entry.gradientAtols[n] = atol
            }
            entry.inputDtype = c["input_dtype"] as? String
            if let variants = c["out_atol_variants"] {
                // Key order is the file's; JSONSerialization loses it, so the variants are re-read in the order the
                // writer uses (the default first) and any others after, sorted.
                guard let map = variants as? [String: Any] else {
                    throw ReferenceError.file(
                        path: path, problem: "case \(TextEscaping.quoted(name)): out_atol_variants must be an object")
                }
                let order = GoldenManifest.variantOrder
                for key in map.keys.sorted(by: {
                    (order.firstIndex(of: $0) ?? 99, $0) < (order.firstIndex(of: $1) ?? 99, $1)
                }) {
                    guard let atol = (map[key] as? NSNumber)?.doubleValue, atol.isFinite, atol >= 0 else {
                        throw ReferenceError.file(
                            path: path,
                            problem:
                                "case \(TextEscaping.quoted(name)): out_atol_variants.\(key) must be a non-negative number"
                        )
                    }
                    entry.outputVariantAtols.append((key, atol))
                }
            }
            return entry
        }
        return GoldenManifest(suite: object["suite"] as? String ?? "?", entries: entries)
    }

    private init(suite: String, entries: [Entry]) {
        self.suite = suite
        self.entries = entries
    }
}
