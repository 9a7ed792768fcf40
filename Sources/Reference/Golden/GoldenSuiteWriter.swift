import Dispatch
import Foundation

/// Writes a golden folder, as `treeattn golden` does: one `<case>-<dtype>.safetensors` per case and dtype (and, with
/// `npy`, every tensor as `<case>/<tensor>.npy`), then `manifest.json`. The whole suite is built in a temporary
/// folder next to the destination and renamed onto it at the end (`AtomicFolder`): a failed or killed run never
/// leaves case files without a manifest.
public struct GoldenSuiteWriter {
    /// The suite's name recorded in the manifest.
    public var suite: String
    /// The cases and the test dtypes (bf16, f16, f32).
    public var specs: [GoldenCaseSpec]
    /// The test dtypes every case is written in: bf16, f16 or f32.
    public var dtypes: [DType]
    /// Also write every tensor as .npy; also write the backward (do, dq, dk, dv with tolerances).
    public var npy = false
    /// Also write the backward: do, dq, dk, dv (dlse, dsinks where the case has them) and their tolerances, for the
    /// dense cases (a suite's varlen, paged and merge cases are written forward only).
    public var backward = false

    /// A writer of `specs` in `dtypes`.
    public init(suite: String, specs: [GoldenCaseSpec], dtypes: [DType]) {
        (self.suite, self.specs, self.dtypes) = (suite, specs, dtypes)
    }

    /// One written case, with the seconds it took.
    public struct Written: Sendable {
        /// The case, already written.
        public let golden: GoldenCase
        /// Wall-clock seconds to generate and write it.
        public let seconds: Double
    }

    /// The cases of a suite file (YAML, or JSON by extension): a list of cases, or a mapping with key `cases`.
    public static func loadSuite(path: String) throws -> [GoldenCaseSpec] {
        let text = String(decoding: try AtomicFile.read(path), as: UTF8.self)
        let root: Any?
        do {
            root = try StructuredText.load(text, json: (path as NSString).pathExtension.lowercased() == "json")
        } catch let error as CoreError {
            throw CoreError.file(path: path, problem: error.description)
        } catch {
            throw ReferenceError.file(
                path: path, problem: "not a list of golden cases (\(StructuredText.reason(error)))")
        }
        return try GoldenCaseSpec.parseSuite(root, context: path)
    }

    /// Checks the cases (each valid, names unique) and the dtypes, before anything is written.
    public func validate() throws {
        guard !dtypes.isEmpty else { throw ReferenceError.invalidOption("--dtype needs at least one dtype") }
        if let bad = dtypes.first(where: { ![.bf16, .f16, .f32].contains($0) }) {
            throw ReferenceError.invalidOption("--dtype takes bf16, f16, f32; got \(bad.rawValue)")
        }
        for spec in specs { try spec.validate() }
        if Set(specs.map(\.name)).count != specs.count {
            throw ReferenceError.invalidOption("suite has duplicate case names")
        }
    }

    /// Writes the suite into `folder` (which must not exist or be empty), calling `progress` after each case with
    /// its index (from 1), the total and the case.
    public func write(to folder: String, progress: (Int, Int, Written) -> Void = { _, _, _ in }) throws {
        try validate()
        let destination = try AtomicFolder(folder)
        defer { destination.discard() }
        let dir = destination.temporary
        var cases: [GoldenCase] = []
        let total = specs.count * dtypes.count
        for spec in specs {
            for t in dtypes {
                let start = DispatchTime.now().uptimeNanoseconds
                // The backward covers dense cases and MLA's naive form; a suite's varlen, paged, merge and absorbed
                // MLA cases are written forward only.
                let c = try GoldenCase(
                    spec: spec, dtype: t, backward: backward && spec.goldenLayout == .dense && spec.mla != "absorbed")
                try c.file.write(to: dir + "/\(c.name).safetensors")
                if npy {
                    let caseFolder = dir + "/\(c.name)"
                    try FileManager.default.createDirectory(atPath: caseFolder, withIntermediateDirectories: true)
                    for (name, data) in c.file.tensors { try NPYFile.write(data, to: caseFolder + "/\(name).npy") }
                }
                cases.append(c)
                progress(
                    cases.count, total,
                    Written(golden: c, seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
            }
        }
        try AtomicFile.write(GoldenManifest(suite: suite, cases: cases).json, to: dir + "/manifest.json")
        try destination.commit()
    }
}
