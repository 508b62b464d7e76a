import Diagnostics
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A 64-bit hash of bytes (multiply-xorshift over 8-byte words, murmur finaliser).
@inline(__always) func hashBytes(_ p: UnsafePointer<UInt8>, _ n: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> UInt64 {
    var h = seed ^ UInt64(n) &* 0xFF51_AFD7_ED55_8CCD
    var i = 0
    while i + 8 <= n {
        let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
        h = (h ^ w) &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        i += 8
    }
    // The last bytes in at most two loads, not one at a time: with the length in the seed they
    // still determine the input (the last word may overlap the words above).
    var tail: UInt64 = 0
    if i < n {
        if n >= 8 {
            tail = UnsafeRawPointer(p + (n &- 8)).loadUnaligned(as: UInt64.self)
        } else if n >= 4 {
            tail = UInt64(UnsafeRawPointer(p).loadUnaligned(as: UInt32.self))
                | UInt64(UnsafeRawPointer(p + (n &- 4)).loadUnaligned(as: UInt32.self)) << 32
        } else {
            tail = UInt64(p[0]) | UInt64(p[n >> 1]) << 8 | UInt64(p[n &- 1]) << 16
        }
    }
    h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
    h ^= h >> 33
    h = h &* 0xFF51_AFD7_ED55_8CCD
    h ^= h >> 33
    return h | 1
}

/// Interns the spellings met in one column: raw bytes → resolved value (code id, flag), with the
/// slow path (NFC, case folding, mapping) run once per distinct spelling. Spellings of up to 24
/// bytes are compared as three machine words in a short list; longer ones go through a hash table.
final class TokenTable {
    /// Open-addressed short spellings: 4 words per slot (len + 1, w0, w1, w2; 0 = empty).
    @exclusivity(unchecked) private var small: UnsafeMutablePointer<UInt64>
    @exclusivity(unchecked) private var smallVals: UnsafeMutablePointer<Int64>
    @exclusivity(unchecked) private var smallCount = 0
    private static let smallSlots = 256
    private let smallCap = 96
    @exclusivity(unchecked) private var hashes: [UInt64]
    @exclusivity(unchecked) private var offs: [Int32]
    @exclusivity(unchecked) private var lens: [Int32]
    @exclusivity(unchecked) private var vals: [Int64]
    @exclusivity(unchecked) private var arena: [UInt8] = []
    @exclusivity(unchecked) private var used = 0
    private let mask: Int
    private let resolveSlow: (String) -> Int64

    init(capacity: Int = 512, resolve: @escaping (String) -> Int64) {
        hashes = Array(repeating: 0, count: capacity)
        offs = Array(repeating: 0, count: capacity)
        lens = Array(repeating: 0, count: capacity)
        vals = Array(repeating: 0, count: capacity)
        mask = capacity - 1
        resolveSlow = resolve
        small = .allocate(capacity: TokenTable.smallSlots * 4)
        small.initialize(repeating: 0, count: TokenTable.smallSlots * 4)
        smallVals = .allocate(capacity: TokenTable.smallSlots)
        // Length 0 in every slot: never a hit, since empty cells are not resolved.
        fast = .allocate(capacity: TokenTable.fastWords)
        fast.initialize(repeating: 0, count: TokenTable.fastWords)
    }

    deinit {
        small.deallocate()
        smallVals.deallocate()
        fast.deallocate()
    }

    /// `cached`, else `resolve` (which fills the cache slot).
    @inline(__always) func value(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int64 {
        if let v = TokenTable.cached(fast, p, n) { return v }
        return resolveAndCache(p, n)
    }

    /// The miss path of `cached`, where spellings of 17...32 bytes find their own slots first.
    @inline(never) func resolveAndCache(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int64 {
        if n >= 17 && n <= 32, let v = TokenTable.cachedLong(fast, p, n) { return v }
        let v = resolve(p, n)
        if n >= 1 && n <= 16 {
            let (a, b) = TokenTable.fastKey(p, n)
            let e = fast + TokenTable.fastSlot(a, b, n) &* 3
            e[0] = a
            e[1] = b
            e[2] = UInt64(bitPattern: v &<< 8) | UInt64(n)
        } else if n >= 17 && n <= 32 {
            let k = TokenTable.longKey(p, n)
            let e = fast + (TokenTable.longSlotsStart &+ TokenTable.longSlot(k, n) &* 5)
            e[0] = k.0
            e[1] = k.1
            e[2] = k.2
            e[3] = k.3
            e[4] = UInt64(bitPattern: v &<< 8) | UInt64(n)
        }
        return v
    }

    /// A direct-mapped cache in front of the tables below for spellings of 1...16 bytes (nearly
    /// all codes and flags): a slot is (first 8 bytes, last 8 bytes, length | value << 8), which
    /// identifies such a spelling exactly, so a hit is two loads, a multiply and three compares.
    @exclusivity(unchecked) private(set) var fast: UnsafeMutablePointer<UInt64>
    static let fastBits = 7
    /// After the short slots, slots of five words for spellings of 17...32 bytes, such as
    /// `wage_without_contract`: a column's few long codes, met on every row that has them,
    /// would otherwise be hashed and searched for in the tables below each time.
    static let longBits = 5
    static let longSlotsStart = 3 << fastBits
    static let fastWords = longSlotsStart + 5 << longBits

    /// Words at 0, 8, n - 16 and n - 8 of a spelling of 17...32 bytes: with the length, every
    /// byte, so equal keys mean equal spellings.
    @inline(__always) static func longKey(_ p: UnsafePointer<UInt8>, _ n: Int) -> (UInt64, UInt64, UInt64, UInt64) {
        let r = UnsafeRawPointer(p)
        return (r.loadUnaligned(as: UInt64.self), r.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                r.loadUnaligned(fromByteOffset: n &- 16, as: UInt64.self), r.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self))
    }

    @inline(__always) static func longSlot(_ k: (UInt64, UInt64, UInt64, UInt64), _ n: Int) -> Int {
        let h = (k.0 ^ (k.1 &* 0xC2B2_AE3D_27D4_EB4F) ^ (k.2 &* 0x1656_67B1_9E37_79F9) ^ (k.3 &* 0x27D4_EB2F_1656_67C5)
                 ^ UInt64(truncatingIfNeeded: n)) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: h &>> UInt64(64 - longBits))
    }

    /// `cached` for spellings of 17...32 bytes, asked on `cached`'s misses only: the loops
    /// that call `cached` for every cell stay as they are for the short spellings of nearly
    /// every cell.
    @inline(__always) static func cachedLong(_ fast: UnsafeMutablePointer<UInt64>, _ p: UnsafePointer<UInt8>, _ n: Int) -> Int64? {
        let k = longKey(p, n)
        let e = fast + (longSlotsStart &+ longSlot(k, n) &* 5)
        if e[0] == k.0 && e[1] == k.1 && e[2] == k.2 && e[3] == k.3 && e[4] & 0xFF == UInt64(truncatingIfNeeded: n) {
            return Int64(bitPattern: e[4]) &>> 8
        }
        return nil
    }

    @inline(__always) static func fastKey(_ p: UnsafePointer<UInt8>, _ n: Int) -> (UInt64, UInt64) {
        let w = UnsafeRawPointer(p).loadUnaligned(as: UInt64.self)
        if n >= 8 { return (w, UnsafeRawPointer(p + (n &- 8)).loadUnaligned(as: UInt64.self)) }
        return (w & (UInt64.max &>> UInt64(truncatingIfNeeded: 64 &- 8 &* n)), 0)
    }

    @inline(__always) static func fastSlot(_ a: UInt64, _ b: UInt64, _ n: Int) -> Int {
        let h = (a ^ (b &* 0xC2B2_AE3D_27D4_EB4F) ^ UInt64(truncatingIfNeeded: n)) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: h &>> UInt64(64 - fastBits))
    }

    /// The cached value of a spelling of 1...16 bytes at `fast` (from `TokenTable.fast`), or nil
    /// on a miss (then `resolve` answers and fills the slot). Reads 8 bytes from `p` and from
    /// `p + n - 8`: the CSV buffer has slack after its end.
    @inline(__always) static func cached(_ fast: UnsafeMutablePointer<UInt64>, _ p: UnsafePointer<UInt8>, _ n: Int) -> Int64? {
        guard n <= 16 else { return nil }
        let (a, b) = fastKey(p, n)
        let e = fast + fastSlot(a, b, n) &* 3
        if e[0] == a && e[1] == b && e[2] & 0xFF == UInt64(truncatingIfNeeded: n) {
            return Int64(bitPattern: e[2]) &>> 8
        }
        return nil
    }

    @inline(__always) static func word(_ p: UnsafePointer<UInt8>, _ k: Int) -> UInt64 {
        if k <= 0 { return 0 }
        let w = UnsafeRawPointer(p).loadUnaligned(as: UInt64.self)
        return k >= 8 ? w : w & (UInt64.max &>> UInt64(truncatingIfNeeded: 64 - 8 * k))
    }

    /// The value of a spelling; negative when it is not a known spelling. Reads up to 24 bytes
    /// from `p` (the CSV buffer has slack after its end).
    @inline(__always) func resolve(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int64 {
        if n <= 24 {
            let w0 = TokenTable.word(p, n), w1 = TokenTable.word(p + 8, n - 8), w2 = TokenTable.word(p + 16, n - 16)
            let len = UInt64(n) &+ 1
            var h = w0 ^ (w1 &* 0xC2B2_AE3D_27D4_EB4F) ^ (w2 &* 0x1656_67B1_9E37_79F9) ^ (len << 56)
            h = (h ^ (h >> 29)) &* 0x9E37_79B9_7F4A_7C15
            var slot = Int(truncatingIfNeeded: h >> 56)
            while true {
                let e = small + slot * 4
                let l = e[0]
                if l == len && e[1] == w0 && e[2] == w1 && e[3] == w2 { return smallVals[slot] }
                if l == 0 {
                    if smallCount < smallCap {
                        let v = resolveSlow(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self))
                        e[0] = len; e[1] = w0; e[2] = w1; e[3] = w2
                        smallVals[slot] = v
                        smallCount += 1
                        return v
                    }
                    break
                }
                slot = (slot + 1) & (TokenTable.smallSlots - 1)
            }
        }
        let h = hashBytes(p, n)
        var slot = Int(truncatingIfNeeded: h) & mask
        while hashes[slot] != 0 {
            if hashes[slot] == h && Int(lens[slot]) == n {
                let o = Int(offs[slot])
                let same = arena.withUnsafeBufferPointer { memcmp($0.baseAddress! + o, p, n) == 0 }
                if same { return vals[slot] }
            }
            slot = (slot + 1) & mask
        }
        let v = resolveSlow(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self))
        if used * 2 < hashes.count && n < 256 {
            hashes[slot] = h
            offs[slot] = Int32(arena.count)
            lens[slot] = Int32(n)
            vals[slot] = v
            arena.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
            used += 1
        }
        return v
    }
}

