import Foundation

/// Writes files under a temporary name in the same folder, then renames: readers never see half a file.
///
/// Temporaries are named `.treeattn-tmp-PID-N-NAME` (PID of the writing process, N a counter), so they are
/// recognisable; a process killed mid-write (SIGKILL) leaves its temporaries behind, and the next write into that
/// folder removes the ones whose process is gone (`removeStaleTemporaries`).
public enum AtomicFile {
    /// The prefix of every temporary file or folder the package writes.
    public static let temporaryPrefix = ".treeattn-tmp-"

    private static let counterLock = NSLock()
    nonisolated(unsafe) private static var counter = 0

    /// A fresh temporary path next to `path`: `.treeattn-tmp-PID-N-NAME` in the same folder.
    public static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        counterLock.lock()
        counter += 1
        let n = counter
        counterLock.unlock()
        let name = String(url.lastPathComponent.prefix(100))
        return url.deletingLastPathComponent().path + "/" + temporaryPrefix + "\(getpid())-\(n)-" + name
    }

    /// Removes the temporaries (files or folders) left in `folder` by processes that no longer run: a name
    /// `.treeattn-tmp-PID-...` whose PID `kill(pid, 0)` reports as gone. Temporaries of live processes, of this
    /// process, and every other file stay. Errors are ignored (a folder that cannot be listed has nothing to clean).
    public static func removeStaleTemporaries(in folder: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.isEmpty ? "." : folder) else {
            return
        }
        for name in names where name.hasPrefix(temporaryPrefix) {
            guard let pid = Int32(name.dropFirst(temporaryPrefix.count).prefix(while: \.isNumber)), pid > 0,
                pid != getpid()
            else { continue }
            if kill(pid, 0) == -1 && errno == ESRCH {
                try? FileManager.default.removeItem(atPath: (folder.isEmpty ? "." : folder) + "/" + name)
            }
        }
    }

    /// Writes `bytes` to a new file at `path` (which must not exist), reporting the system's reason on failure.
    static func create(_ bytes: [UInt8], at path: String, finalPath: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw CoreError.file(path: finalPath, problem: "cannot write (\(String(cString: strerror(errno))))")
        }
        var offset = 0
        let failure: Int32? = bytes.withUnsafeBytes { buffer in
            while offset < buffer.count {
                let n = systemWrite(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += n
            }
            return nil
        }
        close(fd)
        if let failure {
            unlink(path)
            throw CoreError.file(path: finalPath, problem: "cannot write (\(String(cString: strerror(failure))))")
        }
    }

    /// Writes `bytes` to `path` atomically: into a temporary next to it, then renamed into place, replacing any file
    /// there. Throws `CoreError.file` when the folder does not exist or the write or rename fails.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw CoreError.file(path: path, problem: "folder \(dir) does not exist")
        }
        removeStaleTemporaries(in: dir)
        let tmp = temporaryPath(for: path)
        try create(bytes, at: tmp, finalPath: path)
        guard rename(tmp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw CoreError.file(path: path, problem: "cannot rename the temporary file into place (\(reason))")
        }
    }

    /// Writes `text` as UTF-8 to `path` atomically, like `write(_:to:)` for bytes.
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

/// POSIX write(2), named apart from `AtomicFile.write`.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
