import Foundation

/// A progress bar on stderr, with the time left at the rate so far. On a terminal it redraws one line
/// ("\r[#####.....] 12/40 ETA 30 s label"); otherwise (a pipe,
/// a file, CI logs) it prints a plain line at most every 10% and at the end, so logs stay short and readable.
/// Never writes to stdout.
final class ProgressBar {
    let title: String
    let enabled: Bool
    let isTerminal: Bool
    private var lastDecile = -1
    private var finished = false
    private let start = Date()

    init(title: String, enabled: Bool = true) {
        self.title = title
        self.enabled = enabled
        isTerminal = isatty(STDERR_FILENO) == 1
    }

    func update(_ done: Int, _ total: Int, _ label: String) {
        guard enabled, total > 0 else { return }
        let fraction = min(1, max(0, Double(done) / Double(total)))
        // The time left at the rate so far, once a step is done and until the last.
        let elapsed = Date().timeIntervalSince(start)
        let eta =
            done > 0 && done < total ? String(format: " ETA %.0f s", elapsed * Double(total - done) / Double(done)) : ""
        if isTerminal {
            let width = 30
            let filled = Int((fraction * Double(width)).rounded(.down))
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            write("\r\u{1B}[2K\(title) [\(bar)] \(done)/\(total)\(eta) \(label)")
            if done >= total {
                write("\n")
                finished = true
            }
        } else {
            let decile = Int((fraction * 10).rounded(.down))
            if decile > lastDecile || done >= total {
                lastDecile = decile
                write("\(title): \(done)/\(total) (\(Int((fraction * 100).rounded(.down)))%\(eta)) \(label)\n")
            }
            if done >= total { finished = true }
        }
    }

    /// Ends the line on a terminal if the bar did not reach the end (e.g. after an error).
    func close() {
        if enabled && isTerminal && !finished { write("\n") }
        finished = true
    }

    private func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
}