/// The spellings of 1...32 bytes met in one column and their values (from its `TokenTable`),
/// by length, for the column decode: a column's cells use a few spellings (its codes, the flag
/// words), so a look-up is one masked load and the compares of a few ways, with no hashing.
/// A way holds a spelling's words at 0 and n - 8 (up to 16 bytes; the first masked to the
/// length, the second 0 up to 8 bytes) and, beyond 16 bytes, at 8 and n - 16 too: with the
/// length, every byte (as `TokenTable.fastKey` and `longKey`). An unused way holds value -1,
/// which sends the cell to the token table like a miss, so no cell is ever given a value its
/// bytes do not have.
final class ShortSpellings {
    static let ways = 4
    static let longest = 32
    /// Words per way: four words of the spelling and its value.
    static let wayWords = 5
    /// Words per length: the mask of a spelling's first word, then the ways.
    static let stride = 1 + wayWords * ways
    let words: UnsafeMutablePointer<UInt64>
    let token: TokenTable
    /// Spellings met, one a slot by a hash of their first word and length, for the code decode's
    /// loop: a cell is checked against its slot's one spelling with no branch on its length and
    /// no search of ways (codes of many lengths sharing first bytes and prefixes made the search
    /// of the ways mispredict at most cells). A slot's words: the spelling's four words as
    /// `slotKey` gives them, its length plus one (0: an unused slot) and its value.
    let slots: UnsafeMutablePointer<UInt64>
    static let slotCount = 128, slotWords = 8

