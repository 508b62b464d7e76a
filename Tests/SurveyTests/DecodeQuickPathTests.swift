import Testing
import Diagnostics
@testable import Survey

/// The quick paths of `TableInput.decode` (cells of plain records trimmed from locals, flags
/// spelled `true`/`false` read on their bytes) give the rows and the problems, word for word, of
/// the general path (`trimmedField` and the token table for every cell).
@Suite struct DecodeQuickPathTests {
    /// Cells of every kind: flags in every spelling and near misses, numbers at the edges, dates
    /// at month ends and leap days, codes sharing prefixes, NFD text, blanks around values.
    static let tricky: [String] = [
        "true", "false", "TRUE", "False", " true", "false ", "\ttrue\t", "tru", "fals", "falsee", "truex", "true;",
        "1", "0", "yes", "no", "có", "không", "co\u{301}", "-0", "+5", "007", "-12", "9223372036854775807",
        "99999999999999999999", "999999999999999999", "1.5e3", "1.", ".5", "12.3456789012345678901", "1,5", "",
        "  ", "2024-02-29", "2023-02-29", "2024-04-31", "2024-12-31", "2000-02-29", "1900-02-29", " 2024-01-01",
        "1990", "0000", "2024-1-01", "male", "female", "MALE", "head", "spouse", "none", "tv;smartphone",
        "tv; smartphone ;", "tv;;radio", "own", "rainwater", "protected_dug_well", "protected_dug_wellx",
        "wage_without_contract", "wage_with_contract", "vocational_elementary", "Hà Tĩnh", "Ha\u{300} Ti\u{303}nh",
        "Thôn Nam", "x", "true false",
    ]

    func survey(_ name: String, seed: UInt64, quotes: Bool) -> String {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func rnd(_ n: Int) -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(state % UInt64(n))
        }
        func mangle(_ line: Substring, keep: Int) -> String {
            var cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            // One row in two keeps its cells: some households are accepted.
            guard rnd(2) == 0 else { return cells.joined(separator: ",") }
            for _ in 0..<(1 + rnd(3)) {
                let c = keep + rnd(cells.count - keep)
                let v = DecodeQuickPathTests.tricky[rnd(DecodeQuickPathTests.tricky.count)]
                cells[c] = quotes && rnd(3) == 0 ? "\"" + v + "\"" : v.contains(",") ? "\"" + v + "\"" : v
            }
            return cells.joined(separator: ",")
        }
        let fixture = root + "/Fixtures/thach-ha-2024"
        let hLines = readText(fixture + "/households.csv")!.split(separator: "\n", omittingEmptySubsequences: false)
        let mLines = readText(fixture + "/members.csv")!.split(separator: "\n", omittingEmptySubsequences: false)
        let dir = tempDir(name)
        var h = [String(hLines[0])], m = [String(mLines[0])]
        for i in 1...300 { h.append(mangle(hLines[i], keep: 1)) }
        let ids = Set(hLines[1...300].map { $0.split(separator: ",").first! })
        for line in mLines.dropFirst() where ids.contains(line.split(separator: ",").first ?? "") {
            m.append(mangle(line, keep: 2))
        }
        write(dir + "/households.csv", h.joined(separator: "\n") + "\n")
        write(dir + "/members.csv", m.joined(separator: "\n") + "\n")
        return dir
    }

    @Test func quickPathsReadLikeTheGeneralPath() throws {
        for (k, quotes) in [false, true].enumerated() {
            for seed in UInt64(1)...2 {
                let dir = survey("decode-quick-\(k)-\(seed)", seed: seed, quotes: quotes)
                TableInput.decodeQuickPathsByDefault = false
                let slow = try problemsText(dir)
                let (slowRows, slowReader) = try readAll(dir + "/households.csv", dir + "/members.csv")
                TableInput.decodeQuickPathsByDefault = true
                let quick = try problemsText(dir)
                let (quickRows, quickReader) = try readAll(dir + "/households.csv", dir + "/members.csv")
                #expect(slow == quick, "seed \(seed), quotes \(quotes)")
                #expect(slowRows == quickRows, "seed \(seed), quotes \(quotes)")
                #expect(slowReader.counts == quickReader.counts)
                // The survey does exercise both: rows kept and rows rejected.
                #expect(quickReader.counts.householdsAccepted > 0)
                #expect(quickReader.counts.householdsRejected > 0)
            }
        }
    }

    /// `plainFlag` answers only for the exact bytes `true` and `false`.
    @Test func plainFlagTakesOnlyTheExactSpellings() {
        let cases: [(String, Int64?)] = [("true", 7), ("false", 3), ("TRUE", nil), ("tru", nil), ("truex", nil), ("fals", nil),
                                         ("falsee", nil), ("falsE", nil), ("true ", nil), ("", nil), ("1", nil)]
        for (s, want) in cases {
            var bytes = Array(s.utf8) + [UInt8](repeating: 0x65, count: 16)  // slack that looks like 'e'
            let got = bytes.withUnsafeMutableBufferPointer { TableInput.plainFlag($0.baseAddress!, s.utf8.count, 7, 3) }
            #expect(got == want, "\(s)")
        }
    }
}
