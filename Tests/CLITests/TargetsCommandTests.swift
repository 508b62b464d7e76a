import Foundation
import Testing

/// `povrules targets`, end to end on the shipped Thạch Hạ fixture and its plan. Measured figures
/// were checked with awk over `povrules classify` output and members.csv (T01: 75 poor before,
/// 57 now; T08: 312 of the 397 people of poor and near-poor households insured; T13: 32 of 57
/// poor households not deprived on housing quality; T14–T16 over the 99 poor and near-poor).
@Suite struct TargetsCommandTests {
    static let survey = "Fixtures/thach-ha-2024"
    static let plan = "Rules/plans/thach-ha-2024.yaml"
    static let ids = ["T01_giam_ho_ngheo", "T02_giam_ty_le_ho_ngheo", "T03_mo_hinh_sinh_ke", "T04_nang_luc_san_xuat",
                      "T05_tap_huan_can_bo", "T06_tu_van_viec_lam", "T07_ket_noi_viec_lam", "T08_bao_hiem_y_te",
                      "T09_tre_em_di_hoc", "T10_lao_dong_qua_dao_tao", "T11_lao_dong_co_chung_chi", "T12_dao_tao_ky_nang_nghe",
                      "T13_nha_o_an_toan", "T14_nuoc_hop_ve_sinh", "T15_nha_tieu_hop_ve_sinh", "T16_vien_thong_internet"]
    static let notMeasurable: Set<String> = ["T03_mo_hinh_sinh_ke", "T04_nang_luc_san_xuat", "T05_tap_huan_can_bo",
                                             "T06_tu_van_viec_lam", "T12_dao_tao_ky_nang_nghe"]
    static let missed = ["T07_ket_noi_viec_lam", "T08_bao_hiem_y_te", "T09_tre_em_di_hoc", "T10_lao_dong_qua_dao_tao",
                         "T11_lao_dong_co_chung_chi", "T13_nha_o_an_toan", "T14_nuoc_hop_ve_sinh", "T15_nha_tieu_hop_ve_sinh",
                         "T16_vien_thong_internet"]

    static func targets(_ extra: [String] = []) throws -> Povrules.Result {
        try Povrules.run(["targets", survey, "--plan", plan] + extra)
    }

    /// Overall CSV rows (empty village) by target id.
    static func overall(_ csv: String) -> [(id: String, cells: [String])] {
        csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            .filter { $0.count > 1 && $0[1].isEmpty }.map { ($0[0], $0) }
    }

