import Foundation

/// One worker's buffers for `Tile.run` (scores, the output backup, widened Q/K/V blocks), grown on demand and
/// reused from tile to tile: a decode splits into thousands of tiles, and fresh multi-megabyte buffers per tile cost
/// more in page faults than the tile's arithmetic.
final class TileScratch<S: AttentionScalar> {
    private var buffers: [(pointer: UnsafeMutablePointer<S>, capacity: Int)] = []

    /// Buffer `slot` with room for at least `count` elements (contents unspecified: debug builds fill it with NaN
    /// on every request, so a kernel that reads an element before writing it fails the tests instead of reading
    /// whatever the memory held).
    func buffer(_ slot: Int, count: Int) -> UnsafeMutablePointer<S> {
        while buffers.count <= slot { buffers.append((UnsafeMutablePointer<S>.allocate(capacity: 1), 1)) }
        if buffers[slot].capacity < count {
            buffers[slot].pointer.deallocate()
            buffers[slot] = (UnsafeMutablePointer<S>.allocate(capacity: count), count)
        }
        #if DEBUG
        buffers[slot].pointer.update(repeating: .nan, count: count)
        #endif
        return buffers[slot].pointer
    }

    deinit { for b in buffers { b.pointer.deallocate() } }
}

/// The scratch sets of one kernel call: a worker takes one for a tile and gives it back, so there are at most as
/// many as tiles run at once.
final class TileScratchPool<S: AttentionScalar>: @unchecked Sendable {
    private var free: [TileScratch<S>] = []
    private let lock = NSLock()

    func with<R>(_ body: (TileScratch<S>) -> R) -> R {
        lock.lock()
        let scratch = free.popLast() ?? TileScratch<S>()
        lock.unlock()
        defer {
            lock.lock()
            free.append(scratch)
            lock.unlock()
        }
        return body(scratch)
    }
}
