import CEL
import RuleModel
import Survey

/// What the column kernels decided for the households of one batch (household rows).
struct ColumnDecision {
    /// Households to classify one by one: some value they need was unknown to the kernels
    /// (missing, an error, undecided), or their classification is a rejection.
    var needsScalar: [Bool]
    /// Per indicator, its households' words: bit h set when household h is deprived.
    var deprived: [[UInt64]]
    /// Bit i: deprived in indicator i; empty when there are more than 64 indicators.
    var deprivedBits: [UInt64]
    var deprivationCount: [Int64]
    var incomeBelowLine: [Int64]
    /// Index of the household's status in `statusCodes`.
    var status: [Int64]
    /// The ids of the classes, and "undetermined" (the status when an indicator is unknown).
    var statusCodes: [String]
    /// Indicators left unknown by their missing-data policy, of the households that have any.
    var unknownIndicators: [Int: [Int]]
    /// Bit h: household h newly escaped.
    var newlyEscaped: [UInt64]?
}

extension Classifier {
    /// Classifies the batch stage by stage over columns, and one by one only the households
    /// the columns cannot decide exactly. Nil when no rule set of the batch can be evaluated
    /// over columns (the caller then classifies every household one by one).
    func classifyColumns(_ batch: SurveyBatch, fields: BatchFields) -> ClassifiedBatch? {
        let n = batch.households.count
        guard n > 0 else { return nil }
        // `referenceDate` as day numbers: the group of a day (its rule set and parameter values,
        // a function of the date) is found once per run of households with that day, and made
        // (a date, its rule set) once per day of the batch.
        let fixed = policy.asOf ?? (fields.reviewDate == nil ? policy.today : nil)
        let references = ReferenceDays(batch, reviewField: fields.reviewDate, fixed: fixed, today: policy.today)
        // The kernels take the parameters as constants: each rule set and set of parameter
        // values in force in the batch (one, except in a batch spanning a change of rules) is
        // a pass over the whole batch, whose results are taken for its households only. A
        // pass costs about a quarter of classifying every household one by one, so only groups
        // of at least a quarter of the batch get one; the other households, and those under a
        // rule set the kernels do not cover, go one by one.
        var groups: [(CompiledRuleSet, [Value])] = []
        var sizes: [Int] = []
        /// The group of households on `day`, -1 for none (no rule set, or one the kernels do not cover).
        func group(onDay day: Int32) -> Int32 {
            var g: Int32 = -1
            if case .success(let r) = rules(on: references.date(ofDay: day)), !columnsUnsupported.contains(ObjectIdentifier(r.0)) {
                if let known = groups.firstIndex(where: { $0.0 === r.0 && Self.sameValues($0.1, r.1) }) {
                    g = Int32(known)
                } else {
                    groups.append(r)
                    sizes.append(0)
                    g = Int32(groups.count - 1)
                }
            }
            return g
        }
        var groupOf = [Int32](repeating: -1, count: n), groupsByDay = PerDay<Int32>()
        let days = references.days
        var h = 0
        while h < n {
            let day = days[h]
            var end = h + 1
            while end < n, days[end] == day { end += 1 }
            let g: Int32
            if let known = groupsByDay[day] {
                g = known
            } else {
                g = group(onDay: day)
                groupsByDay[day] = g
            }
            if g >= 0 {
                sizes[Int(g)] += end - h
                for k in h..<end { groupOf[k] = g }
            }
            h = end
        }
        var decisions: [ColumnDecision?] = []
        for ((rules, params), size) in zip(groups, sizes) {
            guard size * 4 >= n else {
                decisions.append(nil)
                continue
            }
            let d = Self.decide(BatchColumns(rules: rules, params: params, batch: batch, references: references))
            if d == nil { columnsUnsupported.insert(ObjectIdentifier(rules)) }
            decisions.append(d)
        }
        guard decisions.contains(where: { $0 != nil }) else { return nil }

        // Households the columns decided keep their group; the others are classified here,
        // their outcomes in household order, and point at them (`ClassifiedBatch.slot`).
        var kept: [ClassifiedBatch.Group] = []
        var keptIndex = [Int32](repeating: -1, count: groups.count)
        var outcomes: [HouseholdOutcome] = []
        // Whether each household goes one by one, read from its group's decision once per group
        // (not a copy of the decision per household).
        var oneByOne = [Bool](repeating: true, count: n)
        for (g, d) in decisions.enumerated() {
            guard let needs = d?.needsScalar else { continue }
            for h in 0..<n where groupOf[h] == g { oneByOne[h] = needs[h] }
        }
        for h in 0..<n {
            let g = Int(groupOf[h])
            if !oneByOne[h] {
                if keptIndex[g] < 0, let d = decisions[g] {
                    keptIndex[g] = Int32(kept.count)
                    kept.append(ClassifiedBatch.Group(rules: groups[g].0, decision: d, areaTexts: Self.codeTexts(groups[g].0, fields.area),
                                                      noMembers: emptyMemberLists(groups[g].0.indicators.count)))
                }
                groupOf[h] = keptIndex[g]
            } else {
                outcomes.append(classify(household: h, of: batch, fields: fields))
                groupOf[h] = -Int32(outcomes.count)
            }
        }
        columnHouseholds += n
        scalarHouseholds += outcomes.count
        return ClassifiedBatch(batch: batch, fields: fields, slot: groupOf, groups: kept, outcomes: outcomes, references: references)
    }

