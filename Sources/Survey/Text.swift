#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Text helpers: NFC normalisation, comparison keys, UTF-8 checks, all on bytes where it matters.
public enum SurveyText {
    /// `p[0..<n]` without the blanks (spaces and tabs) at its ends, as a cell is read.
    @inline(__always) static func trimmingBlanks(_ p: UnsafePointer<UInt8>, _ n: Int) -> (UnsafePointer<UInt8>, Int) {
        var p = p, n = n
        while n > 0, p[0] == 0x20 || p[0] == 0x09 { p += 1; n -= 1 }
        while n > 0, p[n - 1] == 0x20 || p[n - 1] == 0x09 { n -= 1 }
        return (p, n)
    }

    /// The NFC form of `s` (precomposed accents), so text saved with decomposed accents (common on
    /// macOS) reads the same as text typed on Windows.
    public static func nfc(_ s: String) -> String {
        if s.utf8.allSatisfy({ $0 < 0x80 }) { return s }
        return String(decoding: s._nfcCodeUnits, as: UTF8.self)
    }

    /// The key under which headers and codes compare: NFC, lower case, surrounding blanks removed,
    /// inner runs of blanks collapsed to one space.
    public static func key(_ s: String) -> String {
        let lowered = nfc(s).lowercased()
        var out = ""
        var pendingSpace = false
        for ch in lowered.unicodeScalars {
            if ch == " " || ch == "\t" || ch == "\u{A0}" || ch == "\n" || ch == "\r" {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace { out.unicodeScalars.append(" "); pendingSpace = false }
            out.unicodeScalars.append(ch)
        }
        return nfc(out)
    }

    /// Offset of the first byte that breaks UTF-8 in `p[0..<n]`, or nil when the bytes are valid.
    public static func firstInvalidUTF8(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int? {
        var i = 0
        while i < n {
            let b = p[i]
            if b < 0x80 {
                // Straight to the next non-ASCII byte. Long runs (the ASCII columns after the
                // last name or place of a row) go 32 bytes per test; in Vietnamese text the runs
                // between accented letters are short, so one word test beats a byte loop.
                i &+= 1
                while i &+ 32 <= n {
                    let r = UnsafeRawPointer(p + i)
                    let w = r.loadUnaligned(as: UInt64.self) | r.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                        | r.loadUnaligned(fromByteOffset: 16, as: UInt64.self) | r.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
                    if w & 0x8080_8080_8080_8080 != 0 { break }
                    i &+= 32
                }
                while i &+ 8 <= n {
                    let m = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080
                    if m != 0 { i &+= m.trailingZeroBitCount &>> 3; break }
                    i &+= 8
                }
                continue
            }
            // Common well-formed 2- and 3-byte sequences (Vietnamese letters), checked directly.
            if b >= 0xC2 && b <= 0xDF {
                if i + 1 < n && p[i + 1] & 0xC0 == 0x80 { i += 2; continue }
                return i
            }
            if b >= 0xE1 && b <= 0xEC || b == 0xEE || b == 0xEF {
                if i + 2 < n && p[i + 1] & 0xC0 == 0x80 && p[i + 2] & 0xC0 == 0x80 { i += 3; continue }
                return i
            }
            var need = 0
            var minScalar: UInt32 = 0
            var scalar: UInt32 = 0
            if b & 0xE0 == 0xC0 { need = 1; scalar = UInt32(b & 0x1F); minScalar = 0x80 }
            else if b & 0xF0 == 0xE0 { need = 2; scalar = UInt32(b & 0x0F); minScalar = 0x800 }
            else if b & 0xF8 == 0xF0 { need = 3; scalar = UInt32(b & 0x07); minScalar = 0x10000 }
            else { return i }
            for k in 1...need {
                guard i + k < n, p[i + k] & 0xC0 == 0x80 else { return i }
                scalar = scalar << 6 | UInt32(p[i + k] & 0x3F)
            }
            if scalar < minScalar || scalar > 0x10FFFF || (scalar >= 0xD800 && scalar <= 0xDFFF) { return i }
            i += need + 1
        }
        return nil
    }

    /// True when `p[0..<n]` is valid UTF-8 (`firstInvalidUTF8` finds nothing), for bytes of the
    /// CSV buffer, which may be read up to 15 bytes past `p + n` (the buffer has slack). The
    /// accented letters of Vietnamese text are two- and three-byte sequences whose lead bytes
    /// need no check beyond their continuation bytes (C2–DF, E1–EC, EE, EF): sixteen bytes at
    /// a time, the continuation bytes must then be exactly the ones those leads call for, with
    /// no byte-by-byte decoding. A span with any other lead byte (or none of them at all, like
    /// a stray continuation byte) takes `firstInvalidUTF8`, whose answer it then is.
    static func isUTF8InBuffer(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        #if arch(x86_64)
        var i = 0
        // Continuation bytes that the leads of the block before call for in this one (bits 0, 1).
        var carry: UInt32 = 0
        while i < n {
            let v = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Int8>.self)
            let live: UInt32 = n &- i >= 16 ? 0xFFFF : (1 &<< UInt32(truncatingIfNeeded: n &- i)) &- 1
            let high = UInt32(UInt16(truncatingIfNeeded: _mm_movemask_epi8(unsafeBitCast(v, to: __m128i.self)))) & live
            if high == 0 {
                if carry != 0 { return false }
                i &+= 16
                continue
            }
            var (cont, lead, lead3) = utf8Classes(v)
            cont &= live; lead &= live; lead3 &= live
            if high & ~(cont | lead) != 0 { return firstInvalidUTF8(p, n) == nil }
            let wanted = lead &<< 1 | lead3 &<< 2 | carry
            // In the last block, a sequence cut off by the end leaves a wanted bit past `live`.
            if cont != wanted & (live == 0xFFFF ? 0xFFFF : 0x3FFFF) { return false }
            carry = wanted &>> 16
            i &+= 16
        }
        return carry == 0
        #else
        return firstInvalidUTF8(p, n) == nil
        #endif
    }

    #if arch(x86_64)
    /// The bytes of `v` by their part in the accented letters of Vietnamese text, as bit masks:
    /// continuation bytes (80–BF), leads that need no check beyond their continuation bytes
    /// (C2–DF, and E1–EF but not ED), and the three-byte leads among those. As signed bytes,
    /// each class is a range that one or two signed compares (`pcmpgtb`) find: continuation
    /// bytes are -128...-65, leads C2–DF -62...-33, leads E1–EF -31...-17 (without ED, -19).
    @inline(__always) static func utf8Classes(_ v: SIMD16<Int8>) -> (cont: UInt32, lead: UInt32, lead3: UInt32) {
        @inline(__always) func bits(_ m: SIMDMask<SIMD16<Int8>>) -> UInt32 {
            UInt32(UInt16(truncatingIfNeeded: _mm_movemask_epi8(unsafeBitCast(m, to: __m128i.self))))
        }
        let contTop = SIMD16<Int8>(repeating: -64), lead2Low = SIMD16<Int8>(repeating: -63), lead3Low = SIMD16<Int8>(repeating: -32)
        let lead3Top = SIMD16<Int8>(repeating: -16), ed = SIMD16<Int8>(repeating: -19)
        let lead3Mask = (v .> lead3Low) .& (v .< lead3Top) .& .!(v .== ed)
        let leadMask = (v .> lead2Low) .& (v .< lead3Low) .| lead3Mask
        return (bits(v .< contTop), bits(leadMask), bits(lead3Mask))
    }
    #endif

    static func isASCII(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        let r = UnsafeRawPointer(p)
        // The bytes after the last whole word, and short ids (member ids, household ids), in
        // one or two loads that overlap instead of a byte loop; never past `p + n`.
        if n >= 8 {
            var acc = r.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
            var i = 0
            while i &+ 8 <= n {
                acc |= r.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                i &+= 8
            }
            return acc & 0x8080_8080_8080_8080 == 0
        }
        if n >= 4 {
            return (r.loadUnaligned(as: UInt32.self) | r.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)) & 0x8080_8080 == 0
        }
        if n == 0 { return true }
        return (p[0] | p[n &>> 1] | p[n &- 1]) & 0x80 == 0
    }

    /// A short printable rendering of raw bytes for messages (invalid UTF-8 shown as \xNN).
    static func display(_ p: UnsafePointer<UInt8>, _ n: Int, limit: Int = 60) -> String {
        var out = ""
        var i = 0
        var shown = 0
        while i < n && shown < limit {
            if let bad = firstInvalidUTF8(p + i, n - i) {
                if bad > 0 {
                    out += String(decoding: UnsafeBufferPointer(start: p + i, count: bad), as: UTF8.self)
                    shown += bad
                }
                i += bad
                out += "\\x" + String(p[i], radix: 16, uppercase: true)
                i += 1
                shown += 1
            } else {
                out += String(decoding: UnsafeBufferPointer(start: p + i, count: n - i), as: UTF8.self)
                i = n
            }
        }
        if i < n { out += "…" }
        return out
    }
}
