import Diagnostics
import Dispatch
import Foundation
import Engine
import RuleModel
import Survey

/// One survey to classify: its two files and an optional header mapping.
public struct DiffSurvey: Sendable {
    public var label: String
    public var households: String
    public var members: String
    public var mapping: HeaderMapping?

    public init(label: String, households: String, members: String, mapping: HeaderMapping? = nil) {
        self.label = label
        self.households = households
        self.members = members
        self.mapping = mapping
    }

    public init(folder: String, mapping: HeaderMapping? = nil) {
        self.init(label: folder, households: folder + "/households.csv", members: folder + "/members.csv", mapping: mapping)
    }
}

/// One side of a diff: the rules and the reference date they are run at.
public struct DiffSide: Sendable {
    public var rules: AuditRules
    public var asOf: CivilDate?
    public init(rules: AuditRules, asOf: CivilDate? = nil) {
        self.rules = rules
        self.asOf = asOf
    }
}

/// What one side decided for a household, kept small so a large survey fits in memory.
struct Snapshot: Sendable {
    var status: String
    var village: String
    var ruleSet: String
    var deprived: [String]          // ids of deprived indicators
    var below: Bool?
    var newlyEscaped: Bool
    /// Units eligible for a programme: key `PROGRAMME␟MEMBER` (member "" for a household-level
    /// programme), value `PRIORITIES␟BAND`. Only eligible units are kept.
    var eligible: [String: String] = [:]

    static func absent(village: String = "") -> Snapshot {
        Snapshot(status: "absent", village: village, ruleSet: "", deprived: [], below: nil, newlyEscaped: false)
    }
    static func rejected(village: String = "") -> Snapshot {
        Snapshot(status: "rejected", village: village, ruleSet: "", deprived: [], below: nil, newlyEscaped: false)
    }
}

/// Separates the parts of a snapshot's eligibility keys and values.
let unitSeparator: Character = "\u{1F}"

/// People (or households, for a household-level programme) eligible for one programme under each
/// side, and how many gain or lose it.
public struct ProgrammeChange: Sendable {
    public let id: String
    public let title: String
    /// `member` (counts are people) or `household` (counts are households).
    public let level: String
    /// Which side declares the programme: both, base only or head only. A side that does not
    /// declare it counts nobody as eligible, so everyone eligible under the other side is gained
    /// or lost; the reports say so.
    public let presence: String
    public let baseEligible: Int
    public let headEligible: Int
    /// Not eligible under base (or not classified, or the programme not declared) and eligible under head.
    public let gained: Int
    public let lost: Int
    /// Eligible under both, with a different set of priorities / a different band.
    public let priorityChanged: Int
    public let bandChanged: Int
    public var net: Int { headEligible - baseEligible }
    public var unit: String { level == "household" ? "households" : "people" }
}

/// One person's (or household's) eligibility for one programme that differs between the sides,
/// for the sample.
public struct EligibilityChange: Sendable {
    public let program: String
    /// Empty for a household-level programme.
    public let memberID: String
    /// `gained`, `lost`, `changed` (eligible under both, priority or band differs), or `base only`
    /// / `head only` when the other side's rules do not declare the programme.
    public let kind: String
    /// The decision under each side in words: `eligible: REASON`, `not eligible: REASON`, …
    public let before: String
    public let after: String

    public var unit: String { memberID.isEmpty ? "household" : "member \(memberID)" }
}

/// A plan target's overall figures under one side.
public struct TargetFigures: Sendable, Equatable {
    public var state: String
    public var numerator: Double?
    public var denominator: Double?
    public var rate: Double?
    public var met: Bool?
}

/// A target whose numerator, denominator, rate or verdict differs between the sides.
public struct TargetChange: Sendable {
    public let id: String
    public let label: String
    /// `share`, `at_least`, `at_most`, `reduce_by`, `reduce_rate_by`.
    public let goalKind: String
    public let base: TargetFigures
    public let head: TargetFigures
    /// Which of numerator, denominator, rate, met changed.
    public var changedFields: [String] {
        var out: [String] = []
        if base.numerator != head.numerator { out.append("numerator") }
        if base.denominator != head.denominator { out.append("denominator") }
        if base.rate != head.rate { out.append("rate") }
        if base.met != head.met { out.append("met") }
        return out
    }
}

