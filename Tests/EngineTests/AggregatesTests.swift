import Testing
@testable import Engine
import RuleModel
import Diagnostics

/// A small hand-computed fixture: 12 indicators of weight 1/12, k = 3/12, dimensions of two
/// indicators each.
///
///   id  village  weight  deprived on           c      status     prior  (change recognised)
///   h1  A        2       0,1,2,3               4/12   poor       poor
///   h2  A        1       0,2,4                 3/12   near_poor  poor
///   h3  A        1       5                     1/12   other      —
///   h4  B        0.5     6,7,8,9,10,11         6/12   poor       average
///   h5  B        0.5     —                     0      average    poor   (yes)
@Suite struct AggregatesTests {
    static let frame = IndicatorFrame(
        ruleSet: "test@1", ids: (1...12).map { "i\($0)" }, labels: (1...12).map { Bilingual(vi: "i\($0)", en: "i\($0)") },
        dimensionOf: (0..<12).map { $0 / 2 }, dimensionIDs: (1...6).map { "d\($0)" },
        dimensionLabels: (1...6).map { Bilingual(vi: "d\($0)", en: "d\($0)") },
        weights: Array(repeating: 1.0 / 12, count: 12), cutoff: 3.0 / 12, cutoffCount: 3)

    static func row(_ id: String, _ village: String, _ weight: Double, _ on: [Int], _ status: String, _ prior: String?,
                    recognised: Bool = false) -> AggregateHousehold {
        AggregateHousehold(householdID: id, groups: [village], weight: weight, people: 2, status: status, priorStatus: prior,
                           changeRecognised: recognised, deprived: (0..<12).map { on.contains($0) }, ruleSet: "test@1")
    }

    static func rows(weighted: Bool) -> [AggregateHousehold] {
        let w: [Double] = weighted ? [2, 1, 1, 0.5, 0.5] : [1, 1, 1, 1, 1]
        return [
            row("h1", "A", w[0], [0, 1, 2, 3], "poor", "poor"),
            row("h2", "A", w[1], [0, 2, 4], "near_poor", "poor"),
            row("h3", "A", w[2], [5], "other", nil),
            row("h4", "B", w[3], [6, 7, 8, 9, 10, 11], "poor", "average"),
            row("h5", "B", w[4], [], "average", "poor", recognised: true),
        ]
    }

