import Audit
import Diagnostics
import Engine
import Foundation
import RuleModel
import Survey
import Testing

/// A small survey for programme eligibility: rural households reviewed on 2024-09-15, each with
/// one working adult (member 1, male, wage with contract) and one child of 30 months (member 2),
/// so every household counts once for P2, P3.1 and P3.2; `badHouse` makes housing quality deprived
/// (P5 is household-level).
extension Workspace {
    struct Row {
        var id: String
        var income: Int
        /// Water, sanitation and telecom deprived.
        var deprived = false
        /// Foundation and walls not durable: housing quality deprived.
        var badHouse = false
    }

    func writeFamilies(_ rows: [Row]) throws {
        try FileManager.default.createDirectory(atPath: survey, withIntermediateDirectories: true)
        var h = "household_id,village,area,review_date,income_per_capita,dwelling,floor_area_m2,foundation_durable,walls_durable,roof_durable,water_source,latrine,internet,devices,hears_loudspeaker\n"
        var m = "household_id,member_id,sex,birth_date,employment,health_insurance,education,in_school,stunted,underweight\n"
        for x in rows {
            let durable = x.badHouse ? "false,false,true" : "true,true,true"
            h += "\(x.id),Thôn 1,rural,2024-09-15,\(x.income),own,60,\(durable),\(x.deprived ? "surface" : "piped"),\(x.deprived ? "none" : "flush_septic"),\(x.deprived ? "false" : "true"),tv;smartphone,true\n"
            m += "\(x.id),1,male,1980-05-10,wage_with_contract,true,upper_secondary,false,,\n"
            m += "\(x.id),2,female,2022-03-01,,true,,false,false,false\n"
        }
        try h.write(toFile: survey + "/households.csv", atomically: true, encoding: .utf8)
        try m.write(toFile: survey + "/members.csv", atomically: true, encoding: .utf8)
    }

    /// With the rural line lowered from 1,500,000 to 1,400,000:
    /// - NP1–NP3 (1,450,000, no deprivation): near-poor → average, so 3 workers and 3 children lose
    ///   P2, P3.1 and P3.2;
    /// - PH1–PH2 (1,450,000, 4 deprivations with housing quality): poor → average, so 2 more of
    ///   each lose P2, P3.1, P3.2, and the 2 households lose P5;
    /// - LOW1–LOW4 (near-poor) and LOWH1 (poor, housing deprived) stay eligible on both sides;
    /// - HI1–HI2 are never eligible.
    /// Base: P2 = P3.1 = P3.2 = 10 people, P5 = 3 households; head: 5 people, 1 household.
    func familySurvey() throws {
        var rows: [Row] = []
        for i in 1...3 { rows.append(Row(id: "NP\(i)", income: 1_450_000)) }
        for i in 1...2 { rows.append(Row(id: "PH\(i)", income: 1_450_000, deprived: true, badHouse: true)) }
        for i in 1...4 { rows.append(Row(id: "LOW\(i)", income: 1_000_000)) }
        rows.append(Row(id: "LOWH1", income: 1_000_000, deprived: true, badHouse: true))
        for i in 1...2 { rows.append(Row(id: "HI\(i)", income: 5_000_000)) }
        try writeFamilies(rows)
    }
}

@Suite struct DiffProgrammeTests {
    func programme(_ r: DiffReport, _ id: String) throws -> ProgrammeChange {
        try #require(r.programmes.first { $0.id == id }, "no programme \(id) in \(r.programmes.map(\.id))")
    }

    /// Base: the shipped rules; head: the copy with the rural line lowered.
    func lowered(_ w: Workspace, sample: Int = 3, swap: Bool = false, plan: Plan? = nil) throws -> DiffReport {
        let shipped = try AuditRules.load(root: Workspace.repo + "/Rules", label: "shipped")
        try w.lowerRuralLine()
        let low = try AuditRules.load(root: w.rules, label: "lowered")
        let (a, b) = swap ? (low, shipped) : (shipped, low)
        return try RuleDiff(base: DiffSide(rules: a), head: DiffSide(rules: b), surveys: [DiffSurvey(folder: w.survey)],
                            sampleSize: sample, language: .en, plan: plan).run()
    }

