import Foundation

/// A study whose grid falls into independent steps, each a pure function of the configuration, so that the steps can
/// run in any process and be put back together into the same bytes as one process writes: `treeattn-mpi sweep|scale`
/// spreads them over MPI ranks (round robin), gathers the results on rank 0 as JSON and writes the files there.
/// `SweepGrid` and `ScaleStudy.Grid` conform.
public protocol StudyGrid {
    /// What one step yields, as data (sent between processes as JSON: times in integer picoseconds, numbers that
    /// round-trip exactly).
    associatedtype Step: Codable & Sendable
    /// The number of steps, in output order.
    var stepCount: Int { get }
    /// A short label of step `i` (progress lines).
    func label(_ i: Int) -> String
    /// Runs step `i` (0..<stepCount).
    func run(step i: Int) throws -> Step
    /// The names of the output files, known before any step runs (so a command reserves them first).
    var fileNames: [String] { get }
    /// The output files (name, contents) from every step's result, in step order.
    func files(_ steps: [Step]) throws -> [(name: String, contents: String)]
}

/// One step's result with its index in the grid.
public struct StudyStep<Step: Codable & Sendable>: Codable, Sendable {
    /// The step's index (0..<stepCount).
    public var index: Int
    /// What the step yielded.
    public var result: Step
}

extension StudyGrid {
    /// The steps of part `part` of `parts`, round robin: every i in 0..<stepCount with i mod parts == part.
    public func steps(part: Int, of parts: Int) -> [Int] {
        guard parts >= 1, part >= 0, part < parts else { return [] }
        return Array(stride(from: part, to: stepCount, by: parts))
    }

    /// Runs the steps of part `part` of `parts`; `progress(done, total, label)` after each (counts of this part).
    public func run(part: Int, of parts: Int, progress: (Int, Int, String) -> Void = { _, _, _ in }) throws
        -> [StudyStep<Step>]
    {
        let mine = steps(part: part, of: parts)
        var results: [StudyStep<Step>] = []
        for (done, i) in mine.enumerated() {
            results.append(StudyStep(index: i, result: try run(step: i)))
            progress(done + 1, mine.count, label(i))
        }
        return results
    }

    /// Every step in one process, in order.
    public func runAll(progress: (Int, Int, String) -> Void = { _, _, _ in }) throws -> [Step] {
        try run(part: 0, of: 1, progress: progress).map(\.result)
    }

    /// A part's results as JSON text (what a rank sends to rank 0).
    public func encode(_ part: [StudyStep<Step>]) throws -> String {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(part), as: UTF8.self)
    }

    /// The steps of every part (`encode`'s texts, in any order) in grid order. Throws `StudyError.invalidArgument`
    /// unless every step appears exactly once.
    public func assemble(_ parts: [String]) throws -> [Step] {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var slots = [Step?](repeating: nil, count: stepCount)
        for text in parts {
            for step in try decoder.decode([StudyStep<Step>].self, from: Data(text.utf8)) {
                guard step.index >= 0, step.index < stepCount, slots[step.index] == nil else {
                    throw StudyError.invalidArgument("study step \(step.index) is out of range or came twice")
                }
                slots[step.index] = step.result
            }
        }
        guard let missing = slots.firstIndex(where: { $0 == nil }) else { return slots.map { $0! } }
        throw StudyError.invalidArgument("study step \(missing) (\(label(missing))) is missing")
    }
}
