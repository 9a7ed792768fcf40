import Foundation
import TreeCore

/// A study's output folder: every file is checked and reserved before the study runs (`init`), then all are written
/// under temporary names and appear together (`write`), or none does (`discard`, on any error).
public struct StudyFolder {
    /// The folder (created if missing).
    public let folder: String
    private let outputs: AtomicOutputs

    /// Checks and reserves `names` inside `folder`.
    public init(_ folder: String, names: [String]) throws {
        self.folder = folder
        outputs = try AtomicOutputs(names.map { Self.path(folder, $0) }, createFolders: true)
    }

    private static func path(_ folder: String, _ name: String) -> String {
        (folder as NSString).appendingPathComponent(name)
    }

    /// Writes every file and commits them together; returns their paths.
    public func write(_ files: [(name: String, contents: String)]) throws -> [String] {
        for f in files { try outputs.write(f.contents, to: Self.path(folder, f.name)) }
        try outputs.commit()
        return files.map { Self.path(folder, $0.name) }
    }

    /// Removes whatever was written and not committed.
    public func discard() { outputs.discard() }
}