    @Test func thresholdChangeShowsEligibilityLost() throws {
        let w = try Workspace()
        defer { w.remove() }
        try w.familySurvey()
        let r = try lowered(w)
        #expect(r.households == 12)
        #expect(r.transition("near_poor", "average") == 3)
        #expect(r.transition("poor", "average") == 2)
        #expect(r.baseHasProgrammes && r.headHasProgrammes)
        #expect(Set(r.programmes.map(\.id)).isSuperset(of: ["P2", "P3.1", "P3.2", "P5"]))
        for id in ["P2", "P3.1", "P3.2"] {
            let p = try programme(r, id)
            #expect(p.level == "member" && p.presence == "both")
            #expect((p.baseEligible, p.headEligible, p.gained, p.lost, p.net) == (10, 5, 0, 5, -5), "\(id)")
            #expect(p.priorityChanged == 0 && p.bandChanged == 0)
        }
        let p5 = try programme(r, "P5")
        #expect(p5.level == "household" && p5.unit == "households")
        #expect((p5.baseEligible, p5.headEligible, p5.gained, p5.lost, p5.net) == (3, 1, 0, 2, -2))

        // The sample says who loses what, with the reasons before and after.
        let first = try #require(r.sample.first)
        #expect(first.householdID == "NP1")
        #expect(first.eligibilityLost == ["P2", "P3.1", "P3.2"])
        #expect(first.eligibilityGained.isEmpty)
        let p2 = try #require(first.eligibility.first { $0.program == "P2" })
        #expect(p2.memberID == "1" && p2.kind == "lost")
        #expect(p2.before == "eligible: worker of a near-poor household")
        #expect(p2.after.hasPrefix("not eligible: household neither poor"))
        let child = try #require(first.eligibility.first { $0.program == "P3.2" })
        #expect(child.memberID == "2" && child.before.hasPrefix("eligible (band under_5)"))
        let ph = try #require(r.sample.first { $0.householdID == "PH1" })
        #expect(ph.eligibilityLost == ["P2", "P3.1", "P3.2", "P5"])
        #expect(ph.eligibility.first { $0.program == "P5" }?.memberID == "")

        // Every format carries the programmes section.
        let text = r.render(.text)
        #expect(text.contains("Programme eligibility (people; households for a household-level programme):"))
        #expect(text.contains("eligibility lost: P2, P3.1, P3.2"))
        let md = r.render(.markdown)
        #expect(md.contains("### Programme eligibility"))
        #expect(md.contains("| people | 10 | 5 | 0 | **5** | **-5** | 0 / 0 |"))
        #expect(md.contains("| households | 3 | 1 | 0 | **2** | **-2** | 0 / 0 |"))
        #expect(md.contains("- `P2`, member 1: **lost**. Before: eligible: worker of a near-poor household."))
        let json = r.render(.json)
        #expect(json.contains("{\"id\":\"P5\",\"level\":\"household\",\"presence\":\"both\",\"base\":3,\"head\":1,\"gained\":0,\"lost\":2,\"net\":-2,\"priority_changed\":0,\"band_changed\":0}"))
        #expect(json.contains("{\"program\":\"P2\",\"member_id\":\"1\",\"change\":\"lost\""))
    }

    @Test func theOtherWayRoundEligibilityIsGained() throws {
        let w = try Workspace()
        defer { w.remove() }
        try w.familySurvey()
        let r = try lowered(w, swap: true)
        let p2 = try programme(r, "P2")
        #expect((p2.baseEligible, p2.headEligible, p2.gained, p2.lost, p2.net) == (5, 10, 5, 0, 5))
        let p5 = try programme(r, "P5")
        #expect((p5.gained, p5.lost) == (2, 0))
        #expect(r.sample.first?.eligibilityGained == ["P2", "P3.1", "P3.2"])
    }

