import ArgumentParser
import Foundation
import Reference
import Simulator

// Helpers shared by the commands: the CLI's own error, list and byte-count parsing, output folders, tables and JSON.

/// A one-line CLI error; `TreeAttn.main` prints it as `Error: ...` and exits 2.
public struct CLIError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}

/// Splits "a,b,c" and parses each item; an empty list or a bad item is a one-line error.
public func parseList<T>(_ text: String, _ option: String, _ parse: (String) throws -> T) throws -> [T] {
    let items = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    guard !items.isEmpty, !items.contains(where: \.isEmpty) else {
        throw SimulatorError.invalidArgument("\(option) must be a comma-separated list without empty items, got '\(text)'")
    }
    return try items.map { item in
        do { return try parse(item) } catch SimulatorError.invalidArgument(let message) {
            throw SimulatorError.invalidArgument("\(option): \(message)")
        }
    }
}

/// Parses a comma-separated list of finite numbers.
public func parseNumbers(_ text: String, _ option: String) throws -> [Double] {
    try parseList(text, option) { item in
        guard let x = Double(item), x.isFinite else { throw CLIError("\(option) needs comma-separated finite numbers, got '\(text)'") }
        return x
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
          (v * scale).rounded() == v * scale || abs((v * scale).rounded() - v * scale) < 1e-6 else {
        throw SimulatorError.invalidArgument("'\(text)' is not a positive integer count (e.g. 80000, 80k, 1.28M)")
    }
    return Int((v * scale).rounded())
}

/// Parses a byte count: a plain number ("1048576", "1e9") or one with a unit (B, kB, MB, GB, KiB, MiB, GiB).
public func parseBytes(_ text: String) throws -> Double {
    guard let bytes = MemoryBudget.bytes(in: text) else {
        throw SimulatorError.invalidArgument("cannot read '\(text)' as a byte count (e.g. 1048576, 1e9, 64MB, 1MiB)")
    }
    return bytes
}

/// Creates a folder (and its parents) if missing; an existing file there is a one-line error.
public func createFolder(_ path: String) throws {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
        guard isDirectory.boolValue else { throw SimulatorError.file(path: path, problem: "exists and is not a directory") }
        return
    }
    do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
        throw SimulatorError.file(path: path, problem: "cannot create directory")
    }
}

/// Pretty JSON with sorted keys, newline-terminated.
public func jsonString(_ object: Any) throws -> String {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    return String(decoding: data, as: UTF8.self)
}

/// JSON-safe number (NaN/inf become null).
public func jsonNumber(_ x: Double?) -> Any {
    guard let x, x.isFinite else { return NSNull() }
    return x
}

/// Left-aligned text table.
public func renderTable(_ header: [String], _ rows: [[String]]) -> String {
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
            .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }
    return ([line(header), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line)).joined(separator: "\n")
}

/// A short, one-line reason for a parse or decoding error (never an NSError dump).
public func shortReason(_ error: Error) -> String {
    switch error {
    case DecodingError.keyNotFound(let key, let context):
        return "missing key '\(key.stringValue)'" + codingPath(context)
    case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
         DecodingError.dataCorrupted(let context):
        return context.debugDescription + codingPath(context)
    default:
        let ns = error as NSError
        if ns.domain == NSCocoaErrorDomain {
            return ns.userInfo["NSDebugDescription"] as? String ?? ErrorReport.foundationMessage(ns)
        }
        return String(describing: error).split(separator: "\n").first.map(String.init) ?? ""
    }
}

/// " at cases[2].seq_q" for a decoding error's location.
private func codingPath(_ context: DecodingError.Context) -> String {
    guard !context.codingPath.isEmpty else { return "" }
    return " at " + context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        .trimmingCharacters(in: CharacterSet(charactersIn: "."))
}

/// Writes a line to stderr (warnings; errors go through `TreeAttn.main`).
public func printWarning(_ text: String) {
    FileHandle.standardError.write(Data("warning: \(text)\n".utf8))
}
