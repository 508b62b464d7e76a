import CEL
import RuleModel
import Survey

/// A classified batch. The households the column kernels decided stay as the kernels' columns
/// (a `HouseholdResult` each is made only when asked: `allOutcomes()`), so that output showing
/// only the table of results (CSV) reads them from the columns; the other households are
/// outcomes classified one by one.
public struct ClassifiedBatch {
    public let batch: SurveyBatch
    let fields: Classifier.BatchFields
    /// Per household: the index of its group in `groups` (decided over columns), or `-k` for
    /// `outcomes[k - 1]`.
    let slot: [Int32]
    let groups: [Group]
    let outcomes: [HouseholdOutcome]
    /// Each household's reference date (decided over columns); nil for a batch classified
    /// household by household, whose outcomes hold their dates.
    let references: ReferenceDays?

    /// Households decided over columns under one rule set and set of parameter values.
    final class Group {
        let rules: CompiledRuleSet
        let decision: ColumnDecision
        /// The text of each code of the batch's area field.
        let areaTexts: [String]
        let noMembers: [[String]]

        init(rules: CompiledRuleSet, decision: ColumnDecision, areaTexts: [String], noMembers: [[String]]) {
            self.rules = rules
            self.decision = decision
            self.areaTexts = areaTexts
            self.noMembers = noMembers
        }
    }

    /// A batch classified household by household.
    init(batch: SurveyBatch, fields: Classifier.BatchFields, outcomes: [HouseholdOutcome]) {
        self.batch = batch
        self.fields = fields
        slot = (0..<outcomes.count).map { -Int32($0 + 1) }
        groups = []
        self.outcomes = outcomes
        references = nil
    }

    init(batch: SurveyBatch, fields: Classifier.BatchFields, slot: [Int32], groups: [Group], outcomes: [HouseholdOutcome],
         references: ReferenceDays) {
        self.batch = batch
        self.fields = fields
        self.slot = slot
        self.groups = groups
        self.outcomes = outcomes
        self.references = references
    }

    public var count: Int { slot.count }

    /// The outcome of household `h` when it was classified one by one; nil when the columns
    /// decided it (read it with `row(_:)`).
    @inline(__always)
    public func scalarOutcome(_ h: Int) -> HouseholdOutcome? {
        let s = slot[h]
        return s < 0 ? outcomes[Int(-s) - 1] : nil
    }

    /// What the columns decided for household `h` (which `scalarOutcome` gives no outcome for):
    /// the same values as its `HouseholdResult`.
    public func row(_ h: Int) -> ColumnRow {
        let g = groups[Int(slot[h])], d = g.decision, table = batch.households
        var area = ""
        if let f = fields.area, let c = table.code(f, h), c >= 0, Int(c) < g.areaTexts.count { area = g.areaTexts[Int(c)] }
        return ColumnRow(group: g, household: h, rules: g.rules,
                         householdID: fields.householdID.flatMap { table.text($0, h) } ?? "?",
                         village: fields.village.flatMap { table.text($0, h) } ?? "", area: area,
                         status: d.statusCodes[Int(d.status[h])], deprivationCount: Int(d.deprivationCount[h]),
                         incomeBelowLine: d.incomeBelowLine[h] == 1, newlyEscaped: d.newlyEscaped.map { Self.bit($0, h) } ?? false)
    }

    /// Household table fields the results show (`HouseholdResult.householdID`, `.village`,
    /// `.area`), nil when the survey has none.
    public var householdIDField: Int? { fields.householdID }
    public var villageField: Int? { fields.village }
    public var areaField: Int? { fields.area }

    /// Groups of households decided over columns under one rule set (`ColumnCells.group`).
    public var groupCount: Int { groups.count }
    public func rules(ofGroup g: Int) -> CompiledRuleSet { groups[g].rules }
    /// The statuses `ColumnCells.status` counts in.
    public func statusCodes(ofGroup g: Int) -> [String] { groups[g].decision.statusCodes }
    /// The text of each code of the area field (`HouseholdResult.area` of a household with that
    /// code).
    public func areaTexts(ofGroup g: Int) -> [String] { groups[g].areaTexts }

    /// What the columns decided for household `h` as numbers, in one call: what a writer of
    /// many rows reads per household. Nil for a household classified one by one (read
    /// `scalarOutcome(h)` then), and when the rule set has more indicators than the bit sets
    /// hold (read `row(_:)` then).
    public func cells(_ h: Int) -> ColumnCells? {
        let g = Int(slot[h])
        guard g >= 0 else { return nil }
        let d = groups[g].decision
        guard d.deprived.count <= 64 else { return nil }
        let deprived = d.deprivedBits[h]
        var unknown: UInt64 = 0
        if !d.unknownIndicators.isEmpty, let list = d.unknownIndicators[h] {
            for i in list { unknown |= 1 << UInt64(i) }
        }
        return ColumnCells(group: g, status: Int(d.status[h]), deprivationCount: Int(d.deprivationCount[h]),
                           incomeBelowLine: d.incomeBelowLine[h] == 1, newlyEscaped: d.newlyEscaped.map { Self.bit($0, h) } ?? false,
                           deprived: deprived, unknown: unknown)
    }

    /// Bit `h` of household words (`ColumnDecision.deprived`, `.newlyEscaped`).
    @inline(__always)
    static func bit(_ words: [UInt64], _ h: Int) -> Bool { words[h >> 6] >> UInt64(h & 63) & 1 != 0 }