/// Plan targets measured under both sides (`--plan`).
public struct TargetsDiff: Sendable {
    public var planID: String
    public var planFile: String
    public var year: Int?
    public var targets: Int
    /// Why the plan could not be measured under a side: its type errors, or every household
    /// classified under a rule set not in force in the plan's year. Nil when it was measured.
    public var baseProblem: String?
    public var headProblem: String?
    /// Households a side classified under a rule set not in force in the plan's year (not counted).
    public var baseOutside: Int
    public var headOutside: Int
    /// Households a side counted.
    public var baseCounted: Int
    public var headCounted: Int
    /// Targets whose figures change, in plan order (empty when a side could not be measured).
    public var changes: [TargetChange]
    public var compared: Bool { baseProblem == nil && headProblem == nil }
}

/// Households whose deprivation on one indicator changes.
public struct IndicatorChange: Sendable {
    public let id: String
    /// Which side declares the indicator: both, base only (dropped) or head only (added).
    public let presence: String
    public let baseDeprived: Int
    public let headDeprived: Int
    /// Households not deprived under base (or without the indicator) that are deprived under head.
    public let gained: Int
    public let lost: Int
    public var net: Int { headDeprived - baseDeprived }
}

/// A changed household with the explanations before and after.
public struct ChangedHousehold: Sendable {
    public let survey: String
    public let householdID: String
    public let village: String
    public let baseStatus: String
    public let headStatus: String
    public let gainedIndicators: [String]
    public let lostIndicators: [String]
    public var baseExplanation: String
    public var headExplanation: String
    /// Programme eligibility that differs, person by person, with the reasons before and after.
    public var eligibility: [EligibilityChange] = []
    public var eligibilityGained: [String] { Self.programmes(eligibility.filter { $0.kind == "gained" }) }
    public var eligibilityLost: [String] { Self.programmes(eligibility.filter { $0.kind == "lost" }) }

    static func programmes(_ list: [EligibilityChange]) -> [String] {
        var out: [String] = []
        for e in list where !out.contains(e.program) { out.append(e.program) }
        return out
    }
}

/// What a rule change does to real households.
public struct DiffReport: Sendable {
    public var baseLabel: String
    public var headLabel: String
    public var baseRuleSets: [String]
    public var headRuleSets: [String]
    public var baseAsOf: String?
    public var headAsOf: String?
    public var surveys: [String]
    /// Households classified (or rejected) on both sides.
    public var households: Int
    /// Classes in display order; `rejected` stands for households a side could not classify.
    public var classes: [String]
    public var classLabels: [String: String]
    /// matrix[base][head] = households.
    public var matrix: [String: [String: Int]]
    public var indicators: [IndicatorChange]
    public var incomeTestGained: Int
    public var incomeTestLost: Int
    public var newlyEscapedGained: Int
    public var newlyEscapedLost: Int
    /// Programme eligibility under each side, by programme, in declared order (base first).
    public var programmes: [ProgrammeChange]
    /// Whether the rule sets that decided each side declare any programme.
    public var baseHasProgrammes: Bool
    public var headHasProgrammes: Bool
    /// Plan targets under both sides, when a plan was given.
    public var targets: TargetsDiff?
    public var changed: Int
    public var statusChanged: Int
    public var sample: [ChangedHousehold]
    public var sampleLimit: Int

    public func baseCount(_ c: String) -> Int { matrix[c]?.values.reduce(0, +) ?? 0 }
    public func headCount(_ c: String) -> Int { classes.reduce(0) { $0 + (matrix[$1]?[c] ?? 0) } }
    public func transition(_ a: String, _ b: String) -> Int { matrix[a]?[b] ?? 0 }
    public var isEmpty: Bool { changed == 0 }
}

/// Classifies surveys with two rule libraries and compares household by household.
public struct RuleDiff {
    public let base: DiffSide
    public let head: DiffSide
    public let surveys: [DiffSurvey]
    public var sampleSize: Int
    public var language: Language
    /// A plan whose targets are measured under both sides (`--plan`).
    public var plan: Plan?

    public init(base: DiffSide, head: DiffSide, surveys: [DiffSurvey], sampleSize: Int = 10, language: Language = .vi, plan: Plan? = nil) {
        self.base = base
        self.head = head
        self.surveys = surveys
        self.sampleSize = sampleSize
        self.language = language
        self.plan = plan
    }

