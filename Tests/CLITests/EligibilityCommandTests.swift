import Foundation
import Testing

/// `povrules eligibility`, end to end on the shipped Thạch Hạ fixture and its planted list.
@Suite struct EligibilityCommandTests {
    static let list = "Fixtures/thach-ha-2024/beneficiaries.csv"

    @Test func checkReportMatchesTheCommittedFile() throws {
        let r = try Povrules.run(["eligibility", "Fixtures/thach-ha-2024", "--check", Self.list])
        let expected = try String(contentsOfFile: Povrules.root + "/Fixtures/thach-ha-2024/beneficiaries.expected.txt", encoding: .utf8)
        #expect(r.status == 1)
        #expect(r.stdout == expected)
        // The accounting of the survey is stated on stderr.
        #expect(r.stderr.contains("households: read 2000, classified 2000, rejected 0"))
    }

    /// Every planted error, with the right kind, line and reason, and nothing else.
    @Test func everyPlantedErrorIsFoundAndNothingElse() throws {
        let r = try Povrules.run(["eligibility", "Fixtures/thach-ha-2024", "--check", Self.list, "--format", "csv"])
        #expect(r.status == 1)
        let rows = r.stdout.split(separator: "\n").dropFirst().map(String.init)
        // kind, line, household, member, programme, priority, a text the reason contains
        let planted: [(String, String, String, String, String, String, String)] = [
            ("invalid_row", "3", "TH0001", "2", "P2", "", "ngày '15/10/2024' không đúng dạng YYYY-MM-DD"),
            ("unknown_id", "5", "TH0001", "9", "P2", "", "hộ TH0001 không có thành viên '9'"),
            ("not_eligible", "6", "TH0002", "1", "P2", "", "hộ không thuộc diện nghèo, cận nghèo hay mới thoát nghèo"),
            ("not_eligible", "204", "TH1277", "1", "P2", "", "hộ không thuộc diện nghèo, cận nghèo hay mới thoát nghèo"),
            ("not_eligible", "242", "TH1447", "5", "P2", "", "12 tuổi 5 tháng, chưa đến tuổi lao động"),
            ("not_eligible", "284", "TH1805", "3", "P2", "", "61 tuổi 8 tháng, quá tuổi lao động"),
            ("duplicate", "410", "TH0646", "1", "P3.1", "", "trùng với dòng 409"),
            // P4 (Decree 30/2025, from 2025-02-24) is in the rules but not yet in force on a 2024 review.
            ("not_eligible", "630", "TH0001", "1", "P4", "", "chưa áp dụng: người lao động có thu nhập thấp được quy định từ ngày 24/02/2025"),
            ("invalid_row", "631", "TH0001", "", "P3.2", "", "thiếu mã thành viên"),
            ("not_eligible", "698", "TH0808", "3", "P3.2", "", "16 tuổi, không phải trẻ em dưới 16 tuổi"),
            ("unknown_id", "818", "TH2001", "1", "P3.2", "", "mã hộ 'TH2001' không có trong khảo sát"),
            ("not_eligible", "839", "TH1506", "", "P5", "", "nhà ở của hộ không thiếu hụt về chất lượng"),
            ("missing", "", "TH0309", "1", "P2", "", "người lao động thuộc hộ nghèo"),
            ("priority_missing", "", "TH0506", "2", "P2", "woman_poor_household", "ưu tiên: phụ nữ thuộc hộ nghèo"),
            ("missing", "", "TH0750", "3", "P3.2", "", "nhóm dưới 5 tuổi"),
            ("missing", "", "TH0990", "", "P5", "", "hộ cận nghèo thiếu hụt chất lượng nhà ở"),
            ("priority_missing", "", "TH1050", "1", "P3.1", "merit_household", "người có công"),
        ]
        #expect(rows.count == planted.count, "\(rows.joined(separator: "\n"))")
        for p in planted {
            let prefix = [p.0, p.1, p.2, p.3, p.4, p.5].joined(separator: ",") + ","
            let row = rows.first { $0.hasPrefix(prefix) }
            #expect(row != nil, "not found: \(prefix)")
            if let row { #expect(row.contains(p.6), "\(row) should say \(p.6)") }
        }
    }

    @Test func englishReasonsAndOtherFormats() throws {
        let json = try Povrules.run(["eligibility", "Fixtures/thach-ha-2024", "--check", Self.list, "--format", "json", "--lang", "en"])
        #expect(json.status == 1)
        #expect(json.stdout.contains("\"clean\":false"))
        #expect(json.stdout.contains("aged 61 years 8 months, above working age"))
        let md = try Povrules.run(["eligibility", "Fixtures/thach-ha-2024", "--check", Self.list, "--format", "markdown"])
        #expect(md.stdout.hasPrefix("# Kiểm tra danh sách thụ hưởng\n"))
        #expect(md.stdout.contains("| 284 | TH1805 | 3 | P2 |  | 61 tuổi 8 tháng, quá tuổi lao động |"))
    }

    @Test func aCleanListExitsZero() throws {
        let listing = try Povrules.run(["eligibility", "Fixtures/thach-ha-2024", "--program", "P5"])
        var text = "household_id,member_id,program,date\n"
        for line in listing.stdout.split(separator: "\n").dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            if cells[3] == "1" { text += "\(cells[0]),,P5,2024-10-01\n" }
        }
        let path = NSTemporaryDirectory() + "povrules-clean-\(getpid()).csv"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try Povrules.run(["eligibility", "Fixtures/thach-ha-2024", "--program", "P5", "--check", path])
        #expect(r.status == 0, "\(r.stdout)")
        #expect(r.stdout.contains("Danh sách hợp lệ"))
    }

