/// Strict reader of one mapping from a cluster file: typed getters, and `finish()` rejects any key not read.
struct ConfigFields {
    let context: String
    private let values: [String: Any]
    private var used: Set<String> = []

    init(_ value: Any?, context: String) throws {
        guard let dict = value as? [String: Any] else { throw SimulatorError.cluster("\(context): expected a mapping") }
        self.values = dict
        self.context = context
    }

    func has(_ key: String) -> Bool { values[key] != nil }

    mutating func raw(_ key: String) -> Any? {
        used.insert(key)
        return values[key]
    }

    mutating func string(_ key: String) throws -> String? {
        guard let v = raw(key) else { return nil }
        if let s = v as? String { return s }
        if let i = v as? Int { return String(i) }
        throw SimulatorError.cluster("\(context): '\(key)' must be a string")
    }

    mutating func requiredString(_ key: String) throws -> String {
        guard let s = try string(key) else { throw SimulatorError.cluster("\(context): missing '\(key)'") }
        return s
    }

    mutating func int(_ key: String) throws -> Int? {
        guard let v = raw(key) else { return nil }
        if let i = v as? Int { return i }
        if let d = v as? Double, d.rounded() == d, abs(d) < 1e15 { return Int(d) }
        throw SimulatorError.cluster("\(context): '\(key)' must be an integer")
    }

    mutating func double(_ key: String) throws -> Double? {
        guard let v = raw(key) else { return nil }
        if let d = v as? Double { return d }
        if let i = v as? Int { return Double(i) }
        throw SimulatorError.cluster("\(context): '\(key)' must be a number")
    }

    mutating func positive(_ key: String) throws -> Double? {
        guard let d = try double(key) else { return nil }
        guard d.isFinite, d > 0 else { throw SimulatorError.cluster("\(context): '\(key)' must be > 0, got \(d)") }
        return d
    }

    mutating func nonNegative(_ key: String) throws -> Double? {
        guard let d = try double(key) else { return nil }
        guard d.isFinite, d >= 0 else { throw SimulatorError.cluster("\(context): '\(key)' must be >= 0, got \(d)") }
        return d
    }

    mutating func bool(_ key: String) throws -> Bool? {
        guard let v = raw(key) else { return nil }
        if let b = v as? Bool { return b }
        throw SimulatorError.cluster("\(context): '\(key)' must be true or false")
    }

    mutating func list(_ key: String) throws -> [Any]? {
        guard let v = raw(key) else { return nil }
        if let l = v as? [Any] { return l }
        throw SimulatorError.cluster("\(context): '\(key)' must be a list")
    }

    mutating func stringList(_ key: String) throws -> [String] {
        guard let l = try list(key) else { return [] }
        return try l.enumerated().map { i, v in
            guard let s = v as? String else {
                throw SimulatorError.cluster("\(context): \(key)[\(i)] must be a string")
            }
            return s
        }
    }

    /// Exactly one of the given keys, or none.
    func oneOf(_ keys: [String]) throws -> String? {
        let present = keys.filter { values[$0] != nil }
        if present.count > 1 {
            throw SimulatorError.cluster("\(context): give only one of \(present.joined(separator: ", "))")
        }
        return present.first
    }

    /// Rejects unknown keys up front (before any missing-key error), naming the allowed ones.
    func onlyKeys(_ allowed: [String]) throws {
        if let bad = values.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw SimulatorError.cluster(
                "\(context): unknown key '\(bad)' (allowed: \(allowed.joined(separator: ", ")))")
        }
    }

    func finish() throws {
        let unknown = values.keys.filter { !used.contains($0) }.sorted()
        if let first = unknown.first {
            throw SimulatorError.cluster("\(context): unknown key '\(first)'")
        }
    }
}
