#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The member ids seen so far in one household, as the bytes of their NFC form, for the
/// duplicate-member check.
///
/// Ids compare as NFC text (`String ==` of NFC strings), which is the same as comparing the
/// bytes of their NFC forms: NFC is one canonical spelling per text. An ASCII id is its own NFC
/// form, so the usual id is checked on the cell's bytes without making a String; only non-ASCII
/// ids are normalised first.
struct MemberIDSet {
    private var bytes: [UInt8] = []
    /// End offset in `bytes` of each id (each id starts where the one before it ends).
    private var ends: [Int] = []

    var count: Int { ends.count }

    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
    }

    /// Adds the id whose NFC form is `id`; true when it was there already.
    mutating func insert(_ id: UnsafeBufferPointer<UInt8>) -> Bool {
        let seen = contains(id)
        bytes.append(contentsOf: id)
        ends.append(bytes.count)
        return seen
    }

    /// Adds `id`, an NFC string; true when it was there already.
    mutating func insert(nfc id: String) -> Bool {
        var s = id
        return s.withUTF8 { insert($0) }
    }

    private func contains(_ id: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = id.count
        return bytes.withUnsafeBufferPointer { b in
            var start = 0
            for end in ends {
                if end - start == n && (n == 0 || memcmp(b.baseAddress! + start, id.baseAddress!, n) == 0) { return true }
                start = end
            }
            return false
        }
    }
}
