import Foundation
import Yams

/// Loads the text of a YAML or JSON description into plain values (dictionaries, arrays, strings, numbers): the one
/// loader of cluster, model and golden-suite files. Callers turn a thrown error into their own one-line message,
/// except `CoreError`s (size limits), which they pass on as they are.
///
/// Hostile input is bounded before anything is built: the text is at most `maxTextBytes`, and a YAML document is
/// first composed (anchors and aliases share one node, so this is linear in the text) and its nodes counted with
/// aliases expanded, stopping at `maxNodes`: an alias bomb (a few KB that expand to billions of nodes) is refused with
/// one line instead of taking gigabytes.
public enum StructuredText {
    /// The longest text accepted (64 MiB).
    public static let maxTextBytes = 64 << 20
    /// The most nodes a YAML document may expand to, aliases included.
    public static let maxNodes = 1_000_000

    /// Parses `text` as JSON (`json` true) or YAML into plain values; nil for an empty YAML document. Throws
    /// `CoreError.tooLarge` past `maxTextBytes` or `maxNodes`, and the parser's own error for malformed text.
    public static func load(_ text: String, json: Bool) throws -> Any? {
        guard text.utf8.count <= maxTextBytes else {
            throw CoreError.tooLarge(
                "the \(json ? "JSON" : "YAML") text is \(text.utf8.count) bytes, more than the \(maxTextBytes)-byte limit"
            )
        }
        if json { return try JSONSerialization.jsonObject(with: Data(text.utf8)) }
        guard let node = try Yams.compose(yaml: text) else { return nil }
        var budget = maxNodes
        guard fits(node, budget: &budget) else {
            throw CoreError.tooLarge(
                "the YAML document expands to more than \(maxNodes) nodes (aliases of aliases?); refused")
        }
        return node.any
    }

    /// Counts the nodes of the tree (aliases expanded) against `budget`; false as soon as it runs out.
    private static func fits(_ node: Node, budget: inout Int) -> Bool {
        budget -= 1
        if budget < 0 { return false }
        switch node {
        case .scalar, .alias: return true
        case .mapping(let mapping):
            for (key, value) in mapping where !(fits(key, budget: &budget) && fits(value, budget: &budget)) {
                return false
            }
            return true
        case .sequence(let sequence):
            for item in sequence where !fits(item, budget: &budget) { return false }
            return true
        }
    }

    /// A short, one-line reason for a parse or decoding error of such a text (JSON, YAML, `Decodable`): the decoding
    /// error's context and location, a JSON parser's own description, else the first line of the error's text.
    public static func reason(_ error: Error) -> String {
        func path(_ context: DecodingError.Context) -> String {
            guard !context.codingPath.isEmpty else { return "" }
            return " at "
                + context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
                .trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing key '\(key.stringValue)'" + path(context)
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
            DecodingError.dataCorrupted(let context):
            return context.debugDescription + path(context)
        default:
            let ns = error as NSError
            if ns.domain == NSCocoaErrorDomain, let text = ns.userInfo["NSDebugDescription"] as? String { return text }
            return String(describing: error).split(separator: "\n").first.map(String.init) ?? ""
        }
    }
}
