import CEL
import RuleModel
import Survey

/// One batch as columns for the column kernels (`Program.columns`): the survey's fields, the
/// dated fields on each household's reference date, the derived fields and the results of the
/// earlier stages, for households that share one rule set and one set of parameter values.
final class BatchColumns: VectorHost {
    let rules: CompiledRuleSet
    let params: [Value]
    let batch: SurveyBatch
    /// Day number of each household's reference date.
    let referenceDays: [Int32]
    let householdCount: Int
    let memberRanges: [Range<Int>]
    var memberCount: Int { batch.members.count }
    /// The household row of each member row, made the first time something asks: only rows
    /// the kernels leave unknown and dated member fields need it, and most batches have none.
    private(set) lazy var memberHousehold: [Int32] = Self.owners(memberRanges, memberRows: memberCount)
    /// Each household's member rows as a pair of bounds (`BoolMasks.someInRanges`).
    let memberBounds: [Int64]
    /// The variables of the stage being evaluated, by slot.
    var slots: [RuleVariable] = []
    var householdDerived: [VecColumn?]
    var memberDerived: [VecColumn?]
    /// Bool member fields made by the mask path, held as masks (`masks(type:field:)`); their
    /// columns are made only when the column path asks for them.
    var memberDerivedMasks: [BoolMasks?]
    /// The indicators' decisions (after their missing-data policies), as columns only when an
    /// expression reads `deprived` (`column(type:field:)`).
    var deprived: [BoolMasks] = [] { didSet { deprivedColumns = [:] } }
    private var deprivedColumns: [Int: VecColumn] = [:]
    var incomeBelowLine: VecColumn?
    var deprivations: VecColumn?
    var status: VecColumn?
    private var householdCache: [Int: VecColumn] = [:]
    private var memberCache: [Int: VecColumn] = [:]
    /// `present(type:field:)` by type and field: several expressions ask `has()` of one field
    /// (the classes, of the income).
    private var presenceCache: [Int: VecColumn] = [:]

    /// Whether the reader's ages (`SurveyBatch.ageMonths`) are those of birth-date field `i` on
    /// the reference dates of `referenceDays`; nil until asked.
    private var readerAges: Bool?
    private let references: ReferenceDays

    init(rules: CompiledRuleSet, params: [Value], batch: SurveyBatch, references: ReferenceDays) {
        self.rules = rules
        self.params = params
        self.batch = batch
        self.references = references
        referenceDays = references.days
        householdCount = batch.households.count
        memberRanges = batch.memberRanges
        let ranges = batch.memberRanges
        memberBounds = [Int64](unsafeUninitializedCapacity: 2 * ranges.count) { bounds, done in
            for (h, r) in ranges.enumerated() {
                bounds[2 * h] = Int64(r.lowerBound)
                bounds[2 * h + 1] = Int64(r.upperBound)
            }
            done = 2 * ranges.count
        }
        householdDerived = Array(repeating: nil, count: rules.householdDerived.count)
        memberDerived = Array(repeating: nil, count: rules.memberDerived.count)
        memberDerivedMasks = Array(repeating: nil, count: rules.memberDerived.count)
    }

    /// The household row of each of `memberRows` member rows, from the households' ranges.
    static func owners(_ ranges: [Range<Int>], memberRows: Int) -> [Int32] {
        var owner = [Int32](repeating: 0, count: memberRows)
        owner.withUnsafeMutableBufferPointer { owner in
            for (h, r) in ranges.enumerated() {
                var m = r.lowerBound
                while m < r.upperBound {
                    owner[m] = Int32(truncatingIfNeeded: h)
                    m += 1
                }
            }
        }
        return owner
    }

    /// True when `batch.ageMonths` holds the completed months of birth-date field `i` of each
    /// member row on its household's reference date here: the reader computes them for the
    /// schema's first birth-date field on the reference date it gave the household.
    private func readerAgesValid(birthField i: Int) -> Bool {
        guard batch.members.fields.firstIndex(where: { $0.type == .birthDate }) == i,
              batch.ageMonths.count == batch.members.count else { return false }
        if let known = readerAges { return known }
        let same = batch.referenceDates.count == householdCount && references.areDates(batch.referenceDates)
        readerAges = same
        return same
    }

    func use(_ stage: RuleStage) { slots = stage.variables }

    func binding(_ slot: Int) -> VecBinding? {
        guard slot < slots.count else { return nil }
        switch slots[slot] {
        case .h: return .householdObject(RuleEnvironment.householdTypeID)
        case .m: return .memberObject(RuleEnvironment.memberTypeID)
        case .members: return .memberList(RuleEnvironment.memberTypeID)
        case .params: return .constants
        case .deprived: return .householdObject(RuleEnvironment.deprivedTypeID)
        case .incomeBelowLine: return incomeBelowLine.map { .column($0) }
        case .deprivations: return deprivations.map { .column($0) }
        case .status: return status.map { .column($0) }
        case .newlyEscaped: return nil
        }
    }

    func constant(field: Int) -> Value? { field < params.count ? params[field] : nil }

