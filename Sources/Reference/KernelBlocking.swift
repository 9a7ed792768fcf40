/// Tile sizes of the blocked (online-softmax) kernel. Memory per worker is about rows x keys scalars, whatever
/// Sq and Sk are. `splitKeys` cuts very long key ranges of small-query problems (decoding) into fixed chunks that run
/// in parallel and are merged in a fixed order, so results never depend on the number of cores.
public struct KernelBlocking: Sendable {
    public var queryRows: Int
    public var keys: Int
    public var splitKeys: Int

    public init(queryRows: Int = 256, keys: Int = 512, splitKeys: Int = 65_536) {
        precondition(queryRows > 0 && keys > 0 && splitKeys > 0, "block sizes must be positive")
        self.queryRows = queryRows
        self.keys = keys
        self.splitKeys = splitKeys
    }

    public static let `default` = KernelBlocking()

    /// Keys per block for a tile of `rows` query rows: the score tile keeps the area queryRows x keys, so tiles with
    /// few rows (decoding) take longer key blocks and fewer, larger gemm calls. Capped at 16384 keys.
    public func keyBlock(rows: Int) -> Int {
        min(max(keys, 16_384), max(keys, keys * queryRows / max(rows, 1)))
    }
}
