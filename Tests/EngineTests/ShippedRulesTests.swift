import Audit
import Foundation
import Engine
import RuleModel
import Survey
import Testing

/// The YAML test cases beside the shipped rules run as part of `swift test`.
@Suite struct ShippedRulesTests {
    static let rules = #filePath.components(separatedBy: "/Tests/")[0] + "/Rules"

    @Test func everyRuleTestCasePasses() throws {
        let schema = try SurveySchema.shipped(rulesRoot: Self.rules)
        let library = try RuleLoader.load(root: Self.rules)
        let compiled = try library.ruleSets.map { try CompiledRuleSet.compile($0, schema: schema) }
        let results = RuleTestRunner(rules: compiled, schema: schema).runAll()
        #expect(results.count >= 88)
        for r in results where !r.passed {
            Issue.record("\(r.ruleSet) \(r.name) (\(r.location)):\n\(r.failures.joined(separator: "\n"))")
        }
    }

    @Test func everyIndicatorHasADeprivedAndANotDeprivedCase() throws {
        let schema = try SurveySchema.shipped(rulesRoot: Self.rules)
        let library = try RuleLoader.load(root: Self.rules)
        let set = try #require(library.ruleSets.first { $0.id == "vn-mdp-2022" })
        var deprivedSeen: Set<String> = [], cleanSeen = false
        for t in set.tests {
            for (k, v) in t.expect where k == "deprived" {
                if case .list(let items, _) = v {
                    if items.isEmpty { cleanSeen = true }
                    for case .scalar(let id, _) in items { deprivedSeen.insert(id) }
                }
            }
        }
        #expect(cleanSeen)
        #expect(Set(set.indicators.map(\.id)).subtracting(deprivedSeen).isEmpty)
        _ = schema
    }
}
