import Testing
import Diagnostics
import RuleModel
#if canImport(Glibc)
import Glibc
#endif

@Suite struct PlanTests {
    func write(_ text: String) -> String {
        let path = "/tmp/povrules-plan-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).yaml"
        let f = fopen(path, "w")!
        fputs(text, f)
        fclose(f)
        return path
    }

    @Test func shippedPlanLoads() throws {
        let plan = try PlanLoader.load("Rules/plans/thach-ha-2024.yaml")
        #expect(plan.id == "thach-ha-2024")
        #expect(plan.targets.count == 16)
        #expect(plan.targets.first?.goal == .reduceBy(3))
        #expect(plan.targets.filter { !$0.measurable }.count == 5)
    }

    @Test func unknownKeyHasDidYouMeanAndPlace() {
        let path = write("""
        plan: {id: p, title: {vi: a, en: b}, source: s}
        targets:
          - id: t1
            label: {vi: a, en: b}
            text: x
            populaton: "true"
            condition: "true"
            goal: {share: 0.9}
        """)
        do {
            _ = try PlanLoader.load(path)
            Issue.record("expected an error")
        } catch {
            let text = error.description
            #expect(text.contains("\(path):6:5: error: unknown key 'populaton'"))
            #expect(text.contains("population"))
        }
    }

    @Test func shareOutOfRange() {
        let path = write("""
        plan: {id: p, title: {vi: a, en: b}, source: s}
        targets:
          - {id: t1, label: {vi: a, en: b}, text: x, population: "true", condition: "true", goal: {share: 95}}
        """)
        #expect(throws: DiagnosticList.self) { try PlanLoader.load(path) }
    }
}
