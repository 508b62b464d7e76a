import Foundation
import Engine
import RuleModel
import Survey
import Testing

/// Programme eligibility in the engine, over the shipped fixture.
@Suite struct EligibilityTests {
    static let root = #filePath.components(separatedBy: "/Tests/")[0]

    /// A classifier of the shipped rules and the first `n` households of Thạch Hạ.
    static func firstBatch(_ n: Int) throws -> (Classifier, SurveyBatch) {
        let schema = try SurveySchema.shipped(rulesRoot: Self.root + "/Rules")
        let library = try RuleLoader.load(root: Self.root + "/Rules")
        let compiled = try library.ruleSets.map { try CompiledRuleSet.compile($0, schema: schema) }
        let reader = try SurveyReader(householdsPath: Self.root + "/Fixtures/thach-ha-2024/households.csv",
                                      membersPath: Self.root + "/Fixtures/thach-ha-2024/members.csv", schema: schema, mapping: nil)
        let classifier = Classifier(library: compiled, policy: ReferencePolicy(asOf: nil))
        return (classifier, try #require(try reader.next(maxHouseholds: n)))
    }

    @Test func eligibilityFollowsTheClassificationOfTheSameHousehold() throws {
        let (classifier, batch) = try Self.firstBatch(200)
        var eligibleSeen = 0
        for h in 0..<batch.households.count {
            let plain = classifier.classify(household: h, of: batch)
            let (outcome, results) = classifier.classifyWithEligibility(household: h, of: batch)
            guard case .classified(let a) = plain, case .classified(let b) = outcome else { continue }
            #expect(a.status == b.status && a.newlyEscaped == b.newlyEscaped)
            // Every member gets a result for each person-level programme, in or out of scope.
            let personLevel = b.rules.ruleSet.programmes.filter { $0.level == .member }.count
            let householdLevel = b.rules.ruleSet.programmes.count - personLevel
            #expect(results.count == b.memberIDs.count * personLevel + householdLevel)
            for r in results where r.eligible {
                eligibleSeen += 1
                #expect(r.applies)
                let qualifies = ["poor", "near_poor"].contains(b.status) || b.newlyEscaped || !r.reason.isEmpty
                #expect(qualifies)
            }
            for r in results where !r.applies { #expect(!r.eligible && r.priorities.isEmpty && r.band.isEmpty && !r.reason.isEmpty) }
        }
        #expect(eligibleSeen > 0)
        // Filtering and language.
        let (_, only) = classifier.classifyWithEligibility(household: 0, of: batch,
                                                            options: EligibilityOptions(programmes: ["P3.2"], language: .en))
        #expect(only.allSatisfy { $0.program == "P3.2" })
        #expect(only.contains { $0.reason.contains("child") || $0.reason.contains("aged") })
    }

    /// A rules diff compares decisions only: without the reason sentences, the decisions are
    /// the same and the reasons are empty.
    @Test func decisionsWithoutReasonsAreTheSame() throws {
        let (classifier, batch) = try Self.firstBatch(300)
        var compared = 0
        for h in 0..<batch.households.count {
            let (_, full) = classifier.classifyWithEligibility(household: h, of: batch)
            let (_, bare) = classifier.classifyWithEligibility(household: h, of: batch, options: EligibilityOptions(reasons: false))
            #expect(full.count == bare.count)
            for (a, b) in zip(full, bare) {
                #expect(a.memberID == b.memberID && a.program == b.program && a.applies == b.applies && a.eligible == b.eligible)
                #expect(a.priorities == b.priorities && a.band == b.band && a.path == b.path)
                #expect(b.reason.isEmpty)
                compared += 1
            }
        }
        #expect(compared > 500)
    }
}
