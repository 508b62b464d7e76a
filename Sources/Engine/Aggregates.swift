import CEL
import RuleModel
import Survey

// Aggregate figures over classified households (domain.md §8, §10.13; docs/reports.md).
// Pure: rows in, numbers out. Every share divides by all households of the group (weighted),
// `undetermined` included.

/// What aggregates need of one classified household.
public struct AggregateHousehold: Sendable {
    public var householdID: String
    /// Values of the grouping fields, in the order asked for.
    public var groups: [String]
    public var weight: Double
    public var people: Int
    public var status: String
    public var priorStatus: String?
    /// The commune recognised a change from `priorStatus` on or before the reference date.
    public var changeRecognised: Bool
    /// One per indicator of the frame; unknown indicators read not deprived.
    public var deprived: [Bool]
    public var ruleSet: String

    public init(householdID: String, groups: [String], weight: Double, people: Int, status: String, priorStatus: String?,
                changeRecognised: Bool, deprived: [Bool], ruleSet: String) {
        self.householdID = householdID
        self.groups = groups
        self.weight = weight
        self.people = people
        self.status = status
        self.priorStatus = priorStatus
        self.changeRecognised = changeRecognised
        self.deprived = deprived
        self.ruleSet = ruleSet
    }

    /// The row of household `h` of `batch`, classified as `result`. `groupBy` names household
    /// fields of the survey (or `status`, `ruleset`).
    public static func make(_ result: HouseholdResult, batch: SurveyBatch, household h: Int, groupBy: [String]) -> AggregateHousehold {
        let t = batch.households
        let schema = result.rules.environment.schema
        let weight = t.fieldIndex("weight").flatMap { t.decimal($0, h) } ?? 1
        var prior: String?
        if let f = t.fieldIndex("prior_status") { prior = SurveyText.value(t, f, h, schema: schema) }
        var recognised = false
        if let f = t.fieldIndex("status_changed_on"), let d = t.date(f, h) { recognised = d <= result.referenceDate }
        let groups = groupBy.map { name -> String in
            switch name {
            case "status": return result.status
            case "ruleset": return result.rules.ruleSet.reference
            default: return t.fieldIndex(name).flatMap { SurveyText.value(t, $0, h, schema: schema) } ?? ""
            }
        }
        var deprived = result.deprived
        for i in result.unknownIndicators where i < deprived.count { deprived[i] = false }
        return AggregateHousehold(householdID: result.householdID, groups: groups, weight: weight, people: batch.memberRanges[h].count,
                                  status: result.status, priorStatus: prior, changeRecognised: recognised, deprived: deprived,
                                  ruleSet: result.rules.ruleSet.reference)
    }
}

/// A survey value as text in the contract's spelling (codes, `true`/`false`, dates).
public enum SurveyText {
    public static func value(_ t: RecordTable, _ f: Int, _ row: Int, schema: SurveySchema) -> String? {
        switch t.fields[f].type {
        case .text: return t.text(f, row)
        case .code(let list): return t.code(f, row).flatMap { c in schema.codeLists[list].flatMap { Int(c) < $0.codes.count ? $0.codes[Int(c)] : nil } }
        case .codeSet(let list):
            guard let mask = t.codeSet(f, row), let codes = schema.codeLists[list]?.codes else { return nil }
            return codes.enumerated().filter { mask & (1 << UInt64($0.offset)) != 0 }.map(\.element).joined(separator: ";")
        case .bool: return t.bool(f, row).map { $0 ? "true" : "false" }
        case .int: return t.int(f, row).map { String($0) }
        case .decimal: return t.decimal(f, row).map { String($0) }
        case .date, .birthDate: return t.date(f, row)?.description
        }
    }
}

/// The indicators, their dimensions and weights, and the AF cut-off, from one rule set.
public struct IndicatorFrame: Sendable {
    public var ruleSet: String
    public var ids: [String]
    public var labels: [Bilingual]
    /// Index into `dimensions` of each indicator.
    public var dimensionOf: [Int]
    public var dimensionIDs: [String]
    public var dimensionLabels: [Bilingual]
    /// Weight of each indicator; they sum to 1.
    public var weights: [Double]
    /// The pure variant's cut-off k as a share of the weights (3/12).
    public var cutoff: Double
    /// The cut-off in indicators (3), for labels.
    public var cutoffCount: Int

