import Foundation
import Reference

extension Walkthrough {
    /// Values a learner typed instead of the seeded ones (`explain --values FILE`, the page's "typed values"): the
    /// query and each key's and value's row, as JSON {"q": [d numbers], "k": [n rows], "v": [n rows]}.
    public struct Values: Codable, Sendable, Equatable {
        /// The query q (d numbers).
        public var q: [Double]
        /// The keys, one row of d numbers each.
        public var k: [[Double]]
        /// The values, one row of d numbers each.
        public var v: [[Double]]

        /// The largest magnitude accepted (1000): a tiny example to read, and sums whose rounding stays far below the
        /// page's 1e-12 agreement with the reference unless large terms cancel.
        public static let maxMagnitude = 1e3
        /// The largest file `load(path:)` reads (64 keys x 16 dims of long numbers fit easily).
        public static let maxFileBytes = 1 << 20

        /// The given rows.
        public init(q: [Double], k: [[Double]], v: [[Double]]) { (self.q, self.k, self.v) = (q, k, v) }

        /// Reads a JSON file of values; refuses a missing, oversized or malformed file with one line.
        public static func load(path: String) throws -> Values {
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
            guard let size else { throw ReferenceError.invalidOption("--values: cannot read '\(path)'") }
            guard size <= maxFileBytes else {
                throw ReferenceError.invalidOption(
                    "--values: '\(path)' is \(size) bytes, more than the \(maxFileBytes)-byte limit of a tiny example")
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ReferenceError.invalidOption("--values: cannot read '\(path)'")
            }
            do {
                return try JSONDecoder().decode(Values.self, from: data)
            } catch {
                throw ReferenceError.invalidOption(
                    "--values: '\(path)' is not {\"q\": [numbers], \"k\": [rows], \"v\": [rows]} (\(error.localizedDescription))"
                )
            }
        }

        /// Checks the shape (n keys of head dim d: 1...64 keys, 1...16 dims) and that every number is finite and at
        /// most `maxMagnitude` in size.
        public func validate() throws {
            let d = q.count, n = k.count
            guard (1...64).contains(n), (1...16).contains(d), v.count == n,
                (k + v).allSatisfy({ $0.count == d })
            else {
                throw ReferenceError.invalidOption(
                    "--values needs q of d numbers and k, v of n rows of d numbers each (n in 1...64, d in 1...16)")
            }
            guard (q + k.joined() + v.joined()).allSatisfy({ $0.isFinite && abs($0) <= Self.maxMagnitude }) else {
                throw ReferenceError.invalidOption("--values must be finite numbers of magnitude at most 1000")
            }
        }
    }
}
