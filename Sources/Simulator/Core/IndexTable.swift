/// A hash map from a three-word key to an `Int32`, for the event loop's lookups (mailboxes, channels): open
/// addressing with linear probing and backward-shift deletion (no tombstones), a cheap multiplicative hash instead
/// of SipHash, and plain-value slots, so lookups neither hash through `Hasher` nor touch reference counts.
/// Iteration order is unspecified (nothing in the simulation's results depends on it).
struct IndexTable {
    struct Key: Equatable {
        var a: UInt64
        var b: UInt64
        var c: UInt64
    }

    private struct Slot {
        var key: Key
        var value: Int32
        var used: Bool
    }

    private var slots: [Slot]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int = 16) {
        var n = 16
        while n < 2 * capacity { n <<= 1 }
        slots = [Slot](repeating: Slot(key: Key(a: 0, b: 0, c: 0), value: 0, used: false), count: n)
        mask = n - 1
    }

    @inline(__always)
    private static func hash(_ k: Key) -> Int {
        var h = k.a &* 0x9E37_79B9_7F4A_7C15
        h ^= k.b &* 0xC2B2_AE3D_27D4_EB4F
        h ^= k.c &* 0x1656_67B1_9E37_79F9
        h ^= h >> 29
        h &*= 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return Int(truncatingIfNeeded: h)
    }

    /// The slot holding `key`, or the empty slot where it would go (valid until the next insertion or removal).
    @inline(__always)
    func probe(_ key: Key) -> Int {
        var i = Self.hash(key) & mask
        while slots[i].used && slots[i].key != key { i = (i &+ 1) & mask }
        return i
    }

    subscript(key: Key) -> Int32? {
        get {
            let i = probe(key)
            return slots[i].used ? slots[i].value : nil
        }
        set {
            if let value = newValue { insert(key, value) } else { remove(key) }
        }
    }

    /// The value in a slot from `probe`, nil if the slot is empty.
    @inline(__always)
    func value(atSlot i: Int) -> Int32? { slots[i].used ? slots[i].value : nil }

    mutating func insert(_ key: Key, _ value: Int32) {
        insert(key, value, atSlot: probe(key))
    }

    /// Sets `key` (found or to be placed at slot i, from `probe`) to `value`.
    @inline(__always)
    mutating func insert(_ key: Key, _ value: Int32, atSlot i: Int) {
        if slots[i].used {
            slots[i].value = value
            return
        }
        slots[i] = Slot(key: key, value: value, used: true)
        count += 1
        if 2 * count > slots.count { grow() }
    }

    mutating func remove(_ key: Key) {
        remove(atSlot: probe(key))
    }

    /// Removes the entry in slot i (from `probe`), if any.
    mutating func remove(atSlot slot: Int) {
        var i = slot
        guard slots[i].used else { return }
        slots[i].used = false
        count -= 1
        // Backward-shift: move later entries of the probe run into the hole when their home allows it.
        var j = i
        while true {
            j = (j &+ 1) & mask
            if !slots[j].used { return }
            let home = Self.hash(slots[j].key) & mask
            // j's entry may move to i if its home is not cyclically in (i, j].
            let movable = i <= j ? (home <= i || home > j) : (home <= i && home > j)
            if movable {
                slots[i] = slots[j]
                slots[j].used = false
                i = j
            }
        }
    }

    private mutating func grow() {
        let old = slots
        slots = [Slot](repeating: Slot(key: Key(a: 0, b: 0, c: 0), value: 0, used: false), count: old.count * 2)
        mask = slots.count - 1
        count = 0
        for s in old where s.used { insert(s.key, s.value) }
    }

    /// The first entry (in slot order) satisfying the predicate.
    func first(where predicate: (Key, Int32) -> Bool) -> (key: Key, value: Int32)? {
        for s in slots where s.used && predicate(s.key, s.value) { return (s.key, s.value) }
        return nil
    }
}