    /// The outcomes of the households classified one by one, in household order.
    public var scalarOutcomes: [HouseholdOutcome] { outcomes }

    /// How many households of the batch have each status, the statuses in the order the
    /// households first show them (what counting household by household gives).
    public func statusCounts() -> [(status: String, count: Int)] {
        // Counted by status code (an array per group), without a string per household.
        var byCode = groups.map { [Int](repeating: 0, count: $0.decision.statusCodes.count) }
        var firstSeen: [(group: Int, code: Int)] = []
        var scalarStatuses: [String] = []
        for h in 0..<count {
            let s = Int(slot[h])
            if s >= 0 {
                let code = Int(groups[s].decision.status[h])
                if byCode[s][code] == 0 { firstSeen.append((s, code)) }
                byCode[s][code] += 1
            } else if case .classified(let r) = outcomes[-s - 1] {
                scalarStatuses.append(r.status)
                firstSeen.append((-1, scalarStatuses.count - 1))
            }
        }
        var out: [(status: String, count: Int)] = []
        for (g, k) in firstSeen {
            let status = g >= 0 ? groups[g].decision.statusCodes[k] : scalarStatuses[k]
            let n = g >= 0 ? byCode[g][k] : 1
            if let i = out.firstIndex(where: { $0.status == status }) { out[i].count += n } else { out.append((status, n)) }
        }
        return out
    }

    /// The rule set of the first household classified (not rejected), which fixes the output's
    /// indicator columns.
    public var firstClassifiedRules: CompiledRuleSet? {
        for h in 0..<count {
            guard let o = scalarOutcome(h) else { return groups[Int(slot[h])].rules }
            if case .classified(let r) = o { return r.rules }
        }
        return nil
    }

    /// The outcome of every household, in household order, as `Classifier.classifyEach` gives it.
    public func allOutcomes() -> [HouseholdOutcome] {
        // Groups are made only for a batch decided over columns, which has its reference days.
        guard !groups.isEmpty, let references else { return outcomes }
        var out: [HouseholdOutcome] = []
        out.reserveCapacity(count)
        // Households with the same deprivations share one array (few patterns per batch).
        var patterns: [[Bool]?] = [], patternsOf = -1
        for h in 0..<count {
            if let o = scalarOutcome(h) {
                out.append(o)
                continue
            }
            let gi = Int(slot[h]), g = groups[gi], d = g.decision
            let nIndicators = d.deprived.count
            let deprived: [Bool]
            if nIndicators <= 12 {
                let key = Int(d.deprivedBits[h])
                if patternsOf != gi || patterns.count != 1 << nIndicators {
                    patterns = [[Bool]?](repeating: nil, count: 1 << nIndicators)
                    patternsOf = gi
                }
                if let shared = patterns[key] {
                    deprived = shared
                } else {
                    var made = [Bool](repeating: false, count: nIndicators)
                    for i in 0..<nIndicators { made[i] = key & (1 << i) != 0 }
                    patterns[key] = made
                    deprived = made
                }
            } else {
                var made = [Bool](repeating: false, count: nIndicators)
                for i in 0..<nIndicators { made[i] = Self.bit(d.deprived[i], h) }
                deprived = made
            }
            let r = row(h)
            out.append(.classified(HouseholdResult(
                householdID: r.householdID, village: r.village, area: r.area, referenceDate: references.date(h), rules: g.rules,
                status: r.status, deprivationCount: r.deprivationCount, incomeBelowLine: r.incomeBelowLine,
                deprived: deprived, unknownIndicators: d.unknownIndicators.isEmpty ? [] : d.unknownIndicators[h] ?? [],
                deprivedMembers: g.noMembers, newlyEscaped: r.newlyEscaped, incomeAmount: nil, incomeLine: nil,
                scoreAmount: nil, scoreLine: nil, reasons: [], memberIDSource: fields.memberIDs,
                memberRows: batch.memberRanges[h])))
        }
        return out
    }
}

/// One household decided over columns: the fields of its `HouseholdResult` that a table of
/// results shows, and its deprivations read from the columns.
public struct ColumnRow {
    let group: ClassifiedBatch.Group
    let household: Int
    public let rules: CompiledRuleSet
    public let householdID: String
    public let village: String
    public let area: String
    public let status: String
    public let deprivationCount: Int
    public let incomeBelowLine: Bool
    public let newlyEscaped: Bool

    /// Whether the household is deprived in indicator `i` of `rules`; nil when the indicator
    /// is unknown (left so by its missing-data policy).
    public func deprived(_ i: Int) -> Bool? {
        let d = group.decision
        if !d.unknownIndicators.isEmpty, let unknown = d.unknownIndicators[household], unknown.contains(i) { return nil }
        return ClassifiedBatch.bit(d.deprived[i], household)
    }
}

/// One household decided over columns, as numbers (`ClassifiedBatch.cells`).
public struct ColumnCells {
    /// The household's group (`ClassifiedBatch.rules(ofGroup:)`).
    public let group: Int
    /// Index in `ClassifiedBatch.statusCodes(ofGroup:)`.
    public let status: Int
    public let deprivationCount: Int
    public let incomeBelowLine: Bool
    public let newlyEscaped: Bool
    /// Bit `i`: deprived in indicator `i` of the rule set; and left unknown by its policy.
    public let deprived: UInt64
    public let unknown: UInt64
}
