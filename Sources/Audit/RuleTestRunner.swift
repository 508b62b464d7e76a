import Diagnostics
import Engine
import Output
import RuleModel
import Survey
#if canImport(Glibc)
import Glibc
#endif

/// The outcome of one YAML test case of a rule set.
public struct RuleTestResult: Sendable {
    public let ruleSet: String
    public let name: String
    public let location: SourceLocation
    /// Each failed expectation: what was expected, what the rules decided, and which rule decided it.
    public let failures: [String]
    public var passed: Bool { failures.isEmpty }
}

/// Runs the test cases written beside the rules. Each case's household and members go through
/// the same reader as a survey (written as a two-row CSV), so a case tests exactly what a real
/// file would get.
public struct RuleTestRunner {
    public let rules: [CompiledRuleSet]
    public let schema: SurveySchema
    /// The schema's default header mapping, read once: a reader given no mapping reads and
    /// parses the mapping's YAML for every case, most of the time `povrules test` took. Only a
    /// mapping that agrees with the schema is kept, so that a case reads as with none given (a
    /// mapping handed to the reader is checked against the schema, the default one is not).
    private let defaultMapping: HeaderMapping?

    public init(rules: [CompiledRuleSet], schema: SurveySchema) {
        self.rules = rules
        self.schema = schema
        if case .success(let mapping)? = schema.defaultMapping, mapping.check(against: schema).isEmpty {
            defaultMapping = mapping
        } else {
            defaultMapping = nil
        }
    }

    public func runAll() -> [RuleTestResult] {
        var out: [RuleTestResult] = []
        for set in rules {
            for test in set.ruleSet.tests {
                out.append(run(test, of: set))
            }
        }
        return out
    }

    public func run(_ test: RuleTestCase, of owner: CompiledRuleSet) -> RuleTestResult {
        var failures: [String] = []
        let outcome: HouseholdOutcome
        let eligibility = EligibilityBox()
        switch classify(test, owner: owner, eligibility: eligibility) {
        case .failure(let e):
            return RuleTestResult(ruleSet: owner.ruleSet.reference, name: test.name, location: test.location, failures: [e.message])
        case .success(let o):
            outcome = o
        }
        for (key, expected) in test.expect {
            if key == "eligibility" { failures += checkEligibility(expected, outcome, eligibility.results); continue }
            if let failure = check(key, expected, outcome) { failures.append(failure) }
        }
        return RuleTestResult(ruleSet: owner.ruleSet.reference, name: test.name, location: test.location, failures: failures)
    }