    /// Whether the plan type-checks against a side's rules, and if not, its errors.
    public func compilePlanProblem(base isBase: Bool) -> (Bool, [Diagnostic]) {
        guard let plan else { return (true, []) }
        do { _ = try CompiledPlan.compile(plan, rules: (isBase ? base : head).rules.compiled); return (true, []) } catch {
            return (false, error.diagnostics)
        }
    }

    /// The plan compiled against a side's rules, or the reason it does not type-check there.
    func compilePlan(_ side: DiffSide) -> (CompiledPlan?, String?) {
        guard let plan else { return (nil, nil) }
        do { return (try CompiledPlan.compile(plan, rules: side.rules.compiled), nil) } catch {
            return (nil, error.diagnostics.map(\.description).joined(separator: "\n"))
        }
    }

    /// Runs both sides. Throws the survey's problems when a file cannot be read at all; rows a side
    /// rejects are counted as class `rejected`.
    public func run() throws(DiagnosticList) -> DiffReport {
        var matrix: [String: [String: Int]] = [:]
        var gained: [String: Int] = [:], lost: [String: Int] = [:]
        var baseDep: [String: Int] = [:], headDep: [String: Int] = [:]
        var incomeGained = 0, incomeLost = 0, escGained = 0, escLost = 0
        var households = 0, changed = 0, statusChanged = 0
        var baseSets: [String] = [], headSets: [String] = []
        var eligBase: [String: Int] = [:], eligHead: [String: Int] = [:], eligGained: [String: Int] = [:], eligLost: [String: Int] = [:]
        var priorityChanged: [String: Int] = [:], bandChanged: [String: Int] = [:]
        /// Counts the eligibility of one household under both sides; true when any differs.
        func compareEligibility(_ b: [String: String], _ h: [String: String]) -> Bool {
            var differs = false
            for (key, bv) in b {
                let p = String(key.split(separator: unitSeparator, omittingEmptySubsequences: false)[0])
                eligBase[p, default: 0] += 1
                guard let hv = h[key] else { eligLost[p, default: 0] += 1; differs = true; continue }
                if hv != bv {
                    let bp = bv.split(separator: unitSeparator, omittingEmptySubsequences: false)
                    let hp = hv.split(separator: unitSeparator, omittingEmptySubsequences: false)
                    if bp[0] != hp[0] { priorityChanged[p, default: 0] += 1 }
                    if bp[1] != hp[1] { bandChanged[p, default: 0] += 1 }
                    differs = true
                }
            }
            for key in h.keys {
                let p = String(key.split(separator: unitSeparator, omittingEmptySubsequences: false)[0])
                eligHead[p, default: 0] += 1
                if b[key] == nil { eligGained[p, default: 0] += 1; differs = true }
            }
            return differs
        }
        let (basePlan, basePlanProblem) = compilePlan(base), (headPlan, headPlanProblem) = compilePlan(head)
        let baseCounter = basePlan.map { TargetCounter(plan: $0, keepLists: false) }
        let headCounter = headPlan.map { TargetCounter(plan: $0, keepLists: false) }
        var baseClassified = 0, headClassified = 0

        // Changed households are kept only as far as the sample can use them: one list per
        // class transition (in order of first appearance), each no longer than the sample, and
        // the first households that changed on something else.
        var byTransition: [String: [(Int, String)]] = [:]
        var transitionOrder: [String] = []
        var otherChangedKeys: [(Int, String)] = []

        for (si, survey) in surveys.enumerated() {
            // Both sides read and classify the survey at once, each on a thread of its own, and
            // their households are matched here by id as they come. Both come in input order, so
            // only the few households one side has and the other has not yet given are held.
            let baseStream = SideStream(self, base, survey, targets: baseCounter)
            let headStream = SideStream(self, head, survey, targets: headCounter)
            defer { baseStream.stop(); headStream.stop() }
            // Base households not matched yet, with their place in the base side's order.
            var pending: [String: (order: Int, snapshot: Snapshot)] = [:]
            var taken = 0
            func took(_ id: String, _ snap: Snapshot) {
                if snap.status != "rejected" { baseClassified += 1 }
                pending[id] = (pending[id]?.order ?? taken, snap)
                taken += 1
                if !baseSets.contains(snap.ruleSet), !snap.ruleSet.isEmpty { baseSets.append(snap.ruleSet) }
            }
            while let (id, h) = try headStream.next() {
                if h.status != "rejected" { headClassified += 1 }
                if !headSets.contains(h.ruleSet), !h.ruleSet.isEmpty { headSets.append(h.ruleSet) }
                while pending[id] == nil, let (bid, bs) = try baseStream.next() { took(bid, bs) }
                let b = pending.removeValue(forKey: id)?.snapshot ?? Snapshot.absent(village: h.village)
                households += 1
                matrix[b.status, default: [:]][h.status, default: 0] += 1
                for d in b.deprived { baseDep[d, default: 0] += 1 }
                for d in h.deprived { headDep[d, default: 0] += 1 }
                let g = h.deprived.filter { !b.deprived.contains($0) }, l = b.deprived.filter { !h.deprived.contains($0) }
                for d in g { gained[d, default: 0] += 1 }
                for d in l { lost[d, default: 0] += 1 }
                if let bb = b.below, let hb = h.below, bb != hb { if hb { incomeGained += 1 } else { incomeLost += 1 } }
                if b.newlyEscaped != h.newlyEscaped { if h.newlyEscaped { escGained += 1 } else { escLost += 1 } }
                let incomeChanged = b.below != h.below && b.below != nil && h.below != nil
                let eligibilityChanged = compareEligibility(b.eligible, h.eligible)
                if b.status != h.status {
                    changed += 1
                    statusChanged += 1
                    keepForSample(si, id, b.status + "->" + h.status)
                } else if !g.isEmpty || !l.isEmpty || incomeChanged || b.newlyEscaped != h.newlyEscaped || eligibilityChanged {
                    changed += 1
                    if otherChangedKeys.count < sampleSize { otherChangedKeys.append((si, id)) }
                }
            }
            while let (bid, bs) = try baseStream.next() { took(bid, bs) }
            // Households only the base side read (the head side could not read the row at all).
            for (id, (_, b)) in pending.sorted(by: { $0.value.order < $1.value.order }) {
                households += 1
                matrix[b.status, default: [:]]["absent", default: 0] += 1
                for d in b.deprived { baseDep[d, default: 0] += 1; lost[d, default: 0] += 1 }
                _ = compareEligibility(b.eligible, [:])
                changed += 1
                statusChanged += 1
                keepForSample(si, id, b.status + "->absent")
            }
        }
        func keepForSample(_ si: Int, _ id: String, _ transition: String) {
            if byTransition[transition] == nil {
                transitionOrder.append(transition)
                byTransition[transition] = []
            }
            if byTransition[transition]!.count < sampleSize { byTransition[transition]!.append((si, id)) }
        }

        // Rule sets that decided at least one household, base first: their classes and
        // indicators, in declared order, make the rows of the report.
        let usedSets = usedRuleSets(base, baseSets) + usedRuleSets(head, headSets)
        var classes: [String] = []
        var labels: [String: String] = [:]
        for set in usedSets {
            for c in set.classes {
                if !classes.contains(c.id) { classes.append(c.id) }
                if labels[c.id] == nil { labels[c.id] = c.label.text(language) }
            }
        }
        var seenClasses = Set(matrix.keys)
        for row in matrix.values { seenClasses.formUnion(row.keys) }
        for extra in ["undetermined", "rejected", "absent"] where seenClasses.contains(extra) && !classes.contains(extra) { classes.append(extra) }
        for c in seenClasses.sorted() where !classes.contains(c) { classes.append(c) }

        let baseIDs = indicatorIDs(usedRuleSets(base, baseSets)), headIDs = indicatorIDs(usedRuleSets(head, headSets))
        var indicators: [IndicatorChange] = []
        for id in baseIDs + headIDs.filter({ !baseIDs.contains($0) }) {
            let presence = baseIDs.contains(id) && headIDs.contains(id) ? "both" : (baseIDs.contains(id) ? "base only" : "head only")
            indicators.append(IndicatorChange(id: id, presence: presence, baseDeprived: baseDep[id] ?? 0, headDeprived: headDep[id] ?? 0,
                                              gained: gained[id] ?? 0, lost: lost[id] ?? 0))
        }

        // Programmes of the rule sets that decided each side, in declared order, base first.
        let baseProgs = programmes(usedRuleSets(base, baseSets)), headProgs = programmes(usedRuleSets(head, headSets))
        var progs: [ProgrammeChange] = []
        for p in baseProgs + headProgs.filter({ q in !baseProgs.contains { $0.id == q.id } }) {
            let inBase = baseProgs.contains { $0.id == p.id }, inHead = headProgs.contains { $0.id == p.id }
            progs.append(ProgrammeChange(id: p.id, title: p.title.text(language), level: p.level.rawValue,
                                         presence: inBase && inHead ? "both" : (inBase ? "base only" : "head only"),
                                         baseEligible: eligBase[p.id] ?? 0, headEligible: eligHead[p.id] ?? 0,
                                         gained: eligGained[p.id] ?? 0, lost: eligLost[p.id] ?? 0,
                                         priorityChanged: priorityChanged[p.id] ?? 0, bandChanged: bandChanged[p.id] ?? 0))
        }

        var targets: TargetsDiff?
        if let plan {
            func problem(_ compileProblem: String?, _ counter: TargetCounter?, _ classified: Int, _ name: String) -> String? {
                if let compileProblem { return "the plan does not type-check against the \(name) rules:\n" + compileProblem }
                guard let counter else { return nil }
                if classified > 0 && counter.outsidePlan == classified {
                    return "every household the \(name) side classified (\(classified)) falls under a rule set not in force in \(plan.year.map { "\($0), the plan's year" } ?? "the plan's year"), so no target can be measured"
                }
                if classified == 0 { return "the \(name) side classified no household" }
                return nil
            }
            var t = TargetsDiff(planID: plan.id, planFile: plan.file, year: plan.year, targets: plan.targets.count,
                                baseProblem: problem(basePlanProblem, baseCounter, baseClassified, "base"),
                                headProblem: problem(headPlanProblem, headCounter, headClassified, "head"),
                                baseOutside: baseCounter?.outsidePlan ?? 0, headOutside: headCounter?.outsidePlan ?? 0,
                                baseCounted: baseClassified - (baseCounter?.outsidePlan ?? 0),
                                headCounted: headClassified - (headCounter?.outsidePlan ?? 0), changes: [])
            if t.compared, let baseCounter, let headCounter {
                for (k, target) in plan.targets.enumerated() {
                    let b = Self.figures(TargetMeasures.measure(target, baseCounter.overall[k], overall: true))
                    let h = Self.figures(TargetMeasures.measure(target, headCounter.overall[k], overall: true))
                    if b != h {
                        t.changes.append(TargetChange(id: target.id, label: target.label.text(language), goalKind: Self.goalKind(target.goal), base: b, head: h))
                    }
                }
            }
            targets = t
        }

        // The sample: one household of each class transition in turn (input order within each),
        // so every kind of change is shown, then households that changed only on indicators.
        var picked: [(Int, String)] = []
        var round = 0
        while picked.count < sampleSize {
            var any = false
            for t in transitionOrder where round < byTransition[t]!.count && picked.count < sampleSize {
                picked.append(byTransition[t]![round])
                any = true
            }
            if !any { break }
            round += 1
        }
        for k in otherChangedKeys where picked.count < sampleSize { picked.append(k) }
        var sample: [ChangedHousehold] = []
        if !picked.isEmpty {
            var baseExplained: [String: (Snapshot, String, [EligibilityResult])] = [:], headExplained: [String: (Snapshot, String, [EligibilityResult])] = [:]
            for (si, survey) in surveys.enumerated() {
                let ids = Set(picked.filter { $0.0 == si }.map(\.1))
                if ids.isEmpty { continue }
                // Both sides at once: each reads the whole survey again for a few households.
                let baseStream = SideStream(self, base, survey, only: ids), headStream = SideStream(self, head, survey, only: ids)
                defer { baseStream.stop(); headStream.stop() }
                while let (id, s, text, e) = try headStream.nextExplained() { headExplained["\(si)/\(id)"] = (s, text, e) }
                while let (id, s, text, e) = try baseStream.nextExplained() { baseExplained["\(si)/\(id)"] = (s, text, e) }
            }
            for (si, id) in picked {
                let b = baseExplained["\(si)/\(id)"], h = headExplained["\(si)/\(id)"]
                let bd = b?.0.deprived ?? [], hd = h?.0.deprived ?? []
                sample.append(ChangedHousehold(
                    survey: surveys[si].label, householdID: id, village: h?.0.village ?? b?.0.village ?? "",
                    baseStatus: b?.0.status ?? "absent", headStatus: h?.0.status ?? "absent",
                    gainedIndicators: hd.filter { !bd.contains($0) }, lostIndicators: bd.filter { !hd.contains($0) },
                    baseExplanation: b?.1 ?? "", headExplanation: h?.1 ?? "",
                    eligibility: eligibilityChanges(b, h, baseProgs: baseProgs, headProgs: headProgs)))
            }
        }
        return DiffReport(baseLabel: base.rules.label, headLabel: head.rules.label, baseRuleSets: baseSets, headRuleSets: headSets,
                          baseAsOf: base.asOf?.description, headAsOf: head.asOf?.description,
                          surveys: surveys.map(\.label), households: households, classes: classes, classLabels: labels,
                          matrix: matrix, indicators: indicators, incomeTestGained: incomeGained, incomeTestLost: incomeLost,
                          newlyEscapedGained: escGained, newlyEscapedLost: escLost, programmes: progs,
                          baseHasProgrammes: !baseProgs.isEmpty, headHasProgrammes: !headProgs.isEmpty, targets: targets,
                          changed: changed, statusChanged: statusChanged, sample: sample, sampleLimit: sampleSize)
    }