    public init(ruleSet: String, ids: [String], labels: [Bilingual], dimensionOf: [Int], dimensionIDs: [String],
                dimensionLabels: [Bilingual], weights: [Double], cutoff: Double, cutoffCount: Int) {
        self.ruleSet = ruleSet
        self.ids = ids
        self.labels = labels
        self.dimensionOf = dimensionOf
        self.dimensionIDs = dimensionIDs
        self.dimensionLabels = dimensionLabels
        self.weights = weights
        self.cutoff = cutoff
        self.cutoffCount = cutoffCount
    }

    /// Equal weights 1/d; k = the rule set's `poor_min_deprivations` on `date` (else 3) over d,
    /// unless `cutoffCount` is given.
    public init(_ rules: CompiledRuleSet, on date: CivilDate, cutoffCount: Int? = nil) {
        let set = rules.ruleSet
        let dims = set.dimensions.filter { d in set.indicators.contains { $0.dimension == d.id } }
        let d = set.indicators.count
        var k = 3
        if let day = RuleDate(year: date.year, month: date.month, day: date.day),
           case .int(let v)? = set.parameters["poor_min_deprivations"]?.entry(on: day)?.value {
            k = Int(v)
        }
        if let cutoffCount { k = cutoffCount }
        self.init(ruleSet: set.reference, ids: set.indicators.map(\.id), labels: set.indicators.map(\.label),
                  dimensionOf: set.indicators.map { ind in dims.firstIndex { $0.id == ind.dimension } ?? 0 },
                  dimensionIDs: dims.map(\.id), dimensionLabels: dims.map(\.label),
                  weights: Array(repeating: 1.0 / Double(max(d, 1)), count: d),
                  cutoff: Double(k) / Double(max(d, 1)), cutoffCount: k)
    }
}

/// Household and people counts of one class (or of all).
public struct Tally: Sendable, Equatable {
    public var households = 0
    public var weightedHouseholds = 0.0
    public var people = 0
    public var weightedPeople = 0.0
    public init() {}
    mutating func add(_ r: AggregateHousehold) {
        households += 1
        weightedHouseholds += r.weight
        people += r.people
        weightedPeople += r.weight * Double(r.people)
    }
}

/// Alkire–Foster measures under one identification rule.
public struct AlkireFoster: Sendable {
    public enum Variant: String, Sendable, CaseIterable {
        /// Poor when the deprivation score c ≥ k.
        case pure
        /// Poor when the rules classed the household `poor` (income test and D ≥ 3).
        case national
    }
    public var variant: Variant
    /// Weighted households n, and weighted poor q.
    public var population: Double
    public var poor: Double
    public var poorHouseholds: Int
    public var headcount: Double       // H = q / n
    public var intensity: Double       // A = Σ_poor w·c / q
    public var adjustedHeadcount: Double // M0 = Σ_poor w·c / n = H × A
    public var uncensored: [Double]    // share deprived on j
    public var censored: [Double]      // share deprived on j and poor
    public var contribution: [Double]  // w_j · h_j / M0
    public var dimensionContribution: [Double]
}

/// Year-on-year movement from `prior_status` (docs/reports.md).
public struct Transitions: Sendable {
    public static let priorCodes = ["poor", "near_poor", "average", "other", ""]
    public var stayedPoor = Tally()
    public var leftPoverty = Tally()
    public var newlyPoor = Tally()
    public var fellBack = Tally()
    /// Poor now with no prior status recorded.
    public var poorWithoutPrior = Tally()
    /// prior status ("" = none recorded) → status now → tally.
    public var matrix: [String: [String: Tally]] = [:]
}

public struct GroupAggregate: Sendable {
    /// The group's values of the grouping fields; empty for the whole survey.
    public var key: [String]
    public var all = Tally()
    /// Per status code.
    public var classes: [String: Tally] = [:]
    /// Weighted share deprived on each indicator among all, poor and near-poor households.
    public var headcountAll: [Double] = []
    public var headcountPoor: [Double] = []
    public var headcountNearPoor: [Double] = []
    public var af: [AlkireFoster] = []
    public var transitions = Transitions()

