import Testing
@testable import Survey

/// The first byte that breaks UTF-8, straight from the Unicode standard's table of well-formed
/// byte sequences (Table 3-7), one sequence at a time: the reference for the fast validator.
func referenceFirstInvalidUTF8(_ b: [UInt8]) -> Int? {
    var i = 0
    while i < b.count {
        let c = b[i]
        if c < 0x80 { i += 1; continue }
        var need = 0
        var second: ClosedRange<UInt8> = 0x80...0xBF
        switch c {
        case 0xC2...0xDF: need = 1
        case 0xE0: need = 2; second = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xED: need = 2; second = 0x80...0x9F
        case 0xF0: need = 3; second = 0x90...0xBF
        case 0xF1...0xF3: need = 3
        case 0xF4: need = 3; second = 0x80...0x8F
        default: return i
        }
        for k in 1...need {
            guard i + k < b.count else { return i }
            let range: ClosedRange<UInt8> = k == 1 ? second : 0x80...0xBF
            guard range.contains(b[i + k]) else { return i }
        }
        i += need + 1
    }
    return nil
}

/// Random bytes made of ASCII runs of every length around the validator's 8- and 32-byte steps,
/// Vietnamese letters precomposed and decomposed, the edge lead bytes (E0, ED, F0, F4) with
/// good and bad second bytes, and broken bytes (lone continuations, C0/C1, F5-FF, cut sequences).
func trickyUTF8(seed: UInt64, pieces count: Int) -> [UInt8] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    func rnd(_ n: Int) -> Int {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return Int(state % UInt64(n))
    }
    let good: [[UInt8]] = [
        Array("Nguyễn".utf8), Array("Thôn Hợp Tiến".utf8), Array("o\u{302}\u{301}".utf8), Array("ươ".utf8), Array("Đ".utf8),
        [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF], [0xEF, 0xBB, 0xBF],
        Array("😀".utf8), [0xC2, 0x80], [0xDF, 0xBF],
    ]
    let bad: [[UInt8]] = [
        [0x80], [0xBF], [0xC0, 0x80], [0xC1, 0xBF], [0xF5, 0x80, 0x80, 0x80], [0xFF], [0xE0, 0x9F, 0x80], [0xED, 0xA0, 0x80],
        [0xF0, 0x8F, 0x80, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE1, 0xBA], [0xC3], [0xF0, 0x90, 0x80], [0xE1, 0x41, 0x80],
    ]
    var out: [UInt8] = []
    for _ in 0..<count {
        switch rnd(10) {
        case 0...4: out += Array(repeating: UInt8(0x41 + rnd(26)), count: rnd(40))
        case 5...8: out += good[rnd(good.count)]
        default: if rnd(4) == 0 { out += bad[rnd(bad.count)] }
        }
    }
    return out
}

@Suite struct FastPathTests {
    /// The validator (word-wise ASCII runs, direct checks of 2- and 3-byte letters) finds the
    /// same first bad byte as the standard's table, on every prefix and suffix of tricky input.
    @Test func utf8ValidatorAgreesWithTheStandard() {
        for seed in UInt64(1)...400 {
            let bytes = trickyUTF8(seed: seed, pieces: 1 + Int(seed % 30))
            let cuts = [0, 1, 7, 8, 9, 31, 32, 33, bytes.count / 2].filter { $0 <= bytes.count }
            for cut in cuts {
                for part in [Array(bytes[cut...]), Array(bytes[..<(bytes.count - cut)])] {
                    let got = part.withUnsafeBufferPointer { SurveyText.firstInvalidUTF8($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count) }
                    #expect(got == referenceFirstInvalidUTF8(part), "seed \(seed), cut \(cut)")
                }
            }
        }
    }

    /// The sixteen-byte validator of CSV records (continuation bytes against the two- and
    /// three-byte leads that call for them) says valid exactly when the standard's table finds no
    /// bad byte: on prefixes and suffixes of tricky input, with sequences cut at a block's end or
    /// at the span's end, and with the bytes after the span (which it reads) being anything.
    @Test func bufferUTF8ValidatorAgreesWithTheStandard() {
        for seed in UInt64(1)...600 {
            let bytes = trickyUTF8(seed: seed, pieces: 1 + Int(seed % 30))
            let cuts = [0, 1, 2, 14, 15, 16, 17, 31, 32, 33, bytes.count / 2].filter { $0 <= bytes.count }
            for cut in cuts {
                for part in [Array(bytes[cut...]), Array(bytes[..<(bytes.count - cut)])] {
                    let want = referenceFirstInvalidUTF8(part) == nil
                    // Slack after the span as the CSV buffer has it: continuation bytes that could
                    // finish a cut sequence, and plain ASCII.
                    for filler in [UInt8(0x80), 0x41, 0xE1] {
                        let padded = part + Array(repeating: filler, count: 16)
                        let got = padded.withUnsafeBufferPointer { SurveyText.isUTF8InBuffer($0.baseAddress!, part.count) }
                        #expect(got == want, "seed \(seed), cut \(cut), filler \(filler)")
                    }
                }
            }
        }
    }