    @Test func listingRowsInInputOrder() throws {
        let r = try Povrules.run(["eligibility", "Fixtures/thach-ha-2024"])
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "household_id,member_id,program,eligible,priority,band,reason")
        #expect(lines.dropFirst().prefix(5) == [
            "TH0001,1,P2,1,,,người lao động thuộc hộ mới thoát nghèo",
            "TH0001,1,P3.1,1,,,người lao động thuộc hộ mới thoát nghèo",
            "TH0001,2,P2,1,,,người lao động thuộc hộ mới thoát nghèo",
            "TH0001,2,P3.1,1,,,người lao động thuộc hộ mới thoát nghèo",
            "TH0001,3,P3.2,1,,school_5_15,\"trẻ em thuộc hộ mới thoát nghèo; nhóm trẻ học đường từ 5 đến dưới 16 tuổi: bữa ăn học đường, chăm sóc dinh dưỡng\"",
        ])
        // Every household of the sample survey is classified, so the listing exits 0.
        #expect(r.status == 0)
        let en = try Povrules.run(["eligibility", "Fixtures/thach-ha-2024", "--program", "P3.2", "--lang", "en"])
        let rows = en.stdout.split(separator: "\n").dropFirst()
        #expect(rows.allSatisfy { $0.contains(",P3.2,") })
        #expect(rows.contains { $0.contains(",under_5,") && $0.contains("months old") })
    }

    /// A list row naming a programme the rules do not have is an invalid row, with the ids the
    /// rules have and a did-you-mean.
    @Test func unknownProgrammeOnTheListIsAnInvalidRow() throws {
        let path = NSTemporaryDirectory() + "povrules-unknown-\(getpid()).csv"
        try "household_id,member_id,program,date\nTH0001,1,P44,2024-10-01\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try Povrules.run(["eligibility", "Fixtures/thach-ha-2024", "--check", path, "--format", "csv"])
        #expect(r.status == 1)
        let rows = r.stdout.split(separator: "\n").dropFirst()
        #expect(rows.count == 1)
        #expect(rows.first?.hasPrefix("invalid_row,2,TH0001,1,P44,,") == true)
        #expect(rows.first?.contains("chương trình 'P44' không có trong bộ quy tắc; có: P2, P3.1, P3.2, P4, P5") == true)
    }

    /// P4 (low-income workers, Decree 30/2025) needs no Swift: it applies from 2025-02-24 only.
    @Test func lowIncomeWorkersFrom2025() throws {
        let before = try Povrules.run(["eligibility", "Fixtures/thach-ha-2024", "--program", "P4"])
        #expect(before.status == 0)
        #expect(before.stdout == "household_id,member_id,program,eligible,priority,band,reason\n")
        let after = try Povrules.run(["eligibility", "Fixtures/thach-ha-2024", "--program", "P4", "--as-of", "2025-02-24", "--lang", "en"])
        #expect(after.status == 0)
        let rows = after.stdout.split(separator: "\n").dropFirst()
        #expect(!rows.isEmpty && rows.allSatisfy { $0.contains(",P4,") })
        let eligible = rows.filter { $0.contains(",P4,1,") }
        #expect(!eligible.isEmpty && eligible.allSatisfy { $0.contains("low-income worker: household neither poor nor near-poor") })
        #expect(rows.contains { $0.contains(",P4,0,") && $0.contains("poor or near-poor household") })
    }

    @Test func theSameBytesWhateverTheNumberOfThreads() throws {
        for extra in [[String](), ["--format", "jsonl", "--lang", "en"], ["--check", Self.list], ["--check", Self.list, "--format", "json"]] {
            let one = try Povrules.run(["eligibility", "Fixtures/thach-ha-2024", "--threads", "1"] + extra)
            let two = try Povrules.run(["eligibility", "Fixtures/thach-ha-2024", "--threads", "2"] + extra)
            #expect(!one.stdout.isEmpty)
            #expect(one.status == two.status)
            #expect(one.stdout == two.stdout, "\(extra)")
            #expect(one.stderr == two.stderr)
        }
        let zero = try Povrules.run(["eligibility", "Fixtures/thach-ha-2024", "--threads", "0"])
        #expect(zero.status == 2)
        #expect(zero.stderr.contains("--threads must be at least 1"))
    }

    @Test func unknownProgrammeIsAUsageError() throws {
        let r = try Povrules.run(["eligibility", "Fixtures/thach-ha-2024", "--program", "P3"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("'P3' is not a programme"))
    }
}
