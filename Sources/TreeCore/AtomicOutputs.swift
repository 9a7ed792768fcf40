import Foundation

/// Output files that belong together, written all or nothing.
///
/// `init` checks every destination before any work: not empty, distinct after resolving `.`, `..` and symlinks, not
/// one of the command's `inputs`, not an existing folder, device node, FIFO or socket (`AtomicFile.checkDestination`),
/// in a folder that exists (or is created with `createFolders`) and is writable, proved by creating the temporary file
/// there (`.treeattn-tmp-PID-N-NAME`, see `AtomicFile`). `write` fills the temporaries; `commit` renames them into
/// place only once all are written. `discard` (also called on deinit) removes every temporary and every folder `init`
/// created, so a failure before `commit` leaves no final file. With `standardOutput`, `-` and `/dev/stdout` mean
/// standard output: written directly at `commit`, never renamed over.
public final class AtomicOutputs {
    private var temporaries: [(temporary: String, final: String, resolved: String)] = []
    private var createdFolders: [String] = []
    private let createFolders: Bool
    private let standardOutput: Bool
    private var stdoutBytes: [UInt8]? = nil
    private var finished = false

    /// Checks and reserves `files` (more may be added by `write`); `createFolders` creates missing folders; `inputs`
    /// are the command's input files, which no output may be; `standardOutput` lets `-` and `/dev/stdout` name
    /// standard output.
    public init(
        _ files: [String], createFolders: Bool = false, inputs: [String] = [], standardOutput: Bool = false
    ) throws {
        self.createFolders = createFolders
        self.standardOutput = standardOutput
        do {
            try AtomicFile.checkNotInputs(files, inputs: inputs)
            for f in files { try reserve(f) }
        } catch {
            discard()
            throw error
        }
    }

    deinit { discard() }

    /// `path` with `.`, `..` and symlinks resolved (the folder must exist; the file need not).
    public static func resolvedPath(_ path: String) -> String {
        if let r = realpath(path, nil) {
            defer { free(r) }
            return String(cString: r)
        }
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        guard let r = realpath(folder, nil) else { return url.standardizedFileURL.path }
        defer { free(r) }
        return String(cString: r) + "/" + url.lastPathComponent
    }

