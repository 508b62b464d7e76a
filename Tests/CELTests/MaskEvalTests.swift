@testable import CEL
import CMask
import Testing

/// A random batch over `ColumnFixture`'s declarations: households with 0, 1, 63, 64, 65 or a
/// few members (so ranges start and end inside words and across them), every field missing
/// in some rows, and row counts that are not multiples of 64.
final class RandomColumns: VectorHost {
    let decls = ColumnFixture().decls
    let householdCount: Int
    let memberRanges: [Range<Int>]
    let memberHousehold: [Int32]
    /// columns[type][field]
    let columns: [[VecColumn]]
    let params: [Value]

    init(seed: UInt64, households: Int) {
        var rng = SplitMix(seed)
        let sizes = [0, 1, 63, 64, 65]
        var ranges: [Range<Int>] = [], owner: [Int32] = []
        for h in 0..<households {
            let n = rng.below(4) == 0 ? sizes[rng.below(sizes.count)] : rng.below(7)
            ranges.append(owner.count..<(owner.count + n))
            owner += [Int32](repeating: Int32(h), count: n)
        }
        householdCount = households
        memberRanges = ranges
        memberHousehold = owner
        // Missing values rarely (most households then have none) or often.
        let missingEvery = 1 + rng.below(2) * 40
        func column(_ level: VecLevel, _ kind: VecKind, _ n: Int, _ value: (inout SplitMix) -> Int64) -> VecColumn {
            var values: [Int64] = []
            for _ in 0..<n { values.append(rng.below(missingEvery + 3) == 0 ? VecColumn.unknown : value(&rng)) }
            return VecColumn(level: level, kind: kind, values: values, unknownIsAbsent: true)
        }
        let nM = owner.count
        let bool: (inout SplitMix) -> Int64 = { Int64($0.below(2)) }
        let double: (inout SplitMix) -> Int64 = { Int64(bitPattern: Double($0.below(100)).bitPattern) }
        columns = [
            [column(.household, .double, households, double), column(.household, .double, households, double),
             column(.household, .bool, households, bool), column(.household, .bool, households, bool),
             column(.household, .bool, households, bool), column(.household, .int, households) { Int64($0.below(6)) - 1 },
             column(.household, .codeSet(ColumnFixture.devices), households) { Int64($0.below(16)) }],
            [column(.member, .int, nM) { Int64($0.below(95)) }, column(.member, .int, nM) { Int64($0.below(1200)) },
             column(.member, .bool, nM, bool), column(.member, .code(ColumnFixture.levels), nM) { Int64($0.below(5)) },
             column(.member, .double, nM, double)],
        ]
        func set(_ xs: [String]) -> Value { .list(.array(xs.map(Value.string))) }
        params = [.int(16), .int(30), .double(0.5), set(["upper", "college"]), .int(2), set(["tv", "computer"])]
    }

    func binding(_ slot: Int) -> VecBinding? {
        switch slot {
        case 0: return .householdObject(0)
        case 1: return .memberList(1)
        case 2: return .constants
        default: return .memberObject(1)
        }
    }
    func constant(field: Int) -> Value? { params[field] }
    func present(type: Int32, field: Int) -> VecColumn? { nil }
    func column(type: Int32, field: Int) -> VecColumn? { columns[Int(type)][field] }
}

/// `RandomColumns` holding its bool fields as masks too (as `BatchColumns` holds the derived
/// fields the mask path made): the mask path and member counts read those.
final class MaskHoldingColumns: WrappingHost {
    let base: RandomColumns
    init(_ base: RandomColumns) { self.base = base }
    func column(type: Int32, field: Int) -> VecColumn? { base.column(type: type, field: field) }
    func masks(type: Int32, field: Int) -> BoolMasks? {
        guard let c = base.column(type: type, field: field), c.kind == .bool else { return nil }
        return BoolMasks(c)
    }
}

