import Foundation

/// The memory a run may use, and the one check every command makes before it allocates: sizes are multiplied with
/// overflow checks, and an estimate above the limit is refused with one line that names the estimate and the limit.
///
/// The limit defaults to the memory the machine has available now (`MemAvailable` in /proc/meminfo, else the
/// physical memory); the CLI's `--max-memory` sets `MemoryBudget.current` for the whole process.
public struct MemoryBudget: Equatable, Sendable {
    /// Bytes a run may allocate in all.
    public var limitBytes: Int

    /// A budget of `limitBytes` bytes.
    public init(limitBytes: Int) { self.limitBytes = limitBytes }

    /// The process-wide budget the libraries check against (set once by the CLI, before any work).
    nonisolated(unsafe) public static var current = MemoryBudget(limitBytes: availableBytes())

    /// Memory available to a new allocation now: `MemAvailable` from /proc/meminfo where it exists, else the
    /// physical memory.
    public static func availableBytes() -> Int {
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) {
            for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
                let fields = line.split(separator: " ")
                if fields.count >= 2, let kib = Int(fields[1]) {
                    let (bytes, overflow) = kib.multipliedReportingOverflow(by: 1024)
                    if !overflow { return bytes }
                }
            }
        }
        return Int(clamping: ProcessInfo.processInfo.physicalMemory)
    }

    /// Parses a byte count: "8GB", "512MiB", "1e9", "2TB" (GB = 1e9 bytes, GiB = 2^30).
    public init(parsing text: String) throws {
        guard let bytes = Self.bytes(in: text), bytes > 0, bytes < 9.2e18 else {
            throw CoreError.invalidOption("cannot read '\(text)' as a memory size (e.g. 8GB, 512MiB, 1e9)")
        }
        limitBytes = Int(bytes)
    }

    /// The byte count a text names: a plain number ("1048576", "1e9") or one with a unit (B, kB/KB, MB, GB, TB,
    /// KiB, MiB, GiB, TiB); nil when it is not a finite, non-negative number of bytes. The one byte-count reader of
    /// the command line (`--max-memory`, `--bytes`).
    public static func bytes(in text: String) -> Double? {
        let units: [(String, Double)] = [
            ("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824), ("TiB", 1_099_511_627_776),
            ("kB", 1e3), ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("B", 1),
        ]
        var number = text.trimmingCharacters(in: .whitespaces), scale = 1.0
        for (suffix, factor) in units where number.hasSuffix(suffix) {
            number = String(number.dropLast(suffix.count)).trimmingCharacters(in: .whitespaces)
            scale = factor
            break
        }
        guard let value = Double(number), value.isFinite, value >= 0 else { return nil }
        return value * scale
    }

    /// Throws a one-line error when `bytes` (an estimate of what `what` will allocate) exceeds the limit.
    public func check(_ bytes: Int, for what: String) throws {
        guard bytes <= limitBytes else {
            throw CoreError.tooLarge(
                "\(what) needs about \(Self.format(bytes)), more than the \(Self.format(limitBytes)) "
                    + "memory limit (--max-memory to change it)")
        }
    }

    /// `check` for an estimate given as a product of counts (elements x element size ...), computed with overflow
    /// checks: an overflowing product is refused the same way.
    public func check(product factors: [Int], for what: String) throws {
        try check(try Self.product(factors, for: what), for: what)
    }

    /// The product of non-negative counts, or a one-line error naming `what` when it overflows or a count is negative.
    public static func product(_ factors: [Int], for what: String) throws -> Int {
        var result = 1
        for f in factors {
            guard f >= 0 else { throw CoreError.invalidOption("\(what): negative size \(f)") }
            let (p, overflow) = result.multipliedReportingOverflow(by: f)
            guard !overflow else {
                throw CoreError.tooLarge(
                    "\(what): size overflows (\(factors.map(String.init).joined(separator: " x ")))")
            }
            result = p
        }
        return result
    }

    /// The sum of non-negative sizes, or a one-line error naming `what` when it overflows.
    public static func sum(_ terms: [Int], for what: String) throws -> Int {
        var result = 0
        for t in terms {
            let (s, overflow) = result.addingReportingOverflow(t)
            guard !overflow, t >= 0 else { throw CoreError.tooLarge("\(what): size overflows") }
            result = s
        }
        return result
    }

    /// "1.50 GB", "512.0 MB", "2.0 kB" (GB = 1e9 bytes).
    public static func format(_ bytes: Int) -> String {
        let b = Double(bytes)
        if b >= 1e12 { return String(format: "%.2f TB", b / 1e12) }
        if b >= 1e9 { return String(format: "%.2f GB", b / 1e9) }
        if b >= 1e6 { return String(format: "%.1f MB", b / 1e6) }
        if b >= 1e3 { return String(format: "%.1f kB", b / 1e3) }
        return "\(bytes) B"
    }
}