    /// The text of each code of household field `f` (what `HouseholdActivation.householdCodeText`
    /// gives), without binding an activation to the batch.
    static func codeTexts(_ rules: CompiledRuleSet, _ f: Int?) -> [String] {
        let schema = rules.environment.schema
        guard let f, f < schema.households.count, case .code(let list) = schema.households[f].type else { return [] }
        return schema.codeLists[list]?.codes ?? []
    }

    /// Parameter arrays of the same dates share a buffer (`rules(on:)`); equal values otherwise.
    static func sameValues(_ a: [Value], _ b: [Value]) -> Bool {
        let same = a.count == b.count && a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in x.baseAddress == y.baseAddress }
        }
        return same || a == b
    }

    /// Every stage of `classify(household:of:fields:)` over the batch's columns, in the same
    /// order but for the requirements (after the indicators); nil when an expression is not
    /// covered by the kernels.
    static func decide(_ c: BatchColumns) -> ColumnDecision? {
        let rules = c.rules, nH = c.householdCount, batch = c.batch
        let U = VecColumn.unknown
        var needs = [Bool](repeating: false, count: nH)
        // Member rows are sent back by their household, looked up only for such rows (rare):
        // `memberHousehold` is made the first time.
        func household(ofMember m: Int) -> Int { Int(c.memberHousehold[m]) }
        func mark(_ col: VecColumn) {
            col.values.withUnsafeBufferPointer { v in
                if col.level == .household {
                    for h in 0..<v.count where v[h] == U { needs[h] = true }
                } else {
                    for m in 0..<v.count where v[m] == U { needs[household(ofMember: m)] = true }
                }
            }
        }
        // Leaf masks shared by the stages (a member's age, `m.in_school`).
        let leaves = MaskLeaves()
        // Bool expressions as masks when they allow (their `!`, `&&`, `||`, `?:` on words), as
        // the column later stages read; else by the column path.
        func boolColumn(_ p: Program, _ level: VecLevel) -> VecColumn? {
            guard let m = p.masks(c, level: level, leaves: leaves) else { return columnPathBools(p, level) }
            let col = m.column()
            leaves.remember(col.values, m)
            return col
        }
        /// The same as masks, for stages that read words (indicators, classes, `newly_escaped`).
        func boolMasks(_ p: Program, _ level: VecLevel) -> BoolMasks? {
            if let m = p.masks(c, level: level, leaves: leaves) { return m }
            return columnPathBools(p, level).map { BoolMasks($0) }
        }
        /// The column path alone, for callers that have just found the masks cannot take `p`.
        func columnPathBools(_ p: Program, _ level: VecLevel) -> VecColumn? {
            guard let col = p.columns(c, level: level), col.kind == .bool else { return nil }
            return col
        }

        // Derived fields: a missing value leaves the field without a value (nil on the scalar
        // path, so `has()` is false); any other error in a row sends its household back.
        func derived(_ col: VecColumn) -> VecColumn {
            var col = col
            if col.unknownIsMissing { col.unknownIsAbsent = true } else { mark(col) }
            return col
        }
        c.use(.householdDerived)
        for (k, p) in rules.householdDerived.enumerated() {
            guard let col = p.columns(c, level: .household) else { return nil }
            c.householdDerived[k] = derived(col)
        }
        c.use(.memberDerived)
        for (k, p) in rules.memberDerived.enumerated() {
            // A bool field the masks take stays masks (the rules read it by the mask path,
            // or count it per household), with the unknown rows `derived` marks.
            if p.resultType == .bool, let m = p.masks(c, level: .member, leaves: leaves) {
                if !m.unknownIsMissing { BoolMasks.forEachRow(m.unknown) { needs[household(ofMember: $0)] = true } }
                c.memberDerivedMasks[k] = m
                continue
            }
            guard let col = p.resultType == .bool ? columnPathBools(p, .member) : p.columns(c, level: .member) else { return nil }
            c.memberDerived[k] = derived(col)
        }

        // A requirement matters only where its field is empty: there a condition that holds
        // (a rejection) sends the household back, and so does an unknown condition unless it
        // is certainly an error (which the scalar path reads as "not required").
        // Fields often share a condition (the dwelling's parts, a child's measures): one column
        // per condition text and level.
        var conditions: [VecLevel: [String: VecColumn]] = [:]
        var conditionMasks: [VecLevel: [String: BoolMasks]] = [:]
        func requirement(_ req: CompiledRequirement, _ level: VecLevel, _ table: RecordTable) -> Bool {
            func send(_ r: Int) { needs[level == .household ? r : household(ofMember: r)] = true }
            // A field stored as a value is empty where absent (`VecColumn.unknown`): as masks,
            // the condition and the empty rows meet a word at a time.
            let source = req.program.source, masksTried = table.fields[req.fieldIndex].type != .text
            if masksTried,
               let m = conditionMasks[level]?[source] ?? req.program.masks(c, level: level, leaves: leaves) {
                conditionMasks[level, default: [:]][source] = m
                let empty = leaves.unknownRows(table.values[req.fieldIndex]), lax = !m.unknownIsError
                for w in 0..<empty.count {
                    var hits = empty[w] & (m.values[w] | (lax ? m.unknown[w] : 0))
                    while hits != 0 {
                        send(w << 6 | hits.trailingZeroBitCount)
                        hits &= hits &- 1
                    }
                }
                return true
            }
            let col: VecColumn
            if let known = conditions[level]?[req.program.source] {
                col = known
            } else {
                guard let made = masksTried ? columnPathBools(req.program, level) : boolColumn(req.program, level) else {
                    return false
                }
                conditions[level, default: [:]][req.program.source] = made
                col = made
            }
            let v = col.values, lax = !col.unknownIsError
            if case .text = table.fields[req.fieldIndex].type {
                let present = table.presence(req.fieldIndex)
                for r in 0..<v.count where (v[r] == 1 || (v[r] == U && lax)) && !present(r) { send(r) }
                return true
            }
            // A field stored as a value is present unless absent: no call per row.
            table.values[req.fieldIndex].withUnsafeBufferPointer { field in
                v.withUnsafeBufferPointer { v in
                    // The field first: it is nearly always there, which settles the row.
                    for r in 0..<v.count where field[r] == RecordTable.absent && (v[r] == 1 || (v[r] == U && lax)) { send(r) }
                }
            }
            return true
        }
        // Indicators: a member-level one is deprived when some member satisfies it. A missing
        // value is decided by the indicator's policy as the scalar loop decides it (which stops
        // at the first member without a value); any other unknown sends the household back.
        // Each indicator stays household masks: the policies visit the unknown bits only, and
        // the tally the deprived ones.
        var unknownIndicators: [Int: [Int]] = [:]
        // Indicators are read field by field (`indicators[i].program`): a copy of one (its
        // rule's texts, its templates) retains every reference it holds.
        let indicators = rules.indicators
        var tally = DeprivationTally(households: nH, indicators: indicators.count)
        // Member-level indicators the masks take, and "some member" of all of them in one pass
        // over the households' member ranges.
        c.use(.memberIndicator)
        var memberMasks: [Int: BoolMasks] = [:]
        for i in indicators.indices where indicators[i].isMemberLevel {
            memberMasks[i] = indicators[i].program.masks(c, level: .member, leaves: leaves)
        }
        let maskedIndicators = memberMasks.keys.sorted()
        var someMember: [Int: BoolMasks] = [:]
        for (i, m) in zip(maskedIndicators, BoolMasks.someInRanges(of: maskedIndicators.map { memberMasks[$0]! }, c.memberBounds)) {
            someMember[i] = m
        }
        var deprived: [BoolMasks] = []
        for i in indicators.indices {
            let isMemberLevel = indicators[i].isMemberLevel, missing = indicators[i].indicator.missing
            var m: BoolMasks
            // Member-level: whether some member before the first unknown one satisfies it.
            var before: (Int) -> Bool = { _ in false }
            if isMemberLevel {
                c.use(.memberIndicator)
                // As bit masks when the expression allows (its bools stay words up to the
                // members' range test); else a column and a loop over each household's members.
                if let members = memberMasks[i], let some = someMember[i] {
                    m = some
                    before = { members.trueBeforeFirstUnknown(in: c.memberRanges[$0]) }
                } else {
                    guard let col = columnPathBools(indicators[i].program, .member) else { return nil }
                    let (values, seen) = Self.someMember(col, c.memberRanges)
                    m = BoolMasks(VecColumn(level: .household, kind: .bool, values: values, unknownIsError: col.unknownIsError,
                                            unknownIsMissing: col.unknownIsMissing))
                    before = { seen[$0] }
                }
            } else {
                c.use(.householdIndicator)
                guard let masks = boolMasks(indicators[i].program, .household) else { return nil }
                m = masks
            }
            let missingOnly = m.unknownIsMissing
            for w in 0..<m.unknown.count where m.unknown[w] != 0 {
                var rows = m.unknown[w]
                while rows != 0 {
                    let h = w << 6 | rows.trailingZeroBitCount, bit = rows & (0 &- rows)
                    rows &= rows &- 1
                    guard missingOnly else { needs[h] = true; continue }
                    switch missing {
                    case .error: needs[h] = true
                    case .deprived: m.values[w] |= bit
                    case .notDeprived: break
                    case .unknown:
                        if isMemberLevel && before(h) { m.values[w] |= bit }
                        unknownIndicators[h, default: []].append(i)
                    }
                    if missing != .error { m.unknown[w] &= ~bit }
                }
            }
            tally.add(m, indicator: i)
            deprived.append(m)
        }
        c.deprived = deprived

        // The requirements after the indicators (each only adds to `needs`, so the order does
        // not matter): the fields they check are mostly the indicators' own, whose unknown rows
        // the indicators' passes over them have already given.
        c.use(.householdRequirement)
        for req in rules.householdRequirements where !requirement(req, .household, batch.households) { return nil }
        c.use(.memberRequirement)
        for req in rules.memberRequirements where !requirement(req, .member, batch.members) { return nil }

        let (count, deprivedBits) = tally.finish()
        c.deprivations = VecColumn(level: .household, kind: .int, values: count)

        c.use(.incomeTest)
        guard let below = boolColumn(rules.incomeBelowLine, .household) else { return nil }
        mark(below)
        c.incomeBelowLine = below

        // Exactly one class must match (a class missing a value does not); anything else is a
        // rejection, made by the scalar path. A household with an unknown indicator is
        // undetermined without its classes.
        c.use(.householdClass)
        var classes: [BoolMasks] = []
        for (_, p) in rules.classes {
            guard let m = boolMasks(p, .household) else { return nil }
            classes.append(m)
        }
        var statusCodes = rules.classes.map(\.0.id)
        let undetermined: Int64
        if let k = statusCodes.firstIndex(of: "undetermined") {
            undetermined = Int64(k)
        } else {
            undetermined = Int64(statusCodes.count)
            statusCodes.append("undetermined")
        }
        let status = Self.status(classes, households: nH, undetermined: undetermined, unknownIndicators: unknownIndicators,
                                 needs: &needs)
        c.status = VecColumn(level: .household, kind: .code(statusCodes), values: status)

        var newlyEscaped: [UInt64]?
        if let p = rules.newlyEscaped {
            c.use(.newlyEscaped)
            guard let m = boolMasks(p, .household) else { return nil }
            // A missing value means not newly escaped (true rows are never unknown ones).
            if !m.unknownIsMissing { BoolMasks.forEachRow(m.unknown) { needs[$0] = true } }
            newlyEscaped = m.values
        }
        return ColumnDecision(needsScalar: needs, deprived: deprived.map(\.values), deprivedBits: deprivedBits, deprivationCount: count,
                              incomeBelowLine: below.values, status: status, statusCodes: statusCodes,
                              unknownIndicators: unknownIndicators, newlyEscaped: newlyEscaped)
    }

    /// Each household's status: the one class that matches, or `undetermined` for a household
    /// with an indicator left unknown; a household where no class or several match, or a class
    /// is unknown for another reason than a missing value, goes one by one (`needs`). Word by
    /// word: a class matches at most once where its bit is in `ones` and not in `twos`.
    static func status(_ classes: [BoolMasks], households nH: Int, undetermined: Int64, unknownIndicators: [Int: [Int]],
                       needs: inout [Bool]) -> [Int64] {
        var status = [Int64](repeating: VecColumn.unknown, count: nH)
        var undeterminedRows = [UInt64](repeating: 0, count: BoolMasks.words(nH))
        for h in unknownIndicators.keys { undeterminedRows[h >> 6] |= 1 << UInt64(h & 63) }
        for w in 0..<undeterminedRows.count {
            var ones: UInt64 = 0, twos: UInt64 = 0, unsure: UInt64 = 0
            for m in classes {
                let v = m.values[w]
                if !m.unknownIsMissing { unsure |= m.unknown[w] }
                twos |= ones & v
                ones |= v
            }
            let settled = undeterminedRows[w], one = ones & ~twos & ~unsure & ~settled
            for (k, m) in classes.enumerated() {
                var rows = m.values[w] & one
                while rows != 0 {
                    status[w << 6 | rows.trailingZeroBitCount] = Int64(k)
                    rows &= rows &- 1
                }
            }
            let inWord = min(64, nH - w << 6)
            var rows = (inWord == 64 ? ~0 : (1 << UInt64(inWord)) - 1) & ~one
            while rows != 0 {
                let h = w << 6 | rows.trailingZeroBitCount
                rows &= rows &- 1
                if settled >> UInt64(h & 63) & 1 != 0 { status[h] = undetermined } else { needs[h] = true }
            }
        }
        return status
    }
}