/// A small deterministic generator, so that a failure can be run again.
struct SplitMix {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

@Suite struct MaskEvalTests {
    /// Member expressions of the shapes the indicators have (comparisons and look-ups under
    /// `!`, `&&`, `||`, `?:`, `x in (c ? A : B)`, constants on either side, columns made by
    /// the column path inside), each covered by the mask path.
    static let covered = [
        "m.age >= params.min_age && m.age <= params.max_age && !m.insured && !(m.level in (m.age < 18 ? params.levels : ['lower']))",
        "m.age >= 6 && m.age < 16 && (!m.insured || (m.age >= 11 ? !(m.level in ['lower', 'upper']) : m.age >= 6 ? !(m.level in params.levels) : false))",
        "m.insured && m.level in params.levels",
        "m.age < 16 && (m.insured || m.level == 'none')",
        "m.age >= params.min_age && !m.insured",
        "m.age < 10 || (m.insured && (m.age >= 60 || m.level != 'none'))",
        "m.insured == true", "m.insured != true", "!!m.insured", "!(m.age > 3 && m.insured) || m.level < 'n'",
        "m.age == 16", "m.age != 16", "m.age < 16", "m.age <= 16", "m.age > 16", "m.age >= 16", "!(m.age >= 16)",
        "m.age / 0 > 1 && m.insured", "m.age / 0 > 1 || m.insured", "m.insured && m.age / 0 > 1", "m.age * 2 > 40 && m.insured",
        "m.weight > 60.0 && m.insured", "m.age < m.months / 12 || m.insured", "has(m.age) && m.age > 10",
        "true && m.insured", "false || m.insured", "m.insured && true", "m.insured || false", "m.insured && false",
        "m.insured || true", "false && m.age / 0 > 1", "true || m.age / 0 > 1", "true ? m.insured : false",
        "m.insured ? true : false", "m.insured ? m.age > 3 : m.level == 'upper'", "m.age > 3 ? m.insured : m.age / 0 > 1",
        "(m.age / 0 > 1 ? m.insured : true) || m.age > 90", "m.age > 10 ? m.age / 0 > 1 : m.age / 0 > 2",
        "true", "false", "m.insured in [true]", "!m.insured || !m.insured",
        "m.months < (m.insured ? 600 : 700)", "m.age >= (m.level == 'upper' ? params.min_age : 20) && m.insured",
        "m.months / 12 < (m.age > 40 ? 50 : 30)", "m.age == (m.insured ? m.age : 3)",
    ]

    /// Expressions the mask path leaves to the column path (another level inside, a member loop).
    static let uncovered = ["h.flag_c && m.insured", "m.insured || h.n > 2", "members.exists(x, x.age > 40) && m.insured"]

    static func hosts() -> [RandomColumns] {
        (1...6).map { RandomColumns(seed: UInt64($0), households: [1, 63, 64, 65, 131, 300][$0 - 1]) }
    }

    /// Every row and both unknown flags as the column path gives them, twice over the same
    /// leaves (the second time from the cached leaf masks); no bit past the last row.
    @Test(arguments: covered)
    func masksAreTheColumnPathsRows(_ src: String) throws {
        for host in Self.hosts() {
            let p = try Program(src, declarations: host.decls)
            let want = try #require(p.columns(host, level: .member), "\(src)")
            let leaves = MaskLeaves()
            for _ in 0..<2 {
                let got = try #require(p.masks(host, level: .member, leaves: leaves), "\(src): not covered")
                #expect(got.count == want.values.count && got.level == .member)
                #expect(got.unknownIsError == want.unknownIsError && got.unknownIsMissing == want.unknownIsMissing, "\(src)")
                for r in 0..<want.values.count where got.row(r) != want.values[r] {
                    Issue.record("\(src), row \(r): masks \(got.row(r)), columns \(want.values[r])")
                    break
                }
                let back = got.column()
                #expect(back.values == want.values && back.kind == .bool && back.level == .member, "\(src): column()")
                #expect(back.unknownIsError == want.unknownIsError && back.unknownIsMissing == want.unknownIsMissing, "\(src): column()")
                let tail = got.count & 63
                if tail != 0 {
                    #expect(got.values.last! >> UInt64(tail) == 0 && got.unknown.last! >> UInt64(tail) == 0, "\(src): bits past the rows")
                }
            }
        }
    }

