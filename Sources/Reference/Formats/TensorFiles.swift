import Foundation

/// Reading and writing tensors by path, the file type told by the extension: .npy holds one tensor, .safetensors
/// holds named tensors.
public enum TensorFiles {
    /// Loads tensor `name` from `path` (.npy: the file's only tensor; .safetensors: the tensor called `name`).
    public static func load(_ path: String, name: String) throws -> TensorData {
        switch (path as NSString).pathExtension.lowercased() {
        case "npy": return try NPYFile.read(path)
        case "safetensors": return try SafetensorsFile.read(path).require(name, in: path)
        default: throw ReferenceError.file(path: path, problem: "unknown file type (expected .npy or .safetensors)")
        }
    }

    /// Writes one tensor's file into `sink` (.npy as is, .safetensors under `name` with `metadata`) from the tensor's
    /// own buffer (no copy of the file).
    public static func write(
        _ t: TensorData, for path: String, name: String, metadata: [String: String] = [:], into sink: ByteSink
    ) throws {
        try checkOutputType(path)
        if (path as NSString).pathExtension.lowercased() == "npy" {
            try NPYFile.write(t, into: sink)
        } else {
            try SafetensorsFile(tensors: [(name, t)], metadata: metadata).write(into: sink)
        }
    }

    /// Fails early, before any work, on an output name that is neither .npy nor .safetensors.
    public static func checkOutputType(_ path: String) throws {
        guard !path.isEmpty else { throw CoreError.invalidOption("an output path is empty") }
        guard ["npy", "safetensors"].contains((path as NSString).pathExtension.lowercased()) else {
            throw ReferenceError.file(path: path, problem: "unknown output type (expected .npy or .safetensors)")
        }
    }

    /// Widening factor of a tensor read from a file: the decoded values are kept as f64, up to 4 x the file's bytes
    /// (16-bit inputs; 1 x for f64).
    public static let wideningFactor = 4

    /// What reading `paths` whole costs, from their sizes before reading: every tensor kept widened to f64
    /// (`wideningFactor` x its file; tensors read from the same file are parts of it, so each file counts once)
    /// plus, for the file being read, its bytes and their decoded copy (2 x).
    public static func readEstimate(_ paths: [String]) throws -> Int {
        let sizes = Set(paths.map(AtomicOutputs.resolvedPath)).map { path -> Int in
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
            return max(0, size)
        }
        let kept = try MemoryBudget.product(
            [MemoryBudget.sum(sizes, for: "the input files"), wideningFactor], for: "the input files")
        return try MemoryBudget.sum(
            [kept, MemoryBudget.product([sizes.max() ?? 0, 2], for: "the input files")], for: "the input files")
    }
}

/// Tensor files streamed into reserved outputs.
extension AtomicOutputs {
    /// Streams one tensor's file (`TensorFiles.write`: .npy, or a one-tensor .safetensors under `name` with
    /// `metadata`) into the temporary of `path`, from the tensor's own buffer.
    public func write(_ t: TensorData, to path: String, name: String, metadata: [String: String] = [:]) throws {
        try stream(to: path) { try TensorFiles.write(t, for: path, name: name, metadata: metadata, into: $0) }
    }
}
