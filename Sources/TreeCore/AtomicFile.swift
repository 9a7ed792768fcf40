import Foundation

/// Writes files under a temporary name in the same folder, then renames: readers never see half a file.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw CoreError.file(path: path, problem: "folder \(dir) does not exist")
        }
        let tmp = dir + "/." + url.lastPathComponent + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
        guard FileManager.default.createFile(atPath: tmp, contents: Data(bytes)) else {
            throw CoreError.file(path: path, problem: "cannot write (permission or disk space)")
        }
        guard rename(tmp, path) == 0 else {
            unlink(tmp)
            throw CoreError.file(path: path, problem: "cannot rename the temporary file into place")
        }
    }

    public static func write(_ text: String, to path: String) throws {
        try write(Array(text.utf8), to: path)
    }

    /// Reads a whole file, with a one-line error when it is missing or unreadable.
    public static func read(_ path: String) throws -> [UInt8] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw CoreError.file(path: path, problem: "no such file")
        }
        guard !isDir.boolValue else { throw CoreError.file(path: path, problem: "is a folder, expected a file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CoreError.file(path: path, problem: "cannot read")
        }
        return [UInt8](data)
    }
}
