/// Tile sizes of the blocked (online-softmax) kernel. Memory per worker is about rows x keys scalars, whatever
/// Sq and Sk are. `splitKeys` cuts the key ranges of small-query problems (decoding) longer than it into fixed chunks
/// that run in parallel (so decoding uses every core from 2^12 keys up) and whose partials are merged in a fixed order,
/// so results never depend on the number of cores. 2048 keys keep a chunk's scores in L2.
public struct KernelBlocking: Sendable {
    /// Query rows per tile (default 256).
    public var queryRows: Int
    /// Keys per block for a tile of `queryRows` rows (default 512); `keyBlock(rows:)` lengthens it for tiles with
    /// fewer rows.
    public var keys: Int
    /// Chunk length, in keys, into which small-query problems cut longer key ranges to run them in parallel
    /// (default 2048).
    public var splitKeys: Int
    /// The instruction set of the kernel's own loops (default: the best this CPU has).
    public var isa: KernelISA
    /// Tiles with at most this many query rows (decoding: one query per head of a GQA group, a few speculative
    /// tokens) compute their two products with `VectorRowKernels`' streaming loops instead of gemm (0: always gemm).
    public var fewRows: Int
    /// Rows per band where a block's rows see different keys (the causal diagonal, window edges): each band's gemm
    /// covers only the keys its rows see, so a diagonal block computes about band / queryRows of its triangle's
    /// hidden pairs instead of all of them (`BlockPieces`). 64 keeps the bands' gemms efficient.
    public var band: Int

    /// Tile sizes; `queryRows`, `keys`, `splitKeys` and `band` must be positive (a precondition).
    public init(
        queryRows: Int = 256, keys: Int = 512, splitKeys: Int = 2048, isa: KernelISA = .supported, fewRows: Int = 16,
        band: Int = 64
    ) {
        precondition(queryRows > 0 && keys > 0 && splitKeys > 0 && band > 0, "block sizes must be positive")
        self.queryRows = queryRows
        self.keys = keys
        self.splitKeys = splitKeys
        self.isa = isa
        self.fewRows = fewRows
        self.band = band
    }

    /// The default sizes: 256 query rows, 512 keys, 2048-key chunks, the best ISA of this CPU, 16 few rows and
    /// 64-row bands.
    public static let `default` = KernelBlocking()

    /// Keys per block for a tile of `rows` query rows: the score tile keeps the area queryRows x keys, so tiles with
    /// few rows (decoding) take longer key blocks and fewer, larger gemm calls. Capped at 16384 keys.
    public func keyBlock(rows: Int) -> Int {
        min(max(keys, 16_384), max(keys, keys * queryRows / max(rows, 1)))
    }
}