    /// The rule sets of `side` named by `references` (id@version), or all of them when none decided.
    func usedRuleSets(_ side: DiffSide, _ references: [String]) -> [RuleSet] {
        let used = side.rules.library.ruleSets.filter { references.contains($0.reference) }
        return used.isEmpty ? side.rules.library.ruleSets : used
    }

    func programmes(_ sets: [RuleSet]) -> [Programme] {
        var out: [Programme] = []
        for set in sets { for p in set.programmes where !out.contains(where: { $0.id == p.id }) { out.append(p) } }
        return out
    }

    static func figures(_ m: TargetMeasure) -> TargetFigures {
        TargetFigures(state: m.state.rawValue, numerator: m.numerator, denominator: m.denominator, rate: m.rate, met: m.met)
    }

    static func goalKind(_ g: PlanTarget.Goal) -> String {
        switch g {
        case .share: return "share"
        case .atLeast: return "at_least"
        case .atMost: return "at_most"
        case .reduceBy: return "reduce_by"
        case .reduceRateBy: return "reduce_rate_by"
        case .none: return "none"
        }
    }

    /// Each person's (or household's) programme decision that differs between the sides, with
    /// the reasons of both, in household order (household-level programmes first).
    func eligibilityChanges(_ b: (Snapshot, String, [EligibilityResult])?, _ h: (Snapshot, String, [EligibilityResult])?,
                            baseProgs: [Programme], headProgs: [Programme]) -> [EligibilityChange] {
        let bs = b?.0 ?? .absent(), hs = h?.0 ?? .absent()
        var keys: [String] = []
        for r in (b?.2 ?? []) + (h?.2 ?? []) {
            let k = "\(r.program)\(unitSeparator)\(r.memberID)"
            if !keys.contains(k) { keys.append(k) }
        }
        func describe(_ r: EligibilityResult?, _ snap: Snapshot, declared: Bool) -> String {
            if snap.status == "rejected" || snap.status == "absent" { return "household not classified" }
            if !declared { return "no such programme in these rules" }
            guard let r else { return "not evaluated" }
            if r.eligible {
                var extra: [String] = []
                if !r.priorities.isEmpty { extra.append("priority " + r.priority) }
                if !r.band.isEmpty { extra.append("band " + r.band) }
                return "eligible" + (extra.isEmpty ? "" : " (" + extra.joined(separator: ", ") + ")") + (r.reason.isEmpty ? "" : ": " + r.reason)
            }
            return (r.applies ? "not eligible" : "out of scope") + (r.reason.isEmpty ? "" : ": " + r.reason)
        }
        // Programme by programme in declared order (base first), people in household order.
        let order = (baseProgs + headProgs).map(\.id)
        func rank(_ k: String) -> Int { order.firstIndex(of: String(k.split(separator: unitSeparator, omittingEmptySubsequences: false)[0])) ?? order.count }
        keys = keys.enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }.map(\.element)
        var out: [EligibilityChange] = []
        for k in keys {
            let bv = bs.eligible[k], hv = hs.eligible[k]
            guard bv != hv else { continue }
            let parts = k.split(separator: unitSeparator, omittingEmptySubsequences: false)
            let program = String(parts[0]), member = String(parts[1])
            let br = b?.2.first { $0.program == program && $0.memberID == member }
            let hr = h?.2.first { $0.program == program && $0.memberID == member }
            let inBase = baseProgs.contains { $0.id == program }, inHead = headProgs.contains { $0.id == program }
            let kind = !inHead ? "base only" : !inBase ? "head only" : bv == nil ? "gained" : (hv == nil ? "lost" : "changed")
            out.append(EligibilityChange(program: program, memberID: member, kind: kind,
                                         before: describe(br, bs, declared: inBase), after: describe(hr, hs, declared: inHead)))
        }
        return out
    }

    func indicatorIDs(_ sets: [RuleSet]) -> [String] {
        var out: [String] = []
        for set in sets { for i in set.indicators where !out.contains(i.id) { out.append(i.id) } }
        return out
    }

    /// Reads `survey` with `side`'s schema and rules and hands every household's snapshot to
    /// `body`, with its explanation and programme decisions when `only` names it; classified
    /// households are also counted towards `targets`.
    func pass(_ side: DiffSide, _ survey: DiffSurvey, only: Set<String>? = nil, targets: TargetCounter? = nil,
              stopped: () -> Bool = { false },
              _ body: (String, Snapshot, String, [EligibilityResult]) -> Void) throws(DiagnosticList) {
        let reader: SurveyReader
        reader = try SurveyReader.open(householdsPath: survey.households, membersPath: survey.members,
                                       schema: side.rules.schema, mapping: survey.mapping, asOf: side.asOf)
        let classifier = Classifier(library: side.rules.compiled, policy: ReferencePolicy(asOf: side.asOf))
        // Explanation sentences cost more than the classification; only the sample shows them.
        classifier.withReasons = only != nil
        let options = EligibilityOptions(language: language, reasons: only != nil)
        // A row the reader rejected is handed on as rejected unless its household was handed on
        // already. Only two kinds of household can be both: one whose member rows were rejected
        // (its problem comes before or with its batch) and the first row of a repeated id (known
        // from the start); only those ids are kept, so memory does not grow with the survey.
        var delivered = Set<String>()
        var problemIDs = Set<String>()
        var problemsSeen = 0
        let repeatedLines = reader.linesRepeatedLater
        while !stopped() {
            let batch: SurveyBatch?
            do { batch = try reader.next(maxHouseholds: 4096) } catch { throw DiagnosticList([error]) }
            guard let batch else { break }
            let idField = batch.households.fieldIndex("household_id")
            let villageField = batch.households.fieldIndex("village")
            let problems = reader.problems
            for p in problems[problemsSeen...] { if let id = p.householdID { problemIDs.insert(id) } }
            problemsSeen = problems.count
            for h in 0..<batch.households.count {
                let id = idField.flatMap { batch.households.text($0, h) } ?? "?"
                if let only, !only.contains(id) { continue }
                if problemIDs.contains(id) || repeatedLines.contains(Int32(truncatingIfNeeded: batch.households.line(h))) {
                    delivered.insert(id)
                }
                let (outcome, eligibility) = classifier.classifyWithEligibility(household: h, of: batch, options: options)
                switch outcome {
                case .classified(let r):
                    let set = r.rules.ruleSet
                    var dep: [String] = []
                    for (i, ind) in set.indicators.enumerated() where r.deprived[i] { dep.append(ind.id) }
                    var snap = Snapshot(status: r.status, village: r.village, ruleSet: set.reference, deprived: dep,
                                        below: r.incomeBelowLine, newlyEscaped: r.newlyEscaped)
                    for e in eligibility where e.eligible {
                        snap.eligible["\(e.program)\(unitSeparator)\(e.memberID)"] = "\(e.priority)\(unitSeparator)\(e.band)"
                    }
                    targets?.add(r, batch: batch, household: h)
                    body(id, snap, only == nil ? "" : Explanation.render(r, language: language), only == nil ? [] : eligibility)
                case .rejected(let r):
                    let village = villageField.flatMap { batch.households.text($0, h) } ?? ""
                    body(id, Snapshot.rejected(village: village), only == nil ? "" : r.problem.diagnostic.description + "\n", [])
                }
            }
        }
        if stopped() { return }
        // Rows the reader itself rejected (bad values) are the same on both sides when the schema
        // is; they are reported as rejected so nothing is lost silently.
        for p in reader.problems {
            guard let id = p.householdID, !delivered.contains(id), !(only.map { !$0.contains(id) } ?? false) else { continue }
            delivered.insert(id)
            body(id, Snapshot.rejected(), only == nil ? "" : p.diagnostic.description + "\n", [])
        }
    }
}