    func column(type: Int32, field: Int) -> VecColumn? {
        switch type {
        case RuleEnvironment.householdTypeID:
            if let c = householdCache[field] { return c }
            guard field < rules.environment.householdFields.count else { return nil }
            let c: VecColumn?
            switch rules.environment.householdFields[field].origin {
            case .survey(let i): c = surveyColumn(batch.households, rules.environment.schema.households, i, .household)
            case .derived(let k): return householdDerived[k]
            case .monthsSince(let i), .ageYears(let i), .ageMonths(let i):
                let origin = rules.environment.householdFields[field].origin
                c = dated(batch.households.values[i], .household) { raw, h in
                    let d = CivilDate(dayNumber: Int32(truncatingIfNeeded: raw)), ref = CivilDate(dayNumber: self.referenceDays[h])
                    switch origin {
                    case .monthsSince: return Int64(HouseholdActivation.signedCompletedMonths(from: d, to: ref))
                    case .ageYears: return Int64(CivilDate.completedYears(from: d, to: ref))
                    default: return Int64(CivilDate.completedMonths(from: d, to: ref))
                    }
                }
            }
            if let c { householdCache[field] = c }
            return c
        case RuleEnvironment.memberTypeID:
            if let c = memberCache[field] { return c }
            guard field < rules.environment.memberFields.count else { return nil }
            let c: VecColumn?
            switch rules.environment.memberFields[field].origin {
            case .survey(let i): c = surveyColumn(batch.members, rules.environment.schema.members, i, .member)
            case .derived(let k):
                if memberDerived[k] == nil, let m = memberDerivedMasks[k] { memberDerived[k] = Self.derivedColumn(m) }
                return memberDerived[k]
            case .ageMonths(let i), .ageYears(let i):
                let years: Bool
                if case .ageYears = rules.environment.memberFields[field].origin { years = true } else { years = false }
                if readerAgesValid(birthField: i) {
                    // The reader's ages (`SurveyBatch.ageMonths`): the same completed months on
                    // the same reference dates, for rows with a birth date.
                    let raw = batch.members.values[i], ages = batch.ageMonths
                    let out = [Int64](unsafeUninitializedCapacity: raw.count) { buf, done in
                        raw.withUnsafeBufferPointer { r in
                            ages.withUnsafeBufferPointer { a in
                                for m in 0..<r.count {
                                    if r[m] == RecordTable.absent { buf[m] = VecColumn.unknown; continue }
                                    let months = Int64(a[m])
                                    buf[m] = years ? CivilDate.completedYears(months: months) : months
                                }
                            }
                        }
                        done = raw.count
                    }
                    c = VecColumn(level: .member, kind: .int, values: out, unknownIsAbsent: true)
                    break
                }
                let owner = memberHousehold
                c = dated(batch.members.values[i], .member) { raw, m in
                    let ref = CivilDate(dayNumber: self.referenceDays[Int(owner[m])])
                    let months = Int64(CivilDate.completedMonths(from: CivilDate(dayNumber: Int32(truncatingIfNeeded: raw)), to: ref))
                    return years ? CivilDate.completedYears(months: months) : months
                }
            case .monthsSince(let i):
                let owner = memberHousehold
                c = dated(batch.members.values[i], .member) { raw, m in
                    let ref = CivilDate(dayNumber: self.referenceDays[Int(owner[m])])
                    return Int64(HouseholdActivation.signedCompletedMonths(from: CivilDate(dayNumber: Int32(truncatingIfNeeded: raw)), to: ref))
                }
            }
            if let c { memberCache[field] = c }
            return c
        case RuleEnvironment.deprivedTypeID:
            guard field < deprived.count else { return nil }
            if let c = deprivedColumns[field] { return c }
            let c = VecColumn(level: .household, kind: .bool, values: deprived[field].column().values)
            deprivedColumns[field] = c
            return c
        default:
            return nil
        }
    }

    func masks(type: Int32, field: Int) -> BoolMasks? {
        guard type == RuleEnvironment.memberTypeID, field < rules.environment.memberFields.count,
              case .derived(let k) = rules.environment.memberFields[field].origin else { return nil }
        return memberDerivedMasks[k]
    }

    /// A derived field's column from its masks: a missing value leaves the field without a value
    /// (nil on the scalar path, so `has()` is false), as `Classifier.decide` makes the others.
    static func derivedColumn(_ m: BoolMasks) -> VecColumn {
        var col = m.column()
        if col.unknownIsMissing { col.unknownIsAbsent = true }
        return col
    }

    func present(type: Int32, field: Int) -> VecColumn? {
        let key = field << 8 | Int(UInt8(truncatingIfNeeded: type))
        if let c = presenceCache[key] { return c }
        let c = presence(type: type, field: field)
        if let c { presenceCache[key] = c }
        return c
    }

