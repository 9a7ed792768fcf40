import ArgumentParser
import Foundation
import Reference

/// The one error path of the command-line tools (`treeattn`, `treeattn-mpi`): every error, from the argument parser,
/// a library or a command, becomes one stderr line `Error: ...` and exit 2.
public enum ErrorReport {
    /// When set (MPI ranks other than 0), errors are not printed; the exit status is the same.
    nonisolated(unsafe) public static var silent = false

    /// Parses `T`'s arguments, applies `--max-memory` (`MemoryBoundedCommand`), runs the command, and reports any
    /// error as one line. Help and other clean exits print as usual; an `ExitCode` thrown by a command is its status.
    public static func run<T: ParsableCommand>(_ root: T.Type) -> Never {
        do {
            var command = try T.parseAsRoot()
            if let bounded = command as? MemoryBoundedCommand { try bounded.applyMemoryBudget() }
            try command.run()
            Foundation.exit(0)
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            if T.exitCode(for: error) == .success { T.exit(withError: error) }
            if !silent { FileHandle.standardError.write(Data("Error: \(errorLine(error, T.self))\n".utf8)) }
            Foundation.exit(2)
        }
    }

    /// The message of any error, as one line.
    public static func errorLine<T: ParsableCommand>(_ error: Error, _: T.Type) -> String {
        let text: String
        switch error {
        case let e as OneLineError: text = escaped(e.description)
        default:
            let ns = error as NSError
            if [NSCocoaErrorDomain, NSPOSIXErrorDomain].contains(ns.domain) {
                text = escaped(foundationMessage(ns))
            } else {
                text = T.message(for: error)  // the argument parser's messages: several lines, joined by oneLine
            }
        }
        return oneLine(text.hasPrefix("Error: ") ? String(text.dropFirst(7)) : text)
    }

    /// A one-line message with its control characters escaped (TreeCore's shared escaping), so a newline inside an
    /// echoed name stays visible.
    public static func escaped(_ text: String) -> String { TextEscaping.controlCharacters(text) }

    /// A short reason for a Foundation file error, with the path when known: never the NSError dump.
    public static func foundationMessage(_ error: NSError) -> String {
        let path = error.userInfo[NSFilePathErrorKey] as? String ?? (error.userInfo[NSURLErrorKey] as? URL)?.path
        let reason: String
        if error.domain == NSPOSIXErrorDomain {
            reason = String(cString: strerror(Int32(error.code)))
        } else {
            switch CocoaError.Code(rawValue: error.code) {
            case .fileNoSuchFile, .fileReadNoSuchFile: reason = "no such file or directory"
            case .fileWriteFileExists: reason = "a file already exists there"
            case .fileReadNoPermission, .fileWriteNoPermission: reason = "permission denied"
            case .fileWriteOutOfSpace: reason = "no space left on device"
            case .fileWriteVolumeReadOnly: reason = "read-only file system"
            case .fileReadInvalidFileName, .fileWriteInvalidFileName: reason = "invalid file name"
            case .fileReadTooLarge: reason = "file too large"
            case .fileReadCorruptFile: reason = "cannot read the file (corrupt or unexpected format)"
            case .fileReadUnknownStringEncoding, .fileReadInapplicableStringEncoding: reason = "not valid text"
            case .propertyListReadCorrupt: reason = "not valid JSON"
            default: reason = "file operation failed (Cocoa error \(error.code))"
            }
        }
        return path.map { "\($0): \(reason)" } ?? reason
    }

    /// Joins lines with spaces (a bullet list becomes "a, b, c") and replaces control characters with spaces (the
    /// messages of the libraries and commands are escaped first, so only the argument parser's line breaks are joined).
    public static func oneLine(_ text: String) -> String {
        var result = "", inList = false
        for line in text.split(whereSeparator: \.isNewline) {
            var item = line.trimmingCharacters(in: .whitespaces)
            guard !item.isEmpty else { continue }
            let bullet = item.hasPrefix("- ")
            if bullet { item = String(item.dropFirst(2)) }
            result += result.isEmpty ? item : (bullet && inList ? ", " : " ") + item
            inList = bullet
        }
        return String(
            String.UnicodeScalarView(
                result.unicodeScalars.map {
                    $0.properties.generalCategory == .control ? " " : $0
                }))
    }
}