private struct PassJob: @unchecked Sendable {
    let diff: RuleDiff
    let targets: TargetCounter?
}

/// One side's pass over a survey (`RuleDiff.pass`) on a thread of its own, handed over in input
/// order a chunk at a time through a queue of a few chunks: the side runs ahead of the matching
/// by no more than that, so memory does not grow with the survey.
final class SideStream: @unchecked Sendable {
    typealias Item = (id: String, snapshot: Snapshot, text: String, eligibility: [EligibilityResult])
    private let chunkSize: Int

    private let lock = NSLock()
    private let slots: DispatchSemaphore
    private let ready = DispatchSemaphore(value: 0)
    private var chunks: [[Item]] = []
    private var failure: DiagnosticList?
    private var stopRequested = false
    private var current: [Item] = []
    private var position = 0
    private let done = DispatchGroup()

    init(_ diff: RuleDiff, _ side: DiffSide, _ survey: DiffSurvey, only: Set<String>? = nil, targets: TargetCounter? = nil,
         chunkSize: Int = 1024, depth: Int = 4) {
        self.chunkSize = chunkSize
        slots = DispatchSemaphore(value: depth)
        done.enter()
        // The counter is this thread's alone until the pass ends; the caller reads it only after
        // `next()` has returned nil, which comes after the pass (through `lock`).
        let job = PassJob(diff: diff, targets: targets)
        DispatchQueue(label: "povrules.diff.side").async { [self] in
            let diff = job.diff, targets = job.targets
            var chunk: [Item] = []
            chunk.reserveCapacity(chunkSize)
            do throws(DiagnosticList) {
                try diff.pass(side, survey, only: only, targets: targets, stopped: { self.isStopped }) { id, snap, text, e in
                    chunk.append((id, snap, text, e))
                    if chunk.count == self.chunkSize {
                        self.hand(chunk)
                        chunk.removeAll(keepingCapacity: true)
                    }
                }
                hand(chunk)
            } catch {
                lock.lock()
                failure = error
                lock.unlock()
            }
            // The end: the signal after the last chunk's, so `next` finds no chunk left.
            ready.signal()
            done.leave()
        }
    }