    func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 1e-12 }

    @Test func officialRates() {
        let r = Aggregates.compute(Self.rows(weighted: false), frame: Self.frame, groupBy: ["village"])
        #expect(close(r.overall.rate(["poor"]), 2.0 / 5))
        #expect(close(r.overall.rate(["near_poor"]), 1.0 / 5))
        #expect(close(r.overall.rate(["poor", "near_poor"]), 3.0 / 5))
        #expect(close(r.overall.rate(["average"]), 1.0 / 5))
        #expect(r.overall.all.people == 10)
        #expect(r.groups.map(\.key) == [["A"], ["B"]])
        // Headcount of indicator 0 (i1): h1, h2 of 5; among the poor (h1, h4): 1 of 2.
        #expect(close(r.overall.headcountAll[0], 2.0 / 5))
        #expect(close(r.overall.headcountPoor[0], 1.0 / 2))
        #expect(close(r.overall.headcountNearPoor[0], 1.0))
        #expect(!r.weighted)
    }

    @Test func pureVariant() {
        let m = Aggregates.alkireFoster(Self.rows(weighted: false), frame: Self.frame, variant: .pure)
        // Poor: h1 (4/12), h2 (3/12, exactly k), h4 (6/12). H = 3/5; Σc = 13/12; A = 13/36; M0 = 13/60.
        #expect(close(m.headcount, 3.0 / 5))
        #expect(close(m.intensity, 13.0 / 36))
        #expect(close(m.adjustedHeadcount, 13.0 / 60))
        #expect(close(m.adjustedHeadcount, m.headcount * m.intensity))
        // i1: uncensored 2/5 (h1, h2), censored 2/5; i6: uncensored 1/5 (h3), censored 0.
        #expect(close(m.uncensored[0], 2.0 / 5))
        #expect(close(m.censored[0], 2.0 / 5))
        #expect(close(m.uncensored[5], 1.0 / 5))
        #expect(close(m.censored[5], 0))
        // Contribution of i1 = (1/12)(2/5) / (13/60) = 2/13; dimension d1 (i1, i2) = 3/13.
        #expect(close(m.contribution[0], 2.0 / 13))
        #expect(close(m.dimensionContribution[0], 3.0 / 13))
        #expect(close(m.contribution.reduce(0, +), 1))
        #expect(close(m.dimensionContribution.reduce(0, +), 1))
    }

    @Test func nationalVariant() {
        let m = Aggregates.alkireFoster(Self.rows(weighted: false), frame: Self.frame, variant: .national)
        // Poor by class: h1, h4. H = 2/5; Σc = 10/12; A = 5/12; M0 = 1/6.
        #expect(close(m.headcount, 2.0 / 5))
        #expect(close(m.intensity, 5.0 / 12))
        #expect(close(m.adjustedHeadcount, 1.0 / 6))
        #expect(close(m.contribution.reduce(0, +), 1))
    }

    @Test func weighted() {
        let r = Aggregates.compute(Self.rows(weighted: true), frame: Self.frame, groupBy: [])
        #expect(r.weighted)
        // n = 5; poor (class) weight 2 + 0.5 = 2.5.
        #expect(close(r.overall.rate(["poor"]), 0.5))
        let m = r.overall.afMeasures(.pure)!
        // q = 2 + 1 + 0.5 = 3.5; Σwc = 2·4/12 + 3/12 + 0.5·6/12 = 14/12; H = 0.7; A = 1/3; M0 = 7/30.
        #expect(close(m.headcount, 0.7))
        #expect(close(m.intensity, 1.0 / 3))
        #expect(close(m.adjustedHeadcount, 7.0 / 30))
        #expect(close(r.overall.all.weightedPeople, 10))
    }

    @Test(arguments: [false, true]) func decomposition(weighted: Bool) {
        let r = Aggregates.compute(Self.rows(weighted: weighted), frame: Self.frame, groupBy: ["village"])
        for v in AlkireFoster.Variant.allCases {
            let total = r.overall.afMeasures(v)!.adjustedHeadcount
            let sum = r.groups.reduce(0.0) { $0 + $1.all.weightedHouseholds / r.overall.all.weightedHouseholds * $1.afMeasures(v)!.adjustedHeadcount }
            #expect(close(total, sum))
            #expect(close(r.overall.afMeasures(v)!.contribution.reduce(0, +), 1))
        }
        // Unweighted, pure: M0_A = (7/12)/3 = 7/36, M0_B = (6/12)/2 = 1/4; 3/5·7/36 + 2/5·1/4 = 13/60.
        if !weighted {
            #expect(close(r.groups[0].afMeasures(.pure)!.adjustedHeadcount, 7.0 / 36))
            #expect(close(r.groups[1].afMeasures(.pure)!.adjustedHeadcount, 1.0 / 4))
        }
    }

    @Test func transitions() {
        var rows = Self.rows(weighted: false)
        rows.append(Self.row("h6", "B", 1, [0, 1, 2], "poor", "poor", recognised: true))
        rows.append(Self.row("h7", "B", 1, [0, 1, 2], "poor", nil))
        let t = Aggregates.compute(rows, frame: Self.frame, groupBy: []).overall.transitions
        #expect(t.stayedPoor.households == 1)     // h1
        #expect(t.leftPoverty.households == 2)    // h2, h5
        #expect(t.newlyPoor.households == 1)      // h4
        #expect(t.fellBack.households == 1)       // h6
        #expect(t.poorWithoutPrior.households == 1) // h7
        #expect(t.matrix["poor"]?["poor"]?.households == 2)
    }

    @Test func undeterminedCountsInDenominators() {
        var rows = Self.rows(weighted: false)
        rows.append(Self.row("h8", "B", 1, [0, 1, 2, 3, 4], "undetermined", nil))
        let r = Aggregates.compute(rows, frame: Self.frame, groupBy: [])
        #expect(close(r.overall.rate(["poor"]), 2.0 / 6))
        // National: undetermined is not poor; pure: its 5/12 makes it poor.
        #expect(close(r.overall.afMeasures(.national)!.headcount, 2.0 / 6))
        #expect(close(r.overall.afMeasures(.pure)!.headcount, 4.0 / 6))
    }
}

@Suite struct TargetMeasureTests {
    static func target(_ goal: PlanTarget.Goal, measurable: Bool = true, reported: PlanTarget.Reported? = nil) -> PlanTarget {
        let loc = Diagnostics.SourceLocation(file: "p.yaml", line: 1, column: 1)
        return PlanTarget(id: "t", section: nil, label: Bilingual(vi: "t", en: "t"), text: "t", level: .member,
                          population: Located("true", location: loc), condition: Located("true", location: loc),
                          before: nil, after: nil, goal: goal, measurable: measurable, note: "n", reported: reported, location: loc)
    }

    @Test func share() {
        var t = TargetTally()
        t.population = 252; t.met = 237
        let m = TargetMeasures.measure(Self.target(.share(0.95)), t, overall: true)
        // 0.95 × 252 = 239.4 → 3 more people (237 + 3 = 240 ≥ 239.4).
        #expect(m.met == false)
        #expect(m.gap == 3)
        #expect(abs(m.rate! - 237.0 / 252) < 1e-12)
    }

    @Test func reductions() {
        var t = TargetTally()
        t.before = 75; t.after = 57; t.households = 1999
        let count = TargetMeasures.measure(Self.target(.reduceBy(3)), t, overall: true)
        #expect(count.numerator == 18)
        #expect(count.met == true && count.gap == 0)
        t.before = 58
        let rate = TargetMeasures.measure(Self.target(.reduceRateBy(0.0015)), t, overall: true)
        // 1 fewer of 1999 = 0.05 points; 0.0015 × 1999 = 2.9985 → 2 more households.
        #expect(rate.met == false)
        #expect(rate.gap == 2)
    }

    @Test func reportedAndNotMeasurable() {
        let rep = PlanTarget.Reported(numerator: 9, denominator: 10, rate: nil, date: nil, source: nil)
        let m = TargetMeasures.measure(Self.target(.share(1), measurable: false, reported: rep), TargetTally(), overall: true)
        #expect(m.state == .reported)
        #expect(m.met == false && m.gap == 1)
        let n = TargetMeasures.measure(Self.target(.share(1), measurable: false), TargetTally(), overall: true)
        #expect(n.state == .notMeasurable && n.met == nil)
    }
}