    /// Spellings of 17...32 bytes (found again in the token table's long slots after the first
    /// miss) resolve to their own value each time they are met, also among spellings that
    /// differ in one byte anywhere, share their first and last words, or map to the same slot.
    @Test func longCodeSpellingsResolveAsTheirOwn() {
        func valueOf(_ s: String) -> Int64 { s.utf8.reduce(Int64(7)) { ($0 &* 31 &+ Int64($1)) & 0xFF_FFFF } }
        let table = TokenTable(resolve: valueOf)
        let stem = Array("wage_without_contract_and_more_x".utf8)
        for round in 0..<3 {
            for n in 16...33 {
                for at in stride(from: 0, to: n, by: round == 0 ? 1 : 3) {
                    var bytes = Array(stem[..<min(n, stem.count)]) + Array(repeating: UInt8(0x79), count: max(0, n - stem.count))
                    bytes[at] = 0x2D
                    let want = valueOf(String(decoding: bytes, as: UTF8.self))
                    // Slack after the cell, as the CSV buffer has.
                    let got = (bytes + Array(repeating: UInt8(0x41), count: 32)).withUnsafeBufferPointer { table.value($0.baseAddress!, n) }
                    #expect(got == want, "round \(round), length \(n), changed byte \(at)")
                }
            }
        }
    }

    /// The text cache gives the NFC String of the bytes, whatever it met before: repeats (the
    /// previous row's value), values sharing their first and last words, NFD spellings of cached
    /// NFC values, lengths around its word compares and its slot size.
    @Test func textCacheGivesTheNFCStringOfTheBytes() {
        let cache = TextCache()
        let base = ["Thôn Hợp Tiến", "Thôn Hợp Tiếm", "Thôn Hợp Tiến A", "Hà Tĩnh", "Xã Thạch Hạ", "TH000001", "TH0000012",
                    "Thành phố Hà Tĩnh", String(repeating: "ễ", count: 21), String(repeating: "ễ", count: 22), "ABCDEFGHIJKLMNOP",
                    "Tổ dân phố 1", "To\u{302} da\u{302}n pho\u{302}\u{301} 1", "12345678", "1"]
        var state: UInt64 = 7
        for step in 0..<3000 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            let text = base[Int(state % UInt64(base.count))] + (step % 7 == 0 ? "\(step % 13)" : "")
            let bytes = Array(text.utf8)
            // Slack after the value, as in the CSV buffer: the cache reads whole words.
            let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: bytes.count + 16)
            buffer.initialize(repeating: 0x2C, count: bytes.count + 16)
            buffer.update(from: bytes, count: bytes.count)
            let got = cache.string(UnsafePointer(buffer), bytes.count)
            #expect(got == SurveyText.nfc(text), "step \(step): \(text)")
            #expect(Array(got.utf8) == Array(SurveyText.nfc(text).utf8))
            buffer.deallocate()
        }
    }

    /// The member id set (ids of up to 16 bytes as two words and a length, emptied per household
    /// by resetting a count) answers like a set of byte arrays: ids sharing their first or last
    /// eight bytes, lengths 0...20, and ids left in slots from an earlier household.
    @Test func memberIDSetAnswersLikeASetOfBytes() {
        var state: UInt64 = 11
        func rnd(_ n: Int) -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(state % UInt64(n))
        }
        var set = MemberIDSet()
        var reference = Set<[UInt8]>()
        for step in 0..<20_000 {
            if rnd(6) == 0 {
                set.removeAll()
                reference.removeAll()
            }
            let n = rnd(21)
            var id = [UInt8](repeating: 0x30, count: n)
            if n > 0 { id[rnd(n)] = UInt8(0x30 + rnd(3)) }
            let seen = id.withUnsafeBufferPointer { set.insert($0) }
            #expect(seen == reference.contains(id), "step \(step): \(id)")
            reference.insert(id)
            #expect(set.count == reference.count)
        }
    }

    /// The byte hash reads its last bytes in one or two loads: short inputs that differ in any
    /// byte or in length still hash apart.
    @Test func hashOfShortBytesTellsThemApart() {
        var seen: [UInt64: [UInt8]] = [:]
        let alphabet: [UInt8] = [0x00, 0x41, 0x61, 0xC3, 0xFF]
        func add(_ b: [UInt8]) {
            let h = b.withUnsafeBufferPointer { hashBytes($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count) }
            if let other = seen[h] { #expect(other == b, "\(b) and \(other)") }
            seen[h] = b
        }
        add([])
        var current: [[UInt8]] = [[]]
        for _ in 1...5 {
            current = current.flatMap { p in alphabet.map { p + [$0] } }
            current.forEach(add)
        }
        // Longer ones that differ in one byte anywhere, the overlapping last word included.
        for n in 6...20 {
            for k in 0..<n {
                var b = [UInt8](repeating: 0x61, count: n)
                b[k] = 0x62
                add(b)
            }
            add([UInt8](repeating: 0x61, count: n))
        }
    }
}
