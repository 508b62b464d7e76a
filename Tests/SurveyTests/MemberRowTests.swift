import Testing
import Diagnostics
@testable import Survey
#if canImport(Glibc)
import Glibc
#endif

/// The per-row bookkeeping of member rows: duplicate ids checked on bytes, ages from the
/// birth date's digits, and rows appended straight from the row scratch.
@Suite struct MemberRowTests {
    /// A survey of the Thạch Hạ fixture's first four households, each with the members given
    /// as (household, member id cell) on the fixture's first member row.
    func survey(_ name: String, _ members: [(String, String)]) -> String {
        let fixture = root + "/Fixtures/thach-ha-2024"
        let hLines = readText(fixture + "/households.csv")!.split(separator: "\n", omittingEmptySubsequences: false)
        let mLines = readText(fixture + "/members.csv")!.split(separator: "\n", omittingEmptySubsequences: false)
        let template = mLines[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let dir = tempDir(name)
        write(dir + "/households.csv", hLines[0...4].joined(separator: "\n") + "\n")
        var rows = [String(mLines[0])]
        for (h, id) in members {
            var cells = template
            cells[0] = h
            cells[1] = id
            rows.append(cells.joined(separator: ","))
        }
        write(dir + "/members.csv", rows.joined(separator: "\n") + "\n")
        return dir
    }

    @Test func duplicateMemberIDsCompareAsNFCText() throws {
        let dir = survey("dup-ids", [
            ("TH0001", "1"), ("TH0001", " 1\t"),                   // blanks around: the same id
            ("TH0002", "Bình"), ("TH0002", "Bi\u{300}nh"),          // NFC and decomposed: the same
            ("TH0003", "Bình"), ("TH0003", "Bính"), ("TH0003", "\"Binh\""), // all different
            ("TH0004", "K"), ("TH0004", "\u{212A}"),                 // Kelvin sign: NFC is 'K'
        ])
        let (rows, reader) = try readAll(dir + "/households.csv", dir + "/members.csv")
        let dups = reader.problems.filter { $0.kind == "duplicate_member" }.map { $0.diagnostic.message }
        #expect(dups == [
            "member id '1' appears twice in household 'TH0001'; household 'TH0001' is rejected with all its members",
            "member id 'Bình' appears twice in household 'TH0002'; household 'TH0002' is rejected with all its members",
            "member id 'K' appears twice in household 'TH0004'; household 'TH0004' is rejected with all its members",
        ])
        #expect(reader.counts.householdsAccepted == 1)
        #expect(reader.counts.membersAccepted == 3)
        #expect(rows.filter { $0.hasPrefix("  ") }.map { $0.contains("member_id=Binh ") || $0.contains("member_id=Bình ") || $0.contains("member_id=Bính ") } == [true, true, true])
    }

    @Test func memberIDSetMatchesStringEquality() {
        let ids = ["1", "01", "1 ", "Bình", "Bi\u{300}nh", "Bính", "K", "\u{212A}", "", "ab", "a", "0123456789abcdef",
                   "0123456789abcdefg", "0123456789abcdefh", "Nguyễn-Văn-Bình-0001", "Nguyễn-Văn-Bi\u{300}nh-0001"]
        for a in ids {
            for b in ids {
                var set = MemberIDSet()
                let first = set.insert(nfc: SurveyText.nfc(a))
                let second = set.insert(nfc: SurveyText.nfc(b))
                #expect(!first)
                #expect(second == (SurveyText.nfc(a) == SurveyText.nfc(b)), "\(a) \(b)")
            }
        }
        var set = MemberIDSet()
        _ = set.insert(nfc: "x")
        set.removeAll()
        let again = set.insert(nfc: "x")
        #expect(!again)
        #expect(set.count == 1)
    }

    /// Batches of any size give the same records, and every age is the completed months of the
    /// member's birth date on the household's reference date.
    @Test func batchesAndAgesAgreeAcrossBatchSizes() throws {
        let dir = root + "/Fixtures/thach-ha-2024"
        let (one, _) = try readAll(dir + "/households.csv", dir + "/members.csv", batch: 1)
        let (seven, _) = try readAll(dir + "/households.csv", dir + "/members.csv", batch: 7)
        let (all, _) = try readAll(dir + "/households.csv", dir + "/members.csv", batch: 4096)
        #expect(one == all)
        #expect(seven == all)

        let schema = try shippedSchema()
        let reader = try SurveyReader(householdsPath: dir + "/households.csv", membersPath: dir + "/members.csv", schema: schema, mapping: nil)
        let birth = schema.members.firstIndex { $0.type == .birthDate }!
        var checked = 0
        while let b = try reader.next(maxHouseholds: 300) {
            for h in 0..<b.households.count {
                for m in b.memberRanges[h] {
                    guard let d = b.members.date(birth, m) else { #expect(b.ageMonths[m] == -1); continue }
                    #expect(Int(b.ageMonths[m]) == CivilDate.completedMonths(from: d, to: b.referenceDates[h]))
                    checked += 1
                }
            }
        }
        #expect(checked > 6000)
    }

    @Test func agesOfBareYearsAndMonthEnds() throws {
        var a = AgeReference(CivilDate(year: 2024, month: 2, day: 29)!)
        for (y, m, d) in [(2023, 3, 31), (2020, 2, 29), (2024, 2, 29), (2023, 2, 28), (1985, 7, 1), (2024, 1, 31), (2023, 12, 30)] {
            let b = CivilDate(year: y, month: m, day: d)!
            #expect(a.completedMonths(year: y, month: m, day: d, dayNumber: b.dayNumber) == CivilDate.completedMonths(from: b, to: a.date))
            #expect(a.completedMonths(dayNumber: b.dayNumber) == CivilDate.completedMonths(from: b, to: a.date))
        }
        a = AgeReference(CivilDate(year: 2023, month: 6, day: 30)!)
        let later = CivilDate(year: 2023, month: 7, day: 31)!
        #expect(a.completedMonths(year: 2023, month: 7, day: 31, dayNumber: later.dayNumber) == CivilDate.completedMonths(from: later, to: a.date))
    }
}
