import Audit
import Diagnostics
import Engine
import Foundation
import RuleModel
import Survey
import Testing

/// A copy of the shipped rules in a temporary folder, edited by a test, and a small survey whose
/// households are built so that the effect of the edit is known in advance.
struct Workspace {
    static let repo = #filePath.components(separatedBy: "/Tests/")[0]
    let dir: String
    var rules: String { dir + "/Rules" }
    var survey: String { dir + "/survey" }

    init() throws {
        dir = NSTemporaryDirectory() + "povrules-audit-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.repo + "/Rules", toPath: rules)
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }

    /// Replaces `old` by `new` in a rule file of the copy (once; the text must be there).
    func edit(_ file: String, _ old: String, _ new: String) throws {
        let path = rules + "/" + file
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains(old), "\(file) no longer holds \(old)")
        try text.replacingOccurrences(of: old, with: new).write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Rural households on 2024-09-15, one adult each, good house and services unless deprived:
    /// `deprived` makes water, sanitation and telecom deprived (3 deprivations).
    func writeSurvey(_ households: [(id: String, income: Int, deprived: Bool)]) throws {
        try FileManager.default.createDirectory(atPath: survey, withIntermediateDirectories: true)
        var h = "household_id,village,area,review_date,income_per_capita,dwelling,floor_area_m2,foundation_durable,walls_durable,roof_durable,water_source,latrine,internet,devices,hears_loudspeaker\n"
        var m = "household_id,member_id,sex,birth_date,employment,health_insurance,education,in_school\n"
        for x in households {
            h += "\(x.id),Thôn 1,rural,2024-09-15,\(x.income),own,60,true,true,true,\(x.deprived ? "surface" : "piped"),\(x.deprived ? "none" : "flush_septic"),\(x.deprived ? "false" : "true"),tv;smartphone,true\n"
            m += "\(x.id),1,male,1980-05-10,wage_with_contract,true,upper_secondary,false\n"
        }
        try h.write(toFile: survey + "/households.csv", atomically: true, encoding: .utf8)
        try m.write(toFile: survey + "/members.csv", atomically: true, encoding: .utf8)
    }

    /// The rural line lowered from 1,500,000 to 1,400,000 in the copy.
    func lowerRuralLine() throws {
        try edit("vn-mdp/2022-2026-nd07/parameters.yaml", "value: 1500000", "value: 1400000")
    }

    /// 4 households between the new and the old line without deprivations (near-poor → average),
    /// 3 between them with 3 deprivations (poor → average), 5 well below both lines (unchanged),
    /// 2 above both (unchanged).
    func knownSurvey() throws {
        var rows: [(id: String, income: Int, deprived: Bool)] = []
        for i in 1...4 { rows.append(("NP\(i)", 1_450_000, false)) }
        for i in 1...3 { rows.append(("P\(i)", 1_450_000, true)) }
        for i in 1...5 { rows.append(("LOW\(i)", 1_000_000, i % 2 == 0)) }
        for i in 1...2 { rows.append(("HI\(i)", 5_000_000, false)) }
        try writeSurvey(rows)
    }
}