    @Test func everySeedTargetIsMeasuredOrMarked() throws {
        let r = try Self.targets(["--format", "csv"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("target,village,level,state,goal_kind,goal,numerator,denominator,rate,met,gap,unit\n"))
        let rows = Self.overall(r.stdout)
        #expect(rows.map(\.id) == Self.ids)
        for (id, cells) in rows {
            let state = cells[3]
            if Self.notMeasurable.contains(id) {
                #expect(state == "not_measurable", "\(id)")
                #expect(cells[9].isEmpty, "\(id): no verdict")
            } else {
                #expect(state == "measured", "\(id)")
                #expect(!cells[6].isEmpty && !cells[7].isEmpty, "\(id): figures")
            }
        }
        // Exact figures: target → numerator, denominator, rate, met, gap, unit.
        let expected: [String: [String]] = [
            "T01_giam_ho_ngheo": ["18", "75", "0.009", "1", "0", "households"],
            "T02_giam_ty_le_ho_ngheo": ["18", "2000", "0.009", "1", "0", "households"],
            "T03_mo_hinh_sinh_ke": ["", "", "", "", "", "models"],
            "T04_nang_luc_san_xuat": ["", "108", "", "", "", "people"],
            "T05_tap_huan_can_bo": ["", "", "", "", "", "staff"],
            "T07_ket_noi_viec_lam": ["237", "252", "0.940476", "0", "3", "people"],
            "T08_bao_hiem_y_te": ["312", "397", "0.785894", "0", "85", "people"],
            "T13_nha_o_an_toan": ["32", "57", "0.561404", "0", "25", "households"],
            "T14_nuoc_hop_ve_sinh": ["78", "99", "0.787879", "0", "21", "households"],
            "T15_nha_tieu_hop_ve_sinh": ["67", "99", "0.676768", "0", "32", "households"],
            "T16_vien_thong_internet": ["58", "99", "0.585859", "0", "41", "households"],
        ]
        for (id, cells) in rows {
            if let e = expected[id] { #expect(Array(cells[6...11]) == e, "\(id)") }
        }
        // Every village of a measured target has a row, and its figures add up to the whole.
        let all = r.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        for id in ["T08_bao_hiem_y_te", "T13_nha_o_an_toan"] {
            let villages = all.filter { $0[0] == id && !$0[1].isEmpty }
            #expect(villages.count == 11)
            let overall = try #require(rows.first { $0.id == id }?.cells)
            #expect(villages.compactMap { Int($0[6]) }.reduce(0, +) == Int(overall[6]))
            #expect(villages.compactMap { Int($0[7]) }.reduce(0, +) == Int(overall[7]))
        }
        #expect(r.stderr.contains("targets missed: " + Self.missed.joined(separator: ", ")))
        #expect(r.stderr.contains("households: read 2000, classified 2000, rejected 0"))
    }

    @Test func tableShowsEachTargetWithItsUnit() throws {
        let vi = try Self.targets()
        #expect(vi.status == 0)
        #expect(vi.stdout.hasPrefix("Tiến độ thực hiện chỉ tiêu — Kế hoạch giảm nghèo bền vững năm 2024, xã Thạch Hạ\n"))
        let lines = vi.stdout.split(separator: "\n").map(String.init)
        func line(_ id: String) -> String? { lines.first { $0.hasPrefix(id + " ") } }
        for id in Self.ids { #expect(line(id) != nil, "\(id)") }
        #expect(line("T03_mo_hinh_sinh_ke")?.hasSuffix("không đo được          —  mô hình") == true)
        #expect(line("T05_tap_huan_can_bo")?.hasSuffix("không đo được          —  cán bộ") == true)
        #expect(line("T08_bao_hiem_y_te")?.contains("312     397      78,59%  chưa đạt              85  người") == true)
        #expect(line("T01_giam_ho_ngheo")?.contains("giảm 3 hộ") == true)
        #expect(line("T13_nha_o_an_toan")?.hasSuffix("  hộ") == true)

        let en = try Self.targets(["--lang", "en"])
        #expect(en.status == 0)
        #expect(en.stdout.hasPrefix("Progress against the plan — Sustainable poverty reduction plan 2024, Thạch Hạ commune\n"))
        let enLines = en.stdout.split(separator: "\n").map(String.init)
        func enLine(_ id: String) -> String? { enLines.first { $0.hasPrefix(id + " ") } }
        #expect(enLine("T03_mo_hinh_sinh_ke")?.hasSuffix("not measurable    —  models") == true)
        #expect(enLine("T05_tap_huan_can_bo")?.hasSuffix("not measurable    —  staff") == true)
        #expect(enLine("T08_bao_hiem_y_te")?.hasSuffix("people") == true)
        #expect(enLine("T01_giam_ho_ngheo")?.contains("fall 3 households") == true)
    }

    @Test func failOnMissExitsOneAfterTheOutput() throws {
        let r = try Self.targets(["--fail-on-miss", "--format", "csv"])
        #expect(r.status == 1)
        #expect(Self.overall(r.stdout).count == 16)
        #expect(r.stderr.contains("targets missed: T07_ket_noi_viec_lam"))
        // A plan whose targets are all met passes.
        let plan = try TempPlan.write(Self.metPlan)
        defer { try? FileManager.default.removeItem(atPath: plan) }
        let met = try Povrules.run(["targets", Self.survey, "--plan", plan, "--fail-on-miss"])
        #expect(met.status == 0, "\(met.stderr)")
        #expect(!met.stderr.contains("targets missed"))
    }

    static let metPlan = """
    plan:
      id: met
      title: {vi: "Kế hoạch đạt", en: "A plan that is met"}
      source: "test"
      year: 2024
    targets:
      - id: T01
        label: {vi: "Giảm 3 hộ nghèo", en: "3 fewer poor households"}
        text: "Giảm nghèo 3 hộ"
        before: "has(h.prior_status) && h.prior_status == 'poor'"
        after: "status == 'poor'"
        goal: {reduce_by: 3}
      - id: T17
        label: {vi: "Tập huấn", en: "Training"}
        text: "Tập huấn cán bộ"
        unit: staff
        goal: {share: 1.0}
        measurable: false
        note: "reported by the commune"
        reported: {numerator: 12, denominator: 12, date: 2024-11-30}
      - id: T18
        label: {vi: "Lớp học", en: "Courses"}
        text: "Mở lớp"
        unit: {vi: "lớp", en: "courses"}
        goal: none
        measurable: false
        note: "an activity"
    """

    @Test func listNamesIdsOnlyUnlessWithNames() throws {
        let r = try Self.targets(["--list", "--format", "csv"])
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "target,household_id,village,member_id")
        let rows = lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.allSatisfy { $0.count == 4 })
        func count(_ id: String) -> Int { rows.filter { $0[0] == id }.count }
        #expect(count("T08_bao_hiem_y_te") == 85)
        #expect(count("T13_nha_o_an_toan") == 25)
        #expect(count("T16_vien_thong_internet") == 41)
        // Reductions list the households that still count (poor now).
        #expect(count("T01_giam_ho_ngheo") == 57)
        // Targets the survey cannot measure have no list.
        for id in Self.notMeasurable { #expect(count(id) == 0) }
        #expect(rows.filter { $0[0] == "T08_bao_hiem_y_te" }.allSatisfy { !$0[3].isEmpty })
        #expect(rows.filter { $0[0] == "T13_nha_o_an_toan" }.allSatisfy { $0[3].isEmpty })

        let named = try Self.targets(["--list", "--with-names", "--format", "csv"])
        #expect(named.status == 0)
        let namedLines = named.stdout.split(separator: "\n").map(String.init)
        #expect(namedLines.first == "target,household_id,village,member_id,full_name")
        #expect(namedLines.count == lines.count)
        let t08 = namedLines.dropFirst().filter { $0.hasPrefix("T08_bao_hiem_y_te,") }
        #expect(t08.count == 85 && t08.allSatisfy { !$0.hasSuffix(",") })
        // The names are the members' full_name from members.csv; without --with-names, none appear.
        let members = try String(contentsOfFile: Povrules.root + "/Fixtures/thach-ha-2024/members.csv", encoding: .utf8)
        let first = try #require(t08.first?.split(separator: ",").map(String.init))
        let memberRow = try #require(members.split(separator: "\n").first { $0.hasPrefix("\(first[1]),\(first[3]),") })
        #expect(memberRow.contains(first[4]))
        #expect(!r.stdout.contains(first[4]))

        let table = try Self.targets(["--list"])
        #expect(table.stdout.contains("Danh sách còn thiếu — T08_bao_hiem_y_te (85)"))
        let alone = try Self.targets(["--with-names"])
        #expect(alone.status == 2)
        #expect(alone.stderr.contains("--with-names goes with --list"))
    }

    @Test func jsonAndMarkdownShapes() throws {
        let json = try Self.targets(["--format", "json"])
        #expect(json.status == 0)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(root["plan"] as? String == "thach-ha-2024")
        let targets = try #require(root["targets"] as? [[String: Any]])
        #expect(targets.compactMap { $0["id"] as? String } == Self.ids)
        for t in targets {
            let id = t["id"] as? String ?? ""
            let overall = try #require(t["overall"] as? [String: Any])
            #expect((overall["state"] as? String) == (Self.notMeasurable.contains(id) ? "not_measurable" : "measured"), "\(id)")
            #expect((t["by_village"] != nil) == !Self.notMeasurable.contains(id), "\(id)")
        }
        let t05 = try #require(targets.first { $0["id"] as? String == "T05_tap_huan_can_bo" })
        #expect(t05["unit"] as? String == "staff" && t05["unit_label"] as? String == "cán bộ")
        let t08 = try #require(targets.first { $0["id"] as? String == "T08_bao_hiem_y_te" })
        let o8 = try #require(t08["overall"] as? [String: Any])
        #expect(o8["numerator"] as? Int == 312 && o8["denominator"] as? Int == 397 && o8["gap"] as? Int == 85 && o8["met"] as? Bool == false)
        #expect(t08["unit"] as? String == "people")

        let md = try Self.targets(["--format", "markdown", "--lang", "en"])
        #expect(md.status == 0)
        #expect(md.stdout.hasPrefix("## Sustainable poverty reduction plan 2024, Thạch Hạ commune\n\nSource: "))
        #expect(md.stdout.contains("| T03_mo_hinh_sinh_ke |"))
        #expect(md.stdout.contains("| models |") && md.stdout.contains("| staff |"))
    }

    @Test func theSameBytesWhateverTheNumberOfThreads() throws {
        for extra in [["--format", "csv"], ["--list", "--format", "csv"], ["--format", "json"]] {
            let one = try Self.targets(extra + ["--threads", "1"])
            let two = try Self.targets(extra + ["--threads", "2"])
            #expect(one.status == 0 && !one.stdout.isEmpty)
            #expect(one.stdout == two.stdout, "\(extra)")
            #expect(one.stderr == two.stderr)
        }
    }

    @Test func planMistakesExitTwoWithThePlace() throws {
        let cases: [(String, String, String)] = [
            // (replace, with, message fragment)
            ("unit: staff", "unit: staf", "'unit' of target 'T17' must be households, people, models or staff"),
            ("unit: staff", "unit: staf", "did you mean 'staff'?"),
            ("unit: staff", "unit: 3", "must be households, people, models or staff"),
            ("unit: {vi: \"lớp\", en: \"courses\"}", "unit: {vi: \"lớp\"}", "missing required key 'en'"),
            ("goal: {reduce_by: 3}", "goal: {reduce_by: 3}\n    unit: models", "target 'T01' is measured over households (level: household), so its unit cannot be 'models'"),
            ("goal: {reduce_by: 3}", "goal: {reduce_by: 3}\n    unit: people", "give 'level: member' to count people"),
        ]
        for (old, new, message) in cases {
            let text = Self.metPlan.replacingOccurrences(of: old, with: new)
            #expect(text != Self.metPlan)
            let plan = try TempPlan.write(text)
            defer { try? FileManager.default.removeItem(atPath: plan) }
            let r = try Povrules.run(["targets", Self.survey, "--plan", plan])
            #expect(r.status == 2, "\(new)")
            #expect(r.stderr.contains(message), "\(new): \(r.stderr)")
            #expect(r.stderr.hasPrefix(plan + ":"), "\(r.stderr)")
            #expect(r.stdout.isEmpty)
        }
        let missing = try Povrules.run(["targets", Self.survey, "--plan", "Rules/plans/no-such-plan.yaml"])
        #expect(missing.status == 2)
        let threads = try Self.targets(["--threads", "0"])
        #expect(threads.status == 2)
    }

    @Test func rejectedRowsExitTwoEvenWithFailOnMiss() throws {
        let dir = try SurveyCopy.make(breaking: "TH0002")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try Povrules.run(["targets", dir, "--plan", Self.plan, "--fail-on-miss", "--format", "csv"])
        #expect(r.status == 2)
        #expect(Self.overall(r.stdout).count == 16)
        #expect(r.stderr.contains("households: read 2000, classified 1999, rejected 1"))
    }
}

enum TempPlan {
    static func write(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "povrules-plan-\(getpid())-\(UUID().uuidString).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
