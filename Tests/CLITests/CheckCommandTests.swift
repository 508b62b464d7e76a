import Testing

/// `povrules check` on each broken rule set prints the exact message at the exact place.
@Suite struct CheckCommandTests {
    func check(_ fixture: String) throws -> Povrules.Result {
        try Povrules.run(["check", "Fixtures/rules-invalid/\(fixture)"])
    }

    @Test func shippedRulesAreClean() throws {
        let r = try Povrules.run(["check"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("ok: 3 rule sets (vn-mdp-2016@1.0.0 2016-01-01 – 2021-12-31; vn-mdp-2022@1.1.0 2022-01-01 – 2026-12-31; vn-mdp-2027@1.0.0 2027-01-01 – 2030-12-31)"))
    }

    @Test func validFixtureIsClean() throws {
        let r = try check("valid")
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test(arguments: [
        ("unknown-key", "Fixtures/rules-invalid/unknown-key/set/rules.yaml:5:1: error: unknown key 'dimensionz' in a rule file\n  hint: did you mean 'dimensions'?"),
        ("wrong-type", "Fixtures/rules-invalid/wrong-type/set/rules.yaml:6:25: error: 'label' must be a mapping, found a scalar"),
        ("missing-key", "Fixtures/rules-invalid/missing-key/set/rules.yaml:8:5: error: missing required key 'source' in an indicator"),
        ("impossible-date", "Fixtures/rules-invalid/impossible-date/set/rules.yaml:4:16: error: 'from': '2022-02-30' is not a valid date: February 2022 has 28 days"),
        ("swapped-date", "Fixtures/rules-invalid/swapped-date/set/ruleset.yaml:6:21: error: 'from': '2022-31-01' is not a valid date: month 31 does not exist (day and month swapped? the form is YYYY-MM-DD)"),
        ("unknown-dimension", "Fixtures/rules-invalid/unknown-dimension/set/rules.yaml:9:16: error: indicator 'health_insurance' names unknown dimension 'helth'\n  hint: did you mean 'health'?"),
        ("unknown-parameter", "Fixtures/rules-invalid/unknown-parameter/set/rules.yaml:17:46: error: income_test.below_line: "),
        ("unknown-indicator", "Fixtures/rules-invalid/unknown-indicator/set/rules.yaml:21:90: error: class 'poor': "),
        ("wrong-expression-type", "Fixtures/rules-invalid/wrong-expression-type/set/rules.yaml:13:34: error: indicator 'health_insurance': "),
    ])
    func brokenRuleSetIsReported(fixture: String, expected: String) throws {
        let r = try check(fixture)
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.hasPrefix(expected), "\(r.stderr)")
    }

    @Test func unknownParameterSuggestsTheRightOne() throws {
        let r = try check("unknown-parameter")
        #expect(r.stderr.contains("income_line_rurl"))
        #expect(r.stderr.contains("did you mean 'income_line_rural'?"))
    }

    @Test func unknownIndicatorSuggestsTheRightOne() throws {
        let r = try check("unknown-indicator")
        #expect(r.stderr.contains("did you mean 'health_insurance'?"))
    }

    @Test func overlappingRuleSetsAreReported() throws {
        let r = try check("overlapping-id")
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("Fixtures/rules-invalid/overlapping-id/set/ruleset.yaml:2:3: error: rule set 'mini' is declared twice with overlapping periods"))
    }
}

/// The four missing-data policies, end to end through `povrules test` on a rule set built for it.
@Suite struct MissingDataPolicyTests {
    @Test func everyPolicyBehavesAsDeclared() throws {
        let r = try Povrules.run(["test", "Fixtures/rules-policies"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.hasSuffix("5 passed, 0 failed\n"))
    }
}
