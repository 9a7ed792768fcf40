/// A binary min-heap of events keyed by (time, sequence), specialised for the event loop: one flat array, no
/// min-max levels (swift-collections' `Heap` is a min-max heap, which pays for a `max` the loop never asks for), and
/// pops by Floyd's bottom-up method (the hole goes down to a leaf along the smaller children, one comparison per
/// level, then the last element rises from there, usually not far). Keys are unique, so the order of pops is fully
/// determined by the keys, exactly as with `Heap`.
public struct EventHeap {
    @usableFromInline var storage: [Event] = []

    /// An empty heap.
    public init() {}

    /// Number of events in the heap.
    @inlinable public var count: Int { storage.count }
    /// Whether the heap holds no event.
    @inlinable public var isEmpty: Bool { storage.isEmpty }
    /// The earliest event (lowest time, then lowest sequence) without removing it; nil when the heap is empty.
    @inlinable public var min: Event? { storage.first }

    /// Adds an event, O(log n).
    @inlinable
    public mutating func insert(_ event: Event) {
        storage.append(event)
        storage.withUnsafeMutableBufferPointer { h in Self.rise(event, from: h.count - 1, in: h) }
    }

    /// Puts `item` into the hole at `i`, moving it up past larger parents.
    @inlinable
    static func rise(_ item: Event, from i: Int, in h: UnsafeMutableBufferPointer<Event>) {
        var i = i
        while i > 0 {
            let parent = (i - 1) >> 1
            if !(item < h[parent]) { break }
            h[i] = h[parent]
            i = parent
        }
        h[i] = item
    }

    /// Removes every event `shouldRemove` picks and restores the heap in O(n) (Floyd's bottom-up build). The events
    /// kept come out in the same order as before: keys are unique.
    public mutating func removeAll(where shouldRemove: (Event) -> Bool) {
        storage.removeAll(where: shouldRemove)
        storage.withUnsafeMutableBufferPointer { h in
            let n = h.count
            var start = n / 2 - 1
            while start >= 0 {
                let item = h[start]
                var i = start
                while true {
                    let left = 2 * i + 1
                    if left >= n { break }
                    let right = left + 1
                    let child = right < n && h[right] < h[left] ? right : left
                    if !(h[child] < item) { break }
                    h[i] = h[child]
                    i = child
                }
                h[i] = item
                start -= 1
            }
        }
    }

    /// Removes and returns the earliest event (lowest time, then lowest sequence), O(log n); nil when the heap is
    /// empty.
    @inlinable
    public mutating func popMin() -> Event? {
        guard let last = storage.popLast() else { return nil }
        if storage.isEmpty { return last }
        return storage.withUnsafeMutableBufferPointer { h -> Event in
            let top = h[0]
            let n = h.count
            // Hole from the root down to a leaf along the smaller child.
            var i = 0
            while true {
                let left = 2 * i + 1
                if left >= n { break }
                let right = left + 1
                let child = right < n && h[right] < h[left] ? right : left
                h[i] = h[child]
                i = child
            }
            // The former last element rises from the leaf hole.
            Self.rise(last, from: i, in: h)
            return top
        }
    }
}
