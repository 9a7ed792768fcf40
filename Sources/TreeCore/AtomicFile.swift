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
        try create(at: path, finalPath: finalPath) { try $0.append(bytes) }
    }

    /// Creates the new file `path` (which must not exist) and hands `write` a sink into it; on failure the file is
    /// removed and the error names `finalPath`.
    static func create(at path: String, finalPath: String, _ write: (ByteSink) throws -> Void) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw CoreError.file(path: finalPath, problem: "cannot write (\(String(cString: strerror(errno))))")
        }
        do {
            try write(ByteSink.file(fd, path: finalPath))
            close(fd)
        } catch {
            close(fd)
            unlink(path)
            throw error
        }
    }

    /// Whether `path` names standard output as the command line spells it: `-` or `/dev/stdout` (written directly,
    /// never renamed over; only where a command documents it, for JSON and traces).
    public static func isStandardOutput(_ path: String) -> Bool { path == "-" || path == "/dev/stdout" }

    /// Refuses an output path before any work: an empty one, a symbolic link (the rename of a finished temporary would
    /// replace the link, not its target: `/dev/stdout` is one), and one that exists and is not a regular file (a
    /// device node, FIFO, socket or folder), which that rename would replace.
    public static func checkDestination(_ path: String) throws {
        guard !path.isEmpty else { throw CoreError.invalidOption("an output path is empty") }
        var info = stat()
        if lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK {
            throw CoreError.file(
                path: path,
                problem:
                    "is a symbolic link, expected a regular file (the output would replace the link): give the path it points to"
            )
        }
        guard stat(path, &info) == 0 else { return }  // absent (or unreachable: the write reports that)
        let kind: String
        switch info.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFDIR: kind = "a folder"
        case S_IFCHR: kind = "a character device"
        case S_IFBLK: kind = "a block device"
        case S_IFIFO: kind = "a FIFO"
        case S_IFSOCK: kind = "a socket"
        default: kind = "not a regular file"
        }
        throw CoreError.file(
            path: path,
            problem: "is \(kind), expected a regular file (outputs are written next to it and renamed over it)")
    }

    /// Refuses outputs that are one of the command's inputs (the same file after resolving `.`, `..` and symlinks,
    /// or the same inode through a hard link), before any work.
    public static func checkNotInputs(_ outputs: [String], inputs: [String]) throws {
        func identity(_ path: String) -> (device: UInt64, inode: UInt64)? {
            var info = stat()
            return stat(path, &info) == 0 ? (UInt64(info.st_dev), UInt64(info.st_ino)) : nil
        }
        let inputIDs = inputs.map { (path: $0, resolved: AtomicOutputs.resolvedPath($0), id: identity($0)) }
        for output in outputs where !isStandardOutput(output) {
            let resolved = AtomicOutputs.resolvedPath(output), id = identity(output)
            if let input = inputIDs.first(where: {
                $0.resolved == resolved || ($0.id != nil && id != nil && $0.id! == id!)
            }) {
                throw CoreError.invalidOption(
                    "output \(output) is also an input of this command (\(input.path)): write the output elsewhere")
            }
        }
    }

    /// Writes all of `buffer` to `fd` (retrying short and interrupted writes); the errno of a failure, nil on success.
    static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Int32? {
        var offset = 0
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

    /// Writes `bytes` to `path` atomically: into a temporary next to it, then renamed into place, replacing any file
    /// there. Throws `CoreError.file` when the folder does not exist, `path` exists and is not a regular file
    /// (`checkDestination`), or the write or rename fails.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try stream(to: path) { try $0.append(bytes) }
    }

    /// Writes the blocks `write` appends to `path` atomically, like `write(_:to:)`: a large file is written from the
    /// buffers its writer holds, never assembled whole in memory. A failure removes the temporary.
    public static func stream(to path: String, _ write: (ByteSink) throws -> Void) throws {
        try checkDestination(path)
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw CoreError.file(path: path, problem: "folder \(dir) does not exist")
        }
        removeStaleTemporaries(in: dir)
        let tmp = temporaryPath(for: path)
        try create(at: tmp, finalPath: path, write)
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
