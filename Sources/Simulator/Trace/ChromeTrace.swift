import Foundation
import TreeCore

/// Chrome / Perfetto trace (JSON object format): one complete event (ph "X") per compute interval and per transfer,
/// pid per device (offset per section, e.g. per strategy), tid 0 compute (and fixed overheads), 1 send (per-message
/// overheads, cat "overhead", then the transfers), 2 receive; ts and dur in microseconds. Open in ui.perfetto.dev or
/// chrome://tracing.
public struct ChromeTrace {
    private var events: [[String: Any]] = []
    private var nextPid = 0

    /// An empty trace; `add(_:section:deviceNames:)` appends executions to it.
    public init() {}

    /// Adds one execution as a section: devices become processes named "<section> / <device name>".
    public mutating func add(_ result: ExecutionResult, section: String, deviceNames: [String]) {
        let base = nextPid
        nextPid += deviceNames.count
        for (rank, name) in deviceNames.enumerated() {
            events.append([
                "ph": "M", "name": "process_name", "pid": base + rank, "tid": 0,
                "args": ["name": "\(section) / \(name)"],
            ])
            events.append([
                "ph": "M", "name": "process_sort_index", "pid": base + rank, "tid": 0,
                "args": ["sort_index": base + rank],
            ])
            for (tid, thread) in ["compute", "send", "receive"].enumerated() {
                events.append([
                    "ph": "M", "name": "thread_name", "pid": base + rank, "tid": tid, "args": ["name": thread],
                ])
            }
        }
        for a in result.activities {
            if let to = a.destinationRank {
                // Per-message overhead: on the send thread, just before the transfer it delays.
                events.append([
                    "ph": "X", "name": "\(a.label) to \(to)", "cat": a.kind.rawValue, "pid": base + a.rank, "tid": 1,
                    "ts": a.start.microseconds, "dur": (a.end - a.start).microseconds,
                    "args": ["from": a.rank, "to": to],
                ])
            } else {
                events.append([
                    "ph": "X", "name": a.label, "cat": a.kind.rawValue, "pid": base + a.rank, "tid": 0,
                    "ts": a.start.microseconds, "dur": (a.end - a.start).microseconds,
                ])
            }
        }
        for t in result.transfers {
            let args: [String: Any] = ["bytes": t.bytes, "from": t.sourceRank, "to": t.destinationRank]
            events.append([
                "ph": "X", "name": "send to \(t.destinationRank)", "cat": "transfer", "pid": base + t.sourceRank,
                "tid": 1, "ts": t.start.microseconds, "dur": (t.transmitted - t.start).microseconds, "args": args,
            ])
            events.append([
                "ph": "X", "name": "recv from \(t.sourceRank)", "cat": "transfer", "pid": base + t.destinationRank,
                "tid": 2, "ts": t.start.microseconds, "dur": (t.delivered - t.start).microseconds, "args": args,
            ])
        }
    }

    /// Number of events so far (metadata included).
    public var count: Int { events.count }

    /// The trace as a JSON object (`traceEvents`, `displayTimeUnit`, `otherData`) with sorted keys, UTF-8
    /// encoded. Throws what `JSONSerialization` throws.
    public func jsonData() throws -> Data {
        let root: [String: Any] = [
            "traceEvents": events, "displayTimeUnit": "ns",
            "otherData": ["generator": "treeattn simulator", "time_unit": "microseconds"],
        ]
        return try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys])
    }

    /// Writes atomically: to a temporary file in the same directory, then rename (a `CoreError.file` naming the path
    /// when that fails).
    public func write(to path: String) throws {
        try AtomicFile.write([UInt8](try jsonData()), to: path)
    }
}