    init(_ token: TokenTable) {
        self.token = token
        slots = .allocate(capacity: ShortSpellings.slotCount * ShortSpellings.slotWords)
        slots.initialize(repeating: 0, count: ShortSpellings.slotCount * ShortSpellings.slotWords)
        let count = (ShortSpellings.longest + 1) * ShortSpellings.stride
        words = .allocate(capacity: count)
        words.initialize(repeating: 0, count: count)
        for n in 1...ShortSpellings.longest {
            let e = words + n * ShortSpellings.stride
            e[0] = n >= 8 ? .max : UInt64.max >> UInt64(64 - 8 * n)
            for k in 0..<ShortSpellings.ways { e[ShortSpellings.wayWords * (k + 1)] = UInt64(bitPattern: -1) }
        }
    }

    deinit {
        words.deallocate()
        slots.deallocate()
    }

    @inline(__always) private static func load(_ p: UnsafePointer<UInt8>, _ offset: Int) -> UInt64 {
        UnsafeRawPointer(p + offset).loadUnaligned(as: UInt64.self)
    }

    /// The words of spelling `p[0..<n]` that with its length hold every byte: its first word
    /// masked to its length, and (0 for a shorter spelling) the word ending at its end beyond 8
    /// bytes, the words at 8 and n - 16 beyond 16. Taken with no branch on the length; reads 16
    /// bytes from `p` (the CSV buffer has slack) and none before it.
    @inline(__always) static func slotKey(_ p: UnsafePointer<UInt8>, _ n: Int) -> (UInt64, UInt64, UInt64, UInt64) {
        // All ones past a length, else 0, and the bounds of the length, by arithmetic: as
        // conditions they were compiled to branches, which mispredict on columns of many lengths.
        @inline(__always) func past(_ k: Int) -> Int { (k &- n) &>> 63 }
        let some = past(0), past8 = past(8), past16 = past(16)
        let upTo8 = 8 &+ ((n &- 8) & ~past8), from8 = 8 &+ ((n &- 8) & past8), from16 = 16 &+ ((n &- 16) & past16)
        return (load(p, 0) & (UInt64.max &>> UInt64(truncatingIfNeeded: 64 &- 8 &* upTo8)) & UInt64(bitPattern: Int64(some)),
                load(p, from8 &- 8) & UInt64(bitPattern: Int64(past8)), load(p, 8) & UInt64(bitPattern: Int64(past16)),
                load(p, from16 &- 16) & UInt64(bitPattern: Int64(past16)))
    }

    /// The slot of a spelling of `n` bytes whose first word (masked) is `first`.
    @inline(__always) static func slot(_ slots: UnsafePointer<UInt64>, _ first: UInt64, _ n: Int) -> UnsafePointer<UInt64> {
        let h = (first ^ UInt64(truncatingIfNeeded: n)) &* 0x9E37_79B9_7F4A_7C15
        return slots + Int(truncatingIfNeeded: h &>> 57) &* slotWords
    }

