@testable import CEL
import CMask
import Testing

/// A column's values and unknown rows from one pass (`cmask_compare_known`,
/// `cmask_low_bit_known`, `MaskLeaves.knownRows`) against the two passes they replace.
@Suite struct KnownRowsTests {
    static func bit(_ w: [UInt64], _ r: Int) -> Bool { w[r >> 6] >> UInt64(r & 63) & 1 != 0 }

    /// Each kernel, AVX2 and plain, against `cmask_compare`/`cmask_low_bit` and the unknown
    /// rows: every relation, the extremes of Int64 on both sides, row counts around words.
    @Test func onePassIsTheTwoPasses() {
        var rng = SplitMix(21)
        let specials: [Int64] = [.min, .min + 1, -1, 0, 1, 2, 16, 63, 64, .max - 1, .max]
        let relations = [CMaskLess, CMaskLessOrEqual, CMaskGreater, CMaskGreaterOrEqual, CMaskEqual, CMaskNotEqual]
        let unknown = VecColumn.unknown
        defer { cmask_use_avx2(1) }
        for avx2: Int32 in [0, 1] {
            cmask_use_avx2(avx2)
            for n in [0, 1, 4, 63, 64, 65, 127, 128, 200, 517] {
                let x = (0..<n).map { _ in rng.below(3) == 0 ? specials[rng.below(specials.count)] : Int64(rng.below(40)) - 5 }
                let skipped = MaskEvaluator.words(x) { p, n, out in cmask_compare(p, n, CMaskEqual, unknown, out) }
                for relation in relations {
                    for q in specials {
                        var holds = MaskEvaluator.words(x) { p, n, out in cmask_compare(p, n, relation, q, out) }
                        for w in 0..<holds.count { holds[w] &= ~skipped[w] }
                        let got = MaskEvaluator.wordPair(x) { p, n, v, u in cmask_compare_known(p, n, relation, q, unknown, v, u) }
                        #expect(got.values == holds && got.unknown == skipped, "avx2 \(avx2), n \(n), relation \(relation), q \(q)")
                    }
                }
                let low = MaskEvaluator.words(x) { p, n, out in cmask_low_bit(p, n, out) }
                let got = MaskEvaluator.wordPair(x) { p, n, v, u in cmask_low_bit_known(p, n, unknown, v, u) }
                #expect(got.values == low && got.unknown == skipped, "avx2 \(avx2), n \(n): low bit")
            }
        }
    }

    /// Expressions over leaves whose unknown rows were made before (`MaskLeaves.unknownRows`)
    /// give the rows of fresh leaves, and both the column path's; and the unknown rows their
    /// passes leave in the leaves (asked by the requirements after the indicators) are the
    /// columns' own.
    @Test(arguments: ["m.age >= 16 && m.insured", "m.age < 10 || m.age > 60", "!m.insured", "m.insured || m.age == 3",
                      "m.level == 'upper' && m.insured", "m.months < (m.insured ? 600 : 700)", "m.age > 3 && m.age <= 40 && m.age != 17"])
    func leavesWithUnknownRowsMadeBefore(_ src: String) throws {
        for host in MaskEvalTests.hosts() {
            let p = try Program(src, declarations: host.decls)
            let want = try #require(p.columns(host, level: .member), "\(src)")
            let early = MaskLeaves()
            for column in host.columns[1] where column.level == .member { _ = early.unknownRows(column.values) }
            let fresh = MaskLeaves()
            for leaves in [fresh, early] {
                let got = try #require(p.masks(host, level: .member, leaves: leaves), "\(src): not covered")
                #expect(got.column().values == want.values, "\(src)")
                #expect(got.unknownIsError == want.unknownIsError && got.unknownIsMissing == want.unknownIsMissing, "\(src)")
            }
            // And the unknown rows the expression's passes left (for the requirements after it).
            for column in host.columns[1] {
                let rows = MaskEvaluator.words(column.values) { p, n, out in cmask_compare(p, n, CMaskEqual, VecColumn.unknown, out) }
                #expect(fresh.unknownRows(column.values) == rows, "\(src)")
            }
        }
    }
}

extension KnownRowsTests {
    /// `cmask_lookup_known` is `cmask_lookup` with the unknown rows, AVX2 and plain: ids in and
    /// out of tables of 1 to 64 codes, the extremes of Int64.
    @Test func lookupWithUnknownRowsIsTheLookup() {
        var rng = SplitMix(33)
        let specials: [Int64] = [.min, .min + 1, -1, 0, 1, 15, 16, 63, 64, 65, .max]
        defer { cmask_use_avx2(1) }
        for avx2: Int32 in [0, 1] {
            cmask_use_avx2(avx2)
            for n in [0, 1, 4, 63, 64, 65, 128, 200] {
                let x = (0..<n).map { _ in rng.below(3) == 0 ? specials[rng.below(specials.count)] : Int64(rng.below(70)) - 3 }
                let skipped = MaskEvaluator.words(x) { p, n, out in cmask_compare(p, n, CMaskEqual, VecColumn.unknown, out) }
                for count in [1, 5, 17, 63, 64] {
                    let table = rng.next() & (count == 64 ? ~0 : (1 << UInt64(count)) - 1)
                    let words = BoolMasks.words(n)
                    var outside = [UInt64](repeating: 0, count: words), outsideKnown = outside, rows = outside
                    let values = MaskEvaluator.words(x) { p, n, out in
                        outside.withUnsafeMutableBufferPointer { cmask_lookup(p, n, table, UInt64(count), out, $0.baseAddress) }
                    }
                    let valuesKnown = MaskEvaluator.words(x) { p, n, out in
                        outsideKnown.withUnsafeMutableBufferPointer { o in
                            rows.withUnsafeMutableBufferPointer {
                                cmask_lookup_known(p, n, table, UInt64(count), VecColumn.unknown, out, o.baseAddress, $0.baseAddress)
                            }
                        }
                    }
                    #expect(values == valuesKnown && outside == outsideKnown && rows == skipped, "avx2 \(avx2), n \(n), count \(count)")
                }
            }
        }
    }
}
