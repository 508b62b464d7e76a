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
        let wanted = SIMD16<UInt8>(repeating: byte)
        @inline(__always) func mask(_ m: SIMDMask<SIMD16<Int8>>) -> UInt64 {
            UInt64(UInt16(truncatingIfNeeded: _mm_movemask_epi8(unsafeBitCast(m, to: __m128i.self))))
        }
        var i = from
        while i < end {
            let r = UnsafeRawPointer(b + i)
            let v0 = r.loadUnaligned(as: SIMD16<UInt8>.self), v1 = r.loadUnaligned(fromByteOffset: 16, as: SIMD16<UInt8>.self)
            let v2 = r.loadUnaligned(fromByteOffset: 32, as: SIMD16<UInt8>.self), v3 = r.loadUnaligned(fromByteOffset: 48, as: SIMD16<UInt8>.self)
            let m = mask(v0 .== wanted) | mask(v1 .== wanted) &<< 16 | mask(v2 .== wanted) &<< 32 | mask(v3 .== wanted) &<< 48
            if m != 0 { return min(i &+ m.trailingZeroBitCount, end) }
            i &+= 64
        }
        return end
        #else
        return plainFirst(byte, b, from: from, end: end)
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
}
