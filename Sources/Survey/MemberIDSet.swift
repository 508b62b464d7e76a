/// The member ids seen so far in one household, as the bytes of their NFC form, for the
/// duplicate-member check.
///
/// Ids compare as NFC text (`String ==` of NFC strings), which is the same as comparing the
/// bytes of their NFC forms: NFC is one canonical spelling per text. An ASCII id is its own NFC
/// form, so the usual id is checked on the cell's bytes without making a String; only non-ASCII
/// ids are normalised first.
struct MemberIDSet {
    /// Ids of up to 16 bytes (nearly all: "1", "2", ...) as two words and a length: adding and
    /// comparing one is a few word operations.
    private var short: [ShortID] = []
    /// Longer ids, as bytes.
    private var long: [[UInt8]] = []

    struct ShortID: Equatable {
        var words: (UInt64, UInt64)
        var count: Int

        static func == (a: ShortID, b: ShortID) -> Bool { a.count == b.count && a.words == b.words }

        /// Up to 16 bytes as two words, in at most two loads each and never past `p + n`: with
        /// the length beside them they tell the id exactly (for 8...16 bytes the words are the
        /// first and the last eight, overlapping when shorter than 16).
        @inline(__always) static func words(_ p: UnsafePointer<UInt8>?, _ n: Int) -> (UInt64, UInt64) {
            guard let p, n > 0 else { return (0, 0) }
            let r = UnsafeRawPointer(p)
            if n >= 8 { return (r.loadUnaligned(as: UInt64.self), r.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)) }
            if n >= 4 {
                return (UInt64(r.loadUnaligned(as: UInt32.self)) | UInt64(r.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)) << 32, 0)
            }
            return (UInt64(p[0]) | UInt64(p[n >> 1]) << 8 | UInt64(p[n &- 1]) << 16, 0)
        }
    }

    /// Ids in use at the start of `short`: emptying the set per household only resets this, the
    /// slots beyond it are overwritten as ids come.
    private var shortCount = 0

    var count: Int { shortCount + long.count }

    mutating func removeAll() {
        shortCount = 0
        if !long.isEmpty { long.removeAll(keepingCapacity: true) }
    }

    /// Adds the id whose NFC form is `id`; true when it was there already.
    mutating func insert(_ id: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = id.count
        if n <= 16 {
            let key = ShortID(words: ShortID.words(id.baseAddress, n), count: n)
            // A plain loop over the few ids of a household: no generic `contains`, no copy call.
            let used = shortCount
            let seen = short.withUnsafeBufferPointer { ids in
                for k in 0..<used where ids[k] == key { return true }
                return false
            }
            if seen { return true }
            if used < short.count { short[used] = key } else { short.append(key) }
            shortCount = used + 1
            return false
        }
        let bytes = Array(id)
        if long.contains(bytes) { return true }
        long.append(bytes)
        return false
    }

    /// Adds `id`, an NFC string; true when it was there already.
    mutating func insert(nfc id: String) -> Bool {
        var s = id
        return s.withUTF8 { insert($0) }
    }
}

/// The member ids of one household while they come in increasing order, as they nearly always
/// do ("1", "2", "3", ...): an id greater than the greatest one before it is new, with no look-up
/// in a set. Ids are ordered by length, then by their bytes, and only ASCII ids of 1...7 bytes
/// are taken; any other id, or one not greater than the last, is for the set to decide.
struct AscendingMemberIDs {
    /// The key of the last id taken; 0 before the first (every key is greater: its length is).
    private var last: UInt64 = 0

    /// Takes `p[0..<n]` (a trimmed cell in a CSV buffer, which has slack for a word load past
    /// its end) when it is an ASCII id of 1...7 bytes greater than the last one taken; false
    /// (and nothing taken) otherwise.
    @inline(__always) mutating func take(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        guard UInt(bitPattern: n &- 1) < 7 else { return false }
        let word = UnsafeRawPointer(p).loadUnaligned(as: UInt64.self) & (UInt64.max &>> UInt64(truncatingIfNeeded: 64 &- 8 &* n))
        // Big-endian, the first byte on top, moved down one byte: the length goes above it.
        let key = word.byteSwapped &>> 8 | UInt64(truncatingIfNeeded: n) &<< 56
        guard word & 0x8080_8080_8080_8080 == 0 && key > last else { return false }
        last = key
        return true
    }
}
