import Foundation
import Reference

/// Reading and writing tensors by path for the CLI: .npy holds one tensor, .safetensors holds named tensors.
enum TensorFiles {
    /// Loads tensor `name` from `path` (.npy: the file's only tensor; .safetensors: the tensor called `name`).
    static func load(_ path: String, name: String) throws -> TensorData {
        switch (path as NSString).pathExtension.lowercased() {
        case "npy": return try NPYFile.read(path)
        case "safetensors": return try SafetensorsFile.read(path).require(name, in: path)
        default: throw ReferenceError.file(path: path, problem: "unknown file type (expected .npy or .safetensors)")
        }
    }

    /// Writes one tensor: .npy as is, .safetensors under `name` with `metadata`.
    static func save(_ t: TensorData, to path: String, name: String, metadata: [String: String] = [:]) throws {
        switch (path as NSString).pathExtension.lowercased() {
        case "npy": try NPYFile.write(t, to: path)
        case "safetensors": try SafetensorsFile(tensors: [(name, t)], metadata: metadata).write(to: path)
        default: throw ReferenceError.file(path: path, problem: "unknown output type (expected .npy or .safetensors)")
        }
    }

    /// Fails early, before any work, when an output folder is missing.
    static func checkWritable(_ path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.isEmpty ? "." : dir, isDirectory: &isDir), isDir.boolValue else {
            throw ReferenceError.file(path: path, problem: "output folder does not exist")
        }
    }
}
