import CEL
import Diagnostics
import RuleModel
import Survey

// Plan targets measured over classified households (domain.md §7; docs/reports.md).
// Pure: the command feeds classified households in; figures come out.

/// A plan with each target's expressions compiled against every rule set of the library.
public final class CompiledPlan: @unchecked Sendable {
    public struct Programs: Sendable {
        public var population: Program?
        public var condition: Program?
        public var before: Program?
        public var after: Program?
    }
    public let plan: Plan
    let programs: [ObjectIdentifier: [Programs]]

    init(plan: Plan, programs: [ObjectIdentifier: [Programs]]) {
        self.plan = plan
        self.programs = programs
    }

    /// Type-checks every expression of `plan` against each rule set's fields; all errors are
    /// thrown, each at its place in the plan file.
    public static func compile(_ plan: Plan, rules: [CompiledRuleSet]) throws(DiagnosticList) -> CompiledPlan {
        var bag = DiagnosticBag()
        let map = SourceMap()
        var out: [ObjectIdentifier: [Programs]] = [:]
        // A plan of a year is read under the rule sets in force that year.
        var chosen = rules
        if let year = plan.year, let from = RuleDate(year: year, month: 1, day: 1), let to = RuleDate(year: year, month: 12, day: 31) {
            chosen = rules.filter { $0.ruleSet.period.overlaps(Period(from: from, to: to)) }
            if chosen.isEmpty {
                throw DiagnosticList([.error(at: plan.location, "no rule set is in force in \(year), the plan's year")])
            }
        }
        for set in chosen {
            var list: [Programs] = []
            // Built once per rule set, not per expression: building them hashes every field name.
            let householdDeclarations = set.environment.declarations(for: .planHousehold)
            let memberDeclarations = set.environment.declarations(for: .planMember)
            for t in plan.targets {
                func compile(_ e: Located<String>?, _ what: String, member: Bool) -> Program? {
                    guard let e else { return nil }
                    let decl = member ? memberDeclarations : householdDeclarations
                    do {
                        return try Program(e.value, declarations: decl, expecting: .bool)
                    } catch let error as CELError {
                        bag.append(map.diagnostic(error, in: e, context: "target '\(t.id)' \(what) (rule set \(set.ruleSet.reference))"))
                    } catch {
                        bag.error(at: e.location, "target '\(t.id)' \(what): \(error)")
                    }
                    return nil
                }
                let member = t.level == .member
                list.append(Programs(population: compile(t.population, "population", member: member),
                                     condition: compile(t.condition, "condition", member: member),
                                     before: compile(t.before, "before", member: member),
                                     after: compile(t.after, "after", member: member)))
            }
            out[ObjectIdentifier(set)] = list
        }
        if bag.hasErrors {
            // The same mistake is reported once, not once per rule set.
            var seen: Set<String> = []
            let unique = bag.diagnostics.filter { seen.insert("\($0.location?.description ?? "")|\($0.message.split(separator: "(").first ?? "")").inserted }
            throw DiagnosticList(unique.sorted { ($0.location?.line ?? 0, $0.location?.column ?? 0) < ($1.location?.line ?? 0, $1.location?.column ?? 0) })
        }
        return CompiledPlan(plan: plan, programs: out)
    }
}

/// One household or member that falls short of a target, for action lists.
public struct ShortEntry: Sendable, Equatable {
    public var householdID: String
    public var memberID: String?
    public var village: String
    public var name: String?
}

/// Counts of one target in one group (the whole survey or a village).
public struct TargetTally: Sendable, Equatable {
    public var population = 0
    public var met = 0
    public var before = 0
    public var after = 0
    /// Households of the group (the base of a rate reduction).
    public var households = 0
    /// Units whose expressions needed a value that was missing (counted as not met).
    public var missing = 0
    public init() {}
}

/// What a `TargetCounter` has counted: tallies overall and per village, the short lists, and
/// the households left out. Counts of parts of a survey add up to the counts of the whole.
public struct TargetCounts: Sendable {
    public var overall: [TargetTally]
    public var byVillage: [String: [TargetTally]] = [:]
    public var short: [[ShortEntry]]
    public var outsidePlan = 0

    init(targets: Int) {
        overall = Array(repeating: TargetTally(), count: targets)
        short = Array(repeating: [], count: targets)
    }