    /// The value of spelling `p[0..<n]` in `slots`, and whether its slot holds it (else the
    /// value is meaningless). One compare of all its words at once: no branch.
    @inline(__always) static func slotValue(_ slots: UnsafePointer<UInt64>, _ p: UnsafePointer<UInt8>,
                                            _ n: Int) -> (value: Int64, held: Bool) {
        let k = slotKey(p, n), e = slot(slots, k.0, n)
        let differs = (e[0] ^ k.0) | (e[1] ^ k.1) | (e[2] ^ k.2) | (e[3] ^ k.3) | (e[4] ^ UInt64(truncatingIfNeeded: n &+ 1))
        return (Int64(bitPattern: e[5]), differs == 0)
    }

    /// Puts spelling `p[0..<n]` (at most `longest` bytes; empty for an empty cell) and its value
    /// in its slot, if the slot is unused.
    func learnSlot(_ p: UnsafePointer<UInt8>, _ n: Int, _ v: Int64) {
        guard n <= ShortSpellings.longest else { return }
        let k = ShortSpellings.slotKey(p, n), e = UnsafeMutablePointer(mutating: ShortSpellings.slot(slots, k.0, n))
        guard e[4] == 0 else { return }
        (e[0], e[1], e[2], e[3]) = k
        e[4] = UInt64(n + 1)
        e[5] = UInt64(bitPattern: v)
    }

