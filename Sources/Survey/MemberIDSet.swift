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
    }

    var count: Int { short.count + long.count }

    mutating func removeAll() {
        short.removeAll(keepingCapacity: true)
        long.removeAll(keepingCapacity: true)
    }

    /// Adds the id whose NFC form is `id`; true when it was there already.
    mutating func insert(_ id: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = id.count
        if n <= 16 {
            var key = ShortID(words: (0, 0), count: n)
            if n > 0 { withUnsafeMutableBytes(of: &key.words) { $0.baseAddress!.copyMemory(from: id.baseAddress!, byteCount: n) } }
            if short.contains(key) { return true }
            short.append(key)
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
