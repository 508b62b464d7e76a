#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The id comparisons and copies of the layout pass, and the plain pass's byte search.
///
/// The pass handles millions of ids of a few bytes each: a `memcmp` or `memcpy` call then costs
/// more in its set-up than in its work, so ids of 4 to 16 bytes go as words, with no call. The
/// rows themselves are walked by the C kernel (`clayout_member_runs`, `clayout_key_rows`).
enum KeyScan {
    /// Offset of the first `byte` in `b[from..<end]`, or `end` when there is none (`memchr`).
    @inline(__always) static func plainFirst(_ byte: UInt8, _ b: UnsafePointer<UInt8>, from: Int, end: Int) -> Int {
        guard from < end, let q = memchr(b + from, Int32(byte), end - from) else { return end }
        return UnsafeRawPointer(q).assumingMemoryBound(to: UInt8.self) - b
    }

    /// True when `a[0..<n]` and `b[0..<n]` hold the same bytes. Ids of 4 to 16 bytes (the usual
    /// id and its comma) are compared as two overlapping words each, with no call; neither side
    /// is read past `n`.
    @inline(__always) static func equal(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        if n >= 8 && n <= 16 {
            return ra.loadUnaligned(as: UInt64.self) == rb.loadUnaligned(as: UInt64.self)
                && ra.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self) == rb.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
        }
        if n >= 4 && n < 8 {
            return ra.loadUnaligned(as: UInt32.self) == rb.loadUnaligned(as: UInt32.self)
                && ra.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self) == rb.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)
        }
        return memcmp(a, b, n) == 0
    }

    /// Copies `n` bytes from `source` to `target`. Ids of 4 to 16 bytes go as two overlapping
    /// words, with no `memcpy` call; neither side is touched past `n`.
    @inline(__always) static func copy(_ source: UnsafePointer<UInt8>, _ n: Int, to target: UnsafeMutablePointer<UInt8>) {
        let s = UnsafeRawPointer(source), t = UnsafeMutableRawPointer(target)
        if n >= 8 && n <= 16 {
            let head = s.loadUnaligned(as: UInt64.self), tail = s.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
            t.storeBytes(of: head, as: UInt64.self)
            t.storeBytes(of: tail, toByteOffset: n &- 8, as: UInt64.self)
        } else if n >= 4 && n < 8 {
            let head = s.loadUnaligned(as: UInt32.self), tail = s.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)
            t.storeBytes(of: head, as: UInt32.self)
            t.storeBytes(of: tail, toByteOffset: n &- 4, as: UInt32.self)
        } else {
            target.update(from: source, count: n)
        }
    }

    /// The byte order of `a[0..<na]` and `b[0..<nb]` (negative, 0, positive, as `memcmp`, the
    /// shorter first when one is the start of the other). When the shorter holds 4 to 16 bytes
    /// (the usual id) it compares two big-endian words, with no call.
    @inline(__always) static func order(_ a: UnsafePointer<UInt8>, _ na: Int, _ b: UnsafePointer<UInt8>, _ nb: Int) -> Int {
        let n = min(na, nb)
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        /// The order of the first and then the last `W`-sized words before `n`: when the first
        /// words agree, the first difference in bytes `W..<n` is the first in the last word.
        @inline(__always) func wordOrder<W: FixedWidthInteger & UnsignedInteger>(_: W.Type) -> Int {
            let a0 = W(bigEndian: ra.loadUnaligned(as: W.self)), b0 = W(bigEndian: rb.loadUnaligned(as: W.self))
            if a0 != b0 { return a0 < b0 ? -1 : 1 }
            let a1 = W(bigEndian: ra.loadUnaligned(fromByteOffset: n &- W.bitWidth / 8, as: W.self))
            let b1 = W(bigEndian: rb.loadUnaligned(fromByteOffset: n &- W.bitWidth / 8, as: W.self))
            return a1 == b1 ? 0 : a1 < b1 ? -1 : 1
        }
        if n >= 8 && n <= 16 {
            let c = wordOrder(UInt64.self)
            if c != 0 { return c }
        } else if n >= 4 && n < 8 {
            let c = wordOrder(UInt32.self)
            if c != 0 { return c }
        } else {
            let c = Int(memcmp(a, b, n))
            if c != 0 { return c }
        }
        return na < nb ? -1 : na == nb ? 0 : 1
    }
}