    private func presence(type: Int32, field: Int) -> VecColumn? {
        let table: RecordTable, origin: FieldOrigin, level: VecLevel
        switch type {
        case RuleEnvironment.householdTypeID:
            guard field < rules.environment.householdFields.count else { return nil }
            (table, origin, level) = (batch.households, rules.environment.householdFields[field].origin, .household)
        case RuleEnvironment.memberTypeID:
            guard field < rules.environment.memberFields.count else { return nil }
            (table, origin, level) = (batch.members, rules.environment.memberFields[field].origin, .member)
        default:
            return nil
        }
        // Only survey fields are present exactly when their cell is; derived ones may be nil
        // for an error, which the kernels leave unknown.
        guard case .survey(let i) = origin else { return nil }
        let values: [Int64]
        if case .text = table.fields[i].type {
            let present = table.presence(i)
            values = (0..<table.count).map { r -> Int64 in present(r) ? 1 : 0 }
        } else {
            // A field stored as a value is present unless absent: no call per row.
            let raw = table.values[i]
            values = [Int64](unsafeUninitializedCapacity: raw.count) { out, done in
                raw.withUnsafeBufferPointer { r in
                    for k in 0..<r.count { out[k] = r[k] == RecordTable.absent ? 0 : 1 }
                }
                done = raw.count
            }
        }
        return VecColumn(level: level, kind: .bool, values: values)
    }

    /// A survey column as it is stored: `RecordTable.absent` is the kernels' unknown.
    private func surveyColumn(_ table: RecordTable, _ specs: [FieldSpec], _ i: Int, _ level: VecLevel) -> VecColumn? {
        let kind: VecKind
        switch specs[i].type {
        case .bool: kind = .bool
        case .int: kind = .int
        case .decimal: kind = .double
        case .code(let list): kind = .code(rules.environment.schema.codeLists[list]?.codes ?? [])
        case .codeSet(let list): kind = .codeSet(rules.environment.schema.codeLists[list]?.codes ?? [])
        // Texts and dates are strings to the rules: the kernels have no string columns.
        case .text, .date, .birthDate: return nil
        }
        precondition(RecordTable.absent == VecColumn.unknown)
        return VecColumn(level: level, kind: kind, values: table.values[i], unknownIsAbsent: true)
    }

    /// An int column computed from a date column (absent stays absent).
    private func dated(_ raw: [Int64], _ level: VecLevel, _ f: (Int64, Int) -> Int64) -> VecColumn {
        var out = [Int64](repeating: VecColumn.unknown, count: raw.count)
        for r in 0..<raw.count where raw[r] != RecordTable.absent { out[r] = f(raw[r], r) }
        return VecColumn(level: level, kind: .int, values: out, unknownIsAbsent: true)
    }
}

/// Each household's reference date of a batch as a day number; a date is made only when asked.
struct ReferenceDays {
    let days: [Int32]
    /// The date every household of the batch has (`--as-of`, or today for a survey without
    /// review dates); nil when each has its own.
    let fixed: CivilDate?

    /// `fixed`, else each household's review date, or `today` for one without.
    init(_ batch: SurveyBatch, reviewField: Int?, fixed: CivilDate?, today: CivilDate) {
        self.fixed = fixed
        let n = batch.households.count
        if let fixed {
            days = [Int32](repeating: fixed.dayNumber, count: n)
            return
        }
        guard let f = reviewField else {
            days = [Int32](repeating: today.dayNumber, count: n)
            return
        }
        let todayDay = today.dayNumber, review = batch.households.values[f]
        days = [Int32](unsafeUninitializedCapacity: n) { out, done in
            review.withUnsafeBufferPointer { review in
                for h in 0..<n { out[h] = review[h] == RecordTable.absent ? todayDay : Int32(truncatingIfNeeded: review[h]) }
            }
            done = n
        }
    }

    /// The reference date of the households on day `day`.
    func date(ofDay day: Int32) -> CivilDate { fixed ?? CivilDate(dayNumber: day) }

    /// The reference date of household `h`.
    func date(_ h: Int) -> CivilDate { date(ofDay: days[h]) }

    /// Whether `dates` are these reference dates, household by household: compared once per
    /// run of households with the same day and date (a batch has a few).
    func areDates(_ dates: [CivilDate]) -> Bool {
        guard dates.count == days.count else { return false }
        guard let first = days.first else { return true }
        var lastDay = first, lastDate = date(ofDay: first), made = PerDay<CivilDate>()
        for h in 0..<days.count where days[h] != lastDay || dates[h] != lastDate {
            lastDay = days[h]
            if let known = made[lastDay] {
                lastDate = known
            } else {
                lastDate = date(ofDay: lastDay)
                made[lastDay] = lastDate
            }
            if dates[h] != lastDate { return false }
        }
        return true
    }
}

/// Something made once per day of a batch (a day's rule-set group, its date), found again in a
/// table of 64 slots by the day's low bits: a batch has a few days, in short runs (households
/// reviewed on different days side by side), and a dictionary look-up per run cost more than
/// the run's other work. A day whose slot another day took is made again.
struct PerDay<Value> {
    private var days = [Int32](repeating: 0, count: 64)
    private var values = [Value?](repeating: nil, count: 64)

    subscript(day: Int32) -> Value? {
        get {
            let slot = Int(UInt32(bitPattern: day) & 63)
            return days[slot] == day ? values[slot] : nil
        }
        set {
            let slot = Int(UInt32(bitPattern: day) & 63)
            days[slot] = day
            values[slot] = newValue
        }
    }
}