    @Test(arguments: uncovered)
    func otherLevelsAreLeftToColumns(_ src: String) throws {
        let host = Self.hosts()[4]
        let p = try Program(src, declarations: host.decls)
        #expect(p.masks(host, level: .member, leaves: MaskLeaves()) == nil, "\(src)")
    }

    /// Fields the host holds as masks give the rows and flags their columns give: in the mask
    /// path, and counted per household in member loops.
    @Test func masksHeldByTheHostAreItsColumns() throws {
        let loops = ["members.exists(x, x.insured)", "members.all(x, x.insured)", "members.exists_one(x, x.insured)",
                     "members.filter(x, x.insured).size() > 1", "double(members.filter(x, x.insured).size()) / double(size(members)) > 0.5"]
        for base in Self.hosts() {
            let held = MaskHoldingColumns(base)
            for src in Self.covered {
                let p = try Program(src, declarations: base.decls)
                let want = try #require(p.masks(base, level: .member, leaves: MaskLeaves()), "\(src)")
                let got = try #require(p.masks(held, level: .member, leaves: MaskLeaves()), "\(src)")
                #expect(got.values == want.values && got.unknown == want.unknown, "\(src)")
                #expect(got.unknownIsError == want.unknownIsError && got.unknownIsMissing == want.unknownIsMissing, "\(src)")
            }
            for src in loops {
                let p = try Program(src, declarations: base.decls)
                let want = try #require(p.columns(base, level: .household), "\(src)")
                let got = try #require(p.columns(held, level: .household), "\(src)")
                #expect(got.values == want.values, "\(src)")
                #expect(got.unknownIsError == want.unknownIsError && got.unknownIsMissing == want.unknownIsMissing, "\(src)")
            }
        }
    }

