import ArgumentParser
import CLICommon
import Foundation
import Reference

extension PageLayout: ExpressibleByArgument {}

extension AttentionCommand {
    /// Q with K and V gathered from a paged cache (`PagedKVCache`): the block table from --block-table, the lengths
    /// from --cache-seqlens, dense K/V of capacity max_blocks x page_size (positions past a length are excluded by
    /// the cache lengths, so what the unused slots hold, NaN included, never reaches the output).
    func pagedInputs<S: AttentionScalar>(q: Tensor<S>, kPages: Tensor<S>, vPages: Tensor<S>) throws -> AttentionInputs<S> {
        let path = blockTable!
        try MemoryBudget.current.check(try TensorFiles.readEstimate([path]), for: "reading the block table")
        let table = try TensorFiles.load(path, name: "block_table")
        guard table.shape.count == 2, !table.dtype.isFloatingPoint, table.dtype != .bool else {
            throw CLIError("\(path): block_table must be a (batch, max_blocks) integer tensor, got \(table.dtype.rawValue) \(table.shape)")
        }
        let values = table.doubles()
        guard values.allSatisfy({ $0 == $0.rounded() && abs($0) < 1e15 }) else { throw CLIError("\(path): block_table must hold integers") }
        let (rows, width) = (table.shape[0], table.shape[1])
        let lengths = try parseNumbers(problem.cacheSeqlens!, "--cache-seqlens").map { value -> Int in
            guard let n = Int(exactly: value) else { throw CLIError("--cache-seqlens needs integers, got \(value)") }
            return n
        }
        let cache = try PagedKVCache(kPages: kPages, vPages: vPages, layout: pageLayout,
                                     blockTable: (0..<rows).map { r in (0..<width).map { Int(values[r * width + $0]) } },
                                     cacheSeqlens: lengths)
        guard q.shape[0] == rows else { throw CLIError("q has batch \(q.shape[0]) but the block table has \(rows) rows") }
        let capacity = try MemoryBudget.product([width, cache.pageSize], for: "the paged cache")
        // The dense copy of K and V, on top of what is already held.
        try MemoryBudget.current.check(
            try MemoryBudget.product([rows, cache.kvHeads, capacity, cache.headDim + cache.valueDim, MemoryLayout<S>.stride],
                                     for: "gathering the paged cache"), for: "gathering the paged cache")
        let (k, v) = try cache.dense(capacity: capacity, fill: 0)
        return try AttentionInputs(q: q, k: k, v: v)
    }
}