    /// The files `paths` name, a folder standing for the regular files directly in it (the inputs of a command that
    /// reads folders, such as a golden suite and its results).
    public static func filesIn(_ paths: [String]) -> [String] {
        paths.flatMap { path -> [String] in
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
                return [path]
            }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            return names.sorted().map { (path as NSString).appendingPathComponent($0) }
        }
    }

    /// The folder holding `path`: "." for a bare name, "/" at the root (trailing slashes ignored).
    public static func parent(_ path: String) -> String {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        guard let i = p.lastIndex(of: "/") else { return "." }
        return i == p.startIndex ? "/" : String(p[..<i])
    }

    private func reserve(_ path: String) throws {
        if standardOutput && AtomicFile.isStandardOutput(path) {
            stdoutBytes = stdoutBytes ?? []
            return
        }
        try AtomicFile.checkDestination(path)
        let folder = Self.parent(path)
        try makeFolder(folder, for: path)
        let resolved = Self.resolvedPath(path)
        if let other = temporaries.first(where: { $0.resolved == resolved }) {
            throw CoreError.invalidOption(
                "\(other.final) and \(path) are the same file: outputs must go to different files")
        }
        AtomicFile.removeStaleTemporaries(in: folder)
        let tmp = AtomicFile.temporaryPath(for: path)
        try AtomicFile.create([], at: tmp, finalPath: path)
        temporaries.append((tmp, path, resolved))
    }

    private func makeFolder(_ folder: String, for path: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder, isDirectory: &isDir) {
            guard isDir.boolValue else { throw CoreError.file(path: folder, problem: "exists and is not a directory") }
            return
        }
        guard createFolders else { throw CoreError.file(path: path, problem: "output folder does not exist") }
        let parent = Self.parent(folder)
        if parent != folder { try makeFolder(parent, for: path) }
        guard mkdir(folder, 0o777) == 0 || errno == EEXIST else {
            throw CoreError.file(path: folder, problem: "cannot create directory (\(String(cString: strerror(errno))))")
        }
        createdFolders.append(folder)
    }

    /// Writes the contents of `path` (reserved by `init`, or reserved now) to its temporary.
    public func write(_ bytes: [UInt8], to path: String) throws {
        try stream(to: path) { try $0.append(bytes) }
    }

    /// Streams the contents of `path` (reserved by `init`, or reserved now) into its temporary: `write` appends blocks
    /// to the sink it is given (a header, then the buffers a tensor already holds), so an output is written without
    /// being assembled whole in memory. Like `write`, a failure discards every output.
    public func stream(to path: String, _ write: (ByteSink) throws -> Void) throws {
        do {
            if standardOutput && AtomicFile.isStandardOutput(path) {
                stdoutBytes = try ByteSink.collect(write)
                return
            }
            if !temporaries.contains(where: { $0.final == path }) { try reserve(path) }
            let tmp = temporaries.first(where: { $0.final == path })!.temporary
            // The reserved temporary replaced by a new file (O_EXCL): nothing put at its name meanwhile is written.
            unlink(tmp)
            try AtomicFile.create(at: tmp, finalPath: path, write)
        } catch {
            discard()
            throw error
        }
    }

    /// Writes `text` as UTF-8 to the temporary of `path`, like `write(_:to:)` for bytes.
    public func write(_ text: String, to path: String) throws { try write(Array(text.utf8), to: path) }

    /// Renames every temporary into place (one after another, once all are written).
    public func commit() throws {
        for (i, t) in temporaries.enumerated() where rename(t.temporary, t.final) != 0 {
            let reason = String(cString: strerror(errno))
            temporaries.removeFirst(i)
            discard()
            throw CoreError.file(path: t.final, problem: "cannot rename the temporary file into place (\(reason))")
        }
        temporaries = []
        finished = true
        if let stdoutBytes {
            FileHandle.standardOutput.write(
                Data(stdoutBytes + (stdoutBytes.last == 10 || stdoutBytes.isEmpty ? [] : [10])))
        }
    }

    /// Removes the temporaries and the folders `init` created (nothing after `commit`).
    public func discard() {
        guard !finished else { return }
        finished = true
        for t in temporaries { unlink(t.temporary) }
        for folder in createdFolders.reversed() { rmdir(folder) }
    }
}

/// An output folder written all or nothing: files go into a temporary folder next to it
/// (`.treeattn-tmp-PID-N-NAME`), and `commit` renames that folder onto the final path in one step. The final path
/// must not exist or be an empty folder: an existing non-empty folder is refused before any work. `discard` (also on
/// deinit) removes the temporary folder; a killed process's temporary folder is removed by the next write next to it.
public final class AtomicFolder {
    /// The folder to write into until `commit`.
    public let temporary: String
    /// The final path.
    public let path: String
    private var finished = false

    /// Checks `path` (absent or an empty folder), creates its parent folders if missing, and the temporary folder.
    public init(_ path: String) throws {
        var path = path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        self.path = path
        guard !path.isEmpty else { throw CoreError.invalidOption("an output folder path is empty") }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else {
                throw CoreError.file(
                    path: path, problem: "exists and is not a folder (an output folder must be new or empty)")
            }
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            guard entries.isEmpty else {
                throw CoreError.file(
                    path: path, problem: "folder exists and is not empty (remove it, or choose a new folder)")
            }
        }
        let folder = AtomicOutputs.parent(path)
        if !FileManager.default.fileExists(atPath: folder, isDirectory: &isDir) {
            do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
                throw CoreError.file(path: folder, problem: "cannot create directory")
            }
        } else if !isDir.boolValue {
            throw CoreError.file(path: folder, problem: "exists and is not a directory")
        }
        AtomicFile.removeStaleTemporaries(in: folder)
        temporary = AtomicFile.temporaryPath(for: path)
        guard mkdir(temporary, 0o777) == 0 else {
            throw CoreError.file(
                path: path, problem: "cannot create a folder next to it (\(String(cString: strerror(errno))))")
        }
    }

    deinit { discard() }

    /// Renames the temporary folder onto `path` (replacing an empty folder there).
    public func commit() throws {
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            discard()
            throw CoreError.file(path: path, problem: "cannot rename the finished folder into place (\(reason))")
        }
        finished = true
    }

    /// Removes the temporary folder and everything in it (nothing after `commit`).
    public func discard() {
        guard !finished else { return }
        finished = true
        try? FileManager.default.removeItem(atPath: temporary)
    }
}