    /// The value of spelling `p[0..<n]` (n > 0) whose slot did not hold it in a loop: its slot
    /// (which may have learnt it since), else its way, else the token table; a known spelling
    /// then takes its slot if unused. Negative for an unknown spelling.
    @inline(never) func slotMiss(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int64 {
        let held = ShortSpellings.slotValue(slots, p, n)
        if held.held { return held.value }
        let way = ShortSpellings.value(words, p, n)
        let v = way >= 0 ? way : resolve(p, n)
        if v >= 0 { learnSlot(p, n, v) }
        return v
    }

    /// The word of a spelling ending at its end, for more than 8 bytes; 0 for a shorter one.
    @inline(__always) private static func lastWord(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        n > 8 ? load(p, n &- 8) : 0
    }

    /// True when way `w` (from `words`) holds the spelling of more than 16 bytes at `p`, whose
    /// first and last words it holds already.
    @inline(__always) private static func middleMatches(_ w: UnsafePointer<UInt64>, _ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        w[2] == load(p, 8) && w[3] == load(p, n &- 16)
    }

    /// The value of spelling `p[0..<n]` (n > 0) when a way of `words` holds it, else a negative
    /// number (then `resolve` answers). Reads 8 bytes from `p`: the CSV buffer has slack.
    @inline(__always) static func value(_ words: UnsafePointer<UInt64>, _ p: UnsafePointer<UInt8>, _ n: Int) -> Int64 {
        guard n <= longest else { return -1 }
        let e = words + n &* stride
        let a = load(p, 0) & e[0], b = lastWord(p, n)
        var w = e + 1
        for _ in 0..<ways {
            if w[0] == a && w[1] == b && (n <= 16 || middleMatches(w, p, n)) { return Int64(bitPattern: w[4]) }
            w += wayWords
        }
        return -1
    }

    /// The value the token table gives `p[0..<n]` (negative for an unknown spelling); a known
    /// spelling of at most `longest` bytes takes an unused way of its length, if any.
    @inline(never) func resolve(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int64 {
        let v = token.value(p, n)
        remember(p, n, v)
        return v
    }

    /// Puts spelling `p[0..<n]` and its value `v` in an unused way of its length, if any (and
    /// `v` is not negative).
    func remember(_ p: UnsafePointer<UInt8>, _ n: Int, _ v: Int64) {
        guard v >= 0, n >= 1, n <= ShortSpellings.longest else { return }
        let e = words + n * ShortSpellings.stride
        var w = e + 1
        for _ in 0..<ShortSpellings.ways {
            if Int64(bitPattern: w[4]) < 0 {
                w[0] = ShortSpellings.load(p, 0) & e[0]
                w[1] = ShortSpellings.lastWord(p, n)
                w[2] = n > 16 ? ShortSpellings.load(p, 8) : 0
                w[3] = n > 16 ? ShortSpellings.load(p, n - 16) : 0
                w[4] = UInt64(bitPattern: v)
                break
            }
            w += ShortSpellings.wayWords
        }
    }
}

/// The spellings met in one flag or code column of clean records (`CellSpans` without padded
/// cells) with a comma after each cell (every column but the last), each in the slot of its first
/// byte, for the column decode's loop: a cell is decided by one masked 8-byte compare with the
/// spelling and comma its slot holds (the comma tells the cell's end: a clean cell holds no
/// comma), with no length, hashing or search. A miss (another spelling, a slot taken) goes to
/// `ShortSpellings` and the token table, whose value `learn` then puts in the slot if it is
/// free; a slot never gives a cell a value its bytes do not have.
final class CommaSpellings {
    /// One slot per byte value, so a first byte picks its slot with no arithmetic.
    static let slots = 256
    /// The slots' words in four runs of `slots` words, each indexed by the first byte (an
    /// address scaled by 8, no multiply): the spelling and its comma (zeros after), the mask
    /// that keeps their bytes, the value, and whether the slot is taken.
    static let maskRun = slots, valueRun = 2 * slots, takenRun = 3 * slots
    /// Spellings of up to 7 bytes, with the comma a word.
    static let longest = 7
    /// The first byte of an unused slot: a line feed, which no cell with a comma after it has
    /// (it ends the record), so no cell matches the slot.
    static let neverFirst: UInt64 = 0x0A
    let words: UnsafeMutablePointer<UInt64>

    init() {
        let count = 4 * CommaSpellings.slots
        words = .allocate(capacity: count)
        words.initialize(repeating: 0, count: count)
        for i in 0..<CommaSpellings.slots {
            words[i] = CommaSpellings.neverFirst
            words[CommaSpellings.maskRun + i] = 0xFF
        }
    }

    deinit { words.deallocate() }

    /// The slot of a cell by its first byte (the comma after it when it is empty).
    @inline(__always) static func slot(first: UInt8) -> Int { Int(first) }

    /// True when the bytes at `p` hold slot `s`'s spelling followed by a comma. Reads 8 bytes.
    @inline(__always) static func matches(_ words: UnsafePointer<UInt64>, _ s: Int, _ p: UnsafePointer<UInt8>) -> Bool {
        UnsafeRawPointer(p).loadUnaligned(as: UInt64.self) & words[maskRun &+ s] == words[s]
    }

    /// The value of slot `s` (when `matches`).
    @inline(__always) static func value(_ words: UnsafePointer<UInt64>, _ s: Int) -> Int64 {
        Int64(bitPattern: words[valueRun &+ s])
    }

    /// Whether slot `s` holds a spelling.
    func isTaken(_ s: Int) -> Bool { words[CommaSpellings.takenRun + s] != 0 }

    /// Puts the spelling `p[0..<n]` of a cell (followed by its comma) and its value `v` in its
    /// slot, if the slot is free and can hold it. An empty spelling (`n` 0) gives the value of
    /// an empty cell.
    /// Returns false when the slot cannot hold it (taken, or the spelling too long), so that
    /// later cells of this spelling keep missing.
    @discardableResult func learn(_ p: UnsafePointer<UInt8>, _ n: Int, _ v: Int64) -> Bool {
        let s = CommaSpellings.slot(first: p[0])
        guard !isTaken(s), v >= 0 || n == 0, n <= CommaSpellings.longest else { return false }
        // A spelling with a comma or a line break would not be told from the cells around it
        // (a clean cell holds neither).
        for k in 0..<n where p[k] == 0x2C || p[k] == 0x0A || p[k] == 0x0D { return false }
        var word: UInt64 = 0x2C &<< UInt64(8 * n)
        for k in 0..<n { word |= UInt64(p[k]) &<< UInt64(8 * k) }
        words[s] = word
        words[CommaSpellings.maskRun + s] = n == 7 ? .max : (1 &<< UInt64(8 * (n + 1))) &- 1
        words[CommaSpellings.valueRun + s] = UInt64(bitPattern: v)
        words[CommaSpellings.takenRun + s] = 1
        return true
    }
}

/// Reuses the String of a text value met recently (village names, provinces), NFC-normalised.
final class TextCache {
    /// Values of up to `slotBytes` bytes by hash, their bytes in one block (a slot's bytes at
    /// `slot * slotBytes`): a hit compares words in place, with no array to retain. Only places
    /// and other non-ASCII or long values come here (a few hundred distinct ones per column), and
    /// every text column of every part reader has a cache, so it stays small.
    private static let slots = 256, slotBytes = 64
    private let hashes: UnsafeMutablePointer<UInt64>
    private let lengths: UnsafeMutablePointer<Int>
    private let stored: UnsafeMutablePointer<UInt8>
    private let strings: UnsafeMutablePointer<String>
    /// The value of the previous row: places (province, district, commune) repeat row after row,
    /// and the same String then lets the batch store them once.
    @exclusivity(unchecked) private var lastSlot = -1
    /// Short ASCII values (member ids, household ids of up to 8 bytes) by their bytes as one word:
    /// taking the String made before is cheaper than making it again from UTF-8.
    private static let shortSlots = 64
    private let shortWords: UnsafeMutablePointer<UInt64>
    private let shortLengths: UnsafeMutablePointer<Int>
    private let shortStrings: UnsafeMutablePointer<String>

    init() {
        shortWords = .allocate(capacity: TextCache.shortSlots)
        shortWords.initialize(repeating: 0, count: TextCache.shortSlots)
        shortLengths = .allocate(capacity: TextCache.shortSlots)
        shortLengths.initialize(repeating: 0, count: TextCache.shortSlots)
        shortStrings = .allocate(capacity: TextCache.shortSlots)
        shortStrings.initialize(repeating: "", count: TextCache.shortSlots)
        hashes = .allocate(capacity: TextCache.slots)
        hashes.initialize(repeating: 0, count: TextCache.slots)
        lengths = .allocate(capacity: TextCache.slots)
        lengths.initialize(repeating: -1, count: TextCache.slots)
        // Slack of one word: the word compare reads whole words.
        stored = .allocate(capacity: TextCache.slots * TextCache.slotBytes + 8)
        stored.initialize(repeating: 0, count: TextCache.slots * TextCache.slotBytes + 8)
        strings = .allocate(capacity: TextCache.slots)
        strings.initialize(repeating: "", count: TextCache.slots)
    }

    deinit {
        shortWords.deallocate()
        shortLengths.deallocate()
        shortStrings.deinitialize(count: TextCache.shortSlots)
        shortStrings.deallocate()
        hashes.deallocate()
        lengths.deallocate()
        stored.deallocate()
        strings.deinitialize(count: TextCache.slots)
        strings.deallocate()
    }

    /// True when `a[0..<n]` and `b[0..<n]` hold the same bytes, for n >= 8: whole words, the
    /// last one ending at `n` (overlapping the one before).
    @inline(__always) static func sameBytes(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var i = 0
        while i &+ 8 < n {
            if UnsafeRawPointer(a + i).loadUnaligned(as: UInt64.self) != UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self) { return false }
            i &+= 8
        }
        return UnsafeRawPointer(a + (n &- 8)).loadUnaligned(as: UInt64.self) == UnsafeRawPointer(b + (n &- 8)).loadUnaligned(as: UInt64.self)
    }

    /// True when cells `a[0..<n]` and `b[0..<n]` hold the same bytes (any n). Reads 8 bytes from
    /// each: the CSV buffer has slack.
    @inline(__always) static func sameCell(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        if n >= 8 { return sameBytes(a, b, n) }
        let diff = UnsafeRawPointer(a).loadUnaligned(as: UInt64.self) ^ UnsafeRawPointer(b).loadUnaligned(as: UInt64.self)
        // The bytes past n shifted out (little-endian: byte k is bits 8k...8k + 7).
        return n == 0 || diff &<< UInt64(truncatingIfNeeded: 64 &- 8 &* n) == 0
    }

    /// The String of ASCII bytes `p[0..<n]`: copied in place, which costs less than decoding
    /// them (the same String: ASCII is valid UTF-8 and NFC).
    @inline(__always) static func asciiString(_ p: UnsafePointer<UInt8>, _ n: Int) -> String {
        String(unsafeUninitializedCapacity: n) { buffer in
            buffer.baseAddress.unsafelyUnwrapped.update(from: p, count: n)
            return n
        }
    }

    /// The String of `p[0..<n]` (n > 0). Reads 8 bytes from `p`: the CSV buffer has slack.
    @inline(__always) func string(_ p: UnsafePointer<UInt8>, _ n: Int) -> String {
        if n <= 8 {
            let (w, _) = TokenTable.fastKey(p, n)
            if w & 0x8080_8080_8080_8080 == 0 {
                let slot = Int(truncatingIfNeeded: (w &* 0x9E37_79B9_7F4A_7C15) &>> 58)
                if shortWords[slot] == w && shortLengths[slot] == n { return shortStrings[slot] }
                let s = TextCache.asciiString(p, n)
                shortWords[slot] = w
                shortLengths[slot] = n
                shortStrings[slot] = s
                return s
            }
        }
        if n <= 15 && SurveyText.isASCII(p, n) { return TextCache.asciiString(p, n) }
        return longString(p, n)
    }

    @inline(never) private func longString(_ p: UnsafePointer<UInt8>, _ n: Int) -> String {
        if n < 8 || n > TextCache.slotBytes {
            return SurveyText.nfc(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self))
        }
        let last = lastSlot
        if last >= 0 && lengths[last] == n && TextCache.sameBytes(stored + last &* TextCache.slotBytes, p, n) {
            return strings[last]
        }
        let h = hashBytes(p, n)
        let slot = Int(truncatingIfNeeded: h >> 7) & (TextCache.slots - 1)
        let bytes = stored + slot &* TextCache.slotBytes
        lastSlot = slot
        if hashes[slot] == h && lengths[slot] == n && TextCache.sameBytes(bytes, p, n) {
            return strings[slot]
        }
        let s = SurveyText.nfc(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self))
        hashes[slot] = h
        lengths[slot] = n
        bytes.update(from: p, count: n)
        strings[slot] = s
        return s
    }
}