    public func tally(_ status: String) -> Tally { classes[status] ?? Tally() }
    /// Weighted share of households of these classes.
    public func rate(_ statuses: [String]) -> Double {
        guard all.weightedHouseholds > 0 else { return 0 }
        return statuses.reduce(0) { $0 + tally($1).weightedHouseholds } / all.weightedHouseholds
    }
    public func afMeasures(_ v: AlkireFoster.Variant) -> AlkireFoster? { af.first { $0.variant == v } }
}

public struct AggregateReport: Sendable {
    public var frame: IndicatorFrame
    public var groupBy: [String]
    /// True when some household has a weight other than 1.
    public var weighted: Bool
    public var overall: GroupAggregate
    /// Groups in sorted order of their keys.
    public var groups: [GroupAggregate]
    /// Status codes in the order the rules declare them.
    public var statusOrder: [String]
}

public enum AggregateError: Error, CustomStringConvertible {
    case mixedRuleSets([String])
    public var description: String {
        switch self {
        case .mixedRuleSets(let sets):
            return "the survey's households were classified under rule sets with different indicators (\(sets.joined(separator: ", "))); give --as-of, or split the survey by rule period"
        }
    }
}

public enum Aggregates {
    /// Rates, deprivation headcounts, AF measures and transitions, overall and per group.
    public static func compute(_ rows: [AggregateHousehold], frame: IndicatorFrame, groupBy: [String],
                               statusOrder: [String] = ["poor", "near_poor", "average", "other", "undetermined"]) -> AggregateReport {
        var acc = AggregateAccumulator(frame: frame, groupBy: groupBy, statusOrder: statusOrder)
        for r in rows { acc.add(r) }
        return acc.report()
    }

    /// Deprivation score c_i = Σ_j w_j · deprived_ij.
    public static func score(_ r: AggregateHousehold, _ frame: IndicatorFrame) -> Double {
        var c = 0.0
        for j in 0..<min(frame.weights.count, r.deprived.count) where r.deprived[j] { c += frame.weights[j] }
        return c
    }

    public static func isPoor(_ r: AggregateHousehold, _ frame: IndicatorFrame, _ v: AlkireFoster.Variant) -> Bool {
        switch v {
        // A small tolerance: 3 × (1/12) must reach 3/12.
        case .pure: return score(r, frame) >= frame.cutoff - 1e-12
        case .national: return r.status == "poor"
        }
    }

    public static func alkireFoster(_ rows: [AggregateHousehold], frame: IndicatorFrame, variant: AlkireFoster.Variant) -> AlkireFoster {
        var sums = AlkireFosterSums(variant: variant, indicators: frame.ids.count)
        for r in rows { sums.add(r, frame) }
        return sums.measures(frame)
    }

    static func transition(_ r: AggregateHousehold, _ t: inout Transitions) {
        let prior = r.priorStatus ?? ""
        t.matrix[prior, default: [:]][r.status, default: Tally()].add(r)
        let poorNow = r.status == "poor"
        switch prior {
        case "poor":
            if poorNow {
                if r.changeRecognised { t.fellBack.add(r) } else { t.stayedPoor.add(r) }
            } else {
                t.leftPoverty.add(r)
            }
        case "":
            if poorNow { t.poorWithoutPrior.add(r) }
        default:
            if poorNow { t.newlyPoor.add(r) }
        }
    }
}

/// The running sums of one Alkire–Foster variant: every measure is a ratio of them.
struct AlkireFosterSums: Sendable {
    let variant: AlkireFoster.Variant
    var n = 0.0, q = 0.0, qCount = 0, sumC = 0.0
    var unc: [Double], cen: [Double]

    init(variant: AlkireFoster.Variant, indicators d: Int) {
        self.variant = variant
        unc = [Double](repeating: 0, count: d)
        cen = unc
    }

    mutating func add(_ r: AggregateHousehold, _ frame: IndicatorFrame) {
        n += r.weight
        let poor = Aggregates.isPoor(r, frame, variant)
        if poor { q += r.weight; qCount += 1; sumC += r.weight * Aggregates.score(r, frame) }
        for j in 0..<min(unc.count, r.deprived.count) where r.deprived[j] {
            unc[j] += r.weight
            if poor { cen[j] += r.weight }
        }
    }

