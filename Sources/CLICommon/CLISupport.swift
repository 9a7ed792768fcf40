import ArgumentParser
import Foundation
import Reference

// Helpers shared by the commands: the CLI's own error, list and byte-count parsing, output folders, tables and JSON.

/// A one-line CLI error; `TreeAttn.main` prints it as `Error: ...` and exits 2.
public struct CLIError: OneLineError {
    /// The message, one line, printed after `Error: `.
    public let description: String
    /// An error carrying `message` as its description.
    public init(_ message: String) { description = message }
}

/// How every library's invalid-argument message begins (`CoreError`, `SimulatorError`, `StudyError`).
private let invalidArgument = "invalid argument: "

/// Splits "a,b,c" and parses each item; an empty list or a bad item is a one-line error.
public func parseList<T>(_ text: String, _ option: String, _ parse: (String) throws -> T) throws -> [T] {
    let items = text.split(separator: ",", omittingEmptySubsequences: false).map {
        $0.trimmingCharacters(in: .whitespaces)
    }
    guard !items.isEmpty, !items.contains(where: \.isEmpty) else {
        throw CoreError.invalidArgument("\(option) must be a comma-separated list without empty items, got '\(text)'")
    }
    return try items.map { item in
        do { return try parse(item) } catch let error as OneLineError where error.description.hasPrefix(invalidArgument)
        {
            // Any library's "invalid argument" (the simulator's, a study's, the core's) names the option it came from.
            throw CoreError.invalidArgument("\(option): \(error.description.dropFirst(invalidArgument.count))")
        }
    }
}

/// Parses a comma-separated list of finite numbers.
public func parseNumbers(_ text: String, _ option: String) throws -> [Double] {
    try parseList(text, option) { item in
        guard let x = Double(item), x.isFinite else {
            throw CLIError("\(option) needs comma-separated finite numbers, got '\(text)'")
        }
        return x
    }
}

/// Parses a comma-separated list of decimal integers (cache lengths, cumulative sequence lengths): exact, in Int's
/// range, no fractions, exponents or hexadecimal (`8.0`, `1e3` and `0x0` are refused).
public func parseIntegers(_ text: String, _ option: String) throws -> [Int] {
    guard !text.isEmpty else { throw CLIError("\(option) needs comma-separated integers, got ''") }
    return try text.split(separator: ",", omittingEmptySubsequences: false).map { item -> Int in
        let trimmed = item.trimmingCharacters(in: .whitespaces)
        guard let n = Int(trimmed) else {
            throw CLIError("\(option) needs comma-separated decimal integers, got \(TextEscaping.quoted(trimmed))")
        }
        return n
    }
}

/// A positive count: "80000", "80k", "1.28M", "5.12M" (k = 1e3, M = 1e6, exact integers only).
public func parseCount(_ text: String) throws -> Int {
    var number = text, scale = 1.0
    if let last = text.last, let factor = ["k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9][String(last)] {
        number = String(text.dropLast())
        scale = factor
    }
    guard let v = Double(number), v.isFinite, v * scale >= 1, v * scale < 1e15,
        (v * scale).rounded() == v * scale || abs((v * scale).rounded() - v * scale) < 1e-6
    else {
        throw CoreError.invalidArgument("'\(text)' is not a positive integer count (e.g. 80000, 80k, 1.28M)")
    }
    return Int((v * scale).rounded())
}

/// Parses a byte count: a plain number ("1048576", "1e9") or one with a unit (B, kB, MB, GB, KiB, MiB, GiB).
public func parseBytes(_ text: String) throws -> Double {
    guard let bytes = MemoryBudget.bytes(in: text) else {
        throw CoreError.invalidArgument("cannot read '\(text)' as a byte count (e.g. 1048576, 1e9, 64MB, 1MiB)")
    }
    return bytes
}

/// Creates a folder (and its parents) if missing; an existing file there is a one-line error.
public func createFolder(_ path: String) throws {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
        guard isDirectory.boolValue else { throw CoreError.file(path: path, problem: "exists and is not a directory") }
        return
    }
    do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
        throw CoreError.file(path: path, problem: "cannot create directory")
    }
}

/// Writes a line to stderr (warnings; errors go through `TreeAttn.main`).
public func printWarning(_ text: String) {
    FileHandle.standardError.write(Data("warning: \(text)\n".utf8))
}
