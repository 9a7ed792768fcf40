/// How a page of a paged KV cache is laid out: vLLM's and FlashInfer's "NHD" (num_pages, page_size, kv_heads, dim)
/// or "HND" (num_pages, kv_heads, page_size, dim).
public enum PageLayout: String, CaseIterable, Sendable {
    /// (num_pages, page_size, kv_heads, dim): vLLM's and FlashInfer's NHD.
    case nhd
    /// (num_pages, kv_heads, page_size, dim): FlashInfer's HND.
    case hnd
}

/// A paged KV cache as serving kernels take it: K and V pages, a block table (batch row b's j-th block of
/// `pageSize` tokens lives in page blockTable[b][j]) and the cache lengths. Token t of row b is slot t % pageSize of
/// page blockTable[b][t / pageSize]. Only the first ceil(len_b / pageSize) entries of a row are read; slots past the
/// length and pages no row uses are never read.
public struct PagedKVCache<Element>: Sendable where Element: Sendable {
    /// Key pages, rank 4 in `layout` order, last axis the head dim.
    public let kPages: Tensor<Element>
    /// Value pages, the same first three axes as `kPages`, last axis the value dim.
    public let vPages: Tensor<Element>
    /// The axis order of the pages.
    public let layout: PageLayout
    /// Per batch row b, its pages in token order: the row's j-th block of `pageSize` tokens is page blockTable[b][j].
    public let blockTable: [[Int]]
    /// Per batch row, the number of cached tokens.
    public let cacheSeqlens: [Int]

    /// Number of pages (axis 0 of the page tensors).
    public var pages: Int { kPages.shape[0] }
    /// Tokens per page.
    public var pageSize: Int { kPages.shape[layout == .nhd ? 1 : 2] }
    /// KV heads held in each page.
    public var kvHeads: Int { kPages.shape[layout == .nhd ? 2 : 1] }
    /// Key dimension (last axis of `kPages`).
    public var headDim: Int { kPages.shape[3] }
    /// Value dimension (last axis of `vPages`).
    public var valueDim: Int { vPages.shape[3] }

    /// Checks shapes, lengths and the block table entries that are read.
    public init(
        kPages: Tensor<Element>, vPages: Tensor<Element>, layout: PageLayout, blockTable: [[Int]], cacheSeqlens: [Int]
    ) throws {
        guard kPages.rank == 4, vPages.rank == 4, Array(kPages.shape.prefix(3)) == Array(vPages.shape.prefix(3)) else {
            throw ReferenceError.shape(
                "K and V pages must be rank 4 with the same first three dims (\(layout.rawValue)), got \(kPages.shape) and \(vPages.shape)"
            )
        }
        (self.kPages, self.vPages, self.layout, self.blockTable, self.cacheSeqlens) = (
            kPages, vPages, layout, blockTable, cacheSeqlens
        )
        guard pageSize > 0, kvHeads > 0 else {
            throw ReferenceError.shape("page size and KV heads must be positive, got \(kPages.shape)")
        }
        guard blockTable.count == cacheSeqlens.count else {
            throw ReferenceError.invalidOption(
                "block table has \(blockTable.count) rows but there are \(cacheSeqlens.count) cache lengths")
        }
        for (b, length) in cacheSeqlens.enumerated() {
            guard length >= 0 else {
                throw ReferenceError.invalidOption("cache length \(length) of row \(b) is negative")
            }
            let blocks = Self.pages(holding: length, pageSize: pageSize)
            guard blocks <= blockTable[b].count else {
                throw ReferenceError.invalidOption(
                    "row \(b) holds \(length) tokens (\(blocks) pages of \(pageSize)) but its block table has \(blockTable[b].count) entries"
                )
            }
            if let bad = blockTable[b].prefix(blocks).first(where: { $0 < 0 || $0 >= pages }) {
                throw ReferenceError.invalidOption("row \(b)'s block table names page \(bad), outside 0..<\(pages)")
            }
        }
    }

    /// K and V gathered into dense (B, Hkv, capacity, D) tensors; positions at or past a row's length hold `fill`
    /// (excluded by the cache lengths, so their value never matters).
    public func dense(capacity: Int, fill: Element) throws -> (k: Tensor<Element>, v: Tensor<Element>) {
        if let longest = cacheSeqlens.max(), longest > capacity {
            throw ReferenceError.invalidOption(
                "capacity \(capacity) is shorter than the longest cache length \(longest)")
        }
        let (b, h) = (cacheSeqlens.count, kvHeads)
        var k = Tensor<Element>(shape: [b, h, capacity, headDim], repeating: fill)
        var v = Tensor<Element>(shape: [b, h, capacity, valueDim], repeating: fill)
        for row in 0..<b {
            for t in 0..<cacheSeqlens[row] {
                let page = blockTable[row][t / pageSize], slot = t % pageSize
                for head in 0..<h {
                    let kBase = offset(page: page, slot: slot, head: head, dim: headDim)
                    let vBase = offset(page: page, slot: slot, head: head, dim: valueDim)
                    for c in 0..<headDim {
                        k.data[((row * h + head) * capacity + t) * headDim + c] = kPages.data[kBase + c]
                    }
                    for c in 0..<valueDim {
                        v.data[((row * h + head) * capacity + t) * valueDim + c] = vPages.data[vBase + c]
                    }
                }
            }
        }
        return (k, v)
    }

    /// Pages of `pageSize` tokens that hold `length` tokens: ceil(length / pageSize), without the overflow of
    /// `length + pageSize - 1` for lengths near `Int.max`.
    public static func pages(holding length: Int, pageSize: Int) -> Int {
        length / pageSize + (length % pageSize == 0 ? 0 : 1)
    }

    /// Flat offset of (page, slot, head, 0) in a page tensor whose last dim is `dim`.
    func offset(page: Int, slot: Int, head: Int, dim: Int) -> Int {
        switch layout {
        case .nhd: return ((page * pageSize + slot) * kvHeads + head) * dim
        case .hnd: return ((page * kvHeads + head) * pageSize + slot) * dim
        }
    }

    /// FlashInfer's CSR form of the block table: kv_indptr (B + 1), kv_indices (the used pages, row by row) and
    /// kv_last_page_len (tokens in each row's last page; 0 for an empty row).
    public var flashInferIndices: (indptr: [Int], indices: [Int], lastPageLength: [Int]) {
        var indptr = [0], indices: [Int] = [], last: [Int] = []
        for (b, length) in cacheSeqlens.enumerated() {
            let blocks = Self.pages(holding: length, pageSize: pageSize)
            indices += blockTable[b].prefix(blocks)
            indptr.append(indices.count)
            last.append(blocks == 0 ? 0 : length - (blocks - 1) * pageSize)
        }
        return (indptr, indices, last)
    }
}
