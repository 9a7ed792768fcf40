import Foundation

/// The one way reports become JSON: `JSONEncoder` with sorted keys, pretty-printed, as UTF-8 text. Every report type
/// (simulator reports, run reports, benchmark results, walkthroughs) is `Encodable` with its keys spelled out in
/// `CodingKeys`, and its schema version stands beside it.
public enum JSONText {
    /// `value` as pretty-printed JSON with sorted keys (no trailing newline).
    public static func pretty<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// A number that may be absent or not finite, encoded as JSON `null` then (JSON has no NaN or infinity), so a key
/// is always present and its value always parses.
public struct JSONNumber: Encodable, Equatable, Sendable {
    /// The number, if any.
    public var value: Double?

    /// Wraps `value`.
    public init(_ value: Double?) { self.value = value }

    /// Encodes the number, or `null` when it is absent, NaN or infinite.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        if let value, value.isFinite { try c.encode(value) } else { try c.encodeNil() }
    }
}
