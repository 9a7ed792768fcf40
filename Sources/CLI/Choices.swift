import ArgumentParser
import CLICommon
import Foundation
import Reference
import Simulator

// The values of choice options. ArgumentParser parses them, lists them in --help, and reports a bad value as one
// line naming the allowed values ("The value 'x' is invalid for '--opt <opt>'. Please provide one of ...").

/// Output formats of the simulate commands: each report renders itself in all three.
enum SimulateFormat: String, CaseIterable, ExpressibleByArgument {
    case table, json, csv
}

/// `golden --suite`: a built-in suite (names from `GoldenSuite`) or a YAML/JSON suite file.
enum SuiteChoice: ExpressibleByArgument {
    case builtIn(GoldenSuite)
    case file(String)

    /// The built-in names and what else is allowed, for help and errors.
    static let usage = GoldenSuite.allCases.map(\.rawValue).joined(separator: ", ") + ", or a .yaml/.json file"

    init?(argument: String) {
        self = GoldenSuite(rawValue: argument).map { .builtIn($0) } ?? .file(argument)
    }

    var defaultValueDescription: String { name }

    /// The name recorded in manifest.json: the suite's name, or the file's name.
    var name: String {
        switch self {
        case .builtIn(let suite): return suite.rawValue
        case .file(let path): return (path as NSString).lastPathComponent
        }
    }

    /// Refuses a file name that is neither YAML nor JSON (most likely a mistyped suite name).
    func validate() throws {
        guard case .file(let path) = self else { return }
        guard ["yaml", "yml", "json"].contains((path as NSString).pathExtension.lowercased()) else {
            throw CLIError("unknown suite '\(path)' (\(SuiteChoice.usage))")
        }
    }
}

extension ChannelPacing: ExpressibleByArgument {}

extension CollectiveOperation: ExpressibleByArgument {
    /// Parses an operation name (`allreduce`, also `all-reduce` or `all_reduce`).
    public init?(argument: String) {
        guard let value = try? CollectiveOperation.parse(argument) else { return nil }
        self = value
    }
}

extension DecodeStep: ExpressibleByArgument {}

extension GoldenChecker.Layout: ExpressibleByArgument {
    public static var allValueStrings: [String] { [Self.auto, .bhsd, .bshd].map(\.rawValue) }
}

extension GoldenChecker.LSEBase: ExpressibleByArgument {
    public static var allValueStrings: [String] { [Self.auto, .e, .two].map(\.rawValue) }
}
