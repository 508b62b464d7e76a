import Foundation
import Engine
import RuleModel
import Survey
import Testing

/// Commands that scan a survey count on the workers, batch by batch, and add the counts in
/// input order: the sum of the parts must be the whole, to the last short-list entry.
@Suite struct StreamingCountsTests {
    static let root = #filePath.components(separatedBy: "/Tests/")[0]

    struct Classified {
        var batches: [(SurveyBatch, [HouseholdOutcome])] = []
    }

    static func classified(batchSize: Int) throws -> ([CompiledRuleSet], Classified) {
        let schema = try SurveySchema.shipped(rulesRoot: root + "/Rules")
        let library = try RuleLoader.load(root: root + "/Rules")
        let compiled = try library.ruleSets.map { try CompiledRuleSet.compile($0, schema: schema) }
        let reader = try SurveyReader(householdsPath: root + "/Fixtures/thach-ha-2024/households.csv",
                                      membersPath: root + "/Fixtures/thach-ha-2024/members.csv", schema: schema, mapping: nil)
        let classifier = Classifier(library: compiled, policy: ReferencePolicy(asOf: nil))
        classifier.withReasons = false
        var out = Classified()
        while let batch = try reader.next(maxHouseholds: batchSize) { out.batches.append((batch, classifier.classify(batch))) }
        return (compiled, out)
    }

    @Test func targetCountsOfBatchesAddUpToTheWhole() throws {
        let (compiled, run) = try Self.classified(batchSize: 97)
        #expect(run.batches.count > 5)
        let plan = try CompiledPlan.compile(try PlanLoader.load(Self.root + "/Rules/plans/thach-ha-2024.yaml"), rules: compiled)
        let whole = TargetCounter(plan: plan, keepLists: true)
        let worker = TargetCounter(plan: plan, keepLists: true)
        let merged = TargetCounter(plan: plan, keepLists: true)
        for (batch, outcomes) in run.batches {
            for (h, o) in outcomes.enumerated() {
                guard case .classified(let r) = o else { continue }
                whole.add(r, batch: batch, household: h)
                worker.add(r, batch: batch, household: h)
            }
            merged.add(worker.takeCounts())
            #expect(worker.overall.allSatisfy { $0 == TargetTally() } && worker.short.allSatisfy(\.isEmpty))
        }
        #expect(whole.overall.contains { $0.population > 0 })
        #expect(merged.overall == whole.overall)
        #expect(merged.byVillage == whole.byVillage)
        #expect(merged.byVillage.count == 11)
        #expect(merged.short == whole.short)
        #expect(merged.short.contains { $0.count > 1 })
        #expect(merged.outsidePlan == whole.outsidePlan)
    }

    @Test func streamedAggregatesEqualTheListOfEveryRow() throws {
        let (_, run) = try Self.classified(batchSize: 256)
        var rows: [AggregateHousehold] = []
        var acc: AggregateAccumulator?
        for (batch, outcomes) in run.batches {
            for (h, o) in outcomes.enumerated() {
                guard case .classified(let r) = o else { continue }
                let row = AggregateHousehold.make(r, batch: batch, household: h, groupBy: ["village", "status"])
                if acc == nil { acc = AggregateAccumulator(frame: IndicatorFrame(r.rules, on: r.referenceDate), groupBy: ["village", "status"]) }
                acc!.add(row)
                rows.append(row)
            }
        }
        let streamed = try #require(acc).report(statusOrder: ["poor", "near_poor", "average"])
        let listed = Aggregates.compute(rows, frame: streamed.frame, groupBy: ["village", "status"], statusOrder: ["poor", "near_poor", "average"])
        #expect(streamed.groups.count > 11)
        #expect(streamed.groups.map(\.key) == listed.groups.map(\.key))
        // The same sums in the same order: equal to the last bit, not merely close.
        for (a, b) in zip([streamed.overall] + streamed.groups, [listed.overall] + listed.groups) {
            #expect(a.all == b.all && a.classes == b.classes)
            #expect(a.headcountAll == b.headcountAll && a.headcountPoor == b.headcountPoor && a.headcountNearPoor == b.headcountNearPoor)
            for (x, y) in zip(a.af, b.af) {
                #expect(x.headcount == y.headcount && x.intensity == y.intensity && x.adjustedHeadcount == y.adjustedHeadcount)
                #expect(x.censored == y.censored && x.contribution == y.contribution)
            }
            #expect(a.transitions.stayedPoor == b.transitions.stayedPoor && a.transitions.matrix == b.transitions.matrix)
        }
        // Statuses the given order lacks come after it, in the order they first came.
        #expect(Array(streamed.statusOrder.prefix(3)) == ["poor", "near_poor", "average"])
        #expect(streamed.statusOrder.count > 3)
    }
}

import Output
import CEL

/// Every JSON the product writes escapes strings one way.
@Suite struct JSONQuoteTests {
    @Test func outputsQuoteLikeTheExpressionLanguage() {
        let tricky = "Thôn \"Nam\"\\ a\u{08}b\u{0C}c\u{01}\n\t"
        #expect(JSONValue.string(tricky).text == CELJSON.quoteJSON(tricky))
        #expect(JSONValue.string(tricky).text == "\"Thôn \\\"Nam\\\"\\\\ a\\bb\\fc\\u0001\\n\\t\"")
    }
}
