#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The byte searches of the layout pass (`CSVReader.nextKeyFields`, `skipRecords`): the line
/// feed that ends a row and the commas before its id cell.
///
/// The pass looks at every row of both files but at few bytes of each, so a search is short (a
/// row is 100–200 bytes) and there are millions of them: a `memchr` call then costs more in its
/// set-up than in its scan. These searches are inlined and take 64 bytes a step, one SSE2 byte
/// mask per 16 bytes, so a row's line feed is found in two or three steps with no call.
enum KeyScan {
    /// Offset of the first `byte` in `b[from..<end]`, or `end` when there is none.
    ///
    /// Reads whole 64-byte blocks: up to 63 bytes past `end` must be readable (the reader's
    /// buffer keeps 64 bytes of slack past its data); a match there is not one.
    @inline(__always) static func first(_ byte: UInt8, _ b: UnsafePointer<UInt8>, from: Int, end: Int) -> Int {
        #if arch(x86_64)
        let wanted = _mm_set1_epi8(CChar(bitPattern: byte))
        @inline(__always) func mask(_ m: __m128i) -> UInt64 { UInt64(UInt16(truncatingIfNeeded: _mm_movemask_epi8(m))) }
        var i = from
        while i < end {
            let r = UnsafeRawPointer(b + i)
            let c0 = _mm_cmpeq_epi8(r.loadUnaligned(as: __m128i.self), wanted)
            let c1 = _mm_cmpeq_epi8(r.loadUnaligned(fromByteOffset: 16, as: __m128i.self), wanted)
            let c2 = _mm_cmpeq_epi8(r.loadUnaligned(fromByteOffset: 32, as: __m128i.self), wanted)
            let c3 = _mm_cmpeq_epi8(r.loadUnaligned(fromByteOffset: 48, as: __m128i.self), wanted)
            // Most blocks hold no match: one mask of the four tells, and the match's place is
            // worked out only in the block that has it.
            if _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(c0, c1), _mm_or_si128(c2, c3))) != 0 {
                let m = mask(c0) | mask(c1) &<< 16 | mask(c2) &<< 32 | mask(c3) &<< 48
                return min(i &+ m.trailingZeroBitCount, end)
            }
            i &+= 64
        }
        return end
        #else
        return plainFirst(byte, b, from: from, end: end)
        #endif
    }

    /// `first` for a byte that is usually close (the comma after an id): the 16 bytes from
    /// `from` are tried with one compare before the 64-byte steps. The same reading slack applies.
    @inline(__always) static func firstNear(_ byte: UInt8, _ b: UnsafePointer<UInt8>, from: Int, end: Int) -> Int {
        #if arch(x86_64)
        let v = UnsafeRawPointer(b + from).loadUnaligned(as: __m128i.self)
        let m = UInt32(UInt16(truncatingIfNeeded: _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(CChar(bitPattern: byte))))))
        if m != 0 { return min(from &+ m.trailingZeroBitCount, end) }
        return first(byte, b, from: from &+ 16, end: end)
        #else
        return plainFirst(byte, b, from: from, end: end)
        #endif
    }

    /// Bit i set when `b[i]` is a line feed, for i in 0..<64 (all 64 bytes must be readable).
    @inline(__always) static func lineFeeds(_ b: UnsafePointer<UInt8>) -> UInt64 {
        #if arch(x86_64)
        let lf = _mm_set1_epi8(0x0A)
        @inline(__always) func mask(_ offset: Int) -> UInt64 {
            let v = UnsafeRawPointer(b).loadUnaligned(fromByteOffset: offset, as: __m128i.self)
            return UInt64(UInt16(truncatingIfNeeded: _mm_movemask_epi8(_mm_cmpeq_epi8(v, lf))))
        }
        return mask(0) | mask(16) &<< 16 | mask(32) &<< 32 | mask(48) &<< 48
        #else
        var m: UInt64 = 0
        for i in 0..<64 where b[i] == 0x0A { m |= 1 << UInt64(i) }
        return m
        #endif
    }

    /// The same search with `memchr` (no reading past `end`).
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