    /// "Some member" from the bits, as household masks: what a loop over each household's
    /// members that stops at the first unknown one gives, and what it saw before stopping.
    @Test func someInRangesIsTheMemberLoop() throws {
        for host in Self.hosts() {
            let bounds = host.memberRanges.flatMap { [Int64($0.lowerBound), Int64($0.upperBound)] }
            for src in Self.covered {
                let p = try Program(src, declarations: host.decls)
                let col = try #require(p.columns(host, level: .member))
                let masks = try #require(p.masks(host, level: .member, leaves: MaskLeaves()))
                let some = masks.someInRanges(bounds)
                #expect(some.level == .household && some.count == host.householdCount)
                #expect(some.unknownIsError == masks.unknownIsError && some.unknownIsMissing == masks.unknownIsMissing)
                let tail = some.count & 63
                if tail != 0 {
                    #expect(some.values.last! >> UInt64(tail) == 0 && some.unknown.last! >> UInt64(tail) == 0, "\(src): bits past the rows")
                }
                for (h, range) in host.memberRanges.enumerated() {
                    var r: Int64 = 0, seen = false
                    for m in range {
                        if col.values[m] == VecColumn.unknown { seen = r == 1; r = VecColumn.unknown; break }
                        if col.values[m] != 0 { r = 1 }
                    }
                    #expect(some.row(h) == r, "\(src), household \(h) (\(range))")
                    if r == VecColumn.unknown { #expect(masks.trueBeforeFirstUnknown(in: range) == seen, "\(src), household \(h)") }
                }
            }
        }
    }

    /// "Some member" of several masks in one pass is each one's alone, flags included.
    @Test func someInRangesOfSeveralIsEachAlone() throws {
        for host in Self.hosts() {
            let bounds = host.memberRanges.flatMap { [Int64($0.lowerBound), Int64($0.upperBound)] }
            let masks = try Self.covered.prefix(9).map { src in
                try #require(try Program(src, declarations: host.decls).masks(host, level: .member, leaves: MaskLeaves()))
            }
            let together = BoolMasks.someInRanges(of: masks, bounds)
            #expect(together.count == masks.count)
            for (m, some) in zip(masks, together) {
                let alone = m.someInRanges(bounds)
                #expect(some.values == alone.values && some.unknown == alone.unknown && some.count == alone.count)
                #expect(some.unknownIsError == m.unknownIsError && some.unknownIsMissing == m.unknownIsMissing)
            }
        }
    }

    /// Members' predicate rows counted per household from bits (what `members.exists`, `all`,
    /// `exists_one` and `filter(…).size()` read), with and without `popcnt`: the rows that are
    /// neither 0 nor unknown, and the unknown ones, of each household's range.
    @Test func memberCountsAreTheMemberLoop() {
        defer { cmask_use_avx2(1) }
        var rng = SplitMix(11)
        for avx2: Int32 in [0, 1] {
            cmask_use_avx2(avx2)
            for host in Self.hosts() {
                let p = (0..<host.memberHousehold.count).map { _ in [0, 1, 1, 2, VecColumn.unknown][rng.below(rng.below(3) == 0 ? 5 : 4)] }
                let (trues, unknowns) = VecEvaluator.memberCounts(p, host.memberRanges)
                for (h, range) in host.memberRanges.enumerated() {
                    let rows = range.map { p[$0] }
                    #expect(trues[h] == rows.filter { $0 != 0 && $0 != VecColumn.unknown }.count, "avx2 \(avx2), household \(h) (\(range))")
                    #expect(unknowns[h] == rows.filter { $0 == VecColumn.unknown }.count, "avx2 \(avx2), household \(h) (\(range))")
                }
            }
        }
    }

    /// The C kernels, AVX2 and plain, against the rows one at a time: every relation, ids in
    /// and out of tables of 1 to 64 codes, the extremes of Int64, row counts around words,
    /// masks back into rows.
    @Test func kernelsGiveEachRowsBit() {
        var rng = SplitMix(7)
        let specials: [Int64] = [.min, .min + 1, -1, 0, 1, 2, 15, 16, 17, 63, 64, 65, .max - 1, .max]
        func bit(_ w: [UInt64], _ r: Int) -> Bool { w[r >> 6] >> UInt64(r & 63) & 1 != 0 }
        func clean(_ w: [UInt64], _ n: Int) -> Bool { n & 63 == 0 || w.last! >> UInt64(n & 63) == 0 }
        let relations: [(CMaskRelation, (Int64, Int64) -> Bool)] = [
            (CMaskLess, { $0 < $1 }), (CMaskLessOrEqual, { $0 <= $1 }), (CMaskGreater, { $0 > $1 }),
            (CMaskGreaterOrEqual, { $0 >= $1 }), (CMaskEqual, { $0 == $1 }), (CMaskNotEqual, { $0 != $1 }),
        ]
        defer { cmask_use_avx2(1) }
        for avx2: Int32 in [0, 1] {
            cmask_use_avx2(avx2)
            for n in [0, 1, 4, 63, 64, 65, 127, 128, 200] {
                let x = (0..<n).map { _ in rng.below(3) == 0 ? specials[rng.below(specials.count)] : Int64(rng.below(40)) - 5 }
                for (relation, holds) in relations {
                    for q in specials {
                        let w = MaskEvaluator.words(x) { p, n, out in cmask_compare(p, n, relation, q, out) }
                        #expect((0..<n).allSatisfy { bit(w, $0) == holds(x[$0], q) } && clean(w, n), "avx2 \(avx2), n \(n), q \(q)")
                    }
                }
                // Masks back into rows: unknown rows never have a value bit.
                let unknownWords = (0..<BoolMasks.words(n)).map { _ in rng.next() & rng.next() }
                let valueWords = unknownWords.map { rng.next() & ~$0 }
                let rows = [Int64](unsafeUninitializedCapacity: n) { out, done in
                    cmask_unpack(valueWords, unknownWords, n, out.baseAddress)
                    done = n
                }
                #expect((0..<n).allSatisfy { rows[$0] == (bit(unknownWords, $0) ? VecColumn.unknown : (bit(valueWords, $0) ? 1 : 0)) },
                        "avx2 \(avx2), n \(n): unpack")
                let low = MaskEvaluator.words(x) { p, n, out in cmask_low_bit(p, n, out) }
                #expect((0..<n).allSatisfy { bit(low, $0) == (x[$0] & 1 != 0) } && clean(low, n), "avx2 \(avx2), n \(n)")
                for count in [1, 5, 17, 63, 64] {
                    let table = rng.next() & (count == 64 ? ~0 : (1 << UInt64(count)) - 1)
                    var outside = [UInt64](repeating: 0, count: BoolMasks.words(n))
                    let values = MaskEvaluator.words(x) { p, n, out in
                        outside.withUnsafeMutableBufferPointer { cmask_lookup(p, n, table, UInt64(count), out, $0.baseAddress) }
                    }
                    for r in 0..<n {
                        let inside = x[r] >= 0 && x[r] < count
                        #expect(bit(outside, r) == !inside && bit(values, r) == (inside && table >> UInt64(x[r]) & 1 != 0),
                                "avx2 \(avx2), n \(n), count \(count), id \(x[r])")
                    }
                    #expect(clean(values, n) && clean(outside, n))
                }
            }
        }
    }
    /// Comparisons from 16-bit rows (`MaskLeaves.comparison` from a column's second number on)
    /// against the 64-bit kernel, AVX2 and plain: rows at and past the 16-bit extremes, numbers
    /// past them (clamped), unknown rows, columns that do not fit (compared wide).
    @Test func narrowComparisonsAreTheWideOnes() {
        var rng = SplitMix(13)
        let edges: [Int64] = [.min, .min + 1, -32769, -32768, -32767, -32766, -1, 0, 1, 15, 16, 32765, 32766, 32767, 32768, .max]
        let relations = [CMaskLess, CMaskLessOrEqual, CMaskGreater, CMaskGreaterOrEqual, CMaskEqual, CMaskNotEqual]
        defer { cmask_use_avx2(1) }
        for avx2: Int32 in [0, 1] {
            cmask_use_avx2(avx2)
            for n in [0, 1, 31, 32, 63, 64, 65, 130, 300] {
                // In range with unknown rows, then with one row past each extreme.
                let fitting = (0..<n).map { _ in
                    rng.below(4) == 0 ? [VecColumn.unknown, -32767, 32766, 0][rng.below(4)] : Int64(rng.below(200)) - 50
                }
                var columns = [fitting]
                if n > 0 {
                    for bad: Int64 in [-32768, 32767, .max] {
                        var x = fitting
                        x[rng.below(n)] = bad
                        columns.append(x)
                    }
                }
                for (k, x) in columns.enumerated() {
                    #expect((MaskLeaves.narrowed(x) != nil) == (k == 0), "avx2 \(avx2), n \(n), column \(k)")
                    let known = MaskEvaluator.words(x) { p, n, out in cmask_compare(p, n, CMaskNotEqual, VecColumn.unknown, out) }
                    let leaves = MaskLeaves()
                    for relation in relations {
                        for q in edges {
                            let want = MaskEvaluator.words(x) { p, n, out in cmask_compare(p, n, relation, q, out) }
                            let got = leaves.comparison(x, relation, q)
                            #expect(got.count == want.count, "avx2 \(avx2), n \(n)")
                            for w in 0..<min(got.count, want.count) where got[w] & known[w] != want[w] & known[w] {
                                Issue.record("avx2 \(avx2), n \(n), column \(k), relation \(relation.rawValue), q \(q), word \(w)")
                            }
                            if n & 63 != 0, let last = got.last { #expect(last >> UInt64(n & 63) == 0, "bits past the rows") }
                        }
                    }
                }
            }
        }
    }
}
