import Testing
import Diagnostics
@testable import Survey

/// The pieces of the column decode (`TableInput.decodeColumns`) that read cells differently from
/// the row path's first versions: dates read from two word loads, numbers read as one word, the
/// per-length spelling ways in front of the token table.
@Suite struct ColumnDecodeTests {
    /// `CivilDate.parseDayNumber`/`parseParts` on `text`, with the 16 bytes after it that a
    /// CSV buffer's slack may hold (here digits and dashes, the worst case for a word load).
    func parsed(_ text: String, bareYear: Bool) -> CivilDate.Parts? {
        let bytes = Array(text.utf8) + Array("2024-01-01-99999".utf8)
        return bytes.withUnsafeBufferPointer { b -> CivilDate.Parts? in
            let p = b.baseAddress!
            let parts = CivilDate.parseParts(p, text.utf8.count, allowBareYear: bareYear)
            #expect(CivilDate.parseDayNumber(p, text.utf8.count, allowBareYear: bareYear) == parts?.dayNumber, "\(text)")
            return parts
        }
    }

    func pad(_ v: Int, _ w: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, w - s.count)) + s
    }

    /// Every month and day number around the valid ones, in years at the era and century edges
    /// and at the ends of the range: valid exactly when `CivilDate(year:month:day:)` is, with
    /// its day number and parts.
    @Test func datesAgreeWithTheCalendar() {
        let years = [0, 1, 2, 3, 4, 99, 100, 101, 399, 400, 401, 1582, 1600, 1700, 1899, 1900, 1969, 1970, 1999, 2000, 2023,
                     2024, 2100, 2400, 9998, 9999]
        for y in years {
            for m in 0...13 {
                for d in 0...32 {
                    let text = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))"
                    let want = CivilDate(year: y, month: m, day: d)
                    let got = parsed(text, bareYear: false)
                    #expect(got?.dayNumber == want?.dayNumber, "\(text)")
                    if let got, let want {
                        #expect(got.year == want.year && got.month == want.month && got.day == want.day, "\(text)")
                    }
                    #expect(parsed(text, bareYear: true)?.dayNumber == want?.dayNumber, "\(text)")
                }
            }
            let bare = parsed(pad(y, 4), bareYear: true)
            #expect(bare?.dayNumber == CivilDate(year: y, month: 7, day: 1)?.dayNumber, "\(y)")
            #expect(bare.map { [$0.year, $0.month, $0.day] } == (y >= 1 ? [y, 7, 1] : nil))
            #expect(parsed(pad(y, 4), bareYear: false) == nil)
        }
        // Every 13th day of the whole range, through the day number and back.
        var day = CivilDate(year: 1, month: 1, day: 1)!.dayNumber
        let last = CivilDate(year: 9999, month: 12, day: 31)!.dayNumber
        while day <= last {
            let date = CivilDate(dayNumber: day)
            #expect(parsed(date.description, bareYear: false)?.dayNumber == day, "\(date)")
            day += 13
        }
    }

    /// Any byte out of place, at any position, is refused as `CivilDate.parse` refuses it.
    @Test func malformedDatesAreRefusedAsTheParserRefusesThem() {
        let bad: [UInt8] = [0x00, 0x20, 0x2B, 0x2D, 0x2E, 0x2F, 0x3A, 0x41, 0x61, 0x7F, 0xC3, 0xFF]
        for base in ["2024-02-29", "1985-12-31", "0001-01-01"] {
            for i in 0..<10 {
                for b in bad + [UInt8(0x30), 0x39] {
                    var bytes = Array(base.utf8)
                    bytes[i] = b
                    for bareYear in [false, true] {
                        let want = bytes.withUnsafeBufferPointer { CivilDate.parse($0.baseAddress!, 10, allowBareYear: bareYear) }
                        let got = (bytes + Array("2024-01-01-99999".utf8)).withUnsafeBufferPointer {
                            CivilDate.parseDayNumber($0.baseAddress!, 10, allowBareYear: bareYear)
                        }
                        #expect(got == want?.dayNumber, "\(base) byte \(i) = \(b)")
                    }
                }
            }
        }
        for text in ["", "2024", "202", "20240", "2024-01-0", "2024-01-001", "2024/01/01", "24-01-01", " 2024-01-01"] {
            for bareYear in [false, true] {
                let bytes = Array(text.utf8)
                let want = (bytes + [0]).withUnsafeBufferPointer { CivilDate.parse($0.baseAddress!, bytes.count, allowBareYear: bareYear) }
                #expect(parsed(text, bareYear: bareYear)?.dayNumber == want?.dayNumber, "\(text)")
            }
        }
    }

    /// `first` and spellings of 1...36 bytes that share their first or last 8 bytes, their
    /// length, or hold NUL bytes; and a value for two thirds of them (the others unknown).
    func spellingsSharingBytes(startingWith first: [[UInt8]]) -> ([[UInt8]], [String: Int64]) {
        var spellings = first
        for n in 1...36 {
            for k in 0..<7 {
                var s = [UInt8](repeating: 0x61, count: n)
                if k == 1 { s[0] = 0x62 }
                if k == 2 { s[n - 1] = 0x62 }
                if k == 3 { s[n / 2] = 0x00 }
                if k == 4 { s = [UInt8](repeating: 0x00, count: n) }
                if k == 5 && n > 1 { s[1] = 0x62 }
                if k == 6 && n > 12 { s[n - 12] = 0x62 }
                spellings.append(s)
            }
        }
        let known = Dictionary(spellings.enumerated().filter { $0.offset % 3 != 2 }.map { (String(decoding: $0.element, as: UTF8.self), Int64($0.offset)) },
                               uniquingKeysWith: { a, _ in a })
        return (spellings, known)
    }

    /// The ways give the token table's value for every spelling they answer, and answer again
    /// for the spellings they took; spellings that share their first or last 8 bytes, their
    /// length, or that hold NUL bytes are told apart.
    @Test func spellingWaysGiveTheTokenTablesValues() {
        let (spellings, known) = spellingsSharingBytes(startingWith: [])
        let table = TokenTable { known[$0] ?? -1 }
        let ways = ShortSpellings(table)
        for round in 0..<3 {
            for s in spellings {
                let bytes = s + [UInt8](repeating: 0x61, count: 40)  // slack that continues the spelling
                bytes.withUnsafeBufferPointer { b in
                    let p = b.baseAddress!
                    let want = known[String(decoding: s, as: UTF8.self)] ?? -1
                    let quick = ShortSpellings.value(ways.words, p, s.count)
                    if quick >= 0 { #expect(quick == want, "\(s), round \(round)") }
                    #expect(ways.resolve(p, s.count) == want, "\(s), round \(round)")
                }
            }
        }
    }

    /// A spelling slot (`ShortSpellings.slotValue`, the code decode's loop) holds a cell exactly
    /// when the cell is the spelling it took, whatever bytes follow the cell: prefixes,
    /// extensions, spellings that share their first or last 8 bytes or their length, that hold
    /// NUL bytes, or the empty cell, are not taken for one another; `slotMiss` gives the token
    /// table's value and a spelling too long for the slots is never held.
    @Test func spellingSlotsAnswerOnlyForTheirSpelling() {
        var state: UInt64 = 0x5851_F42D_4C95_7F2D
        func rnd(_ n: Int) -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(state % UInt64(n))
        }
        let (spellings, known) = spellingsSharingBytes(startingWith: [[]])
        for round in 0..<20 {
            let table = ShortSpellings(TokenTable { known[$0] ?? -1 })
            // What each slot was given: the empty cell as a column that is not required gives it.
            var learnt: [[UInt8]: Int64] = [:]
            func probe(_ s: [UInt8]) -> (value: Int64, held: Bool) {
                // Slack that continues the spelling, or any bytes.
                let slack = (0..<40).map { _ in round % 2 == 0 ? 0x61 : UInt8(truncatingIfNeeded: rnd(256)) }
                return (s + slack).withUnsafeBufferPointer { ShortSpellings.slotValue(UnsafePointer(table.slots), $0.baseAddress!, s.count) }
            }
            var order = spellings
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rnd(i + 1)) }
            for s in order {
                let got = probe(s)
                if got.held { #expect(learnt[s] == got.value, "\(s), round \(round)") } else { #expect(learnt[s] == nil || s.count > ShortSpellings.longest) }
                let want = known[String(decoding: s, as: UTF8.self)] ?? -1
                (s + [UInt8](repeating: 0x61, count: 40)).withUnsafeBufferPointer { b in
                    let p = b.baseAddress!
                    if s.isEmpty {
                        table.learnSlot(p, 0, 77)
                        if probe(s).held { learnt[s] = 77 }
                    } else {
                        #expect(table.slotMiss(p, s.count) == want, "\(s), round \(round)")
                        if probe(s).held { learnt[s] = want }
                    }
                }
                if s.count > ShortSpellings.longest { #expect(!probe(s).held, "\(s)") }
            }
            #expect(learnt.count > 20)
            for s in spellings { if let v = learnt[s] { #expect(probe(s).held && probe(s).value == v, "\(s), round \(round)") } }
        }
    }

    /// Whole and decimal numbers read as one word give what reading them digit by digit gives,
    /// for every length up to the word's, with a point, a sign or another byte anywhere.
    @Test func numbersReadAsWordsAgreeWithDigitByDigit() {
        let fill: [UInt8] = Array("0123456789.+-e ,".utf8) + [0x00, 0xFF]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func rnd(_ n: Int) -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(state % UInt64(n))
        }
        var cases: [[UInt8]] = [Array("0".utf8), Array("12.".utf8), Array(".5".utf8), Array("1234567.".utf8), Array(".1234567".utf8),
                                Array("99999999".utf8), Array("00000000".utf8), Array("9999999.".utf8), Array("1.2.3".utf8)]
        for _ in 0..<20000 {
            let n = 1 + rnd(10)
            // Mostly digits, sometimes a point or another byte.
            cases.append((0..<n).map { _ in rnd(4) == 0 ? fill[rnd(fill.count)] : UInt8(0x30 + rnd(10)) })
        }
        for c in cases {
            let bytes = c + Array("7.7.7.7.".utf8)  // slack that looks like a number
            bytes.withUnsafeBufferPointer { b in
                let p = b.baseAddress!
                #expect(ValueParser.parseInt(p, c.count) == ValueParser.parseIntByDigit(p, c.count), "\(c)")
                let d = ValueParser.parseDecimal(p, c.count), e = ValueParser.parseDecimalByDigit(p, c.count)
                #expect(d?.bitPattern == e?.bitPattern, "\(c)")
            }
        }
    }

    /// A flag slot answers for a cell exactly when the cell is the spelling it took: cells that
    /// are its prefixes, its extensions, that differ in a byte or hold NUL bytes, with any bytes
    /// after the comma, are not taken for it; spellings too long or with a comma are not taken.
    @Test func flagSlotsAnswerOnlyForTheirSpelling() {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func rnd(_ n: Int) -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(state % UInt64(n))
        }
        let alphabet: [UInt8] = Array("tTfF01yn,\n".utf8) + [0x00, 0x20, 0xC3, 0xB3]
        func cell() -> [UInt8] {
            (0..<rnd(10)).map { _ in alphabet[rnd(alphabet.count)] }.filter { $0 != 0x2C && $0 != 0x0A }
        }
        for round in 0..<200 {
            let table = CommaSpellings()
            var learned: [Int: [UInt8]] = [:]
            for k in 0..<12 {
                let s = k == 0 ? [] : cell()
                let before = CommaSpellings.slot(first: (s + [0x2C])[0])
                let wasFree = !table.isTaken(before)
                let took = (s + [0x2C] + [UInt8](repeating: 0x41, count: 8)).withUnsafeBufferPointer {
                    table.learn($0.baseAddress!, s.count, Int64(k))
                }
                // `learn` says whether the slot took it: the column decode counts the cells it refuses.
                #expect(took == (wasFree && table.isTaken(before)), "round \(round): \(s)")
                if took {
                    #expect(s.count <= CommaSpellings.longest)
                    learned[k] = s
                }
            }
            // A spelling with a comma or longer than a slot holds is refused.
            for bad in [Array("a,b".utf8), Array("12345678".utf8)] {
                let t = CommaSpellings()
                #expect(!(bad + [0x2C, 0, 0, 0, 0, 0, 0, 0, 0]).withUnsafeBufferPointer { t.learn($0.baseAddress!, bad.count, 1) })
                #expect(!t.isTaken(CommaSpellings.slot(first: bad[0])), "\(bad)")
            }
            let probes = learned.values.map { $0 } + (0..<300).map { _ in cell() }
            for c in probes {
                let slack = (0..<9).map { _ in alphabet[rnd(alphabet.count)] }
                (c + [0x2C] + slack).withUnsafeBufferPointer { b in
                    let p = b.baseAddress!
                    let e = CommaSpellings.slot(first: p[0])
                    let owner = learned.first { $0.value == c }
                    if CommaSpellings.matches(table.words, e, p) {
                        #expect(owner != nil && CommaSpellings.value(table.words, e) == Int64(owner!.key), "round \(round): \(c)")
                    } else {
                        #expect(owner == nil, "round \(round): \(c)")
                    }
                }
            }
        }
    }

    /// Day numbers from the year tables are `daysFromYearOne`'s, in the tables' years and out.
    @Test func yearTablesGiveTheCalendarsDayNumbers() {
        let years = CivilDate.YearStarts.shared
        let first = CivilDate.YearStarts.firstYear, last = first + CivilDate.YearStarts.years
        for y in Array(1...3) + Array((first - 2)...(last + 2)) + [9998, 9999] {
            for m in 1...12 {
                for d in 1...CivilDate.daysInMonth(year: y, month: m) {
                    #expect(years.dayNumber(y, m, d) == CivilDate.daysFromYearOne(y, m, d), "\(y)-\(m)-\(d)")
                }
            }
        }
    }

    /// Dates read through the months met before give what `CivilDate.parseParts` gives, the
    /// first time (read by the parser) and after (by the month's word and the day's two digits),
    /// for real and impossible days, bad day bytes and bare years, with and without them; and
    /// `knownMonthDate`, which reads without a call, gives the same date or none.
    @Test func dateMonthsReadDatesAsTheParser() {
        let months = DateMonths()
        // Years whose months share slots (the table tells 19xx from 20xx by one bit of the
        // century digit: 1824, 2024 and 3024 share, as 1924 and 9924 do), and months of odd bytes.
        var texts: [String] = ["1990", "0000", "2024", "2024-02-", "2024-02-2", "2024-02-2x", "2024-1:-05", "2024-:1-05",
                               "2024-a1-05", "2024-11-05", "20a4-01-05", "2:24-01-05"]
        for y in [1, 24, 1824, 1899, 1900, 1904, 1924, 1999, 2000, 2023, 2024, 2100, 3024, 9924, 9999] {
            for m in [1, 2, 4, 11, 12] {
                for d in ["00", "01", "09", "10", "28", "29", "30", "31", "32", "99", "0a", "a0", "1/", ":1", "-1", " 1"] {
                    texts.append("\(pad(y, 4))-\(pad(m, 2))-\(d)")
                }
            }
        }
        var knownDates = 0
        for round in 0..<4 {
            let bareYear = round % 2 == 0
            for text in texts {
                let bytes = Array(text.utf8) + Array("2024-01-01-99999".utf8)
                bytes.withUnsafeBufferPointer { b in
                    let p = b.baseAddress!, n = text.utf8.count
                    let want = CivilDate.parseParts(p, n, allowBareYear: bareYear)
                    // Without a call, a date of a month met before or nothing: never another date.
                    if let known = months.lookup.knownMonthDate(p, n) {
                        #expect(known.dayNumber == want?.dayNumber && known.day == want?.day, "\(text), round \(round)")
                        knownDates += 1
                    }
                    let got = months.date(p, n, allowBareYear: bareYear)
                    #expect(got?.dayNumber == want?.dayNumber, "\(text), round \(round)")
                    #expect(got?.day == want?.day, "\(text), round \(round)")
                    #expect(got?.monthCount == want.map { $0.year * 12 + $0.month }, "\(text), round \(round)")
                }
            }
        }
        // Most valid dates are read by their month after the first round.
        #expect(knownDates > texts.count / 2)
    }
}