@Suite struct DiffTests {
    @Test func thresholdChangeShowsKnownTransitions() throws {
        let w = try Workspace()
        defer { w.remove() }
        try w.knownSurvey()
        let base = try AuditRules.load(root: Workspace.repo + "/Rules", label: "base")
        try w.lowerRuralLine()
        let head = try AuditRules.load(root: w.rules, label: "head")
        let report = try RuleDiff(base: DiffSide(rules: base), head: DiffSide(rules: head),
                                  surveys: [DiffSurvey(folder: w.survey)], sampleSize: 3).run()
        #expect(report.households == 14)
        #expect(report.transition("near_poor", "average") == 4)
        #expect(report.transition("poor", "average") == 3)
        #expect(report.transition("poor", "poor") == 2)
        #expect(report.transition("near_poor", "near_poor") == 3)
        #expect(report.transition("other", "other") == 2)
        #expect(report.statusChanged == 7)
        #expect(report.changed == 7)
        #expect(report.incomeTestLost == 7)
        #expect(report.headCount("average") - report.baseCount("average") == 7)
        #expect(report.indicators.allSatisfy { $0.gained == 0 && $0.lost == 0 })
        // One household of each transition first, with both explanations.
        #expect(report.sample.count == 3)
        #expect(report.sample[0].baseStatus == "near_poor" && report.sample[0].headStatus == "average")
        #expect(report.sample[1].baseStatus == "poor" && report.sample[1].headStatus == "average")
        #expect(report.sample[0].baseExplanation.contains("1.500.000"))
        #expect(report.sample[0].headExplanation.contains("1.400.000"))

        let md = report.render(.markdown)
        #expect(md.contains("| `near_poor` | 0 | 3 | **4** |"))
        #expect(md.contains("<details>"))
        let json = report.render(.json)
        #expect(json.contains("{\"base\":\"near_poor\",\"head\":\"average\",\"households\":4}"))

        // Inside the declared impact: exit 0.
        let inside = try ImpactExpectation.parse("poor: -3; near_poor: -5..-4\naverage: +1..+10 # the line moved\nincome_below_line: -7\nP2: -7; P3.1.lost: 7\nnothing else\n", file: "inside.txt")
        #expect(inside.unknownNames(in: report).isEmpty)
        #expect(inside.check(report).isEmpty)
        // Outside: the bound that broke is named with its place.
        let outside = try ImpactExpectation.parse("poor: -2..0; near_poor: any; average: any; income_below_line: any; P2: any; P3.1: any; nothing else", file: "outside.txt")
        let breaches = outside.check(report)
        #expect(breaches.count == 1)
        #expect(breaches.first?.description == "outside.txt:1:1: error: poor: -3 is below the lower bound of -2..0 (base 5, head 2)")
        // "nothing else" catches what is not declared.
        let strict = try ImpactExpectation.parse("poor: -3\nnothing else", file: "strict.txt")
        let s = strict.check(report).map(\.message)
        #expect(s.contains { $0.hasPrefix("near_poor: -4") })
        #expect(s.contains { $0.hasPrefix("income_below_line:") })
        #expect(s.contains { $0.hasPrefix("P2: eligibility gained by 0 and lost by 7 people") })
    }

    @Test func identicalRulesChangeNothing() throws {
        let w = try Workspace()
        defer { w.remove() }
        try w.knownSurvey()
        let rules = try AuditRules.load(root: w.rules)
        let report = try RuleDiff(base: DiffSide(rules: rules), head: DiffSide(rules: rules), surveys: [DiffSurvey(folder: w.survey)]).run()
        #expect(report.changed == 0)
        #expect(report.sample.isEmpty)
        let e = try ImpactExpectation.parse("nothing else", file: "e")
        #expect(e.check(report).isEmpty)
    }

    @Test func expectationErrorsNameTheirPlace() throws {
        #expect(throws: DiagnosticList.self) { try ImpactExpectation.parse("poor -40..-20", file: "x") }
        do {
            _ = try ImpactExpectation.parse("poor: 5..1", file: "x.txt")
            Issue.record("an empty bound was accepted")
        } catch {
            #expect(error.diagnostics.first?.location == SourceLocation(file: "x.txt", line: 1, column: 1))
        }
        let e = try ImpactExpectation.parse("  pooor: 0", file: "y.txt")
        let w = try Workspace()
        defer { w.remove() }
        try w.knownSurvey()
        let rules = try AuditRules.load(root: w.rules)
        let report = try RuleDiff(base: DiffSide(rules: rules), head: DiffSide(rules: rules), surveys: [DiffSurvey(folder: w.survey)]).run()
        let unknown = e.unknownNames(in: report)
        #expect(unknown.count == 1)
        #expect(unknown.first?.location?.column == 3)
        #expect(unknown.first?.hint?.contains("poor") == true)
    }

    @Test func gitRevisionSpecs() {
        #expect(RulesSource.parseGit("git:HEAD")! == ("HEAD", "Rules"))
        #expect(RulesSource.parseGit("git:origin/main:Rules/vn-mdp")! == ("origin/main", "Rules/vn-mdp"))
        #expect(RulesSource.parseGit("Rules") == nil)
        #expect(RulesSource.parseGit("git:") == nil)
    }
}

