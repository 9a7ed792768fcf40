import Foundation
import Yams

/// Loads the text of a YAML or JSON description (cluster files, model files) into plain values
/// (dictionaries, arrays, strings, numbers): the one loader of cluster, model and golden-suite files. Callers turn a
/// thrown error into their own one-line message.
public enum StructuredText {
    public static func load(_ text: String, json: Bool) throws -> Any? {
        json ? try JSONSerialization.jsonObject(with: Data(text.utf8)) : try Yams.load(yaml: text)
    }
}
