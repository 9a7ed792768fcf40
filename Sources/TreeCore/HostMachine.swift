import Foundation

/// What this process can read about the machine it runs on, for benchmark reports, calibrated cluster files and
/// `--timings`: the CPU model and the process's own peak resident set (Linux `/proc`; neutral values elsewhere).
public enum HostMachine {
    /// The CPU model from /proc/cpuinfo's first `model name` line, nil where there is none.
    public static var cpuModel: String? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
            let value = line.split(separator: ":", maxSplits: 1).last
        else { return nil }
        return value.trimmingCharacters(in: .whitespaces)
    }

    /// This process's peak resident set as /proc/self/status writes it (`VmHWM`, e.g. "123456 kB"), nil if
    /// unavailable. `ru_maxrss` would include a forking parent's.
    public static var peakResidentSetText: String? {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        return status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
            .map { $0.dropFirst(6).trimmingCharacters(in: .whitespaces) }
    }

    /// The peak resident set in bytes since the last `resetPeakResidentSet()`, 0 if unavailable.
    public static var peakResidentSetBytes: Double {
        guard let kb = peakResidentSetText?.split(separator: " ").first.flatMap({ Double($0) }) else { return 0 }
        return kb * 1024
    }

    /// Starts a new peak (writes 5 to /proc/self/clear_refs).
    public static func resetPeakResidentSet() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }
}