/// What went wrong with one cell.
struct CellError: Error {
    var kind: String
    var message: String
    var hint: String?
}

enum ValueParser {
    static let builtinTrue = ["true", "1", "yes", "có"]
    static let builtinFalse = ["false", "0", "no", "không"]

    /// True when every byte of `x` is an ASCII digit: high nibble 3, and still 3 after adding 6
    /// to the low nibble (no carry leaves a byte: they are at most 0x3F + 6 by then).
    @inline(__always) static func isDigits(_ x: UInt64) -> Bool {
        let high: UInt64 = 0xF0F0_F0F0_F0F0_F0F0, threes: UInt64 = 0x3030_3030_3030_3030
        return x & high == threes && (x &+ 0x0606_0606_0606_0606) & high == threes
    }

    /// The number written by the k digits (1...8) in the low k bytes of `y` (the first digit
    /// lowest, the bytes above k zero), or nil when one is not a digit: the digits moved to the
    /// top of a word of '0's, then combined in pairs, fours and eights (SWAR).
    @inline(__always) static func digitsValue(_ y: UInt64, _ k: Int) -> Int64? {
        let shift = UInt64(truncatingIfNeeded: 64 &- 8 &* k)
        let x = y &<< shift | (k == 8 ? 0 : 0x3030_3030_3030_3030 &>> UInt64(truncatingIfNeeded: 8 &* k))
        guard isDigits(x) else { return nil }
        var v = x & 0x0F0F_0F0F_0F0F_0F0F
        v = (v &* (10 << 8 + 1)) &>> 8 & 0x00FF_00FF_00FF_00FF
        v = (v &* (100 << 16 + 1)) &>> 16 & 0x0000_FFFF_0000_FFFF
        v = (v &* (10000 << 32 + 1)) &>> 32
        return Int64(bitPattern: v)
    }