extension Classifier {
    /// Per household: 1 when some member's row of `col` is true and none unknown, 0 when none
    /// is either, unknown when some is; `before`: some member before the first unknown one is
    /// true (the scalar loop stops at the first member without a value).
    static func someMember(_ col: VecColumn, _ ranges: [Range<Int>]) -> (values: [Int64], before: [Bool]) {
        let U = VecColumn.unknown, nH = ranges.count
        var values = [Int64](repeating: 0, count: nH), before = [Bool](repeating: false, count: nH)
        ranges.withUnsafeBufferPointer { ranges in
            col.values.withUnsafeBufferPointer { v in
                for h in 0..<nH {
                    var r: Int64 = 0
                    for m in ranges[h] {
                        if v[m] == U { before[h] = r == 1; r = U; break }
                        if v[m] != 0 { r = 1 }
                    }
                    values[h] = r
                }
            }
        }
        return (values, before)
    }
}

/// The deprivation count of each household of a batch and its indicators as bits (bit i:
/// deprived in indicator i, for writers; up to 64 indicators), added up indicator by
/// indicator from each one's household masks.
struct DeprivationTally {
    private var count: [Int64]
    /// Households with an indicator left unknown: their count is unknown. Such a household goes
    /// one by one (`needsScalar`), so its bits are never read.
    private var unknown: [UInt64]
    private var bits: [UInt64]
    private let withBits: Bool