@Suite struct RuleTestAuditTests {
    @Test func thresholdChangeFailsTheNamedCase() throws {
        let w = try Workspace()
        defer { w.remove() }
        try w.lowerRuralLine()
        let rules = try AuditRules.load(root: w.rules)
        let results = RuleTestRunner(rules: rules.compiled, schema: rules.schema).runAll()
        let failed = results.filter { !$0.passed }
        #expect(failed.contains { $0.name == "income exactly at the rural line with 3 deprivations is poor" })
        let f = try #require(failed.first { $0.name == "income exactly at the rural line with 3 deprivations is poor" })
        #expect(f.failures.contains { $0.contains("status: expected poor, got average") && $0.contains("decided by: class 'average'") })

        let xml = JUnit.xml(results)
        let reference = try #require(rules.library.ruleSets.first { $0.id == "vn-mdp-2022" }).reference
        #expect(xml.contains("<testcase classname=\"\(reference)\" name=\"income exactly at the rural line with 3 deprivations is poor\""))
        #expect(xml.contains("<failure message="))
    }

    @Test func updateReRecordsExpectationsInPlace() throws {
        let w = try Workspace()
        defer { w.remove() }
        try w.lowerRuralLine()
        let file = w.rules + "/vn-mdp/2022-2026-nd07/tests/classes.yaml"
        let before = try String(contentsOfFile: file, encoding: .utf8)
        let rules = try AuditRules.load(root: w.rules)
        let recorder = TestRecorder(runner: RuleTestRunner(rules: rules.compiled, schema: rules.schema))
        var outcome = recorder.plan()
        #expect(!outcome.edits.isEmpty)
        recorder.apply(&outcome)
        let after = try String(contentsOfFile: file, encoding: .utf8)
        #expect(after != before)
        // Only expectation values changed: same number of lines, comments kept.
        #expect(after.split(separator: "\n", omittingEmptySubsequences: false).count == before.split(separator: "\n", omittingEmptySubsequences: false).count)
        #expect(after.contains("# Test cases of the classes"))
        // Re-run: the re-recorded cases now pass.
        let again = try AuditRules.load(root: w.rules)
        let results = RuleTestRunner(rules: again.compiled, schema: again.schema).runAll()
        let left = results.filter { !$0.passed && $0.location.file == file }
        #expect(left.isEmpty, "\(left.map { $0.failures })")
    }

    @Test func replaceKeepsLayout() {
        let text = "expect:\n  status: poor   # why\n  deprived: [water, telecom]\n  x: {status: \"near_poor\", n: 2}\n"
        var t = try! TestRecorder.replace(in: text, at: SourceLocation(file: "f", line: 2, column: 11), with: "average").get()
        #expect(t == "expect:\n  status: average   # why\n  deprived: [water, telecom]\n  x: {status: \"near_poor\", n: 2}\n")
        t = try! TestRecorder.replace(in: t, at: SourceLocation(file: "f", line: 3, column: 13), with: "[water]").get()
        #expect(t.contains("  deprived: [water]\n"))
        t = try! TestRecorder.replace(in: t, at: SourceLocation(file: "f", line: 4, column: 15), with: "poor").get()
        #expect(t.contains("x: {status: \"poor\", n: 2}"))
        t = try! TestRecorder.replace(in: t, at: SourceLocation(file: "f", line: 4, column: 26), with: "3").get()
        #expect(t.contains("x: {status: \"poor\", n: 3}"))
    }
}

@Suite struct RuleCheckTests {
    @Test func shippedRulesPassTheDeeperChecks() throws {
        let rules = try AuditRules.load(root: Workspace.repo + "/Rules")
        let problems = RuleChecks.all(rules)
        #expect(problems.filter { $0.severity == .error }.isEmpty, "\(problems)")
    }

    @Test func overlappingClassesAreFoundWithTheCombination() throws {
        let w = try Workspace()
        defer { w.remove() }
        try w.edit("vn-mdp/2022-2026-nd07/classes.yaml",
                   "when: \"income_below_line && deprivations < params.poor_min_deprivations\"",
                   "when: \"income_below_line && deprivations <= params.poor_min_deprivations\"")
        let rules = try AuditRules.load(root: w.rules)
        let set = try #require(rules.compiled.first { $0.ruleSet.id == "vn-mdp-2022" })
        let problems = RuleChecks.partition(set)
        #expect(problems.count == 1)
        let p = try #require(problems.first)
        #expect(p.message.contains("'poor' and 'near_poor'"))
        #expect(p.message.contains("deprivations=3"))
        #expect(p.location?.file.hasSuffix("classes.yaml") == true)
    }