    /// Adds counts of the households that come after these (short lists stay in input order).
    public mutating func add(_ o: TargetCounts) {
        for k in overall.indices { overall[k].add(o.overall[k]) }
        for (village, tallies) in o.byVillage {
            if var mine = byVillage[village] {
                for k in mine.indices { mine[k].add(tallies[k]) }
                byVillage[village] = mine
            } else {
                byVillage[village] = tallies
            }
        }
        for k in short.indices { short[k].append(contentsOf: o.short[k]) }
        outsidePlan += o.outsidePlan
    }
}

/// Accumulates target counts household by household. One instance per thread: workers count
/// their own batches, hand them over with `takeCounts`, and one counter adds them in input
/// order (`TargetCounts.add`).
public final class TargetCounter {
    public let plan: CompiledPlan
    public let keepLists: Bool
    public let withNames: Bool
    public private(set) var counts: TargetCounts
    public var overall: [TargetTally] { counts.overall }
    public var byVillage: [String: [TargetTally]] { counts.byVillage }
    public var short: [[ShortEntry]] { counts.short }
    /// Households classified under a rule set not in force in the plan's year: not counted.
    public var outsidePlan: Int { counts.outsidePlan }
    private var activations: [ObjectIdentifier: HouseholdActivation] = [:]
    private var paramCache: [ObjectIdentifier: [Int32: [Value]]] = [:]

    public init(plan: CompiledPlan, keepLists: Bool, withNames: Bool = false) {
        self.plan = plan
        self.keepLists = keepLists
        self.withNames = withNames
        counts = TargetCounts(targets: plan.plan.targets.count)
    }

    /// The counts so far, leaving this counter empty.
    public func takeCounts() -> TargetCounts {
        defer { counts = TargetCounts(targets: plan.plan.targets.count) }
        return counts
    }

    /// Adds the counts of households that come after those counted here.
    public func add(_ o: TargetCounts) { counts.add(o) }

    /// Counts household `h` of `batch`, classified as `result`.
    public func add(_ result: HouseholdResult, batch: SurveyBatch, household h: Int) {
        let rules = result.rules
        guard let programs = plan.programs[ObjectIdentifier(rules)] else {
            counts.outsidePlan += 1
            return
        }
        let a = activation(rules, batch)
        prepare(a, result: result, batch: batch, household: h)
        var tallies = counts.byVillage[result.village] ?? Array(repeating: TargetTally(), count: programs.count)
        let nameField = withNames ? batch.members.fieldIndex("full_name") : nil
        for (k, p) in programs.enumerated() {
            let target = plan.plan.targets[k]
            var t = TargetTally()
            t.households = 1
            func test(_ program: Program?) -> Bool? {
                guard let program else { return nil }
                do { return try program.evaluateBool(a) } catch { t.missing += 1; return false }
            }
            func entry(_ row: Int?) -> ShortEntry {
                let memberID = row.map { result.memberIDs[$0 - a.memberStart] }
                let name = row.flatMap { r in nameField.flatMap { batch.members.text($0, r) } }
                return ShortEntry(householdID: result.householdID, memberID: memberID, village: result.village, name: name)
            }
            if target.level == .household {
                a.use(.planHousehold)
                if test(p.before) == true { t.before += 1 }
                let now = test(p.after) == true
                if now { t.after += 1 }
                if let pop = p.population, test(pop) == true {
                    t.population += 1
                    if let c = p.condition {
                        if test(c) == true { t.met += 1 } else if keepLists && target.measurable { counts.short[k].append(entry(nil)) }
                    }
                } else if p.population == nil, now, keepLists, target.measurable {
                    counts.short[k].append(entry(nil))    // reductions: households that still count
                }
            } else {
                a.use(.planMember)
                for row in batch.memberRanges[h] {
                    a.member = row
                    if test(p.before) == true { t.before += 1 }
                    let now = test(p.after) == true
                    if now { t.after += 1 }
                    if let pop = p.population, test(pop) == true {
                        t.population += 1
                        if let c = p.condition {
                            if test(c) == true { t.met += 1 } else if keepLists && target.measurable { counts.short[k].append(entry(row)) }
                        }
                    } else if p.population == nil, now, keepLists, target.measurable {
                        counts.short[k].append(entry(row))
                    }
                }
            }
            counts.overall[k].add(t)
            tallies[k].add(t)
        }
        counts.byVillage[result.village] = tallies
    }

    func activation(_ rules: CompiledRuleSet, _ batch: SurveyBatch) -> HouseholdActivation {
        let key = ObjectIdentifier(rules)
        if let a = activations[key] { a.batch = batch; return a }
        let a = HouseholdActivation(rules: rules, batch: batch)
        activations[key] = a
        return a
    }