    @Test func aBandChangeAloneCountsAsAChange() throws {
        let w = try Workspace()
        defer { w.remove() }
        try w.familySurvey()
        let base = try AuditRules.load(root: w.rules, label: "base")
        // Nutrition's under-5 band narrowed to under 24 months: the 30-month-old children of the
        // 10 eligible households drop out of the band but stay eligible.
        try w.edit("vn-mdp/2022-2026-nd07/programmes.yaml", "value: 60,", "value: 24,")
        let head = try AuditRules.load(root: w.rules, label: "head")
        let r = try RuleDiff(base: DiffSide(rules: base), head: DiffSide(rules: head), surveys: [DiffSurvey(folder: w.survey)],
                             sampleSize: 2, language: .en).run()
        #expect(r.statusChanged == 0)
        #expect(r.changed == 10)
        let p32 = try programme(r, "P3.2")
        #expect((p32.gained, p32.lost, p32.net, p32.bandChanged, p32.priorityChanged) == (0, 0, 0, 10, 0))
        #expect(try programme(r, "P2").bandChanged == 0)
        let s = try #require(r.sample.first)
        #expect(s.eligibility.count == 1 && s.eligibility[0].kind == "changed")
        #expect(s.eligibility[0].before.hasPrefix("eligible (band under_5)"))
        #expect(s.eligibility[0].after == "eligible: child of a near-poor household")
        #expect(r.render(.text).contains("priority or band changed: P3.2"))
        // Bands are not bounded by an expectation: "nothing else" passes.
        #expect(try ImpactExpectation.parse("nothing else", file: "e").check(r).isEmpty)
    }