    @Test func aCaseNoClassCoversIsFound() throws {
        let w = try Workspace()
        defer { w.remove() }
        try w.edit("vn-mdp/2022-2026-nd07/classes.yaml",
                   "when: \"!income_below_line && has(h.income_per_capita) && h.income_per_capita > h.average_upper\"",
                   "when: \"!income_below_line && has(h.income_per_capita) && h.income_per_capita > h.average_upper + 1\"")
        let rules = try AuditRules.load(root: w.rules)
        let set = try #require(rules.compiled.first { $0.ruleSet.id == "vn-mdp-2022" })
        let problems = RuleChecks.partition(set)
        #expect(problems.contains { $0.message.contains("no household class") && $0.message.contains("income_per_capita=2250001") })
    }

    @Test func unusedParameterIsNamed() throws {
        let w = try Workspace()
        defer { w.remove() }
        try w.edit("vn-mdp/2022-2026-nd07/parameters.yaml", "parameters:\n",
                   "parameters:\n  forgotten_threshold:\n    values:\n      - {from: 2022-01-01, value: 7, source: \"test\", status: default}\n")
        let rules = try AuditRules.load(root: w.rules)
        let set = try #require(rules.library.ruleSets.first { $0.id == "vn-mdp-2022" })
        let warnings = RuleChecks.unusedParameters(set, schema: rules.schema)
        #expect(warnings.count == 1)
        #expect(warnings.first?.message.contains("'forgotten_threshold'") == true)
        #expect(warnings.first?.severity == .warning)
        #expect(RuleChecks.unusedParameters(set, schema: rules.schema, strict: true).first?.severity == .error)
    }

    @Test func gapBetweenRuleSetsUnlessDeclared() throws {
        let w = try Workspace()
        defer { w.remove() }
        try w.edit("vn-mdp/2022-2026-nd07/ruleset.yaml", "to: 2026-12-31", "to: 2026-11-30")
        var rules = try AuditRules.load(root: w.rules)
        let gaps = RuleChecks.gaps(rules.library.ruleSets)
        #expect(gaps.count == 1)
        #expect(gaps.first?.message.contains("from 2026-12-01 to 2026-12-31") == true)
        try w.edit("vn-mdp/2022-2026-nd07/ruleset.yaml", "  effective:", "  gap_after: \"no standard in force in December 2026 (test)\"\n  effective:")
        rules = try AuditRules.load(root: w.rules)
        #expect(RuleChecks.gaps(rules.library.ruleSets).isEmpty)
    }

    @Test func versionDisciplineWantsANewVersionAndAChangelogEntry() throws {
        let w = try Workspace()
        defer { w.remove() }
        let old = try RuleLoader.load(root: Workspace.repo + "/Rules")
        try w.lowerRuralLine()
        var rules = try AuditRules.load(root: w.rules)
        var problems = RuleChecks.versionDiscipline(current: rules, old: old, oldRoot: Workspace.repo + "/Rules", revision: "git:main")
        #expect(problems.contains { $0.message.contains("'vn-mdp-2022' changed since git:main (vn-mdp/2022-2026-nd07/parameters.yaml) but its version is still") })
        // The shipped version, whatever it is now; the test raises it to one no changelog has.
        let version = try #require(old.ruleSets.first { $0.id == "vn-mdp-2022" }).version
        try w.edit("vn-mdp/2022-2026-nd07/ruleset.yaml", "  version: \(version)\n", "  version: 99.0.0\n")
        rules = try AuditRules.load(root: w.rules)
        problems = RuleChecks.versionDiscipline(current: rules, old: old, oldRoot: Workspace.repo + "/Rules", revision: "git:main")
        #expect(problems.contains { $0.message.contains("no entry for 99.0.0") })
        try w.edit("vn-mdp/2022-2026-nd07/ruleset.yaml", "  changelog:\n", "  changelog:\n    - {version: 99.0.0, date: 2026-12-01, text: \"Lower rural line (test).\"}\n")
        rules = try AuditRules.load(root: w.rules)
        problems = RuleChecks.versionDiscipline(current: rules, old: old, oldRoot: Workspace.repo + "/Rules", revision: "git:main")
        #expect(!problems.contains { $0.message.contains("vn-mdp-2022") })
    }
}