    /// Writes the case as households.csv/members.csv in a temporary folder and classifies it.
    func classify(_ test: RuleTestCase, owner: CompiledRuleSet, eligibility: EligibilityBox? = nil) -> Result<HouseholdOutcome, TestSetupError> {
        var template = Array("/tmp/povrules-test-XXXXXX".utf8CString)
        guard let dirPtr = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            return .failure(TestSetupError("cannot create a temporary folder"))
        }
        let dir = String(cString: dirPtr)
        defer {
            unlink(dir + "/households.csv")
            unlink(dir + "/members.csv")
            rmdir(dir)
        }
        var household = test.household
        if !household.contains(where: { $0.0 == "household_id" }) {
            household.insert(("household_id", Located("T1", location: test.location)), at: 0)
        }
        let hid = household.first { $0.0 == "household_id" }!.1.value
        let members = test.members.enumerated().map { i, m -> [(String, Located<String>)] in
            var m = m
            if !m.contains(where: { $0.0 == "member_id" }) { m.insert(("member_id", Located(String(i + 1), location: test.location)), at: 0) }
            m.removeAll { $0.0 == "household_id" }
            m.insert(("household_id", Located(hid, location: test.location)), at: 0)
            return m
        }
        guard write(dir + "/households.csv", records: [household]), write(dir + "/members.csv", records: members) else {
            return .failure(TestSetupError("cannot write the test case's survey"))
        }
        do {
            let reader = try SurveyReader(householdsPath: dir + "/households.csv", membersPath: dir + "/members.csv",
                                          schema: schema, mapping: defaultMapping)
            let asOf = test.asOf.flatMap { CivilDate(year: $0.year, month: $0.month, day: $0.day) }
            let classifier = Classifier(library: rules, policy: ReferencePolicy(asOf: asOf), standard: owner.ruleSet.standard)
            if let batch = try reader.next(maxHouseholds: 1), batch.households.count == 1 {
                if let eligibility {
                    let (outcome, results) = classifier.classifyWithEligibility(household: 0, of: batch)
                    eligibility.results = results
                    return .success(outcome)
                }
                return .success(classifier.classify(household: 0, of: batch))
            }
            if let p = reader.problems.first {
                return .success(.rejected(RejectedHousehold(householdID: hid, problem: p)))
            }
            return .failure(TestSetupError("the test case's household could not be read"))
        } catch {
            return .failure(TestSetupError("the test case's survey could not be read: \(error)"))
        }
    }

    func write(_ path: String, records: [[(String, Located<String>)]]) -> Bool {
        var columns: [String] = []
        for r in records { for (k, _) in r where !columns.contains(k) { columns.append(k) } }
        var text = columns.joined(separator: ",") + "\n"
        for r in records {
            text += columns.map { c in
                let v = r.first { $0.0 == c }?.1.value ?? ""
                return CSVText.cell(v)
            }.joined(separator: ",") + "\n"
        }
        guard let f = fopen(path, "wb") else { return false }
        defer { fclose(f) }
        let bytes = Array(text.utf8)
        return fwrite(bytes, 1, bytes.count, f) == bytes.count
    }

    /// One expectation against the outcome; nil when it holds.
    func check(_ key: String, _ expected: YAMLValue, _ outcome: HouseholdOutcome) -> String? {
        let place = expected.location
        func fail(_ what: String, expected e: String, actual a: String, rule: String? = nil) -> String {
            "\(place): \(what): expected \(e), got \(a)" + (rule.map { "\n      decided by: \($0)" } ?? "")
        }
        if case .rejected(let r) = outcome {
            if key == "rejected", case .scalar(let s, _) = expected {
                return r.problem.diagnostic.message.contains(s) ? nil
                    : fail("rejection", expected: "a message containing '\(s)'", actual: "'\(r.problem.diagnostic.message)'")
            }
            return fail(key, expected: describe(expected), actual: "the household was rejected: \(r.problem.diagnostic.message)")
        }
        guard case .classified(let r) = outcome else { return nil }
        let set = r.rules.ruleSet
        let deprivedIDs = set.indicators.enumerated().filter { r.deprived[$0.offset] }.map(\.element.id)
        func classRule() -> String? {
            set.classes.first { $0.id == r.status }.map { "class '\($0.id)' when `\($0.when.value)` (\($0.when.location))" }
        }
        switch (key, expected) {
        case ("rejected", .scalar(let s, _)):
            return fail("rejection", expected: "rejected with '\(s)'", actual: "classified as \(r.status)")
        case ("status", .scalar(let s, _)):
            return r.status == s ? nil : fail("status", expected: s, actual: "\(r.status) (income \(r.incomeBelowLine ? "at or below" : "above") the line, \(r.deprivationCount) deprivations: \(deprivedIDs.joined(separator: ", ")))", rule: classRule())
        case ("deprivation_count", .scalar(let s, _)):
            return String(r.deprivationCount) == s ? nil : fail("deprivation_count", expected: s, actual: "\(r.deprivationCount) (\(deprivedIDs.joined(separator: ", ")))")
        case ("deprived", .list(let items, _)):
            let want = items.compactMap { if case .scalar(let s, _) = $0 { return s } else { return nil } }
            for id in want where set.indicator(id) == nil {
                return "\(place): unknown indicator '\(id)' in 'deprived'" + (Suggestion.didYouMean(id, in: set.indicators.map(\.id)).map { " (\($0))" } ?? "")
            }
            if Set(want) == Set(deprivedIDs) { return nil }
            let extra = deprivedIDs.filter { !want.contains($0) }, missing = want.filter { !deprivedIDs.contains($0) }
            var detail: [String] = []
            for id in extra { detail.append("'\(id)' is deprived: \(set.indicator(id)!.memberCondition?.value ?? set.indicator(id)!.condition!.value)") }
            for id in missing { detail.append("'\(id)' is not deprived: \(set.indicator(id)!.memberCondition?.value ?? set.indicator(id)!.condition!.value)") }
            return fail("deprived", expected: "[\(want.joined(separator: ", "))]", actual: "[\(deprivedIDs.joined(separator: ", "))]",
                        rule: detail.joined(separator: "; "))
        case ("income_below_line", .scalar(let s, _)):
            let a = r.incomeBelowLine ? "true" : "false"
            return a == s ? nil : fail("income_below_line", expected: s, actual: a,
                                       rule: set.incomeTest.map { "`\($0.belowLine.value)` (\($0.belowLine.location))" })
        case ("newly_escaped", .scalar(let s, _)):
            let a = r.newlyEscaped ? "true" : "false"
            return a == s ? nil : fail("newly_escaped", expected: s, actual: a,
                                       rule: set.newlyEscaped.map { "`\($0.when.value)` (\($0.when.location))" })
        case ("ruleset", .scalar(let s, _)):
            return set.id == s || set.reference == s ? nil : fail("ruleset", expected: s, actual: set.reference)
        case ("reasons", .map(let pairs, _)):
            for (id, v) in pairs {
                guard let i = set.indicators.firstIndex(where: { $0.id == id }) else {
                    return "\(place): unknown indicator '\(id)' in 'reasons'"
                }
                guard case .scalar(let text, _) = v else { continue }
                if !r.reasons[i][0].contains(text) && !r.reasons[i][1].contains(text) {
                    return fail("reason of '\(id)'", expected: "a text containing '\(text)'", actual: "'\(r.reasons[i][0])'")
                }
            }
            return nil
        default:
            return "\(place): unknown expectation '\(key)'" + (Suggestion.didYouMean(key, in: Self.expectationKeys).map { " (\($0))" } ?? "")
        }
    }

    public static let expectationKeys = ["status", "deprivation_count", "deprived", "income_below_line", "newly_escaped", "ruleset", "rejected", "reasons", "eligibility"]

    func describe(_ v: YAMLValue) -> String {
        switch v {
        case .scalar(let s, _): return s
        case .list(let items, _): return "[" + items.map(describe).joined(separator: ", ") + "]"
        case .map(let pairs, _): return "{" + pairs.map { "\($0.0): \(describe($0.1))" }.joined(separator: ", ") + "}"
        }
    }
}

struct TestSetupError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
