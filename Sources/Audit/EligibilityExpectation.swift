import Diagnostics
import Engine
import RuleModel

/// Holds the eligibility results of a test case's household while its expectations are checked.
final class EligibilityBox {
    var results: [EligibilityResult] = []
}

extension RuleTestRunner {
    /// The `eligibility` expectation of a rule test case:
    ///
    ///     eligibility:
    ///       1/P2: {eligible: true, priority: woman_poor_household}
    ///       2/P2: {applies: false, reason: "61 tuổi 2 tháng"}
    ///       3/P3.2: {band: under_5}
    ///       1/P3.1: false            # shorthand for {eligible: false}
    ///       P5: {eligible: true}     # a household-level programme
    ///
    /// Keys are `MEMBER/PROGRAMME` (member ids default to 1, 2, … in the order of `members`), or
    /// `PROGRAMME` alone for a household-level programme. Fields: `applies` (in the programme's
    /// scope), `eligible`, `path`, `priority` (ids joined by ';', or a list; "" for none), `band`
    /// ("" for none) and `reason` (a text the Vietnamese reason contains).
    func checkEligibility(_ expected: YAMLValue, _ outcome: HouseholdOutcome, _ results: [EligibilityResult]) -> [String] {
        let place = expected.location
        guard case .classified(let household) = outcome else {
            if case .rejected(let r) = outcome {
                return ["\(place): eligibility: the household was rejected: \(r.problem.diagnostic.message)"]
            }
            return []
        }
        guard case .map(let pairs, _) = expected else {
            return ["\(place): 'eligibility' must be a mapping of MEMBER/PROGRAMME to the expected result"]
        }
        let programmes = household.rules.ruleSet.programmes
        var failures: [String] = []
        for (key, want) in pairs {
            let member: String, program: String
            if let slash = key.firstIndex(of: "/") {
                member = String(key[..<slash])
                program = String(key[key.index(after: slash)...])
            } else {
                member = ""
                program = key
            }
            let at = want.location
            guard let def = programmes.first(where: { $0.id == program }) else {
                failures.append("\(at): unknown programme '\(program)' in 'eligibility'" + (Suggestion.didYouMean(program, in: programmes.map(\.id)).map { " (\($0))" } ?? ""))
                continue
            }
            if def.level == .household && !member.isEmpty {
                failures.append("\(at): programme '\(program)' is household-level: write '\(program)', not '\(key)'")
                continue
            }
            if def.level == .member && member.isEmpty {
                failures.append("\(at): programme '\(program)' is person-level: write 'MEMBER/\(program)'")
                continue
            }
            guard let r = results.first(where: { $0.program == program && $0.memberID == member }) else {
                failures.append("\(at): no eligibility result for '\(key)' (members: \(household.memberIDs.joined(separator: ", ")))")
                continue
            }
            let actual = "applies \(r.applies), eligible \(r.eligible), path '\(r.path)', priority '\(r.priority)', band '\(r.band)', reason '\(r.reason)'"
            func fail(_ field: String, _ e: String) {
                failures.append("\(at): eligibility of \(key): \(field): expected \(e); got \(actual)\n      decided by: programme '\(def.id)' (\(def.location))")
            }
            var fields: [(String, YAMLValue)] = []
            switch want {
            case .scalar(let s, let l):
                fields = [("eligible", .scalar(s, l))]
            case .map(let f, _):
                fields = f
            case .list:
                failures.append("\(at): eligibility of \(key): expected a mapping or true/false")
                continue
            }
            for (field, value) in fields {
                let text: String
                switch value {
                case .scalar(let s, _): text = s
                case .list(let items, _):
                    text = items.compactMap { if case .scalar(let s, _) = $0 { return s } else { return nil } }.joined(separator: ";")
                case .map:
                    failures.append("\(value.location): eligibility of \(key): '\(field)' must be a value")
                    continue
                }
                switch field {
                case "applies": if text != String(r.applies) { fail("applies", text) }
                case "eligible": if text != String(r.eligible) { fail("eligible", text) }
                case "path": if text != r.path { fail("path", "'\(text)'") }
                case "priority": if text != r.priority { fail("priority", "'\(text)'") }
                case "band": if text != r.band { fail("band", "'\(text)'") }
                case "reason": if !r.reason.contains(text) { fail("reason", "a text containing '\(text)'") }
                default:
                    let keys = ["applies", "eligible", "path", "priority", "band", "reason"]
                    failures.append("\(value.location): unknown field '\(field)' in eligibility of \(key)" + (Suggestion.didYouMean(field, in: keys).map { " (\($0))" } ?? ""))
                }
            }
        }
        return failures
    }
}