    @Test func programmeBoundsPassInsideAndFailOutside() throws {
        let w = try Workspace()
        defer { w.remove() }
        try w.familySurvey()
        let r = try lowered(w)
        let inside = try ImpactExpectation.parse("""
            poor: -2; near_poor: -3; average: +5; income_below_line: any
            P2: -10..0           # net change in people eligible
            P3.1.lost: 5; P3.1.gained: 0
            P3.2.net: -5
            P5.lost: 1..2
            nothing else
            """, file: "inside.txt")
        #expect(inside.unknownNames(in: r).isEmpty)
        #expect(inside.check(r).isEmpty, "\(inside.check(r))")

        let outside = try ImpactExpectation.parse("P2: -4..0\nP3.2.gained: 1..5\nP5.lost: ..1", file: "outside.txt")
        let b = outside.check(r).map(\.description)
        #expect(b == [
            "outside.txt:1:1: error: P2: -5 is below the lower bound of -4..0 (people eligible: base 10, head 5; 0 gained, 5 lost)",
            "outside.txt:2:1: error: P3.2.gained: 0 is below the lower bound of +1..+5 (people eligible: base 10, head 5; 0 gained, 5 lost)",
            "outside.txt:3:1: error: P5.lost: +2 is above the upper bound of ..+1 (households eligible: base 3, head 1; 0 gained, 2 lost)",
        ])

        // "nothing else" covers programmes: an undeclared change of eligibility is a breach.
        let strict = try ImpactExpectation.parse("poor: any; near_poor: any; average: any; income_below_line: any; P2: any; nothing else", file: "strict.txt")
        let s = strict.check(r).map(\.message)
        #expect(s.count == 3)
        #expect(s.contains("P5: eligibility gained by 0 and lost by 2 households (eligible: base 3, head 1), but the expectation declares no change of 'P5'"))
        #expect(!s.contains { $0.hasPrefix("P2:") })

        // A programme that is not there is an error with a did-you-mean, not a silent pass.
        let typo = try ImpactExpectation.parse("P3.3.lost: 0\nP22: 0", file: "typo.txt")
        let unknown = typo.unknownNames(in: r)
        #expect(unknown.count == 2)
        #expect(unknown[0].message.hasPrefix("'P3.3' is not a programme of either rule set"))
        #expect(unknown[1].message.hasPrefix("'P22' is not a household class or programme of either rule set"))
        #expect(unknown[1].hint?.contains("P2") == true)
    }

    @Test func aClassNameStaysAClass() throws {
        // The old syntax is unchanged: a plain class id bounds the class.
        let e = try ImpactExpectation.parse("poor: -2\nP2: -5", file: "e")
        #expect(e.bounds[0].quantity == .classNet("poor"))
        #expect(e.bounds[1].quantity == .classNet("P2"))
        #expect(try ImpactExpectation.parse("P3.2.gained: 0", file: "e").bounds[0].quantity == .programme("P3.2", .gained))
    }

    @Test func aStandardWithoutProgrammesIsNotReportedAsEveryoneLosing() throws {
        let w = try Workspace()
        defer { w.remove() }
        try w.familySurvey()
        let rules = try AuditRules.load(root: Workspace.repo + "/Rules", label: "Rules")
        let r = try RuleDiff(base: DiffSide(rules: rules, asOf: CivilDate("2026-12-31")), head: DiffSide(rules: rules, asOf: CivilDate("2027-01-01")),
                             surveys: [DiffSurvey(folder: w.survey)], sampleSize: 2, language: .en).run()
        #expect(r.baseHasProgrammes && !r.headHasProgrammes)
        #expect(r.programmes.allSatisfy { $0.presence == "base only" && $0.headEligible == 0 })
        #expect(try programme(r, "P2").baseEligible == 10)
        let md = r.render(.markdown)
        #expect(md.contains("> **Note:** The head rules (vn-mdp-2027@"))
        #expect(md.contains("declare no programmes, so eligibility cannot be compared"))
        #expect(md.contains("| people | 10 | not declared | — | — | — | — |"))
        let withEligibility = try #require(r.sample.first { !$0.eligibility.isEmpty })
        #expect(withEligibility.eligibility.allSatisfy { $0.kind == "base only" && $0.after == "no such programme in these rules" })
        #expect(withEligibility.eligibilityLost.isEmpty)
    }

    @Test func planTargetsThatChangeAreListed() throws {
        let w = try Workspace()
        defer { w.remove() }
        try w.familySurvey()
        let plan = try PlanLoader.load(Workspace.repo + "/Rules/plans/thach-ha-2024.yaml")
        let r = try lowered(w, plan: plan)
        let t = try #require(r.targets)
        #expect(t.compared)
        #expect(t.baseCounted == 12 && t.headCounted == 12)
        // T01: poor before (no prior status: 0) minus poor now: 3 under base, 1 under head.
        let t01 = try #require(t.changes.first { $0.id == "T01_giam_ho_ngheo" })
        #expect(t01.base.numerator == -3 && t01.head.numerator == -1)
        #expect(t01.changedFields == ["numerator", "rate"])
        #expect(t01.base.met == false && t01.head.met == false)
        #expect(!t.changes.contains { $0.id == "T03_mo_hinh_sinh_ke" })
        let md = r.render(.markdown)
        #expect(md.contains("### Plan targets"))
        #expect(md.contains("| `T01_giam_ho_ngheo` 3 fewer poor households | **-3 → -1** | 0 |"))
        #expect(r.render(.json).contains("\"targets\":{\"plan\":\"thach-ha-2024\""))
    }

    @Test func aPlanThatDoesNotTypeCheckOnOneSideIsSaidNotCrashed() throws {
        let w = try Workspace()
        defer { w.remove() }
        try w.familySurvey()
        let plan = try PlanLoader.load(Workspace.repo + "/Rules/plans/thach-ha-2024.yaml")
        let base = try AuditRules.load(root: Workspace.repo + "/Rules", label: "base")
        // The plan reads deprived.telecom; the head renames the indicator.
        try w.edit("vn-mdp/2022-2026-nd07/indicators.yaml", "  - id: telecom\n", "  - id: telecoms\n")
        let head = try AuditRules.load(root: w.rules, label: "head")
        let diff = RuleDiff(base: DiffSide(rules: base), head: DiffSide(rules: head), surveys: [DiffSurvey(folder: w.survey)],
                            sampleSize: 0, language: .en, plan: plan)
        #expect(diff.compilePlanProblem(base: true).0)
        #expect(!diff.compilePlanProblem(base: false).0)
        let r = try diff.run()
        let t = try #require(r.targets)
        #expect(!t.compared && t.baseProblem == nil)
        #expect(t.headProblem?.contains("the plan does not type-check against the head rules") == true)
        #expect(t.headProblem?.contains("has no field 'telecom'") == true)
        #expect(t.changes.isEmpty)
        let md = r.render(.markdown)
        #expect(md.contains("**The targets cannot be compared.**"))
        #expect(md.contains("- Not measured under head: the plan does not type-check against the head rules:"))
    }
}