    func measures(_ frame: IndicatorFrame) -> AlkireFoster {
        let d = unc.count
        let uncensored = unc.map { n > 0 ? $0 / n : 0 }
        let censored = cen.map { n > 0 ? $0 / n : 0 }
        let m0 = n > 0 ? sumC / n : 0
        let contribution = (0..<d).map { j in m0 > 0 ? frame.weights[j] * censored[j] / m0 : 0 }
        var dims = [Double](repeating: 0, count: frame.dimensionIDs.count)
        for j in 0..<d where frame.dimensionOf[j] < dims.count { dims[frame.dimensionOf[j]] += contribution[j] }
        return AlkireFoster(variant: variant, population: n, poor: q, poorHouseholds: qCount,
                            headcount: n > 0 ? q / n : 0, intensity: q > 0 ? sumC / q : 0, adjustedHeadcount: m0,
                            uncensored: uncensored, censored: censored, contribution: contribution, dimensionContribution: dims)
    }
}

/// The running sums of one group: households are added one at a time and forgotten.
struct GroupAccumulator: Sendable {
    var group: GroupAggregate
    var depAll: [Double], depPoor: [Double], depNear: [Double]
    var af: [AlkireFosterSums]

    init(key: [String], frame: IndicatorFrame) {
        group = GroupAggregate(key: key)
        let d = frame.ids.count
        depAll = [Double](repeating: 0, count: d)
        depPoor = depAll
        depNear = depAll
        af = AlkireFoster.Variant.allCases.map { AlkireFosterSums(variant: $0, indicators: d) }
    }

    mutating func add(_ r: AggregateHousehold, _ frame: IndicatorFrame) {
        group.all.add(r)
        group.classes[r.status, default: Tally()].add(r)
        for j in 0..<min(depAll.count, r.deprived.count) where r.deprived[j] {
            depAll[j] += r.weight
            if r.status == "poor" { depPoor[j] += r.weight }
            if r.status == "near_poor" { depNear[j] += r.weight }
        }
        Aggregates.transition(r, &group.transitions)
        for v in af.indices { af[v].add(r, frame) }
    }

    func result(_ frame: IndicatorFrame) -> GroupAggregate {
        var g = group
        func share(_ v: [Double], _ n: Double) -> [Double] { v.map { n > 0 ? $0 / n : 0 } }
        g.headcountAll = share(depAll, g.all.weightedHouseholds)
        g.headcountPoor = share(depPoor, g.tally("poor").weightedHouseholds)
        g.headcountNearPoor = share(depNear, g.tally("near_poor").weightedHouseholds)
        g.af = af.map { $0.measures(frame) }
        return g
    }
}

/// Aggregates over a stream of households, in bounded memory: running sums per group, not
/// rows. Households must come in input order: the sums are then added in the same order as
/// over a list of every row, so the figures are the same to the last bit whatever the
/// number of threads that classified them.
public struct AggregateAccumulator: Sendable {
    public let frame: IndicatorFrame
    public let groupBy: [String]
    private var statusOrder: [String]
    /// Statuses in the order they first came, for those the given order lacks.
    private var seenStatuses: [String] = []
    private var weighted = false
    private var overall: GroupAccumulator
    private var groups: [[String]: GroupAccumulator] = [:]

    public init(frame: IndicatorFrame, groupBy: [String],
                statusOrder: [String] = ["poor", "near_poor", "average", "other", "undetermined"]) {
        self.frame = frame
        self.groupBy = groupBy
        self.statusOrder = statusOrder
        overall = GroupAccumulator(key: [], frame: frame)
    }

    public mutating func add(_ r: AggregateHousehold) {
        if !seenStatuses.contains(r.status) { seenStatuses.append(r.status) }
        if r.weight != 1 { weighted = true }
        overall.add(r, frame)
        if !groupBy.isEmpty {
            groups[r.groups, default: GroupAccumulator(key: r.groups, frame: frame)].add(r, frame)
        }
    }

    /// The figures so far; `statusOrder` (known only at the end of a run, say) replaces the
    /// order given at the start.
    public func report(statusOrder given: [String]? = nil) -> AggregateReport {
        var order = given ?? statusOrder
        for s in seenStatuses where !order.contains(s) { order.append(s) }
        let keys = groups.keys.sorted { a, b in a.lexicographicallyPrecedes(b) }
        return AggregateReport(frame: frame, groupBy: groupBy, weighted: weighted, overall: overall.result(frame),
                               groups: keys.map { groups[$0]!.result(frame) }, statusOrder: order)
    }
}