    /// Sets the activation to the household as the classifier saw it: parameters of its date,
    /// derived fields, and the classification's results.
    func prepare(_ a: HouseholdActivation, result: HouseholdResult, batch: SurveyBatch, household h: Int) {
        let rules = result.rules
        let date = result.referenceDate
        a.household = h
        a.memberStart = batch.memberRanges[h].lowerBound
        a.memberCount = batch.memberRanges[h].count
        a.referenceDate = date
        let key = ObjectIdentifier(rules)
        if let p = paramCache[key]?[date.dayNumber] {
            a.setParams(p)
        } else {
            let values = Classifier.parameterValues(rules, on: RuleDate(year: date.year, month: date.month, day: date.day)!)
            paramCache[key, default: [:]][date.dayNumber] = values
            a.setParams(values)
        }
        a.householdDerived = []
        a.use(.householdDerived)
        for p in rules.householdDerived { a.householdDerived.append(try? p.evaluate(a)) }
        a.memberDerived = []
        a.use(.memberDerived)
        for row in batch.memberRanges[h] {
            a.member = row
            for p in rules.memberDerived { a.memberDerived.append(try? p.evaluate(a)) }
        }
        a.deprived = result.deprived
        a.deprivationCount = result.deprivationCount
        a.incomeBelowLine = result.incomeBelowLine
        a.status = result.status
        a.newlyEscaped = result.newlyEscaped
    }
}

extension TargetTally {
    mutating func add(_ o: TargetTally) {
        population += o.population
        met += o.met
        before += o.before
        after += o.after
        households += o.households
        missing += o.missing
    }
}

/// A target's figures in one group, with the verdict.
public struct TargetMeasure: Sendable {
    public enum State: String, Sendable {
        case measured, reported
        case notMeasurable = "not_measurable"
    }
    public var state: State
    public var numerator: Double?
    public var denominator: Double?
    /// numerator / denominator; for reductions, the fall in the rate (before − after) / households.
    public var rate: Double?
    /// nil when the goal does not apply to this group or cannot be judged.
    public var met: Bool?
    /// How many more households or members must meet the target (or, for `at_most`, fewer).
    public var gap: Int?
    public var tally: TargetTally
}

public enum TargetMeasures {
    /// The figures of `target` for a group. `overall` says whether the goal applies: counts and
    /// reductions are commune-wide, so a village gets figures without a verdict.
    public static func measure(_ target: PlanTarget, _ t: TargetTally, overall: Bool) -> TargetMeasure {
        if !target.measurable {
            var m = TargetMeasure(state: .notMeasurable, numerator: nil, denominator: target.population == nil ? nil : Double(t.population),
                                  rate: nil, met: nil, gap: nil, tally: t)
            if overall, let r = target.reported {
                m.state = .reported
                if let n = r.numerator, let d = r.denominator {
                    m.numerator = n
                    m.denominator = d
                    m.rate = d > 0 ? n / d : nil
                } else {
                    m.rate = r.rate
                }
                if let rate = m.rate, case .share(let g) = target.goal {
                    m.met = rate >= g - 1e-12
                    if let d = m.denominator, let n = m.numerator { m.gap = max(0, Int((g * d - n - 1e-9).rounded(.up))) }
                }
            }
            return m
        }
        let num = Double(t.met), den = Double(t.population)
        switch target.goal {
        case .share(let g):
            let rate = t.population > 0 ? num / den : nil
            let met = rate.map { $0 >= g - 1e-12 } ?? true
            return TargetMeasure(state: .measured, numerator: num, denominator: den, rate: rate, met: met,
                                 gap: max(0, Int((g * den - num - 1e-9).rounded(.up))), tally: t)
        case .atLeast(let n):
            return TargetMeasure(state: .measured, numerator: num, denominator: den, rate: t.population > 0 ? num / den : nil,
                                 met: overall ? t.met >= n : nil, gap: overall ? max(0, n - t.met) : nil, tally: t)
        case .atMost(let n):
            return TargetMeasure(state: .measured, numerator: num, denominator: den, rate: t.population > 0 ? num / den : nil,
                                 met: overall ? t.met <= n : nil, gap: overall ? max(0, t.met - n) : nil, tally: t)
        case .reduceBy(let n):
            let fall = t.before - t.after
            return TargetMeasure(state: .measured, numerator: Double(fall), denominator: Double(t.before),
                                 rate: t.households > 0 ? Double(fall) / Double(t.households) : nil,
                                 met: overall ? fall >= n : nil, gap: overall ? max(0, n - fall) : nil, tally: t)
        case .reduceRateBy(let g):
            let fall = t.before - t.after
            let rate = t.households > 0 ? Double(fall) / Double(t.households) : nil
            return TargetMeasure(state: .measured, numerator: Double(fall), denominator: Double(t.households), rate: rate,
                                 met: overall ? (rate ?? 0) >= g - 1e-12 : nil,
                                 gap: overall ? max(0, Int((g * Double(t.households) - Double(fall) - 1e-9).rounded(.up))) : nil, tally: t)
        case .none:
            return TargetMeasure(state: .notMeasurable, numerator: nil, denominator: nil, rate: nil, met: nil, gap: nil, tally: t)
        }
    }
}
