import Diagnostics
import Foundation
import Testing
@testable import RuleModel

/// The strictness rules of the loader, each on its own broken rule set under
/// Fixtures/rules-invalid. Type errors inside expressions are checked by `povrules check`
/// (CLITests), since they need the expression language.
@Suite struct RuleLoaderTests {
    static let fixtures = #filePath.components(separatedBy: "/Tests/")[0] + "/Fixtures/rules-invalid"

    func errors(_ name: String) -> [Diagnostic] {
        do {
            _ = try RuleLoader.load(root: "\(Self.fixtures)/\(name)")
            return []
        } catch {
            return error.diagnostics
        }
    }

    func place(_ d: Diagnostic) -> String {
        guard let l = d.location else { return "" }
        return "\(l.file.components(separatedBy: "/rules-invalid/").last!):\(l.line):\(l.column)"
    }

    @Test func theValidFixtureLoads() throws {
        let lib = try RuleLoader.load(root: "\(Self.fixtures)/valid")
        #expect(lib.ruleSets.count == 1)
        let set = lib.ruleSets[0]
        #expect(set.reference == "mini@1.0.0")
        #expect(set.indicators.map(\.id) == ["health_insurance"])
        #expect(set.parameters["income_line_rural"]?.entry(on: RuleDate(year: 2023, month: 5, day: 1)!)?.value == .int(1_500_000))
    }

    @Test func unknownKeySuggestsTheRightOne() {
        let e = errors("unknown-key")
        #expect(e.count >= 1)
        #expect(place(e[0]) == "unknown-key/set/rules.yaml:5:1")
        #expect(e[0].message == "unknown key 'dimensionz' in a rule file")
        #expect(e[0].hint == "did you mean 'dimensions'?")
    }

    @Test func wrongTypeNamesTheExpectedType() {
        let e = errors("wrong-type")
        #expect(e.first.map(place) == "wrong-type/set/rules.yaml:6:25")
        #expect(e.first?.message == "'label' must be a mapping, found a scalar")
    }

    @Test func missingRequiredKeyIsNamedWithWhereItIsMissing() {
        let e = errors("missing-key")
        #expect(e.map(place) == ["missing-key/set/rules.yaml:8:5"])
        #expect(e.first?.message == "missing required key 'source' in an indicator")
    }

    @Test func impossibleDateIsAnError() {
        let e = errors("impossible-date")
        #expect(e.map(place) == ["impossible-date/set/rules.yaml:4:16"])
        #expect(e.first?.message == "'from': '2022-02-30' is not a valid date: February 2022 has 28 days")
    }

    @Test func swappedDayAndMonthIsSpotted() {
        let e = errors("swapped-date")
        #expect(e.map(place) == ["swapped-date/set/ruleset.yaml:6:21"])
        #expect(e.first?.message == "'from': '2022-31-01' is not a valid date: month 31 does not exist (day and month swapped? the form is YYYY-MM-DD)")
    }

    @Test func unknownDimensionIsAnErrorWithSuggestion() {
        let e = errors("unknown-dimension")
        #expect(e.map(place) == ["unknown-dimension/set/rules.yaml:9:16"])
        #expect(e.first?.message == "indicator 'health_insurance' names unknown dimension 'helth'")
        #expect(e.first?.hint == "did you mean 'health'?")
    }

    @Test func sameIDInOverlappingPeriodsIsAnError() {
        let e = errors("overlapping-id")
        #expect(e.map(place) == ["overlapping-id/set/ruleset.yaml:2:3"])
        #expect(e.first?.message.hasPrefix("rule set 'mini' is declared twice with overlapping periods (2026-01-01 – … in") == true)
    }

    @Test func datesParseStrictly() {
        #expect(throws: Never.self) { try RuleDate.parse("2024-02-29").get() }
        #expect((try? RuleDate.parse("2023-02-29").get()) == nil)
        #expect((try? RuleDate.parse("2023-2-1").get()) == nil)
        #expect(RuleDate(year: 2024, month: 3, day: 1)!.previousDay == RuleDate(year: 2024, month: 2, day: 29))
    }

    @Test func periodsOverlap() {
        let a = Period(from: RuleDate(year: 2022, month: 1, day: 1)!, to: RuleDate(year: 2026, month: 12, day: 31)!)
        let b = Period(from: RuleDate(year: 2027, month: 1, day: 1)!, to: nil)
        #expect(!a.overlaps(b))
        #expect(a.overlaps(Period(from: RuleDate(year: 2026, month: 12, day: 31)!, to: nil)))
    }
}
