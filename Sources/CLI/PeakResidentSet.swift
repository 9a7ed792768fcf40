import Foundation

/// This process's own peak resident set (Linux `VmHWM`; `ru_maxrss` would include a forking parent's), for
/// `attention --timings` and `bench simulator`.
enum PeakResidentSet {
    /// The `VmHWM` value as /proc/self/status writes it ("123456 kB"), nil if unavailable.
    static var text: String? {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        return status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
            .map { $0.dropFirst(6).trimmingCharacters(in: .whitespaces) }
    }

    /// The peak in bytes since the last `reset`, 0 if unavailable.
    static var bytes: Double {
        guard let kb = text?.split(separator: " ").first.flatMap({ Double($0) }) else { return 0 }
        return kb * 1024
    }

    /// Starts a new peak (writing 5 to /proc/self/clear_refs).
    static func reset() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }
}
