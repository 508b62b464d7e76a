import Diagnostics
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
    /// Programme eligibility gained and lost, by programme id (empty when the engine evaluates none).
    public var programmes: [(id: String, gained: Int, lost: Int)]
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

    public init(base: DiffSide, head: DiffSide, surveys: [DiffSurvey], sampleSize: Int = 10, language: Language = .vi) {
        self.base = base
        self.head = head
        self.surveys = surveys
        self.sampleSize = sampleSize
        self.language = language
    }

    /// Runs both sides. Throws the survey's problems when a file cannot be read at all; rows a side
    /// rejects are counted as class `rejected`.
    public func run() throws(DiagnosticList) -> DiffReport {
        var matrix: [String: [String: Int]] = [:]
        var gained: [String: Int] = [:], lost: [String: Int] = [:]
        var baseDep: [String: Int] = [:], headDep: [String: Int] = [:]
        var incomeGained = 0, incomeLost = 0, escGained = 0, escLost = 0
        var households = 0, changed = 0, statusChanged = 0
        var statusChangedKeys: [(Int, String, String)] = []
        var otherChangedKeys: [(Int, String)] = []
        var baseSets: [String] = [], headSets: [String] = []

        for (si, survey) in surveys.enumerated() {
            var baseSnaps: [String: Snapshot] = [:]
            var baseOrder: [String] = []
            try pass(base, survey) { id, snap, _ in
                if baseSnaps[id] == nil { baseOrder.append(id) }
                baseSnaps[id] = snap
                if !baseSets.contains(snap.ruleSet), !snap.ruleSet.isEmpty { baseSets.append(snap.ruleSet) }
            }
            var seen = Set<String>()
            try pass(head, survey) { id, h, _ in
                if !headSets.contains(h.ruleSet), !h.ruleSet.isEmpty { headSets.append(h.ruleSet) }
                let b = baseSnaps[id] ?? Snapshot(status: "absent", village: h.village, ruleSet: "", deprived: [], below: nil, newlyEscaped: false)
                seen.insert(id)
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
                if b.status != h.status {
                    changed += 1
                    statusChanged += 1
                    statusChangedKeys.append((si, id, b.status + "->" + h.status))
                } else if !g.isEmpty || !l.isEmpty || incomeChanged || b.newlyEscaped != h.newlyEscaped {
                    changed += 1
                    otherChangedKeys.append((si, id))
                }
            }
            // Households only the base side read (the head side could not read the row at all).
            for id in baseOrder where !seen.contains(id) {
                let b = baseSnaps[id]!
                households += 1
                matrix[b.status, default: [:]]["absent", default: 0] += 1
                for d in b.deprived { baseDep[d, default: 0] += 1; lost[d, default: 0] += 1 }
                changed += 1
                statusChanged += 1
                statusChangedKeys.append((si, id, b.status + "->absent"))
            }
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

        // The sample: one household of each class transition in turn (input order within each),
        // so every kind of change is shown, then households that changed only on indicators.
        var byTransition: [String: [(Int, String)]] = [:]
        var transitionOrder: [String] = []
        for (si, id, t) in statusChangedKeys {
            if byTransition[t] == nil { transitionOrder.append(t) }
            byTransition[t, default: []].append((si, id))
        }
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
            var baseExplained: [String: (Snapshot, String)] = [:], headExplained: [String: (Snapshot, String)] = [:]
            for (si, survey) in surveys.enumerated() {
                let ids = Set(picked.filter { $0.0 == si }.map(\.1))
                if ids.isEmpty { continue }
                try pass(base, survey, only: ids) { id, s, text in baseExplained["\(si)/\(id)"] = (s, text) }
                try pass(head, survey, only: ids) { id, s, text in headExplained["\(si)/\(id)"] = (s, text) }
            }
            for (si, id) in picked {
                let b = baseExplained["\(si)/\(id)"], h = headExplained["\(si)/\(id)"]
                let bd = b?.0.deprived ?? [], hd = h?.0.deprived ?? []
                sample.append(ChangedHousehold(
                    survey: surveys[si].label, householdID: id, village: h?.0.village ?? b?.0.village ?? "",
                    baseStatus: b?.0.status ?? "absent", headStatus: h?.0.status ?? "absent",
                    gainedIndicators: hd.filter { !bd.contains($0) }, lostIndicators: bd.filter { !hd.contains($0) },
                    baseExplanation: b?.1 ?? "", headExplanation: h?.1 ?? ""))
            }
        }
        return DiffReport(baseLabel: base.rules.label, headLabel: head.rules.label, baseRuleSets: baseSets, headRuleSets: headSets,
                          baseAsOf: base.asOf?.description, headAsOf: head.asOf?.description,
                          surveys: surveys.map(\.label), households: households, classes: classes, classLabels: labels,
                          matrix: matrix, indicators: indicators, incomeTestGained: incomeGained, incomeTestLost: incomeLost,
                          newlyEscapedGained: escGained, newlyEscapedLost: escLost, programmes: [],
                          changed: changed, statusChanged: statusChanged, sample: sample, sampleLimit: sampleSize)
    }

    /// The rule sets of `side` named by `references` (id@version), or all of them when none decided.
    func usedRuleSets(_ side: DiffSide, _ references: [String]) -> [RuleSet] {
        let used = side.rules.library.ruleSets.filter { references.contains($0.reference) }
        return used.isEmpty ? side.rules.library.ruleSets : used
    }

    func indicatorIDs(_ sets: [RuleSet]) -> [String] {
        var out: [String] = []
        for set in sets { for i in set.indicators where !out.contains(i.id) { out.append(i.id) } }
        return out
    }

    /// Reads `survey` with `side`'s schema and rules and hands every household's snapshot to
    /// `body`, with its explanation when `only` names it.
    func pass(_ side: DiffSide, _ survey: DiffSurvey, only: Set<String>? = nil,
              _ body: (String, Snapshot, String) -> Void) throws(DiagnosticList) {
        let reader: SurveyReader
        reader = try SurveyReader.open(householdsPath: survey.households, membersPath: survey.members,
                                       schema: side.rules.schema, mapping: survey.mapping, asOf: side.asOf)
        let classifier = Classifier(library: side.rules.compiled, policy: ReferencePolicy(asOf: side.asOf))
        var delivered = Set<String>()
        while true {
            let batch: SurveyBatch?
            do { batch = try reader.next(maxHouseholds: 4096) } catch { throw DiagnosticList([error]) }
            guard let batch else { break }
            let idField = batch.households.fieldIndex("household_id")
            let villageField = batch.households.fieldIndex("village")
            for h in 0..<batch.households.count {
                let id = idField.flatMap { batch.households.text($0, h) } ?? "?"
                if let only, !only.contains(id) { continue }
                delivered.insert(id)
                switch classifier.classify(household: h, of: batch) {
                case .classified(let r):
                    let set = r.rules.ruleSet
                    var dep: [String] = []
                    for (i, ind) in set.indicators.enumerated() where r.deprived[i] { dep.append(ind.id) }
                    let snap = Snapshot(status: r.status, village: r.village, ruleSet: set.reference, deprived: dep,
                                        below: r.incomeBelowLine, newlyEscaped: r.newlyEscaped)
                    body(id, snap, only == nil ? "" : Explanation.render(r, language: language))
                case .rejected(let r):
                    let village = villageField.flatMap { batch.households.text($0, h) } ?? ""
                    body(id, Snapshot(status: "rejected", village: village, ruleSet: "", deprived: [], below: nil, newlyEscaped: false),
                         only == nil ? "" : r.problem.diagnostic.description + "\n")
                }
            }
        }
        // Rows the reader itself rejected (bad values) are the same on both sides when the schema
        // is; they are reported as rejected so nothing is lost silently.
        for p in reader.problems {
            guard let id = p.householdID, !delivered.contains(id), !(only.map { !$0.contains(id) } ?? false) else { continue }
            delivered.insert(id)
            body(id, Snapshot(status: "rejected", village: "", ruleSet: "", deprived: [], below: nil, newlyEscaped: false),
                 only == nil ? "" : p.diagnostic.description + "\n")
        }
    }
}