    private var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopRequested
    }

    /// Queues a chunk, waiting for room; once the stream is stopped, chunks are dropped (the
    /// pass notices the stop only at its next batch).
    private func hand(_ chunk: [Item]) {
        if chunk.isEmpty || isStopped { return }
        slots.wait()
        lock.lock()
        if stopRequested {
            lock.unlock()
            slots.signal()
            return
        }
        chunks.append(chunk)
        lock.unlock()
        ready.signal()
    }

    /// The next household in input order, or nil at the end; the pass's error, if it failed.
    func nextExplained() throws(DiagnosticList) -> Item? {
        while position == current.count {
            ready.wait()
            lock.lock()
            if !chunks.isEmpty {
                current = chunks.removeFirst()
                lock.unlock()
                position = 0
                slots.signal()
                continue
            }
            // Finished and nothing left: let the next call see the end again.
            let failure = self.failure
            lock.unlock()
            ready.signal()
            if let failure { throw failure }
            return nil
        }
        defer { position += 1 }
        return current[position]
    }

    func next() throws(DiagnosticList) -> (String, Snapshot)? {
        guard let item = try nextExplained() else { return nil }
        return (item.id, item.snapshot)
    }

    /// Ends the pass early (the other side failed) and waits for its thread, so nothing of it
    /// outlives the diff. A finished pass is simply waited for.
    func stop() {
        lock.lock()
        stopRequested = true
        lock.unlock()
        // Wakes the producer if it waits for room; it gives the permit back and drops the chunk.
        slots.signal()
        done.wait()
        // Every permit of a chunk never taken goes back too: libdispatch traps when a semaphore
        // is freed below its initial value.
        lock.lock()
        let untaken = chunks.count
        chunks.removeAll()
        lock.unlock()
        for _ in 0..<untaken { slots.signal() }
    }
}
