/// A sparse case's layout (`GoldenCaseSpec.sparseLayout()`): the dense boolean mask it means, broadcast as (B|1, H|1,
/// seq_q, seq_k), and the tensors a kernel takes it as.
public struct SparseLayout: Sendable {
    /// True where a key takes part; (batch, heads, seq_q, seq_k) for flex_attention layouts, (1, 1, seq_q, seq_k) for
    /// document ids and FlashInfer's BSR (shared by the batch and the heads).
    public let mask: Tensor<Bool>
    /// The layout as kernels take it: `document_ids`; or flex_attention's `kv_num_blocks`, `kv_indices`,
    /// `q_block_size`, `kv_block_size`; or FlashInfer's `bsr_indptr`, `bsr_indices`, `bsr_block_size`.
    public let tensors: [(name: String, data: TensorData)]
    /// What the tensors mean, for the file's metadata.
    public let description: String
}

extension GoldenCaseSpec {
    /// The mask and tensors of a sparse case, or nil for a case without `documents` or `sparse`:
    ///   * `documents`: packed documents of the given lengths (summing to seq_k; the queries are the last seq_q
    ///     tokens), flex_attention's document masking: key j visible to query i when document_ids agree;
    ///   * `sparse: flex`: flex_attention's BlockMask per (batch, head): q blocks of R and kv blocks of C tokens
    ///     (`block_size` [R, C]; the last ones partial), each (q block, kv block) kept with probability
    ///     `block_density` from a seeded stream, and q block 1 (or the only one) left empty (its rows see nothing);
    ///     kept blocks are wholly visible (mask_mod none), `kv_num_blocks` (B, H, q blocks) and `kv_indices` (B, H,
    ///     q blocks, kv blocks; padded with 0 past each row's count);
    ///   * `sparse: bsr`: FlashInfer's block-sparse row layout (`BlockSparseAttentionWrapper`), one for the batch and
    ///     the heads: `bsr_indptr` (block rows + 1), `bsr_indices` (kept block columns), `bsr_block_size` [R, C].
    /// The case's other masks (causal, window, cache lengths) apply on top.
    public func sparseLayout() throws -> SparseLayout? {
        let (sq, sk) = (seqQ, seqK)
        if let documents {
            guard documents.allSatisfy({ $0 >= 0 }), documents.reduce(0, +) == sk, sq <= sk else {
                throw ReferenceError.invalidOption(
                    "documents must be lengths summing to seq_k (\(sk)) with seq_q <= seq_k")
            }
            let ids = documents.enumerated().flatMap { [Int](repeating: $0.offset, count: $0.element) }
            let mask = (0..<sq).flatMap { i in (0..<sk).map { ids[sk - sq + i] == ids[$0] } }
            return SparseLayout(
                mask: try Tensor(shape: [1, 1, sq, sk], data: mask),
                tensors: [
                    ("document_ids", try TensorData(values: ids.map(Double.init), shape: [1, sk], dtype: .i32))
                ],
                description:
                    "document_ids (1, seq_k): packed documents \(documents); the queries are the last seq_q tokens; query i sees key j when document_ids[seq_k - seq_q + i] == document_ids[j] (flex_attention's document mask), and the case's other masks on top"
            )
        }
        guard let sparse else { return nil }
        guard let bs = blockSize, bs.count == 2, bs[0] >= 1, bs[1] >= 1, bs[0] <= 4096, bs[1] <= 4096 else {
            throw ReferenceError.invalidOption("a sparse case needs block_size [R, C] in 1...4096")
        }
        let (r, c) = (bs[0], bs[1])
        let (qBlocks, kBlocks) = ((sq + r - 1) / r, (sk + c - 1) / c)
        let density = blockDensity ?? 0.5
        var g = SeededGenerator(seed: (seed ?? 0) ^ 0x5BA2_5E00)
        let layouts = sparse == "bsr" ? 1 : batch * heads
        // Kept block columns per (layout, block row); block row 1 (or 0 when there is one) left empty.
        var kept = [[[Int]]](repeating: [], count: layouts)
        for l in 0..<layouts {
            kept[l] = (0..<qBlocks).map { row in
                let columns = (0..<kBlocks).filter { _ in g.uniform() < density }
                return row == min(1, qBlocks - 1) ? [] : columns
            }
        }
        var mask = [Bool](repeating: false, count: layouts * sq * sk)
        for l in 0..<layouts {
            for (row, columns) in kept[l].enumerated() {
                for col in columns {
                    for i in row * r..<min(sq, (row + 1) * r) {
                        for j in col * c..<min(sk, (col + 1) * c) { mask[(l * sq + i) * sk + j] = true }
                    }
                }
            }
        }
        let i32 = { (xs: [Int], shape: [Int]) in try TensorData(values: xs.map(Double.init), shape: shape, dtype: .i32)
        }
        if sparse == "bsr" {
            let indptr = kept[0].reduce(into: [0]) { $0.append($0.last! + $1.count) }
            let indices = kept[0].flatMap { $0 }
            return SparseLayout(
                mask: try Tensor(shape: [1, 1, sq, sk], data: mask),
                tensors: [
                    ("bsr_indptr", try i32(indptr, [qBlocks + 1])), ("bsr_indices", try i32(indices, [indices.count])),
                    ("bsr_block_size", try i32([r, c], [2])),
                ],
                description:
                    "FlashInfer's BSR (BlockSparseAttentionWrapper.plan(indptr, indices, M=seq_q, N=seq_k, R=\(r), C=\(c))), shared by the batch and the heads: block row I (queries I*R ..< (I+1)*R) sees block columns bsr_indices[bsr_indptr[I] ..< bsr_indptr[I+1]] (keys J*C ..< (J+1)*C), the last row and column partial; block row \(min(1, qBlocks - 1)) is empty"
            )
        }
        let counts = kept.flatMap { $0.map(\.count) }
        let indices = kept.flatMap { rows in rows.flatMap { $0 + [Int](repeating: 0, count: kBlocks - $0.count) } }
        return SparseLayout(
            mask: try Tensor(shape: [batch, heads, sq, sk], data: mask),
            tensors: [
                ("kv_num_blocks", try i32(counts, [batch, heads, qBlocks])),
                ("kv_indices", try i32(indices, [batch, heads, qBlocks, kBlocks])),
                ("q_block_size", try i32([r], [1])), ("kv_block_size", try i32([c], [1])),
            ],
            description:
                "flex_attention's BlockMask.from_kv_blocks(kv_num_blocks, kv_indices, BLOCK_SIZE=(\(r), \(c))) with no mask_mod: q block I of (batch b, head h) sees kv blocks kv_indices[b, h, I, :kv_num_blocks[b, h, I]] wholly (the last blocks partial; entries past the count are padding); q block \(min(1, qBlocks - 1)) is empty in every head"
        )
    }
}