    init(households n: Int, indicators: Int) {
        count = [Int64](repeating: 0, count: n)
        unknown = [UInt64](repeating: 0, count: BoolMasks.words(n))
        withBits = indicators <= 64
        bits = [UInt64](repeating: 0, count: withBits ? n : 0)
    }

    /// Adds indicator `i`: a step per deprived household (a few per household in all), not a
    /// pass over every household.
    mutating func add(_ m: BoolMasks, indicator i: Int) {
        let bit = UInt64(1) << UInt64(i & 63), withBits = withBits
        count.withUnsafeMutableBufferPointer { count in
            bits.withUnsafeMutableBufferPointer { bits in
                m.values.withUnsafeBufferPointer { values in
                    for w in 0..<values.count {
                        var rows = values[w]
                        while rows != 0 {
                            let h = w << 6 | rows.trailingZeroBitCount
                            rows &= rows &- 1
                            count[h] &+= 1
                            if withBits { bits[h] |= bit }
                        }
                    }
                }
            }
        }
        for w in 0..<unknown.count { unknown[w] |= m.unknown[w] }
    }

    /// The counts (unknown where an indicator was) and the bits (empty past 64 indicators).
    consuming func finish() -> (count: [Int64], bits: [UInt64]) {
        BoolMasks.forEachRow(unknown) { count[$0] = VecColumn.unknown }
        return (count, bits)
    }
}