    /// The first `n` (1...8) bytes at `p` as a word, the bytes above them zero. Reads 8 bytes.
    @inline(__always) static func word(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        UnsafeRawPointer(p).loadUnaligned(as: UInt64.self) & (UInt64.max &>> UInt64(truncatingIfNeeded: 64 &- 8 &* n))
    }

    /// A whole number (optional sign, digits). Up to 8 digits without a sign (nearly every cell)
    /// are read as one word (`digitsValue`), the others digit by digit: the same numbers. Reads 8
    /// bytes from `p`: the CSV buffer has slack.
    @inline(__always) static func parseInt(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int64? {
        if n >= 1 && n <= 8 && p[0] &- 0x30 < 10 { return digitsValue(word(p, n), n) }
        return parseIntByDigit(p, n)
    }

    @inline(__always) static func parseIntByDigit(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int64? {
        guard n > 0 else { return nil }
        var i = 0
        var neg = false
        if p[0] == 0x2D || p[0] == 0x2B { neg = p[0] == 0x2D; i = 1 }
        guard i < n, n - i <= 18 else { return nil }
        var v: Int64 = 0
        while i < n {
            let d = Int64(p[i]) &- 48
            guard d >= 0 && d <= 9 else { return nil }
            v = v &* 10 &+ d
            i += 1
        }
        return neg ? -v : v
    }

    private static let pow10: [Double] = (0...22).map { e in
        var x = 1.0
        for _ in 0..<e { x *= 10 }
        return x
    }

    /// 10^k for the decimals of a number read as one word (k in 0...7), as `pow10` has it,
    /// without the array (whose global is checked for initialisation on every use).
    @inline(__always) static func wordPowerOfTen(_ k: Int) -> Double {
        switch k {
        case 0: return 1
        case 1: return 10
        case 2: return 100
        case 3: return 1000
        case 4: return 10000
        case 5: return 100_000
        case 6: return 1_000_000
        default: return 10_000_000
        }
    }

    /// A decimal number (optional sign, digits, at most one point). Up to 8 bytes without a
    /// sign are read as one word: the point found and taken out, the digits combined at once
    /// (`digitsValue`); the same mantissa and decimals as digit by digit, so the same number.
    /// Reads 8 bytes from `p`: the CSV buffer has slack.
    @inline(__always) static func parseDecimal(_ p: UnsafePointer<UInt8>, _ n: Int) -> Double? {
        guard n >= 2 && n <= 8 && p[0] != 0x2D && p[0] != 0x2B else { return parseDecimalByDigit(p, n) }
        let w = word(p, n)
        // The lowest '.' byte: the zero bytes of w ^ "........" (exact for the lowest one).
        let z = w ^ 0x2E2E_2E2E_2E2E_2E2E
        let points = (z &- 0x0101_0101_0101_0101) & ~z & 0x8080_8080_8080_8080
        let d = points == 0 ? n : points.trailingZeroBitCount >> 3
        guard d < n else { return digitsValue(w, n).map { Double($0) } }
        // The digits around the point, side by side; another point fails as a non-digit.
        let low = w & ((1 &<< UInt64(truncatingIfNeeded: 8 &* d)) &- 1)
        let high = d &+ 1 == 8 ? 0 : w &>> UInt64(truncatingIfNeeded: 8 &* (d &+ 1))
        let y = low | high &<< UInt64(truncatingIfNeeded: 8 &* d)
        guard let mant = digitsValue(y, n &- 1) else { return nil }
        return Double(mant) / wordPowerOfTen(n &- 1 &- d)
    }

    @inline(__always) static func parseDecimalByDigit(_ p: UnsafePointer<UInt8>, _ n: Int) -> Double? {
        guard n > 0 else { return nil }
        var i = 0
        var neg = false
        if p[0] == 0x2D || p[0] == 0x2B { neg = p[0] == 0x2D; i = 1 }
        var mant: UInt64 = 0
        var digits = 0, frac = 0
        var seenPoint = false
        while i < n {
            let c = p[i]
            if c == 0x2E {
                if seenPoint { return nil }
                seenPoint = true
            } else {
                let d = UInt64(c) &- 48
                guard d <= 9 else { return nil }
                if digits < 19 { mant = mant &* 10 &+ d; digits += 1; if seenPoint { frac += 1 } }
                else if !seenPoint { return nil }  // too large
            }
            i += 1
        }
        guard digits > 0 else { return nil }
        var v: Double
        if mant < (1 << 53) && frac <= 22 {
            v = Double(mant) / pow10[frac]
        } else {
            guard let d = Double(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)) else { return nil }
            return d == 0 ? 0 : d
        }
        if neg { v = -v }
        return v == 0 ? 0 : v  // no negative zero
    }

    /// Parses a standalone value (a schema default) in the contract's spelling.
    static func parseStandalone(_ text: String, spec: FieldSpec, list: CodeList?) -> Result<Int64, CellError> {
        var t = text
        return t.withUTF8 { buf -> Result<Int64, CellError> in
            let p = buf.baseAddress ?? UnsafePointer(bitPattern: 1)!
            let n = buf.count
            switch spec.type {
            case .text: return .success(0)
            case .bool:
                let k = SurveyText.key(text)
                if builtinTrue.contains(k) { return .success(1) }
                if builtinFalse.contains(k) { return .success(0) }
                return .failure(CellError(kind: "wrong_type", message: "not a yes/no value"))
            case .int:
                return parseInt(p, n).map { .success($0) } ?? .failure(CellError(kind: "wrong_type", message: "not a whole number"))
            case .decimal:
                return parseDecimal(p, n).map { .success(Int64(bitPattern: $0.bitPattern)) } ?? .failure(CellError(kind: "wrong_type", message: "not a number"))
            case .date, .birthDate:
                return CivilDate.parse(p, n, allowBareYear: spec.type == .birthDate).map { .success(Int64($0.dayNumber)) }
                    ?? .failure(CellError(kind: "wrong_type", message: "not a date"))
            case .code:
                guard let id = list?.id(of: text) else { return .failure(CellError(kind: "unknown_code", message: "not a code of its list")) }
                return .success(Int64(id))
            case .codeSet:
                var mask: UInt64 = 0
                for item in text.split(separator: ";") {
                    let s = item.trimmingCharacters(in: " \t")
                    if s.isEmpty { continue }
                    guard let id = list?.id(of: s) else { return .failure(CellError(kind: "unknown_code", message: "'\(s)' is not a code of its list")) }
                    mask |= 1 << UInt64(id)
                }
                return .success(Int64(bitPattern: mask))
            }
        }
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self[...]
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

/// Open-addressing table of household-id fingerprints (first 64-bit hash → second hash's high
/// half << 32 | line), sized once from the file: 16 bytes a slot, no per-entry allocation.
/// Same semantics as a `[UInt64: UInt64]` keyed by the first fingerprint.
///
/// A slot's key and value are side by side: a survey's table is larger than the caches and ids
/// come in no useful order, so each look-up is a cache miss, one instead of two.
final class FingerprintTable {
    /// Slot i: key at 2i (0 = empty), value at 2i + 1.
    @exclusivity(unchecked) private var slots: UnsafeMutablePointer<UInt64>
    @exclusivity(unchecked) private var mask: Int
    @exclusivity(unchecked) private var used = 0

    init(expected: Int = 0) {
        var cap = 16
        while cap * 3 < expected * 4 { cap <<= 1 }
        slots = FingerprintTable.allocateSlots(2 * cap)
        mask = cap - 1
    }

    deinit { FingerprintTable.free(slots) }

    /// Zeroed slot memory. A table of millions of ids is far larger than what the TLB maps with
    /// 4 KB pages, so every look-up would also walk the page tables: large tables ask for 2 MB
    /// pages (Linux transparent huge pages, where enabled "on request").
    private static func allocateSlots(_ count: Int) -> UnsafeMutablePointer<UInt64> {
        let bytes = count * MemoryLayout<UInt64>.stride
        #if os(Linux)
        // Always from posix_memalign, so `free` releases every table the same way.
        let hugePage = 2 << 20
        let large = bytes >= 2 * hugePage
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, large ? hugePage : 64, bytes) == 0, let raw else { fatalError("out of memory") }
        if large { _ = madvise(raw, bytes, Int32(MADV_HUGEPAGE)) }
        let p = raw.bindMemory(to: UInt64.self, capacity: count)
        #else
        let p = UnsafeMutablePointer<UInt64>.allocate(capacity: count)
        #endif
        p.initialize(repeating: 0, count: count)
        return p
    }

    private static func free(_ p: UnsafeMutablePointer<UInt64>) {
        #if os(Linux)
        Glibc.free(p)
        #else
        p.deallocate()
        #endif
    }

    /// When `key` is present with the same high half of the value, returns the stored value (a
    /// duplicate); otherwise stores `value` under `key` and returns nil. `key` is never 0.
    @inline(__always) func checkAndInsert(_ key: UInt64, _ value: UInt64) -> UInt64? {
        var slot = Int(truncatingIfNeeded: key >> 1) & mask
        while true {
            let e = slots + 2 &* slot
            let k = e[0]
            if k == key {
                let prior = e[1]
                if prior & 0xFFFF_FFFF_0000_0000 == value & 0xFFFF_FFFF_0000_0000 { return prior }
                e[1] = value
                return nil
            }
            if k == 0 { break }
            slot = (slot + 1) & mask
        }
        let e = slots + 2 &* slot
        e[0] = key
        e[1] = value
        used += 1
        if used * 4 > (mask + 1) * 3 { grow() }
        return nil
    }

    private func grow() {
        let old = slots, oldCap = mask + 1
        let cap = oldCap * 2
        slots = FingerprintTable.allocateSlots(2 * cap)
        mask = cap - 1
        for i in 0..<oldCap where old[2 * i] != 0 {
            var slot = Int(truncatingIfNeeded: old[2 * i] >> 1) & mask
            while slots[2 * slot] != 0 { slot = (slot + 1) & mask }
            slots[2 * slot] = old[2 * i]
            slots[2 * slot + 1] = old[2 * i + 1]
        }
        FingerprintTable.free(old)
    }
}
